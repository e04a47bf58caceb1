"""The embedded counterpart of ``hopsworks.project.Project``: what ``login()`` returns offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serverless_iris.embedded.sdk_gaps import SdkGaps


class LocalProject(SdkGaps):
    """The embedded counterpart of ``hopsworks.project.Project``."""

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self.name = "local"

    def __repr__(self) -> str:
        return f"LocalProject(store={str(self.store)!r})"

    def get_feature_store(self, name: str | None = None) -> Any:
        from serverless_iris.embedded.feature_store import FeatureStore

        return FeatureStore(self.store, name=name)

    def get_model_registry(self) -> Any:
        from serverless_iris.embedded.model_registry import ModelRegistry

        return ModelRegistry(self.store)

    def get_model_serving(self) -> Any:
        from serverless_iris.embedded.model_serving import ModelServing

        return ModelServing(self.store)

    def get_dataset_api(self) -> Any:
        from serverless_iris.embedded.dataset_api import DatasetApi

        return DatasetApi(self.store)

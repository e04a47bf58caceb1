"""What an embedded object says when asked for something it lacks.

A name the Hopsworks SDK has on the same class is a feature of Hopsworks this backend does not
offer: that is a ``NotImplementedError`` naming it and pointing to the README's list of differences,
not a puzzling ``AttributeError``. Any other name is a plain ``AttributeError``, as Python gives.
The SDK class is imported only here, when such an error is raised (it is slow to import).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

DIFFERENCES = "README.md, section 'Differences from Hopsworks'"
# embedded class -> the SDK class it stands in for
SDK_CLASSES = {
    "LocalProject": "hopsworks_common.project.Project",
    "FeatureStore": "hsfs.feature_store.FeatureStore",
    "FeatureGroup": "hsfs.feature_group.FeatureGroup",
    "FeatureView": "hsfs.feature_view.FeatureView",
    "ModelRegistry": "hsml.model_registry.ModelRegistry",
    "Model": "hsml.model.Model",
    "DatasetApi": "hopsworks_common.core.dataset_api.DatasetApi",
    "ModelServing": "hsml.model_serving.ModelServing",
    "Deployment": "hsml.deployment.Deployment",
}


def sdk_has(owner: str, name: str) -> bool:
    """Whether the SDK class standing in for ``owner`` has the attribute ``name``."""
    module, _, cls = SDK_CLASSES[owner].rpartition(".")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return hasattr(getattr(importlib.import_module(module), cls), name)
    except ImportError:
        return False


def missing_sdk_attribute(obj: Any, name: str) -> Exception:
    """The exception for ``obj.<name>`` when ``obj`` has no such attribute (for ``__getattr__`` to raise)."""
    owner = type(obj).__name__
    if not name.startswith("_") and owner in SDK_CLASSES and sdk_has(owner, name):
        sdk = SDK_CLASSES[owner]
        return NotImplementedError(
            f"{sdk.rsplit('.', 1)[1]}.{name} ({sdk}.{name}) is not supported by the embedded backend; "
            f"see {DIFFERENCES} for what runs only on Hopsworks (set HOPSWORKS_API_KEY to use it)."
        )
    return AttributeError(f"'{owner}' object has no attribute '{name}'")


class SdkGaps:
    """Mixin: a missing attribute raises what :func:`missing_sdk_attribute` says."""

    def __getattr__(self, name: str) -> Any:
        raise missing_sdk_attribute(self, name)

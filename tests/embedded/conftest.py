"""Fixtures shared by the embedded backend's tests: an empty store's feature store, and a project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serverless_iris.embedded.feature_store import FeatureStore
from serverless_iris.embedded.project import LocalProject


@pytest.fixture
def fs(tmp_path: Path) -> FeatureStore:
    """The feature store of an empty store in the test's temporary folder."""
    return FeatureStore(tmp_path / "store")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[LocalProject]:
    """A project in a temporary store; deployments a failed test left running are stopped."""
    project = LocalProject(tmp_path / "store")
    yield project
    for deployment in project.get_model_serving().get_deployments():
        deployment.stop(await_stopped=30)

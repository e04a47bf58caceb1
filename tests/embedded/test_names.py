"""Names the embedded store turns into tables and folders are matched whole: a trailing newline, a path
separator or a dot never passes (``$`` alone matches before a final newline)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from serverless_iris.embedded.model_registry import ModelRegistryException
from serverless_iris.embedded.project import LocalProject
from serverless_iris.embedded.util import FeatureStoreException

BAD = ["iris\n", "iris\r\n", "../iris", "iris/x", "iris.x", "Iris", "", " iris"]


@pytest.fixture
def project(tmp_path: Path) -> LocalProject:
    return LocalProject(tmp_path / "store")


@pytest.mark.parametrize("name", BAD)
def test_a_feature_group_name_with_a_trailing_newline_or_a_path_is_refused(
    project: LocalProject, name: str
) -> None:
    fs = project.get_feature_store()
    for call in (
        lambda: fs.create_feature_group(name=name, version=1, primary_key=["id"]),
        lambda: fs.get_or_create_feature_group(name=name, version=1, primary_key=["id"]),
        lambda: fs.get_feature_group(name, version=1),
    ):
        with pytest.raises(FeatureStoreException, match=r"Feature group name .* is not valid"):
            call()
    assert not (project.store / "feature_store.duckdb").exists()


def test_a_group_named_with_a_trailing_newline_does_not_become_a_second_iris(project: LocalProject) -> None:
    fs = project.get_feature_store()
    fs.get_or_create_feature_group(name="iris", version=1, primary_key=["id"]).insert(
        pd.DataFrame({"id": [1]})
    )
    with pytest.raises(FeatureStoreException, match=r"'iris\\n' is not valid"):
        fs.create_feature_group(name="iris\n", version=2, primary_key=["id"])
    assert fs.get_feature_group("iris", version=2) is None


@pytest.mark.parametrize("name", BAD)
def test_a_feature_view_name_with_a_trailing_newline_or_a_path_is_refused(
    project: LocalProject, name: str
) -> None:
    with pytest.raises(FeatureStoreException, match=r"Feature view name .* is not valid"):
        project.get_feature_store().get_feature_view(name, version=1)


@pytest.mark.parametrize("name", ["iris\n", "../iris", "iris/1", ""])
def test_a_model_name_with_a_trailing_newline_or_a_path_is_refused(project: LocalProject, name: str) -> None:
    with pytest.raises(ModelRegistryException, match="Invalid model name"):
        project.get_model_registry().python.create_model(name)

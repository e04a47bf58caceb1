"""SDK methods the embedded backend lacks say so and name the README section; the package imports none
of the SDK's heavy modules until one is used."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sdk_support import view

from serverless_iris.embedded.project import LocalProject


@pytest.mark.parametrize(
    ("getter", "name"),
    [
        (lambda p: p, "get_jobs_api"),
        (lambda p: p.get_feature_store(), "get_storage_connector"),
        (lambda p: p.get_model_registry(), "tensorflow"),
        (lambda p: p.get_dataset_api(), "zip"),
        (lambda p: p.get_model_serving(), "create_predictor"),
    ],
)
def test_sdk_methods_missing_here_say_so(project: LocalProject, getter, name: str) -> None:
    with pytest.raises(NotImplementedError, match=f"{name}.*Differences from Hopsworks"):
        getattr(getter(project), name)
    with pytest.raises(AttributeError, match="no attribute 'not_an_sdk_method'"):
        getter(project).not_an_sdk_method  # noqa: B018


def test_feature_group_and_view_missing_methods(project: LocalProject) -> None:
    fv = view(project)
    fg = project.get_feature_store().get_feature_group("flowers", version=1)
    with pytest.raises(NotImplementedError, match="FeatureGroup.append_features"):
        fg.append_features  # noqa: B018
    with pytest.raises(NotImplementedError, match="FeatureView.get_feature_vector"):
        fv.get_feature_vector  # noqa: B018
    assert fg.sepal_length.name == "sepal_length"
    with pytest.raises(AttributeError) as plain:
        fg.not_an_sdk_method  # noqa: B018
    assert "If you are trying" not in str(plain.value)


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, serverless_iris, serverless_iris.embedded.project as p;"
        "print(sorted(m for m in ('hsfs', 'hsml', 'great_expectations', 'hopsworks') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

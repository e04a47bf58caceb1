"""Iris pipelines written by others for Hopsworks, replayed call for call on the embedded store.

Each test makes the sequence of SDK calls one public pipeline makes (our own code, with local data
and ``login()`` swapped for the embedded project), and checks what the SDK documents comes back.
Sources studied:

- logicalclocks/hopsworks-tutorials, ``iris/iris_sklearn.ipynb``: feature group -> feature view ->
  split -> ``mr.python.create_model`` -> a predictor script reading ``ARTIFACT_FILES_PATH`` ->
  ``model.deploy(name=..., script_file=model.version_path + "/...py")`` -> ``start()`` ->
  ``predict({"instances": [...]})`` -> ``ms.get_deployment(name)``.
- featurestoreorg/serverless-ml-course, ``src/01-module/iris-batch-inference-pipeline.ipynb`` and the
  course variants' ``iris-batch-inference-pipeline.py`` scripts (Modal jobs): predict the latest
  flower, save its picture, ``project.get_dataset_api().upload("./latest_iris.png",
  "Resources/images", overwrite=True)`` for the Gradio monitor app to download.
- Lukox/KTH-ID2223 ``Lab1/Task2/test.py`` (an ID2223 course variant): an ``iris_dimensions``
  expectation suite with one ``expect_column_values_to_be_between`` per measurement, saved with
  ``validation_ingestion_policy="STRICT"``; then inserts.
- featurestoreorg/serverless-ml-course, ``src/05-module/iris-feature-pipeline-with-ge.ipynb``: the same
  suite built with Great Expectations 0.18's ``ExpectationConfiguration``, saved on a group before its
  first insert, then the backfill of the iris file. The suite is built in the spelling of whichever
  Great Expectations line is installed (0.18 by default, 1.x in the second CI job).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import great_expectations
import joblib
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

from serverless_iris.embedded.project import LocalProject

ASSETS = Path(__file__).resolve().parents[2] / "assets"
GE_MAJOR = int(great_expectations.__version__.split(".")[0])
MEASUREMENTS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
BOUNDS = {
    "sepal_length": (4.5, 8.0),
    "sepal_width": (2.1, 4.5),
    "petal_length": (1.2, 7),
    "petal_width": (0.2, 2.5),
}
PREDICTOR = """
import os
import great_expectations
import joblib


class Predict(object):
    def __init__(self):
        self.model = joblib.load(os.environ["ARTIFACT_FILES_PATH"] + "/knn_iris_model.pkl")

    def predict(self, inputs):
        return self.model.predict(inputs).tolist()
"""


def iris_frame() -> pd.DataFrame:
    """30 flowers, 10 of each variety, measurements inside the suite's bounds."""
    rows = []
    for i in range(10):
        rows.append([5.0 + i * 0.05, 3.4, 1.4 + i * 0.01, 0.2, "Setosa"])
        rows.append([6.0 + i * 0.05, 2.8, 4.3 + i * 0.01, 1.3, "Versicolor"])
        rows.append([6.6 + i * 0.05, 3.0, 5.6 + i * 0.01, 2.1, "Virginica"])
    return pd.DataFrame(rows, columns=[*MEASUREMENTS, "variety"])


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipelines write their pictures and models in the working directory."""
    monkeypatch.chdir(tmp_path)


def test_tutorial_train_register_deploy_predict(project: LocalProject, tmp_path: Path) -> None:
    fs, mr, ms = project.get_feature_store(), project.get_model_registry(), project.get_model_serving()
    iris_fg = fs.create_feature_group(name="iris_fg", version=1, primary_key=MEASUREMENTS, description="Iris")
    iris_fg.insert(iris_frame())
    fv = fs.create_feature_view(name="iris_fv", version=1, labels=["variety"], query=iris_fg.select_all())
    x_train, x_test, y_train, y_test = fs.get_feature_view(name="iris_fv", version=1).train_test_split(0.2)
    assert (len(x_train), len(x_test)) == (24, 6) and list(y_train.columns) == ["variety"]

    model = KNeighborsClassifier(n_neighbors=1).fit(x_train.values, y_train["variety"])
    model_dir = tmp_path / "iris_model"
    model_dir.mkdir()
    joblib.dump(model, model_dir / "knn_iris_model.pkl")
    (model_dir / "iris_predictor.py").write_text(PREDICTOR)
    iris_model = mr.python.create_model(name="iris_model", version=1, metrics={"accuracy": 1.0})
    iris_model.save(str(model_dir))

    deployment = iris_model.deploy(
        name="irisdeployment", script_file=iris_model.version_path + "/iris_predictor.py"
    )
    assert deployment.get_state().status == "Created"
    deployment.start()
    try:
        assert ms.get_deployment("irisdeployment").is_running()
        first = x_test.iloc[0].tolist()
        response = deployment.predict({"instances": [first]})
        assert response == {"predictions": [model.predict([first])[0]]}
        batch = deployment.predict(inputs=x_test.values.tolist())
        assert batch["predictions"] == model.predict(x_test.values).tolist()
    finally:
        deployment.stop()
    assert deployment.get_state().status == "Stopped"
    assert fv.name == "iris_fv"


def test_course_batch_inference_uploads_the_latest_flower(project: LocalProject, tmp_path: Path) -> None:
    fs = project.get_feature_store()
    fg = fs.get_or_create_feature_group(name="iris", version=1, primary_key=MEASUREMENTS, description="Iris")
    fg.insert(iris_frame())
    latest = fg.read().iloc[-1]["variety"]
    Path("latest_iris.png").write_bytes(f"picture of {latest}".encode())

    dataset_api = project.get_dataset_api()
    assert dataset_api.upload("./latest_iris.png", "Resources/images", overwrite=True) == (
        "Resources/images/latest_iris.png"
    )
    Path("latest_iris.png").write_bytes(b"the next day's flower")
    dataset_api.upload("./latest_iris.png", "Resources/images", overwrite=True)

    # the monitor app, elsewhere, downloads it
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    path = dataset_api.download("Resources/images/latest_iris.png", str(app_dir), overwrite=True)
    assert Path(path) == app_dir / "latest_iris.png"
    assert Path(path).read_bytes() == b"the next day's flower"
    assert dataset_api.list("Resources/images") == ["/Resources/images/latest_iris.png"]


def test_lab_expectation_suite_strict_refuses_bad_flowers(project: LocalProject) -> None:
    """The KTH lab's suite on a group holding data: the daily flower passes, a giant one is refused."""
    iris_fg = project.get_feature_store().get_or_create_feature_group(
        name="iris", version=1, primary_key=MEASUREMENTS
    )
    iris_fg.insert(iris_frame())
    iris_fg.save_expectation_suite(expectation_suite=dimensions_suite(), validation_ingestion_policy="STRICT")

    daily = iris_frame().iloc[:1].assign(sepal_length=7.9)
    job, report = iris_fg.insert(daily)
    assert job is None and report.success
    assert type(report) is great_expectations.core.ExpectationSuiteValidationResult
    giant = iris_frame().iloc[:1].assign(sepal_length=9.9)
    with pytest.raises(Exception, match="validation ingestion policy set to strict") as refused:
        iris_fg.insert(giant)
    assert type(refused.value).__name__ == "DataValidationException"
    assert 9.9 not in set(iris_fg.read()["sepal_length"])
    assert len(iris_fg.read()) == 31
    assert isinstance(iris_fg.get_expectation_suite(), great_expectations.core.ExpectationSuite)
    assert os.path.exists(project.store)


def dimensions_suite() -> Any:
    """The course's ``iris_dimensions`` suite, built as the installed Great Expectations line spells it.

    On 0.18 (the default install) the course's own calls run: ``ge.core.ExpectationSuite(
    expectation_suite_name=...)`` and ``add_expectation(ge.core.ExpectationConfiguration(...))``; 1.x
    removed ``ExpectationConfiguration`` (the course's spelling fails there, which this checks) and
    spells the same suite with ``gx.expectations``.
    """
    ge = great_expectations
    if GE_MAJOR == 0:
        from great_expectations.core import ExpectationConfiguration  # the KTH lab's import

        suite = ge.core.ExpectationSuite(expectation_suite_name="iris_dimensions")
        for column, (low, high) in BOUNDS.items():
            suite.add_expectation(
                ge.core.ExpectationConfiguration(
                    expectation_type="expect_column_values_to_be_between",
                    kwargs={"column": column, "min_value": low, "max_value": high},
                )
            )
        assert ExpectationConfiguration is ge.core.ExpectationConfiguration
        return suite
    with pytest.raises(ImportError):
        from great_expectations.core import ExpectationConfiguration  # noqa: F401
    assert not hasattr(ge.core, "ExpectationConfiguration")
    expectations = [
        ge.expectations.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)
        for column, (low, high) in BOUNDS.items()
    ]
    return ge.core.ExpectationSuite(name="iris_dimensions", expectations=expectations)


def test_course_ge_feature_pipeline_backfill(project: LocalProject) -> None:
    """featurestoreorg/serverless-ml-course ``src/05-module/iris-feature-pipeline-with-ge.ipynb``: the
    suite saved on a group not created yet, then the backfill of the whole iris file. Some of the 150
    flowers lie outside the bounds, so the STRICT suite refuses the insert; the group is created (as
    5.2.1 saves it before validating) with no rows, and a backfill inside the bounds goes in."""
    iris_df = pd.read_csv(ASSETS / "iris.csv")
    fs = project.get_feature_store()
    iris_fg = fs.get_or_create_feature_group(
        name="iris", version=4, primary_key=MEASUREMENTS, description="Iris flower dataset"
    )
    iris_fg.save_expectation_suite(expectation_suite=dimensions_suite(), validation_ingestion_policy="STRICT")
    outside = sum(((iris_df[c] < low) | (iris_df[c] > high)).sum() for c, (low, high) in BOUNDS.items())
    assert outside > 0

    with pytest.raises(Exception, match="insertion to iris was aborted") as refused:
        iris_fg.insert(iris_df, write_options={"wait_for_job": False})

    assert type(refused.value).__name__ == "DataValidationException"
    saved = fs.get_feature_group("iris", version=4)
    assert saved.description == "Iris flower dataset" and len(saved.read()) == 0
    assert saved.get_expectation_suite(ge_type=False).expectation_suite_name == "iris_dimensions"
    inside = iris_df[
        pd.concat([iris_df[c].between(low, high) for c, (low, high) in BOUNDS.items()], axis=1).all(axis=1)
    ].drop_duplicates(MEASUREMENTS)
    job, report = iris_fg.insert(inside, write_options={"wait_for_job": False})
    assert job is None and report.success
    assert len(fs.get_feature_group("iris", version=4).read()) == len(inside) > 100

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
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import joblib
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

from serverless_iris.embedded.project import LocalProject

MEASUREMENTS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
BOUNDS = {
    "sepal_length": (4.5, 8.0),
    "sepal_width": (2.1, 4.5),
    "petal_length": (1.2, 7),
    "petal_width": (0.2, 2.5),
}
PREDICTOR = """
import os
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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalProject]:
    """A project in a temporary store; deployments a failed test left running are stopped."""
    monkeypatch.chdir(tmp_path)
    project = LocalProject(tmp_path / "store")
    yield project
    for deployment in project.get_model_serving().get_deployments():
        deployment.stop(await_stopped=30)


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
    assert dataset_api.list("Resources/images") == ["Resources/images/latest_iris.png"]


def test_course_expectation_suite_strict_refuses_bad_flowers(project: LocalProject) -> None:
    import great_expectations as gx

    fs = project.get_feature_store()
    iris_fg = fs.get_or_create_feature_group(name="iris", version=1, primary_key=MEASUREMENTS)
    iris_fg.insert(iris_frame())
    # The course builds the suite with Great Expectations 0.18's ExpectationConfiguration; the version
    # that resolves with numpy 2 here is 1.x, whose spelling of the same suite is this.
    expectations = [
        gx.expectations.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)
        for column, (low, high) in BOUNDS.items()
    ]
    suite = gx.core.ExpectationSuite(name="iris_dimensions", expectations=expectations)
    iris_fg.save_expectation_suite(expectation_suite=suite, validation_ingestion_policy="STRICT")

    daily = iris_frame().iloc[:1].assign(sepal_length=7.9)
    job, report = iris_fg.insert(daily)
    assert job is None and report.success and report.ingestion_result == "INGESTED"
    giant = iris_frame().iloc[:1].assign(sepal_length=9.9)
    with pytest.raises(Exception, match="validation ingestion policy set to strict") as refused:
        iris_fg.insert(giant)
    assert type(refused.value).__name__ == "DataValidationException"
    assert 9.9 not in set(iris_fg.read()["sepal_length"])
    assert len(iris_fg.read()) == 31
    assert isinstance(iris_fg.get_expectation_suite(), gx.core.ExpectationSuite)
    assert os.path.exists(project.store)

"""The dataset API, training datasets, expectation suites, model serving and the errors for SDK methods
the embedded backend lacks, checked against the installed SDK's own code where it runs offline."""

from __future__ import annotations

import random
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from serverless_iris.embedded.project import LocalProject
from serverless_iris.embedded.training_dataset import split_frame


def sdk(dotted: str):
    module, _, name = dotted.rpartition(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(__import__(module, fromlist=[name]), name)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[LocalProject]:
    """A project in a temporary store; deployments a failed test left running are stopped."""
    project = LocalProject(tmp_path / "store")
    yield project
    for deployment in project.get_model_serving().get_deployments():
        deployment.stop(await_stopped=30)


def flowers(n: int) -> pd.DataFrame:
    rng = random.Random(7)
    return pd.DataFrame(
        {
            "id": range(n),
            "sepal_length": [round(rng.uniform(4.5, 8), 2) for _ in range(n)],
            "variety": [rng.choice(["Setosa", "Versicolor", "Virginica"]) for _ in range(n)],
        }
    )


def view(project: LocalProject, n: int = 50):
    fs = project.get_feature_store()
    fg = fs.get_or_create_feature_group(name="flowers", version=1, primary_key=["id"])
    fg.insert(flowers(n))
    return fs.get_or_create_feature_view(name="flowers", version=1, query=fg.select_all(), labels=["variety"])


# ------------------------------------------------------------------------------ training datasets


@pytest.mark.parametrize("seed", [0, 1, 42, 2024])
@pytest.mark.parametrize(
    "sizes", [{"train": 0.8, "test": 0.2}, {"train": 0.5, "validation": 0.3, "test": 0.2}]
)
def test_split_assignment_is_the_sdks(seed: int, sizes: dict[str, float]) -> None:
    frame = flowers(37)
    ours = split_frame(frame, sizes, seed)
    splits = [SimpleNamespace(name=k, percentage=v) for k, v in sizes.items()]
    theirs = sdk("hsfs.engine.python.Engine")()._random_split(
        frame.copy(), SimpleNamespace(splits=splits, seed=seed)
    )
    assert {k: list(v["id"]) for k, v in ours.items()} == {k: list(v["id"]) for k, v in theirs.items()}


def test_materialised_split_is_versioned_reproducible_and_read_back(project: LocalProject) -> None:
    fv = view(project)
    assert fv.create_train_test_split(test_size=0.2, seed=42) == (1, None)
    assert fv.create_train_test_split(test_size=0.2, seed=42, data_format="csv") == (2, None)
    x1_train, x1_test, y1_train, y1_test = fv.get_train_test_split(1)
    x2_train, x2_test, y2_train, y2_test = fv.get_train_test_split(2)
    assert (len(x1_train), len(x1_test)) == (40, 10)
    pd.testing.assert_frame_equal(x1_test, x2_test)
    pd.testing.assert_frame_equal(y1_train, y2_train)
    assert list(x1_train.columns) == ["id", "sepal_length"] and list(y1_train.columns) == ["variety"]
    files = sorted(p.relative_to(project.store) for p in project.store.glob("datasets/*/flowers_1_2/*/*"))
    assert [str(f).rsplit("/", 2)[-1] for f in files] == ["test.csv", "train.csv"]


def test_three_way_split_and_unsplit_data(project: LocalProject) -> None:
    fv = view(project)
    version, job = fv.create_train_validation_test_split(validation_size=0.2, test_size=0.2, seed=3)
    parts = fv.get_train_validation_test_split(version)
    assert [len(p) for p in parts] == [30, 10, 10, 30, 10, 10]
    assert set(parts[0]["id"]) | set(parts[1]["id"]) | set(parts[2]["id"]) == set(range(50))
    version, _ = fv.create_training_data(data_format="tsv", description="all of it")
    x, y = fv.get_training_data(version)
    assert len(x) == 50 and x["sepal_length"].dtype == "float64"
    with pytest.raises(ValueError, match="Use `feature_view.get_train_validation_test_split` instead"):
        fv.get_train_test_split(1)
    in_memory = fv.train_validation_test_split(validation_size=0.2, test_size=0.2)
    assert [len(p) for p in in_memory] == [30, 10, 10, 30, 10, 10]


def test_training_dataset_errors_and_deletes(project: LocalProject) -> None:
    fv = view(project)
    with pytest.raises(ValueError, match="Invalid split input"):
        fv.create_train_test_split(test_size=1.5)
    with pytest.raises(Exception, match="data_format 'avro' is not supported"):
        fv.create_training_data(data_format="avro")
    with pytest.raises(Exception, match="version 7 .* does not exist"):
        fv.get_training_data(7)
    fv.create_training_data()
    fv.create_training_data(data_format="csv", seed=5, description="second")
    listed = fv.get_training_datasets()
    assert [(t.version, t.data_format, t.seed, t.description) for t in listed] == [
        (1, "parquet", None, ""),
        (2, "csv", 5, "second"),
    ]
    fv.delete_training_dataset(1)
    with pytest.raises(Exception, match="version 1 .* does not exist"):
        fv.get_training_data(1)
    fv.get_training_data(2)
    fv.delete_all_training_datasets()
    assert not list(project.store.glob("datasets/*/flowers_1_*"))


# ------------------------------------------------------------------------------------ dataset API


def test_dataset_api_paths_and_errors(project: LocalProject, tmp_path: Path) -> None:
    api = project.get_dataset_api()
    source = tmp_path / "notes.txt"
    source.write_text("one")
    assert api.mkdir("Resources/docs") == "Resources/docs"
    assert api.upload(str(source), "Resources/docs") == "Resources/docs/notes.txt"
    with pytest.raises(Exception, match="already exists, set overwrite=True"):
        api.upload(str(source), "Resources/docs")
    api.copy("Resources/docs/notes.txt", "Logs/notes.txt")
    api.move("Logs/notes.txt", "/Projects/local/Logs/moved.txt")
    assert api.list("Logs") == ["Logs/moved.txt"]
    assert api.exists("Resources/docs/notes.txt") and not api.exists("Logs/notes.txt")
    api.remove("Resources/docs")
    assert not api.exists("Resources/docs/notes.txt")
    with pytest.raises(Exception, match="leaves the project"):
        api.upload(str(source), "Resources/../../outside")
    with pytest.raises(Exception, match="does not exist"):
        api.download("Resources/missing.txt", str(tmp_path))


# ---------------------------------------------------------------------------------- validation


def suite(policy: str = "ALWAYS"):
    return sdk("hsfs.expectation_suite.ExpectationSuite")(
        expectation_suite_name="sizes",
        expectations=[
            {
                "expectation_type": "expect_column_values_to_be_between",
                "kwargs": {"column": "sepal_length", "min_value": 4.5, "max_value": 8.0},
                "meta": {},
            }
        ],
        meta={},
        validation_ingestion_policy=policy,
    )


def test_suite_given_at_creation_validates_every_insert(project: LocalProject) -> None:
    fs = project.get_feature_store()
    fg = fs.create_feature_group(name="flowers", version=1, primary_key=["id"], expectation_suite=suite())
    job, report = fg.insert(flowers(5))
    assert report.success and report.ingestion_result == "INGESTED"
    job, report = fg.insert(flowers(1).assign(id=99, sepal_length=20.0))
    assert not report.success and report.ingestion_result == "INGESTED"  # ALWAYS writes
    assert len(fg.read()) == 6
    again = fs.get_feature_group("flowers", version=1)
    assert again.get_expectation_suite(ge_type=False).expectation_suite_name == "sizes"
    ge_report = again.validate(flowers(2))
    assert type(ge_report).__name__ == "ExpectationSuiteValidationResult" and ge_report.success
    again.delete_expectation_suite()
    assert again.get_expectation_suite() is None
    assert fg.insert(flowers(1).assign(sepal_length=30.0)) == (None, None)


def test_strict_suite_writes_nothing_on_failure(project: LocalProject) -> None:
    fs = project.get_feature_store()
    fg = fs.get_or_create_feature_group(name="flowers", version=1, primary_key=["id"])
    fg.insert(flowers(3))
    fg.save_expectation_suite(suite().to_ge_type(), validation_ingestion_policy="strict")
    assert fg.get_expectation_suite(ge_type=False).validation_ingestion_policy == "STRICT"
    before = fg.read()
    with pytest.raises(Exception, match="insertion to flowers was aborted"):
        fg.insert(flowers(4).assign(sepal_length=[5.0, 5.0, 5.0, 11.0]))
    pd.testing.assert_frame_equal(fg.read(), before)
    with pytest.raises(TypeError, match="expectation suite type"):
        fg.save_expectation_suite({"not": "a suite"})


def test_strict_suite_on_a_new_group_creates_nothing_when_it_fails(project: LocalProject) -> None:
    fs = project.get_feature_store()
    fg = fs.get_or_create_feature_group(
        "fresh", version=1, primary_key=["id"], expectation_suite=suite("STRICT")
    )
    with pytest.raises(Exception, match="insertion to fresh was aborted"):
        fg.insert(flowers(2).assign(sepal_length=[5.0, 99.0]))
    assert fs.get_feature_group("fresh", version=1) is None
    job, report = fg.insert(flowers(2).assign(sepal_length=[5.0, 6.0]))
    assert report.success and len(fs.get_feature_group("fresh", version=1).read()) == 2
    assert (
        fs.get_feature_group("fresh", version=1).get_expectation_suite(ge_type=False).expectation_suite_name
        == "sizes"
    )


# ------------------------------------------------------------------------------------- serving


@pytest.mark.parametrize(
    ("data", "inputs"),
    [(None, [1, 2]), (None, [[1, 2], [3, 4]]), (None, {"a": 1}), ({"inputs": [{"a": 1}]}, None)],
)
def test_payload_is_built_as_the_sdk_builds_it(data, inputs) -> None:
    from serverless_iris.embedded.model_serving import _inference_payload

    engine = sdk("hsml.engine.serving_engine.ServingEngine")()
    engine._validate_inference_payload("REST", data, inputs)
    expected = data if data is not None else engine._parse_inference_inputs("REST", inputs)
    assert _inference_payload(data, inputs) == expected


def test_payload_errors_are_the_sdks() -> None:
    from serverless_iris.embedded.model_serving import ModelServingException, _inference_payload

    cases = [
        ({"x": 1}, None),
        ({"instances": []}, None),
        ({"instances": [1]}, None),
        ({"instances": [1]}, [1]),
    ]
    cases += [([1], None), ({"instances": [{}]}, None), (None, 5), (None, []), (None, None)]
    for data, inputs in cases:
        with pytest.raises(ModelServingException) as ours:
            _inference_payload(data, inputs)
        with pytest.raises(Exception) as theirs:
            sdk("hsml.engine.serving_engine.ServingEngine")()._validate_inference_payload(
                "REST", data, inputs
            )
        assert str(ours.value) == str(theirs.value)


def saved_model(project: LocalProject, tmp_path: Path, predictor: str):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "threshold.txt").write_text("5")
    (folder / "predictor.py").write_text(predictor)
    model = project.get_model_registry().python.create_model("sizer")
    return model.save(str(folder))


SIZER = """
import os

class Predict:
    def __init__(self):
        self.threshold = float(open(os.path.join(os.environ["MODEL_FILES_PATH"], "threshold.txt")).read())

    def predict(self, inputs):
        if inputs == [["crash"]]:
            os._exit(3)
        return ["big" if row[0] > self.threshold else "small" for row in inputs]
"""


def test_deployment_round_trip_and_a_crashing_predictor(project: LocalProject, tmp_path: Path) -> None:
    model = saved_model(project, tmp_path, SIZER)
    deployment = model.deploy(script_file=model.version_path + "/predictor.py")
    assert deployment.name == "sizer" and deployment.get_state().status == "Created"
    with pytest.raises(Exception, match="not running"):
        deployment.predict(inputs=[1])
    deployment.start()
    assert deployment.predict(inputs=[[7], [2]]) == {"predictions": ["big", "small"]}
    with pytest.raises(Exception, match="not stopped"):
        deployment.delete()
    with pytest.raises(Exception, match="predictor process may have died"):
        deployment.predict(inputs=[["crash"]])
    assert deployment.get_state().status == "Failed"
    deployment.start()
    assert deployment.predict({"instances": [[9]]}) == {"predictions": ["big"]}
    deployment.stop()
    serving = project.get_model_serving()
    assert [d.name for d in serving.get_deployments(model, status="stopped")] == ["sizer"]
    assert serving.get_deployments(status="running") == []
    deployment.delete()
    assert project.get_model_serving().get_deployment("sizer") is None


def test_model_folders_are_the_projects_models_dataset(project: LocalProject, tmp_path: Path) -> None:
    model = saved_model(project, tmp_path, SIZER)
    api = project.get_dataset_api()
    assert api.list("Models/sizer") == ["Models/sizer/1"]
    assert api.list("Models/sizer/1") == ["Models/sizer/1/predictor.py", "Models/sizer/1/threshold.txt"]
    api.upload(str(tmp_path / "model" / "predictor.py"), "Resources/predictors")
    deployment = model.deploy(name="fromresources", script_file="Resources/predictors/predictor.py")
    assert deployment.script_file == str(
        project.store / "datasets" / "Resources" / "predictors" / "predictor.py"
    )
    with pytest.raises(Exception, match="not found"):
        model.deploy(name="missing", script_file="Resources/none.py")
    again = model.deploy(name="fromresources", script_file="Resources/predictors/predictor.py")
    assert again.name == "fromresources" and len(project.get_model_serving().get_deployments(model)) == 1


def test_a_predictor_that_fails_to_load_reports_its_error(project: LocalProject, tmp_path: Path) -> None:
    model = saved_model(project, tmp_path, "raise RuntimeError('no model files here')\n")
    deployment = model.deploy(name="broken", script_file=model.version_path + "/predictor.py")
    with pytest.raises(Exception, match="no model files here"):
        deployment.start()
    assert deployment.get_state().status == "Failed"


# --------------------------------------------------------------------------------- missing methods


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


def test_time_split_and_helper_columns_on_request(project: LocalProject) -> None:
    fs = project.get_feature_store()
    fg = fs.get_or_create_feature_group("dated", version=1, primary_key=["id"], event_time="day")
    days = pd.date_range("2024-01-01", periods=10, freq="D")
    fg.insert(flowers(10).assign(day=days))
    fv = fs.get_or_create_feature_view(
        "dated", version=1, query=fg.select_except(["day"]), labels=["variety"]
    )
    version, _ = fv.create_train_test_split(
        train_end="2024-01-08", test_start="2024-01-08", data_format="json"
    )
    x_train, x_test, y_train, y_test = fv.get_train_test_split(version)
    assert (len(x_train), len(x_test)) == (7, 3) and list(x_train.columns) == ["id", "sepal_length"]
    x_train, x_test, _, _ = fv.get_train_test_split(version, event_time=True)
    helper = "local_dated_1_day"
    assert list(x_test.columns) == ["id", "sepal_length", helper]
    assert list(x_test[helper]) == list(days[7:]) and x_test[helper].dtype == x_train[helper].dtype

"""The three pipeline notebooks, executed for real on a temporary store.

One sequence runs once for the module (notebook execution is slow): the defaults through plain
``jupyter nbconvert --execute`` (as in Jupyter: working directory ``notebooks/``), parameterised runs
through papermill from an unrelated working directory. Each test checks the outcome of its steps.
"""

from __future__ import annotations

import inspect
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
from PIL import Image
from support import REPO

from serverless_iris.embedded.project import LocalProject
from serverless_iris.helpers.flowers import (
    ASSETS_DIR,
    BACKFILL_EVENT_TIME,
    FEATURES,
    SPECIES_RANGES,
    VARIETIES,
    newest_first,
    utc,
)

NOTEBOOKS = {
    "feature": REPO / "notebooks" / "iris-feature-pipeline.ipynb",
    "training": REPO / "notebooks" / "iris-training-pipeline.ipynb",
    "inference": REPO / "notebooks" / "iris-batch-inference-pipeline.ipynb",
}
PARAMETERS = {
    "feature": ["BACKFILL", "version", "IRIS_CSV", "N_FLOWERS", "SEED"],
    "training": ["version", "MODEL_VERSION", "TEST_SIZE", "N_NEIGHBORS", "SEED", "DASHBOARD_DIR"],
    "inference": ["version", "MODEL_VERSION", "ACCURACY_THRESHOLD", "RETRAIN_ON_ALERT", "DASHBOARD_DIR"],
}
RUN_ID = "20261127T093000Z-test01"
DASHBOARD_FILES = [
    "latest_iris.png",
    "actual_iris.png",
    "df_recent.png",
    "confusion_matrix.png",
    "accuracy.png",
    "dashboard.json",
    "knn_model.json",
]


@dataclass
class Step:
    """One notebook execution and the store's state right after it."""

    notebook: str
    executed: Any  # the executed notebook (nbformat node)
    flowers: pd.DataFrame
    predictions: pd.DataFrame
    models: dict[int, dict[str, float]]
    error: str | None = None

    def text(self) -> str:
        """Everything the notebook printed or displayed as text."""
        parts = []
        for cell in self.executed.cells:
            for output in cell.get("outputs", []):
                parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
        return "\n".join(parts)


@dataclass
class Pipeline:
    store: Path
    dashboard_default: Path  # where runs on defaults drew (IRIS_DASHBOARD_DIR)
    dashboard_param: Path  # the DASHBOARD_DIR passed to papermill runs
    steps: dict[str, Step] = field(default_factory=dict)


def state(store: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[int, dict[str, float]]]:
    project = LocalProject(store)
    fs = project.get_feature_store()
    iris = fs.get_feature_group("iris", version=1)
    predictions = fs.get_feature_group("iris_predictions", version=1)
    models = project.get_model_registry().get_models("iris")
    return (
        iris.read() if iris else pd.DataFrame(),
        predictions.read() if predictions else pd.DataFrame(),
        {m.version: m.training_metrics for m in models},
    )


def run_papermill(name: str, work: Path, out: Path, **parameters: Any) -> tuple[Any, str | None]:
    target = out / f"{len(list(out.iterdir())):02d}-{name}.ipynb"
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS[name]),
            str(target),
            parameters=parameters,  # no kernel_name: papermill takes the notebook's, the embedded kernel
            cwd=str(work),
            progress_bar=False,
        )
        error = None
    except papermill.PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    return nbformat.read(target, as_version=4), error


def run_nbconvert(name: str, out: Path) -> Any:
    """Plain ``jupyter nbconvert --execute`` on the defaults, from the notebook's own folder."""
    target = f"{len(list(out.iterdir())):02d}-{name}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            str(NOTEBOOKS[name]),
            "--output-dir",
            str(out),
            "--output",
            target,
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return nbformat.read(out / f"{target}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    root = tmp_path_factory.mktemp("pipeline")
    work, out = root / "elsewhere", root / "executed"
    work.mkdir()
    out.mkdir()
    bad_csv = root / "bad.csv"
    bad_csv.write_text(
        "sepal_length,sepal_width,petal_length,petal_width,variety\n5.1,3.5,1.4,0.2,Iris-setosa\n"
    )
    result = Pipeline(
        store=root / "store", dashboard_default=root / "dash-env", dashboard_param=root / "dash"
    )

    def record(label: str, notebook: str, executed: Any, error: str | None = None) -> None:
        result.steps[label] = Step(notebook, executed, *state(result.store), error=error)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("IRIS_STORE", str(result.store))
        env.setenv("IRIS_DASHBOARD_DIR", str(result.dashboard_default))
        env.setenv("IRIS_RUN_ID", RUN_ID)
        env.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        env.delenv("HOPSWORKS_API_KEY", raising=False)
        env.delenv("IRIS_BACKEND", raising=False)
        record("backfill", "feature", run_nbconvert("feature", out))
        record("backfill again", "feature", *run_papermill("feature", work, out, BACKFILL=True))
        record("train", "training", run_nbconvert("training", out))
        record("retrain", "training", *run_papermill("training", work, out, N_NEIGHBORS=3))
        record("first inference", "inference", run_nbconvert("inference", out))
        record("daily", "feature", *run_papermill("feature", work, out, N_FLOWERS=2, SEED=11))
        dash = str(result.dashboard_param)
        record("inference", "inference", *run_papermill("inference", work, out, DASHBOARD_DIR=dash))
        record("inference again", "inference", *run_papermill("inference", work, out, DASHBOARD_DIR=dash))
        record(
            "bad data", "feature", *run_papermill("feature", work, out, BACKFILL=True, IRIS_CSV=str(bad_csv))
        )
    assert not list(work.iterdir()), "the notebooks must not write into the working directory"
    return result


# --- the notebooks as committed -------------------------------------------------------------------


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_clean_with_one_documented_parameters_cell(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS[name], as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), "strip the outputs"
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    lines = [line for line in tagged[0].source.splitlines() if line.strip()]
    assert [re.split("[:=]", line)[0].strip() for line in lines] == PARAMETERS[name]
    for line in lines:
        assert "  # " in line and "=" not in line.split("#", 1)[1], f"comment each parameter, no '=': {line}"
    inspected = papermill.inspect_notebook(str(NOTEBOOKS[name]))
    assert list(inspected) == PARAMETERS[name]
    assert all(p["help"] for p in inspected.values())
    assert all(p["inferred_type_name"] != "None" for p in inspected.values()), (
        "annotate each parameter's type"
    )
    assert "pip install" not in "".join(cell.source for cell in code)
    assert "check_parameters(" in code[1].source, "the values are checked right after the parameters cell"
    assert "import hopsworks\n" in code[1].source + code[2].source
    assert any("project = hopsworks.login()" in cell.source for cell in code)
    assert notebook.metadata.kernelspec == {
        "display_name": "Python 3 (embedded Hopsworks)",
        "language": "python",
        "name": "serverless-iris",
    }, "plain papermill and Jupyter pick the embedded-Hopsworks kernel from here"


# The course's calls (Lab 1 of the serverless-ML course), in the course's order: each must stand in a code
# cell of the notebook, after the previous one and before the first "Beyond the course" heading.
COURSE_CALLS = {
    "feature": [
        "def generate_flower(",
        "def get_random_iris_flower():",
        "project = hopsworks.login()",
        "fs = project.get_feature_store()",
        "pd.read_csv(",
        "get_random_iris_flower()",
        "iris_df.head()",
        ".drop_duplicates(",
        'fs.get_or_create_feature_group(\n    name="iris"',
        "iris_fg.insert(iris_df",
    ],
    "training": [
        "project = hopsworks.login()",
        "fs = project.get_feature_store()",
        "fs.get_or_create_feature_view(",
        'labels=["variety"]',
        "X_train, X_test, y_train, y_test = train_test_split(",
        "y_train",
        "model = KNeighborsClassifier(n_neighbors=",
        "model.fit(X_train, y_train.values.ravel())",
        "y_pred = model.predict(X_test)",
        "metrics = classification_report(y_test, y_pred, output_dict=True",
        "results = confusion_matrix(y_test, y_pred",
        "df_cm = pd.DataFrame(",
        "cm = sns.heatmap(df_cm, annot=True",
        "fig = cm.get_figure()",
        "fig.savefig(",
        "mr = project.get_model_registry()",
        'joblib.dump(model, model_dir + "/iris_model.pkl")',
        'shutil.copyfile(dashboard_dir / "training_confusion_matrix.png", model_dir',
        "input_example = X_train.sample(",
        "input_schema = Schema(X_train)",
        "output_schema = Schema(y_train)",
        "model_schema = ModelSchema(input_schema, output_schema)",
        "iris_model = mr.python.create_model(",
        "iris_model.save(model_dir)",
    ],
    "inference": [
        "project = hopsworks.login()",
        "fs = project.get_feature_store()",
        "mr = project.get_model_registry()",
        "model_dir = iris_model.download()",
        'model = joblib.load(model_dir + "/iris_model.pkl")',
        'feature_view = fs.get_feature_view(name="iris"',
        "batch_data = feature_view.get_batch_data(start_time=",
        "model.predict(batch_data",
        "batch_data",
        "flower = y_pred[y_pred.size - 1]",
        "img = Image.open(flower_picture(flower))",
        'img.save(dashboard_dir / "latest_iris.png")',
        'iris_fg = fs.get_feature_group(name="iris"',
        "df = iris_fg.read(",
        "label = labels.iloc[-1]",
        "img = Image.open(flower_picture(label))",
        'img.save(dashboard_dir / "actual_iris.png")',
        'monitor_fg = fs.get_or_create_feature_group(\n    name="iris_predictions"',
        "monitor_fg.insert(monitor_df",
        "history_df = monitor_fg.read()",
        "df_recent = history_df.tail(5)",
        'dfi.export(recent_predictions(df_recent), str(dashboard_dir / "df_recent.png")',
        "results = confusion_matrix(",
        'history_df["label"], history_df["predicted"]',
        "cm = sns.heatmap(df_cm, annot=True",
        'fig.savefig(dashboard_dir / "confusion_matrix.png")',
    ],
}
# Our additions the inference notebook must keep after the course's steps, under their own headings.
BEYOND = {
    "## Beyond the course: monitoring and alert": ["plot_accuracy_over_time(", "dashboard_summary("],
    "## Beyond the course: the dashboard's Try-it model": ["export_knn("],
    "## Beyond the course: the dashboard page": ["write_dashboard_page("],
}
# Corrections the markdown must state: what the course did, and why the notebook differs.
CORRECTIONS = {
    "feature": ["drop_duplicates()", "Hopsworks 5.2.1", "SEED"],
    "training": ["train_test_split(0.2)", "takes no seed", "MODEL_VERSION"],
    "inference": ["df.iloc[-1]", "get_batch_data()", "start_time", "version 1"],
}


def course_part(notebook: Any) -> tuple[str, list[Any]]:
    """The code of the cells before the first "Beyond the course" heading, and the cells from it on."""
    cells = list(notebook.cells)
    beyond = [
        i for i, c in enumerate(cells) if c.cell_type == "markdown" and "# Beyond the course" in c.source
    ]
    stop = beyond[0] if beyond else len(cells)
    return "\n".join(c.source for c in cells[:stop] if c.cell_type == "code"), cells[stop:]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_course_calls_stand_in_the_notebook_in_the_course_order(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS[name], as_version=4)
    course, beyond = course_part(notebook)
    at = 0
    for call in COURSE_CALLS[name]:
        found = course.find(call, at)
        assert found >= 0, f"{name}: {call!r} missing, or not after {course[max(0, at - 80) : at]!r}"
        at = found + len(call)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for phrase in CORRECTIONS[name]:
        assert phrase in markdown, f"{name}: the markdown does not explain {phrase!r}"
    assert "version=1," not in course.replace('"iris_predictions",\n    version=1,', "")


def test_additions_sit_after_the_course_under_their_own_headings() -> None:
    course, beyond = course_part(nbformat.read(NOTEBOOKS["inference"], as_version=4))
    headings = [
        c.source.splitlines()[0] for c in beyond if c.cell_type == "markdown" and c.source.startswith("#")
    ]
    assert headings == list(BEYOND)
    for heading, calls in BEYOND.items():
        start = next(i for i, c in enumerate(beyond) if c.source.startswith(heading))
        section = "\n".join(c.source for c in beyond[start:] if c.cell_type == "code")
        for call in calls:
            assert call in section and call not in course, (heading, call)
    for name in ("feature", "training"):
        assert not course_part(nbformat.read(NOTEBOOKS[name], as_version=4))[1], name


def course_functions() -> dict[str, Any]:
    """``generate_flower`` and ``get_random_iris_flower`` as the feature notebook defines them."""
    notebook = nbformat.read(NOTEBOOKS["feature"], as_version=4)
    [cell] = [c for c in notebook.cells if c.cell_type == "code" and "def generate_flower(" in c.source]
    namespace: dict[str, Any] = {"random": random, "pd": pd}
    exec(compile(cell.source, "iris-feature-pipeline.ipynb", "exec"), namespace)
    return namespace


def test_the_course_flower_functions_keep_its_signatures_and_ranges() -> None:
    functions = course_functions()
    assert list(inspect.signature(functions["generate_flower"]).parameters) == [
        "name",
        "sepal_len_max",
        "sepal_len_min",
        "sepal_width_max",
        "sepal_width_min",
        "petal_len_max",
        "petal_len_min",
        "petal_width_max",
        "petal_width_min",
    ]
    assert not inspect.signature(functions["get_random_iris_flower"]).parameters
    random.seed(5)
    many = pd.concat([functions["get_random_iris_flower"]() for _ in range(600)], ignore_index=True)
    assert list(many.columns) == [*FEATURES, "variety"]
    assert many["variety"].value_counts().min() > 150  # each variety about a third of the time
    for variety, group in many.groupby("variety"):
        for feature, (low, high) in SPECIES_RANGES[variety].items():
            assert group[feature].between(low, high).all(), (variety, feature)
            assert group[feature].max() - group[feature].min() > 0.8 * (high - low), (variety, feature)
    random.seed(5)
    again = pd.concat([functions["get_random_iris_flower"]() for _ in range(600)], ignore_index=True)
    pd.testing.assert_frame_equal(many, again)  # a SEED replays the daily flowers


# --- feature pipeline -----------------------------------------------------------------------------


@pytest.mark.slow
def test_backfill_writes_149_flowers_once(pipeline: Pipeline) -> None:
    first, again = pipeline.steps["backfill"], pipeline.steps["backfill again"]
    assert "mode: backfill" in first.text()
    assert len(first.flowers) == 149
    assert first.flowers["variety"].value_counts().to_dict() == {
        "Setosa": 50,
        "Versicolor": 50,
        "Virginica": 49,
    }
    assert (utc(first.flowers["event_time"]) == pd.Timestamp(BACKFILL_EVENT_TIME)).all()
    assert (
        "149 valid flowers from" in first.text()
        and "dropped 1 repeated row: line 144 repeats line 103" in first.text()
    )
    assert len(again.flowers) == 149


@pytest.mark.slow
def test_daily_run_adds_n_flowers_made_now(pipeline: Pipeline) -> None:
    before, after = pipeline.steps["first inference"].flowers, pipeline.steps["daily"].flowers
    assert "mode: daily, adding 2 synthetic flower(s)" in pipeline.steps["daily"].text()
    assert len(after) == len(before) + 2
    new = after[utc(after["event_time"]) > pd.Timestamp(BACKFILL_EVENT_TIME)]
    assert len(new) == 2 and set(new["variety"]) <= set(VARIETIES)
    assert (pd.Timestamp.now(tz="UTC") - utc(new["event_time"]).max()) < pd.Timedelta(hours=1)


@pytest.mark.slow
def test_bad_data_stops_the_notebook_and_inserts_nothing(pipeline: Pipeline) -> None:
    bad = pipeline.steps["bad data"]
    assert bad.error is not None and bad.error.startswith("IrisDataError")
    assert "line 2 ('Iris-setosa')" in bad.error and "Setosa, Versicolor, Virginica" in bad.error
    assert len(bad.flowers) == len(pipeline.steps["inference again"].flowers)


# --- training pipeline ----------------------------------------------------------------------------


@pytest.mark.slow
def test_model_trained_after_the_backfill_is_registered_and_versions_increment(pipeline: Pipeline) -> None:
    trained, retrained = pipeline.steps["train"].models, pipeline.steps["retrain"].models
    assert list(trained) == [1]
    assert trained[1]["accuracy"] >= 0.9 and 0 < trained[1]["f1_macro"] <= 1
    assert list(retrained) == [1, 2]
    model = LocalProject(pipeline.store).get_model_registry().get_model("iris", version=1)
    folder = Path(model.download())
    assert sorted(p.name for p in folder.iterdir()) == [
        "confusion_matrix.png",
        "iris_model.pkl",
        "provenance.json",
    ]
    assert_picture(folder / "confusion_matrix.png")
    record = json.loads((folder / "provenance.json").read_text())
    assert record["run_id"] == RUN_ID
    assert record["data"]["rows"] == 149 and record["data"]["latest_event_time"].startswith(
        "2020-01-01T00:00"
    )
    assert set(record["packages"]) == {"pandas", "scikit-learn", "numpy", "hopsworks", "duckdb"}
    assert model.input_example and len(model.input_example) == 4


# --- batch inference pipeline ---------------------------------------------------------------------


@pytest.mark.slow
def test_first_inference_predicts_only_the_newest_flower(pipeline: Pipeline) -> None:
    step = pipeline.steps["first inference"]
    assert len(step.predictions) == 1
    newest = newest_first(step.flowers, "event_time").iloc[0]  # all share one time: smallest measurements
    prediction = step.predictions.iloc[0]
    assert [prediction[name] for name in FEATURES] == [newest[name] for name in FEATURES]
    assert prediction["label"] == newest["variety"]
    best = max(step.models, key=lambda v: (step.models[v]["accuracy"], v))
    assert prediction["model_version"] == best


@pytest.mark.slow
def test_each_new_flower_gets_exactly_one_prediction(pipeline: Pipeline) -> None:
    before, after = pipeline.steps["first inference"], pipeline.steps["inference"]
    daily = pipeline.steps["daily"].flowers
    new_flowers = daily[utc(daily["event_time"]) > pd.Timestamp(BACKFILL_EVENT_TIME)]
    assert len(after.predictions) == len(before.predictions) + 2
    recorded = after.predictions.assign(flower_time=utc(after.predictions["flower_time"]))
    for _, flower in new_flowers.iterrows():
        match = recorded[
            (recorded[list(FEATURES)] == flower[list(FEATURES)].to_numpy()).all(axis=1)
            & (recorded["flower_time"] == utc(pd.Series([flower["event_time"]])).iloc[0])
        ]
        assert len(match) == 1 and match.iloc[0]["label"] == flower["variety"]
    assert pd.api.types.is_datetime64_any_dtype(after.predictions["prediction_time"])
    assert "2 flower(s) to predict, 1 prediction(s) recorded before" in after.text()
    assert f"trained by run {RUN_ID}" in after.text()


@pytest.mark.slow
def test_already_predicted_flowers_are_not_predicted_again(pipeline: Pipeline) -> None:
    again = pipeline.steps["inference again"]
    assert len(again.predictions) == len(pipeline.steps["inference"].predictions) == 3
    assert "nothing to predict" in again.text()


@pytest.mark.slow
def test_dashboard_pictures_and_data(pipeline: Pipeline) -> None:
    for folder in (pipeline.dashboard_default, pipeline.dashboard_param):
        for name in DASHBOARD_FILES:
            assert (folder / name).is_file(), f"{folder / name} is missing"
        for name in DASHBOARD_FILES:
            if name.endswith(".png"):
                assert_picture(folder / name)
    assert_picture(pipeline.dashboard_default / "training_confusion_matrix.png")

    summary = json.loads((pipeline.dashboard_param / "dashboard.json").read_text())
    predictions = pipeline.steps["inference again"].predictions
    today = newest_first(predictions, "flower_time").iloc[0]
    assert summary["n_predictions"] == 3
    assert (
        summary["today"]["predicted"] == today["predicted"] and summary["today"]["actual"] == today["label"]
    )
    assert summary["today"]["features"] == {name: today[name] for name in FEATURES}
    assert [r["event_time"] for r in summary["recent"]] == sorted(
        (r["event_time"] for r in summary["recent"]), reverse=True
    )
    # Pillow opens the variety's picture and saves it again: the same pixels, re-encoded
    assert same_pixels(pipeline.dashboard_param / "latest_iris.png", ASSETS_DIR / f"{today['predicted']}.png")
    assert same_pixels(pipeline.dashboard_param / "actual_iris.png", ASSETS_DIR / f"{today['label']}.png")
    assert json.loads((pipeline.dashboard_param / "knn_model.json").read_text())["classes"] == list(VARIETIES)


# hsfs 5.2.1 shows this on Hopsworks too (it sets simplefilter("always", VersionWarning)): a training
# dataset call that creates a version says which (hsfs prints it as one line; Python's own format adds
# the file, line and source line).
SDK_VERSION_NOTICE = re.compile(
    r"^(?:\S+:\d+: )?VersionWarning: Incremented version to `\d+`\.\n(?:  .*\n)?", re.M
)
# The course builds a ModelSchema, which hsml 5.2 deprecates; the notebook filters the warning, but a kernel
# started from scratch (nbconvert here) may log it through the SDK's logger first. Shown on Hopsworks too.
SDK_DEPRECATION_LOG = re.compile(
    r"^\S+ \S+ WARNING: HopsworksDeprecationWarning: ModelSchema\.__init__ is deprecated\..*\n+", re.M
)


@pytest.mark.slow
def test_reports_carry_no_warnings_or_errors(pipeline: Pipeline) -> None:
    notices = 0
    for label, step in pipeline.steps.items():
        for cell in step.executed.cells:
            for output in cell.get("outputs", []):
                if label == "bad data" and output.output_type == "error":
                    continue
                assert output.output_type != "error", (label, output.get("evalue"))
                text = output.get("text", "")
                if output.get("name") == "stderr":
                    text, found = SDK_VERSION_NOTICE.subn("", SDK_DEPRECATION_LOG.sub("", text))
                    notices += found
                    assert not text.strip(), (label, output.get("text"))
                assert "Warning" not in text, (label, output.get("text"))
    assert notices == sum(label in ("train", "retrain") for label in pipeline.steps)  # one per training run


def same_pixels(a: Path, b: Path) -> bool:
    with Image.open(a) as first, Image.open(b) as second:
        return first.size == second.size and np.array_equal(
            np.asarray(first.convert("RGBA")), np.asarray(second.convert("RGBA"))
        )


def assert_picture(path: Path) -> None:
    """A valid PNG that is not blank."""
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert np.asarray(image.convert("L"), dtype=float).std() > 5, f"{path} is blank"

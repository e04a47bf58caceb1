"""The three pipeline notebooks, executed for real on a temporary store.

One sequence runs once for the module (notebook execution is slow): the defaults through plain
``jupyter nbconvert --execute`` (as in Jupyter: working directory ``notebooks/``), parameterised runs
through papermill from an unrelated working directory. Each test checks the outcome of its steps.
"""

from __future__ import annotations

import json
import os
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
from serverless_iris.flowers import ASSETS_DIR, BACKFILL_EVENT_TIME, FEATURES, VARIETIES, newest_first, utc

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
            parameters=parameters,
            kernel_name="python3",
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
    assert [line.split("=")[0].strip() for line in lines] == PARAMETERS[name]
    for line in lines:
        assert "  # " in line and "=" not in line.split("#", 1)[1], f"comment each parameter, no '=': {line}"
    inspected = papermill.inspect_notebook(str(NOTEBOOKS[name]))
    assert list(inspected) == PARAMETERS[name]
    assert all(p["help"] for p in inspected.values())
    assert "pip install" not in "".join(cell.source for cell in code)
    assert "from serverless_iris import login" in code[0].source + code[1].source
    assert any("project = login()" in cell.source for cell in code)


# --- feature pipeline -----------------------------------------------------------------------------


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
    assert len(again.flowers) == 149


def test_daily_run_adds_n_flowers_made_now(pipeline: Pipeline) -> None:
    before, after = pipeline.steps["first inference"].flowers, pipeline.steps["daily"].flowers
    assert "mode: daily, adding 2 synthetic flower(s)" in pipeline.steps["daily"].text()
    assert len(after) == len(before) + 2
    new = after[utc(after["event_time"]) > pd.Timestamp(BACKFILL_EVENT_TIME)]
    assert len(new) == 2 and set(new["variety"]) <= set(VARIETIES)
    assert (pd.Timestamp.now(tz="UTC") - utc(new["event_time"]).max()) < pd.Timedelta(hours=1)


def test_bad_data_stops_the_notebook_and_inserts_nothing(pipeline: Pipeline) -> None:
    bad = pipeline.steps["bad data"]
    assert bad.error is not None and bad.error.startswith("IrisDataError")
    assert "line 2 ('Iris-setosa')" in bad.error and "Setosa, Versicolor, Virginica" in bad.error
    assert len(bad.flowers) == len(pipeline.steps["inference again"].flowers)


# --- training pipeline ----------------------------------------------------------------------------


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


def test_first_inference_predicts_only_the_newest_flower(pipeline: Pipeline) -> None:
    step = pipeline.steps["first inference"]
    assert len(step.predictions) == 1
    newest = newest_first(step.flowers, "event_time").iloc[0]  # all share one time: smallest measurements
    prediction = step.predictions.iloc[0]
    assert [prediction[name] for name in FEATURES] == [newest[name] for name in FEATURES]
    assert prediction["label"] == newest["variety"]
    best = max(step.models, key=lambda v: (step.models[v]["accuracy"], v))
    assert prediction["model_version"] == best


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


def test_already_predicted_flowers_are_not_predicted_again(pipeline: Pipeline) -> None:
    again = pipeline.steps["inference again"]
    assert len(again.predictions) == len(pipeline.steps["inference"].predictions) == 3
    assert "nothing to predict" in again.text()


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
    picture = pipeline.dashboard_param / "latest_iris.png"
    assert picture.read_bytes() == (ASSETS_DIR / f"{today['predicted']}.png").read_bytes()
    assert (pipeline.dashboard_param / "actual_iris.png").read_bytes() == (
        ASSETS_DIR / f"{today['label']}.png"
    ).read_bytes()
    assert json.loads((pipeline.dashboard_param / "knn_model.json").read_text())["classes"] == list(VARIETIES)


def test_reports_carry_no_warnings_or_errors(pipeline: Pipeline) -> None:
    for label, step in pipeline.steps.items():
        for cell in step.executed.cells:
            for output in cell.get("outputs", []):
                if label == "bad data" and output.output_type == "error":
                    continue
                assert output.output_type != "error", (label, output.get("evalue"))
                assert output.get("name") != "stderr", (label, output.get("text"))
                assert "Warning" not in output.get("text", ""), (label, output.get("text"))


def assert_picture(path: Path) -> None:
    """A valid PNG that is not blank."""
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert np.asarray(image.convert("L"), dtype=float).std() > 5, f"{path} is blank"

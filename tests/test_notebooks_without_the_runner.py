"""The notebooks run the course's way, by papermill alone (issue 26): the dashboard page agrees with the
pictures and ``dashboard.json`` the inference notebook wrote, the model in use is the newest one trained,
the parameters show their types in ``papermill --help-notebook`` and a value they do not allow stops the
notebook before it works, and a backfill of an edited ``IRIS_CSV`` says what it adds.

One sequence on a fresh store, shared by the tests: backfill, train, predict, train again with
``N_NEIGHBORS=7``, predict again; then a training with ``N_NEIGHBORS=0`` and a backfill of an edited copy
of ``iris.csv``. The page is opened in Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import papermill
import pytest
from browser import chromium_page
from click.testing import CliRunner
from papermill.cli import papermill as papermill_command
from playwright.sync_api import Browser
from support import REPO

from serverless_iris.embedded.project import LocalProject
from serverless_iris.helpers.wording import plural

pytestmark = pytest.mark.browser

NOTEBOOKS = {
    "feature": REPO / "notebooks" / "iris-feature-pipeline.ipynb",
    "training": REPO / "notebooks" / "iris-training-pipeline.ipynb",
    "inference": REPO / "notebooks" / "iris-batch-inference-pipeline.ipynb",
}


@dataclass
class Done:
    outputs: Path  # the outputs folder whose dashboard/ the notebooks wrote (IRIS_DASHBOARD_DIR)
    store: Path
    texts: dict[str, str]  # what each step printed
    errors: dict[str, str | None]
    versions: dict[str, list[int]]  # the registry's versions after each step
    flowers: dict[str, int]  # rows of the iris group after each step


def _text(notebook: Any) -> str:
    return "\n".join(
        output.get("text", "") or output.get("data", {}).get("text/plain", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Done:
    root = tmp_path_factory.mktemp("without-runner")
    outputs, store, executed = root / "outputs", root / "store", root / "executed"
    executed.mkdir()
    edited = pd.read_csv(REPO / "assets" / "iris.csv")
    edited.loc[0, "sepal_length"] = 5.15  # a measurement edited: a new flower
    edited.loc[1, "variety"] = "Versicolor"  # a label edited: replaces the stored one
    edited.to_csv(root / "edited.csv", index=False)
    result = Done(outputs, store, {}, {}, {}, {})

    def step(label: str, name: str, **parameters: Any) -> None:
        target = executed / f"{len(result.texts):02d}-{name}.ipynb"
        try:
            papermill.execute_notebook(
                str(NOTEBOOKS[name]), str(target), parameters=parameters, cwd=str(root)
            )
            result.errors[label] = None
        except papermill.PapermillExecutionError as exc:
            result.errors[label] = f"{exc.ename}: {exc.evalue}"
        result.texts[label] = _text(nbformat.read(target, as_version=4))
        project = LocalProject(store)
        result.versions[label] = sorted(m.version for m in project.get_model_registry().get_models("iris"))
        result.flowers[label] = len(project.get_feature_store().get_feature_group("iris", version=1).read())
        if (outputs / "index.html").is_file():
            shutil.copyfile(outputs / "index.html", outputs / f"index-{label}.html")

    with pytest.MonkeyPatch.context() as env:
        env.setenv("IRIS_STORE", str(store))
        env.setenv("IRIS_DASHBOARD_DIR", str(outputs / "dashboard"))
        env.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        env.delenv("HOPSWORKS_API_KEY", raising=False)
        env.delenv("IRIS_BACKEND", raising=False)
        env.delenv("IRIS_RUN_ID", raising=False)
        step("backfill", "feature")
        step("train", "training")
        step("predict", "inference")
        step("train with 7", "training", N_NEIGHBORS=7)
        step("predict again", "inference")
        step("train with 0", "training", N_NEIGHBORS=0)
        step("edited csv", "feature", IRIS_CSV=str(root / "edited.csv"))
    return result


def test_the_page_the_inference_notebook_wrote_agrees_with_its_dashboard(
    done: Done, chromium: Browser
) -> None:
    assert done.errors["predict again"] is None, done.errors
    data = json.loads((done.outputs / "dashboard" / "dashboard.json").read_text())
    with chromium_page(chromium) as session:
        session.open(done.outputs / "index.html")
        page = session.page
        assert page.locator(".flower-predicted figcaption strong").inner_text() == data["today"]["predicted"]
        assert page.locator(".flower-actual figcaption strong").inner_text() == data["today"]["actual"]
        monitoring = page.locator("#monitoring").inner_text()
        assert f"All {plural(data['n_predictions'], 'prediction')}" in monitoring
        assert page.locator("#model-card .version").inner_text() == f"v{data['model']['version']}" == "v2"
        assert page.locator("#model-chosen").inner_text() == "Why this model: the newest registered version"
        caption = page.locator(".figure", has_text="Test set at training").locator("figcaption").inner_text()
        assert caption.startswith("Model v2 (N_NEIGHBORS=7, TEST_SIZE=0.2, SEED=42) on its 30 held-out test")
        assert "Not the model in use" not in caption
        session.assert_clean()


def test_the_first_prediction_is_counted_in_the_singular(done: Done, chromium: Browser) -> None:
    with chromium_page(chromium) as session:
        session.open(done.outputs / "index-predict.html")
        assert "All 1 prediction\n" in session.page.locator("#monitoring").inner_text() + "\n"
    source = NOTEBOOKS["inference"].read_text()
    assert (
        "cm.set_title(f\\\"All {plural(len(history_df), 'prediction')}\\\")" in source
    )  # the matrix's title


def test_a_model_trained_by_hand_is_used_by_the_next_inference_and_named(
    done: Done, chromium: Browser
) -> None:
    assert done.versions["train with 7"] == [1, 2]
    trained = done.texts["train with 7"]
    assert (
        "trained model iris v2 (accuracy " in trained and "N_NEIGHBORS=7, TEST_SIZE=0.2, SEED=42)" in trained
    )
    with chromium_page(chromium) as session:  # the page the training notebook rewrote
        session.open(done.outputs / "index-train with 7.html")
        caption = session.page.locator(".figure", has_text="Test set at training").locator("figcaption")
        assert caption.inner_text().endswith("Not the model in use (v1).")
        assert session.page.locator("#model-card .version").inner_text() == "v1"
    said = done.texts["predict again"]
    assert "predicting with model iris v2 (accuracy " in said
    assert "N_NEIGHBORS=7, TEST_SIZE=0.2, SEED=42): the newest registered version" in said
    last = [line for line in said.splitlines() if line.startswith("predicted ")][-1]
    assert "with model iris v2 (accuracy " in last and last.endswith(": the newest registered version")


def test_papermill_alone_refuses_a_value_the_notebook_does_not_allow(done: Done) -> None:
    assert done.errors["train with 0"] == (
        "ParameterError: N_NEIGHBORS = 0: not allowed; the notebook allows only N_NEIGHBORS ≥ 1 "
        "(N_NEIGHBORS: neighbours the KNN classifier consults)"
    )
    assert done.versions["train with 0"] == [1, 2]  # nothing registered


def test_papermill_help_shows_every_parameters_type() -> None:
    shown = CliRunner().invoke(papermill_command, ["--help-notebook", str(NOTEBOOKS["training"])])
    assert shown.exit_code == 0, shown.output
    assert "Unknown type" not in shown.output
    for line in ("N_NEIGHBORS: int (default 2)", "TEST_SIZE: float (default 0.2)", "SEED: int or None"):
        assert line in shown.output


def test_a_backfill_of_an_edited_csv_says_the_edited_row_is_added_beside_the_original(done: Done) -> None:
    assert done.errors["edited csv"] is None, done.errors
    said = done.texts["edited csv"]
    assert "1 row matches no stored flower, added beside the 149 stored flowers" in said
    assert (
        "a row whose measurements were edited is a new flower, and the one it was edited from stays" in said
    )
    assert "1 row changes the variety of a stored flower, replacing it" in said
    assert done.flowers["edited csv"] == done.flowers["backfill"] + 1  # the edited row, beside the original
    iris = LocalProject(done.store).get_feature_store().get_feature_group("iris", version=1).read()
    second = (iris["sepal_length"] == 4.9) & (iris["sepal_width"] == 3.0) & (iris["petal_length"] == 1.4)
    relabelled = iris[second & (iris["petal_width"] == 0.2)]
    assert relabelled["variety"].tolist() == ["Versicolor"]

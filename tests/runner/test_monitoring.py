"""Monitoring end to end: mislabelled flowers drive the rolling accuracy down, the dashboard raises its
alert banner, and ``runner.py --daily`` retrains in the same run (or not, with ``RETRAIN_ON_ALERT=false``).

One sequence on a fresh store, shared by the tests (notebook runs are slow): a full run (model v1), eight
flowers with Setosa measurements labelled Virginica inserted through the embedded API, a ``--daily`` with
retraining switched off, then a ``--daily`` with the defaults. The index of the first daily run is kept
beside the final one (same folder, so its relative links work) for the browser.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from browser import chromium_page
from playwright.sync_api import Browser
from support import Workspace, make_workspace

from serverless_iris.embedded.project import LocalProject
from serverless_iris.helpers.flowers import newest_first, utc
from serverless_iris.runner.plan import PIPELINE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MISLABELLED = 8
THRESHOLD = "80%"  # the inference notebook's default ACCURACY_THRESHOLD, as the dashboard writes it


@dataclass
class Monitored:
    workspace: Workspace
    kept: subprocess.CompletedProcess[str]  # --daily -p RETRAIN_ON_ALERT=false
    retrained: subprocess.CompletedProcess[str]  # --daily
    versions: dict[str, list[int]]  # the registry's versions of "iris" after each step
    predictions: dict[str, int]  # rows of iris_predictions after each step
    dashboards: dict[str, dict]  # dashboard.json after each daily run
    expected_rolling_7: float  # recomputed from the store after the first daily run

    def record(self, done: subprocess.CompletedProcess[str]) -> dict:
        return self.workspace.runs()[1 if done is self.kept else 2]


def _registry(store: Path) -> tuple[list[int], pd.DataFrame]:
    project = LocalProject(store)
    predictions = project.get_feature_store().get_feature_group("iris_predictions", version=1)
    versions = [m.version for m in project.get_model_registry().get_models("iris")]
    return versions, predictions.read() if predictions is not None else pd.DataFrame()


def _insert_mislabelled_flowers(store: Path) -> None:
    """Eight flowers measured like a Setosa but labelled Virginica, just after the newest flower."""
    iris = LocalProject(store).get_feature_store().get_feature_group("iris", version=1)
    latest = utc(iris.read()["event_time"]).max()  # the first run's flower of today
    start = latest + pd.Timedelta(milliseconds=1)  # newer, yet older than any later daily flower
    flowers = pd.DataFrame(
        {
            "sepal_length": [5.01 + i / 100 for i in range(MISLABELLED)],
            "sepal_width": 3.42,
            "petal_length": 1.46,
            "petal_width": 0.24,
            "variety": "Virginica",
            "event_time": [start + pd.Timedelta(milliseconds=i) for i in range(MISLABELLED)],
        }
    )
    iris.insert(flowers, wait=True)
    assert len(iris.read()) == 149 + 1 + MISLABELLED  # the backfill, today's flower, these


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Monitored:
    space = make_workspace(tmp_path_factory.mktemp("monitoring"))
    versions: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    dashboards: dict[str, dict] = {}

    def snapshot(label: str) -> pd.DataFrame:
        versions[label], predictions = _registry(space.store)
        counts[label] = len(predictions)
        return predictions

    full = space.run()
    assert full.returncode == 0, full.stdout + full.stderr
    snapshot("full")
    _insert_mislabelled_flowers(space.store)

    kept = space.run("--daily", "-p", "N_FLOWERS=1", "-p", "RETRAIN_ON_ALERT=false")
    predictions = snapshot("kept")
    dashboards["kept"] = json.loads((space.outputs / "dashboard" / "dashboard.json").read_text())
    shutil.copytree(space.outputs, space.outputs.parent / "outputs-kept")  # the page as it was
    newest = newest_first(predictions.assign(flower_time=utc(predictions["flower_time"])), "flower_time")
    expected = float((newest["predicted"] == newest["label"]).head(7).mean())

    retrained = space.run("--daily", "-p", "N_FLOWERS=1")
    snapshot("retrained")
    dashboards["retrained"] = json.loads((space.outputs / "dashboard" / "dashboard.json").read_text())
    return Monitored(space, kept, retrained, versions, counts, dashboards, expected)


def test_mislabelled_flowers_drive_the_rolling_accuracy_below_the_threshold(monitored: Monitored) -> None:
    assert monitored.kept.returncode == 0, monitored.kept.stdout + monitored.kept.stderr
    assert monitored.kept.stderr == ""
    assert monitored.predictions["kept"] == monitored.predictions["full"] + MISLABELLED + 1
    summary = monitored.dashboards["kept"]
    # the newest 7 by event time: today's flower and 6 mislabelled ones, which v1 takes for Setosas
    assert summary["rolling_accuracy"]["7"] == pytest.approx(monitored.expected_rolling_7)
    assert monitored.expected_rolling_7 <= 1 / 7
    assert summary["variety_counts"]["Virginica"]["actual"] >= MISLABELLED
    assert summary["variety_counts"]["Setosa"]["predicted"] >= MISLABELLED
    alert = summary["alert"]
    assert alert["below"] is True and alert["threshold"] == 0.8 and alert["window"] == 7
    assert alert["retrain"] is False
    assert "over the last 7 predictions" in alert["message"] and THRESHOLD in alert["message"]


def test_with_retraining_off_the_banner_shows_and_no_model_is_trained(
    monitored: Monitored, chromium: Browser
) -> None:
    record = monitored.record(monitored.kept)
    assert record["mode"] == "daily" and record["status"] == "succeeded"
    assert record["parameters"] == {"N_FLOWERS": 1, "RETRAIN_ON_ALERT": False}
    assert [n["name"] for n in record["notebooks"]] == ["feature", "inference"]
    assert record["retrained"] is None and "trained because" not in monitored.kept.stdout
    assert monitored.versions["kept"] == monitored.versions["full"] == [1]

    with chromium_page(chromium) as session:
        session.open(monitored.workspace.outputs.parent / "outputs-kept" / "index.html")
        banner = session.page.locator("#accuracy-alert")
        assert banner.is_visible()
        assert THRESHOLD in banner.inner_text() and "last 7 predictions" in banner.inner_text()
        assert session.page.locator("#model-card .version").inner_text() == "v1"
        session.assert_clean()


def test_daily_retrains_when_the_alert_is_raised_and_says_why(monitored: Monitored) -> None:
    done = monitored.retrained
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # no kernel notices, no library warnings
    record = monitored.record(done)
    assert record["status"] == "succeeded"
    assert [n["name"] for n in record["notebooks"]] == ["feature", "inference", "training", "inference"]
    assert all(n["status"] == "succeeded" and n["error"] is None for n in record["notebooks"])
    reason = record["retrained"]
    assert "over the last 7 predictions fell below the threshold 80%" in reason
    assert f"{reason}: training a new model, then predicting again with it" in done.stdout
    assert f"trained because {reason}" in done.stdout
    assert monitored.versions["retrained"] == [1, 2]

    # each inference has its own executed notebook and reports
    folder = monitored.workspace.outputs / "runs" / record["id"]
    first, second = record["notebooks"][1], record["notebooks"][3]
    assert first["executed"] == PIPELINE["inference"]
    assert second["executed"] == PIPELINE["inference"].replace(".ipynb", "-2.ipynb")
    for entry in record["notebooks"]:
        for key in ("executed", "report", "results_report"):
            assert (folder / entry[key]).is_file(), entry[key]
    texts = [_text(folder / entry["executed"]) for entry in (first, second)]
    assert "model iris v1" in texts[0] and "ALERT: Rolling accuracy" in texts[0]
    assert "runner.py --daily retrains after this notebook" in texts[0]
    assert "model iris v2" in texts[1] and f"trained by run {record['id']}" in texts[1]
    assert "nothing to predict" in texts[1]
    assert monitored.predictions["retrained"] == monitored.predictions["kept"] + 1  # today's flower only


def test_the_dashboard_shows_the_new_model_and_its_training_run(
    monitored: Monitored, chromium: Browser
) -> None:
    record = monitored.record(monitored.retrained)
    summary = monitored.dashboards["retrained"]
    assert summary["model"]["version"] == 2 and summary["model"]["training_run"] == record["id"]
    assert summary["alert"]["below"] is True  # the recorded predictions still hold v1's mistakes

    outputs = monitored.workspace.outputs
    with chromium_page(chromium) as session:
        session.open(outputs / "index.html")
        page = session.page
        banner = page.locator("#accuracy-alert")
        assert banner.is_visible() and THRESHOLD in banner.inner_text()
        assert page.locator("#model-card .version").inner_text() == "v2"
        assert record["id"] in page.locator("#model-card").inner_text()
        row = page.locator(f"#run-{record['id']}")
        assert "retrained: rolling accuracy" in row.locator(".retrained").inner_text()
        assert row.locator(".nb b").all_inner_texts() == ["feature", "inference", "training", "inference"]
        page.click("#training-report-link")
        page.wait_for_load_state("load")
        report = outputs / "runs" / record["id"] / PIPELINE["training"].replace(".ipynb", ".html")
        assert page.url == report.resolve().as_uri()
        assert page.locator(".ir-header h1").inner_text() == "iris-training-pipeline"
        assert "registered model iris v2" in page.content()
        session.assert_clean()


def _text(executed: Path) -> str:
    notebook = nbformat.read(executed, as_version=4)
    return "\n".join(
        output.get("text", "") or output.get("data", {}).get("text/plain", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )

"""What a user reads about the model after a run (issue 26): the console's last line names what was
predicted, by which model, how accurate and why that model; run.json of a run that trained keeps the model
it trained and the one that predicted; the run history and the compare view show them.

The runs use the fixture notebooks of ``tests/fixtures/models``: their training notebook writes
``trained_model.json`` as the real one does (accuracy ``1 - N_NEIGHBORS / 40``), their inference notebook
``dashboard.json`` with the model in use.
"""

from __future__ import annotations

import re

import pytest
from browser import chromium_page
from playwright.sync_api import Browser
from support import FIXTURES, Workspace

MODELS = str(FIXTURES / "models")


def test_a_full_run_that_trained_says_which_model_predicted_and_records_both(workspace: Workspace) -> None:
    done = workspace.run_here("--notebooks", MODELS, "-p", "N_NEIGHBORS=7")

    assert done.returncode == 0, done.stdout + done.stderr
    (record,) = workspace.runs()
    trained, used = record["model"]["trained"], record["model"]["predicted_with"]
    assert trained["version"] == 1 and trained["parameters"]["N_NEIGHBORS"] == 7
    assert trained["metrics"]["accuracy"] == pytest.approx(0.825) and trained["training_run"] == record["id"]
    assert used["version"] == 1 and used["chosen"] == "the newest registered version"
    assert record["predicted"] == {
        "event_time": "2026-12-07T10:00:30+00:00",
        "predicted": "Versicolor",
        "actual": "Virginica",
    }
    lines = done.stdout.strip().splitlines()
    assert "trained model iris v1 (accuracy 82.5%, N_NEIGHBORS=7, TEST_SIZE=0.2, SEED=42)" in lines
    assert lines[-1] == (
        "predicted Versicolor for the flower of 2026-12-07T10:00:30+00:00 (actually Virginica) with model "
        "iris v1 (accuracy 82.5%, N_NEIGHBORS=7, TEST_SIZE=0.2, SEED=42): the newest registered version"
    )


def test_the_step_numbers_never_change_their_total_mid_run(workspace: Workspace) -> None:
    done = workspace.run_here("--notebooks", MODELS)

    assert done.returncode == 0, done.stdout + done.stderr
    steps = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert [line.split()[0] for line in steps] == ["[1]", "[1]", "[2]", "[2]", "[3]", "[3]"]
    assert not any(re.match(r"\[\d+/\d+\]", line) for line in steps)
    assert "(full: feature, training, inference; backend local)" in done.stdout


def test_comparing_two_runs_trained_with_different_parameters_shows_their_models(
    workspace: Workspace, chromium: Browser
) -> None:
    for neighbours in (2, 7):
        done = workspace.run_here("--notebooks", MODELS, "-p", f"N_NEIGHBORS={neighbours}")
        assert done.returncode == 0, done.stdout + done.stderr
    first, second = sorted(workspace.runs(), key=lambda run: run["model"]["trained"]["version"])

    with chromium_page(chromium) as session:
        session.open(workspace.outputs / "index.html")
        page = session.page
        for run, shown in ((first, "v1 · 95.0%"), (second, "v2 · 82.5%")):
            row = page.locator(f"#run-{run['id']}")
            assert row.locator(".model-trained").inner_text() == f"trained {shown}"
            assert row.locator(".model-used").inner_text() == f"predicted with {shown}"
        assert page.locator("#model-card .version").inner_text() == "v2"
        assert page.locator("#model-chosen").inner_text() == "Why this model: the newest registered version"
        page.check(f"input.compare-pick[value='{first['id']}']")
        page.check(f"input.compare-pick[value='{second['id']}']")
        header = page.locator("#compare-table thead th").all_inner_texts()
        cells = page.locator("#compare-table tbody tr:not(.group)").evaluate_all(
            "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))"
        )
        rows = {row[0]: dict(zip(header, row[1:], strict=True)) for row in cells}
        for run, version, accuracy, neighbours in ((first, "1", "95.0%", 2), (second, "2", "82.5%", 7)):
            assert rows["Trained: version"][run["id"]] == version
            assert rows["Trained: accuracy"][run["id"]] == accuracy
            assert (
                rows["Trained: parameters"][run["id"]] == f"N_NEIGHBORS={neighbours}, TEST_SIZE=0.2, SEED=42"
            )
            assert rows["Predicted with: version"][run["id"]] == version
            assert rows["Predicted with: why"][run["id"]] == "the newest registered version"
        session.assert_clean()

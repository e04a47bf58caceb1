"""Soak: 100 consecutive ``python runner.py --daily --keep 30`` runs after a full run, embedded store.

Not in the default run (pytest's addopts exclude the ``soak`` marker). Run it with::

    python -m pytest -m soak tests/test_soak.py   # 30-45 minutes on 2 cores (15-25 s a daily run)

(The chaos loop searches longer with
``IRIS_CHAOS_KILLS=50 python -m pytest -m slow tests/runner/test_chaos.py``.)

``IRIS_SOAK_RUNS=12 IRIS_SOAK_KEEP=5 python -m pytest -m soak tests/test_soak.py`` runs fewer daily runs
(at least 10) and keeps fewer, to try the test itself; the checks scale with both. After the last run:

- every run succeeded; the iris group holds the 149 backfilled flowers plus one per daily run
  (``N_FLOWERS`` is 1), and the predictions group one row per daily flower plus the full run's one;
- ``outputs/runs/`` holds the newest 30 run folders, and the outputs folder is no bigger (within 25%)
  than when it first held 30 runs: pruning keeps it bounded;
- the last runs are no slower than the early ones by more than 25% (medians of ``WINDOW`` runs, so one
  slow run on a shared machine does not decide it).

A daily run retrains and predicts again when the accuracy alert is raised, which the random daily
flowers may do in some runs and not in others. So that this does not pass for growth, sizes are
compared per executed notebook kept (and the rest of the folder on its own), and a run's pace is its
time without the retraining it added (the notebooks after its first inference).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import pytest
from support import make_workspace

from serverless_iris.embedded.project import LocalProject
from serverless_iris.helpers.flowers import FEATURES

RUNS = int(os.environ.get("IRIS_SOAK_RUNS", "100"))
KEEP = int(os.environ.get("IRIS_SOAK_KEEP", "30"))
WINDOW = 5  # runs whose median duration is compared
BACKFILL_ROWS = 149


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _footprint(outputs: Path) -> tuple[float, int]:
    """(bytes of run folders per executed notebook they hold, bytes of everything else in ``outputs``)."""
    runs = outputs / "runs"
    notebooks = sum(len(json.loads(p.read_text())["notebooks"]) for p in runs.glob("*/run.json"))
    return _size(runs) / notebooks, _size(outputs) - _size(runs)


@pytest.mark.soak
def test_a_hundred_daily_runs_keep_the_store_exact_the_archive_bounded_and_the_pace_steady(
    tmp_path: Path,
) -> None:
    assert RUNS >= 10, "IRIS_SOAK_RUNS: at least 10 runs, or the early and late windows mean nothing"
    space = make_workspace(tmp_path)
    full = space.run("-q", "--keep", str(KEEP))
    assert full.returncode == 0, full.stdout + full.stderr
    # the size is compared from a run after the archive first held KEEP daily runs (the 40th of 100)
    size_at = min(KEEP + max(1, (RUNS - KEEP) // 7), RUNS)
    early = range(max(1, RUNS // 10 - WINDOW // 2), max(1, RUNS // 10 - WINDOW // 2) + WINDOW)  # around 10th
    late = range(RUNS - WINDOW + 1, RUNS + 1)
    seconds: dict[int, float] = {}
    sizes: dict[int, tuple[float, int]] = {}
    retrained = 0
    for n in range(1, RUNS + 1):
        begun = time.monotonic()
        done = space.run("--daily", "--keep", str(KEEP), "-q")
        took = time.monotonic() - begun
        assert done.returncode == 0, f"daily run {n}: {done.stdout}{done.stderr}"
        notebooks = space.runs()[-1]["notebooks"]
        assert [e["name"] for e in notebooks[:2]] == ["feature", "inference"]
        seconds[n] = took - sum(e["duration_s"] for e in notebooks[2:])  # without a retraining it added
        retrained += len(notebooks) > 2
        if n in (size_at, RUNS):
            sizes[n] = _footprint(space.outputs)

    project = LocalProject(space.store)
    fs = project.get_feature_store()
    iris = fs.get_feature_group("iris", version=1).read()
    predictions = fs.get_feature_group("iris_predictions", version=1).read()
    assert len(iris) == BACKFILL_ROWS + RUNS  # the full run backfills 149 flowers, each daily adds 1
    assert len(predictions) == 1 + RUNS  # the full run predicts the newest backfilled flower
    assert not predictions.duplicated([*FEATURES, "flower_time"]).any()
    assert len(project.get_model_registry().get_models("iris")) == 1 + retrained  # one per training

    folders = sorted(p.name for p in (space.outputs / "runs").iterdir())
    assert len(folders) == min(KEEP, RUNS + 1)
    records = [json.loads((space.outputs / "runs" / f / "run.json").read_text()) for f in folders]
    assert all(r["status"] == "succeeded" for r in records)
    assert all(r["mode"] == "daily" for r in records[-min(KEEP, RUNS) :])
    print(f"{retrained} of {RUNS} daily runs retrained on the accuracy alert; footprints {sizes}")
    if size_at < RUNS:
        (per_notebook_then, rest_then), (per_notebook_now, rest_now) = sizes[size_at], sizes[RUNS]
        assert per_notebook_now <= per_notebook_then * 1.25, f"run folders grew: {sizes}"
        assert rest_now <= rest_then * 1.25, f"index, dashboard or leftovers grew: {sizes}"

    early_s = statistics.median(seconds[n] for n in early)
    late_s = statistics.median(seconds[n] for n in late)
    pace = {n: round(s, 1) for n, s in seconds.items()}
    assert late_s <= early_s * 1.25, f"median {late_s:.1f} s late vs {early_s:.1f} s early: {pace}"

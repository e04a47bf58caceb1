"""Crashes: a process SIGKILLed at any moment leaves the store, the registry and the run archive usable.

Real subprocesses are killed outright (no handler runs, as in a power cut or the OOM killer):

- a child inserting two million iris-shaped rows through ``FeatureGroup.insert``: the group holds all
  of the insert or none of it, the rows before it are intact, and the next insert works;
- ``python runner.py`` while its HTML reports and ``index.html`` are being written: every report, index
  and ``run.json`` on disk is complete, the next run succeeds and lists the killed run as interrupted.

Both are marked ``slow``: they run after the default set (``python -m pytest -m slow``, as ``.ci/run``
and CI do), beside the chaos loop (tests/runner/test_chaos.py: ``--daily`` killed at random moments).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from support import FIXTURES, REPO, Workspace, assert_archive_complete, backfill_rows, index_rows, run_folders

from serverless_iris.embedded.feature_store import FeatureStore
from serverless_iris.helpers.contract import read_iris_csv
from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME, FEATURES

BACKFILL_ROWS = 149  # assets/iris.csv holds 150 flowers, one of them twice
CHILD_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _backfill_frame() -> pd.DataFrame:
    frame = read_iris_csv(str(REPO / "assets" / "iris.csv")).assign(
        event_time=pd.Timestamp(BACKFILL_EVENT_TIME)
    )
    return frame.drop_duplicates(subset=list(FEATURES), ignore_index=True)


def _iris_group(store: Path):
    return FeatureStore(store).get_or_create_feature_group(
        name="iris", version=1, primary_key=list(FEATURES), event_time="event_time", description="Iris"
    )


# --- killed during a large insert --------------------------------------------------------------------

BIG_ROWS = 2_000_000
INSERT_KILLS = 3
INSERTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from serverless_iris.embedded.feature_store import FeatureStore
    from serverless_iris.helpers.flowers import FEATURES

    store, n, day = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(day)
    frame = pd.DataFrame({f: rng.uniform(0.1, 8.0, n).round(3) for f in FEATURES})
    frame["variety"] = rng.choice(["Setosa", "Versicolor", "Virginica"], n)
    # one day per child, one distinct millisecond per row: every row is a new key, none collapses
    first = pd.Timestamp("2021-01-01") + pd.Timedelta(days=day)
    frame["event_time"] = first + pd.to_timedelta(np.arange(n), unit="ms")
    group = FeatureStore(store).get_or_create_feature_group(
        name="iris", version=1, primary_key=list(FEATURES), event_time="event_time", description="Iris"
    )
    print("inserting", flush=True)
    group.insert(frame)
    print("inserted", flush=True)
    """
)


def _day_window(day: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    first = pd.Timestamp("2021-01-01") + pd.Timedelta(days=day)
    return first, first + pd.Timedelta(days=1)


@pytest.mark.slow
def test_an_insert_killed_half_way_writes_all_of_its_rows_or_none(tmp_path: Path) -> None:
    store = tmp_path / "store"
    group = _iris_group(store)
    group.insert(_backfill_frame())
    backfill = backfill_rows(group)
    assert len(backfill) == BACKFILL_ROWS
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    expected, outcomes = BACKFILL_ROWS, []
    for day in range(1, INSERT_KILLS + 1):
        child = subprocess.Popen(
            [sys.executable, "-c", INSERTER, str(store), str(BIG_ROWS), str(day)],
            env=CHILD_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "inserting\n", child.communicate()
        delay = rng.uniform(0, 0.4)  # two million rows take about a second on a small machine
        time.sleep(delay)
        child.kill()
        stdout, _ = child.communicate()
        why = f"(seed {seed}, child {day} killed {delay:.3f} s into its insert, exit {child.returncode})"

        reopened = FeatureStore(store).get_feature_group("iris", version=1)  # the store opens
        assert reopened is not None, why
        start, end = _day_window(day)
        written = len(reopened.read(start_time=start, end_time=end))
        assert written in (0, BIG_ROWS), f"{written} of the insert's {BIG_ROWS} rows were written {why}"
        outcomes.append("all" if written else "none")
        if stdout:  # it printed "inserted": the insert had committed before the kill
            assert written == BIG_ROWS, why
        assert backfill_rows(reopened).equals(backfill), why

        later = pd.Timestamp("2030-01-01") + pd.Timedelta(days=day)
        after = pd.DataFrame({f: [9.0, 9.1, 9.2] for f in FEATURES}).assign(
            variety="Setosa", event_time=later
        )
        reopened.insert(after)  # the next insert works
        expected += written + len(after)
        assert len(reopened.read(start_time=later, end_time=later + pd.Timedelta(hours=1))) == len(after), why

    print(f"insert outcomes: {outcomes} (seed {seed})")
    assert len(FeatureStore(store).get_feature_group("iris", version=1).read()) == expected, outcomes
    assert "none" in outcomes, f"no kill landed before an insert committed: {outcomes} (seed {seed})"


# --- killed while writing reports --------------------------------------------------------------------


def _report_pages(folder: Path) -> list[str]:
    """The finished HTML files in ``folder`` (not the hidden temporary files they are written through)."""
    try:
        return [e.name for e in os.scandir(folder) if e.name.endswith(".html") and not e.name.startswith(".")]
    except FileNotFoundError:
        return []


@pytest.mark.slow
def test_a_runner_killed_while_writing_reports_leaves_only_complete_files(workspace: Workspace) -> None:
    """Kill after the k-th report page appears (k = 1..6: mid-way through a notebook's two pages, between
    notebooks, and, after the last page, while run.json and index.html are written)."""
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    killed: dict[str, str] = {}
    ok = ("--notebooks", str(FIXTURES / "ok"), "-q", "--keep", "100")
    assert workspace.run(*ok).returncode == 0  # an index and a finished run exist from the start
    for target in range(1, 7):
        before = run_folders(workspace.outputs)
        runner = workspace.start(*ok)
        deadline = time.monotonic() + 120
        folder = None
        while runner.poll() is None and time.monotonic() < deadline:
            new = run_folders(workspace.outputs) - before
            folder = workspace.outputs / "runs" / new.pop() if new else None
            if folder and len(_report_pages(folder)) >= target:
                break
            time.sleep(0.002)
        jitter = rng.uniform(0, 0.03)
        time.sleep(jitter)
        alive = runner.poll() is None
        runner.kill()
        runner.communicate()
        why = f"(seed {seed}, killed {jitter:.3f} s after report page {target}, runner alive: {alive})"
        assert folder is not None, f"the run never wrote a report {why}"
        killed[folder.name] = why
        assert_archive_complete(workspace.outputs, why)

    done = workspace.run(*ok)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_archive_complete(workspace.outputs)
    rows = index_rows(workspace.outputs)
    interrupted = 0
    for run_id, why in killed.items():
        recorded = json.loads((workspace.outputs / "runs" / run_id / "run.json").read_text())["status"]
        if recorded == "running":  # killed before it recorded its outcome
            assert rows[run_id] == {"status": "interrupted", "shown": "interrupted", "data": "interrupted"}, (
                why
            )
            interrupted += 1
        else:  # killed after run.json recorded the outcome, while the index was written
            assert recorded == "succeeded" and rows[run_id]["status"] == "succeeded", why
    assert interrupted >= 3, f"only {interrupted} of {len(killed)} kills landed before the run ended"

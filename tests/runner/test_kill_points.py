"""Deterministic crash of the runner mid-report: ``IRIS_TEST_KILL_AT=report`` makes ``python runner.py``
SIGKILL itself right after the first report page of the first notebook is written (``paths.kill_point``
in ``report.write_report``), so the test always lands in the window it means, unlike a timed kill.
The timed kills of tests/runner/test_crashes.py and the random ones of tests/runner/test_chaos.py stay
as well.
"""

from __future__ import annotations

import json
import signal

from bs4 import BeautifulSoup
from support import FIXTURES, Workspace

from serverless_iris.paths import KILL_AT_ENV

OK = ("--notebooks", str(FIXTURES / "ok"), "-q", "--keep", "100")


def _pages(folder) -> list[str]:
    return sorted(p.name for p in folder.glob("*.html"))


def _index_status(workspace: Workspace) -> dict[str, str]:
    doc = BeautifulSoup((workspace.outputs / "index.html").read_text(encoding="utf-8"), "html.parser")
    return {run["id"]: run["status"] for run in json.loads(doc.select_one("#runs-data").string)}


def test_a_runner_killed_between_two_report_pages_leaves_a_usable_archive(workspace: Workspace) -> None:
    killed = workspace.run(*OK, env={KILL_AT_ENV: "report"})

    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    (folder,) = (workspace.outputs / "runs").iterdir()
    assert _pages(folder) == ["iris-feature-pipeline.html"]  # the full page, not its results-only twin
    page = (folder / "iris-feature-pipeline.html").read_text(encoding="utf-8")
    assert page.rstrip().endswith("</html>")
    assert not list(folder.glob(".*.tmp"))  # the page went through its temporary file whole
    assert json.loads((folder / "run.json").read_text())["status"] == "running"
    assert not (workspace.outputs / "index.html").exists()

    done = workspace.run(*OK)

    assert done.returncode == 0, done.stdout + done.stderr
    statuses = _index_status(workspace)
    assert statuses[folder.name] == "interrupted"
    assert sorted(statuses.values()) == ["interrupted", "succeeded"]

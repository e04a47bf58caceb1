"""Helpers shared by test modules (on the path through tests/conftest.py): a runner workspace of its own,
and folders built once per session for the shared fixtures.

Runner tests run ``python runner.py`` on a temporary store and outputs folder, with the embedded backend and
no Hopsworks key: as a real subprocess (``Workspace.run``), or through the same ``cli.main`` in the test's
process where no process of its own is needed (``Workspace.run_here``, ``Workspace.call``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from filelock import FileLock

from serverless_iris.files import write_json
from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME, FEATURES
from serverless_iris.paths import ASSETS_DIR, BACKEND_ENV, FORK_KERNELS_ENV, REPO_ROOT, STORE_ENV

REPO = REPO_ROOT
FIXTURES = Path(__file__).parent / "fixtures"  # small notebooks that fail in known ways


@dataclass
class Workspace:
    """A store and an outputs folder of a test's own, and the environment that points the runner at them."""

    store: Path
    outputs: Path
    env: dict[str, str]

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO / "runner.py"), "--outputs", str(self.outputs), *args],
            cwd=self.outputs.parent,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=900,
        )

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(REPO / "runner.py"), "--outputs", str(self.outputs), *args],
            cwd=self.outputs.parent,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def call(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``runner.py ARGS`` for a command that runs no notebook (``--list``, or one refused before
        anything runs), called in this process (:meth:`run_here`), without the fork server it would start
        for a run that never comes (``IRIS_FORK_KERNELS=0``)."""
        return self.run_here(*args, env={**(env or {}), FORK_KERNELS_ENV: "0"})

    def run_here(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``runner.py ARGS`` called in this process: the same ``cli.main`` that ``runner.py`` calls, with
        this workspace's environment and folder and the console captured, minus the 2 s of CPU a new
        interpreter spends importing papermill, nbconvert and pandas.

        The kernels are the same: forked from a fork server of the run's own (a child of this process).
        What only a process of its own can show stays with :meth:`run`: ``runner.py``'s exit code and
        console (tests/runner/test_runner.py), signals and kills, what its children print, and what the
        secrets tests check never appears anywhere.
        """
        from serverless_iris.runner import cli

        out, err = io.StringIO(), io.StringIO()
        wanted = {**self.env, **(env or {})}
        with pytest.MonkeyPatch.context() as patch:
            # only the variables that differ: the C environment is not thread-safe, and threads of native
            # libraries (ZeroMQ, delta-rs) may read it meanwhile
            for name in os.environ.keys() - wanted.keys():
                patch.delenv(name)
            for name, value in wanted.items():
                if os.environ.get(name) != value:
                    patch.setenv(name, value)
            patch.chdir(self.outputs.parent)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main(["--outputs", str(self.outputs), *args])
                except SystemExit as exc:  # argparse's usage errors
                    code = exc.code if isinstance(exc.code, int) else 2
        return subprocess.CompletedProcess(["runner.py", *args], code, out.getvalue(), err.getvalue())

    def runs(self) -> list[dict]:
        """Every run.json, oldest first."""
        return [json.loads(p.read_text()) for p in sorted(self.outputs.glob("runs/*/run.json"))]


def make_workspace(root: Path, **env: str) -> Workspace:
    """A workspace under ``root`` (``store/`` and ``outputs/``); ``env`` adds or overrides variables."""
    base = {k: v for k, v in os.environ.items() if k != "HOPSWORKS_API_KEY"}
    base.update({BACKEND_ENV: "local", STORE_ENV: str(root / "store")}, **env)
    return Workspace(root / "store", root / "outputs", base)


def gone(pid: int) -> bool:
    """Whether process ``pid`` no longer runs (exited, or a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@dataclass
class FullRun:
    """The ``full_run`` fixture: a full run then a ``--daily`` in ``workspace``, with ``key`` set."""

    workspace: Workspace
    key: str
    full: subprocess.CompletedProcess[str]
    daily: subprocess.CompletedProcess[str]


def built_once(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """A folder ``build`` filled once per test session, and the JSON facts it returned.

    Under pytest-xdist every worker has its own temporary folder below the session's; the folder and a
    lock live in the session's, so the first worker to ask builds and the others wait and reuse it. A
    build that failed is tried again from scratch by the next test that asks (and fails it the same way).
    """
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder, facts = root / f"shared-{name}", root / f"shared-{name}.json"
    with FileLock(str(root / f"shared-{name}.lock")):
        if not facts.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            write_json(facts, build(folder))
        return folder, json.loads(facts.read_text())


def recorded(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """A finished command as JSON (for :func:`built_once`)."""
    return {"args": [str(a) for a in done.args], "returncode": done.returncode, "stdout": done.stdout,
            "stderr": done.stderr}  # fmt: skip


def completed(facts: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(facts["args"], facts["returncode"], facts["stdout"], facts["stderr"])


def load_make_assets() -> Any:
    """``assets/make_assets.py`` (a script outside the package) imported as a module; its main guard
    keeps it from running."""
    spec = importlib.util.spec_from_file_location("make_assets", ASSETS_DIR / "make_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- what a crash must leave: a whole archive, and the backfill untouched ------------------------------


def run_folders(outputs: Path) -> set[str]:
    """The run folders under ``outputs/runs``."""
    runs = outputs / "runs"
    return {p.name for p in runs.iterdir() if p.is_dir()} if runs.is_dir() else set()


def assert_archive_complete(outputs: Path, why: str = "") -> None:
    """Every page and record on disk is whole: pages end with ``</html>`` and parse, records are JSON."""
    for record in outputs.glob("runs/*/run.json"):
        data = json.loads(record.read_text())  # raises on half a file
        assert data["id"] == record.parent.name, why
    for page in outputs.rglob("*.html"):
        if page.name.startswith("."):
            continue
        text = page.read_text(encoding="utf-8")
        assert text.rstrip().endswith("</html>"), f"{page} is cut short {why}"
        doc = BeautifulSoup(text, "html.parser")
        assert doc.body is not None, f"{page} has no body {why}"
        if page.name == "index.html":
            json.loads(doc.select_one("#runs-data").string)
        else:
            assert doc.select_one("#report-top") is not None, f"{page} has no report header {why}"


def index_rows(outputs: Path) -> dict[str, dict]:
    """``run id -> {"status": row's data-status, "shown": its status badge, "data": inlined runs-data}``."""
    doc = BeautifulSoup((outputs / "index.html").read_text(encoding="utf-8"), "html.parser")
    data = {run["id"]: run["status"] for run in json.loads(doc.select_one("#runs-data").string)}
    return {
        row["data-id"]: {
            "status": row["data-status"],
            "shown": row.select_one(".status").text.strip(),
            "data": data[row["data-id"]],
        }
        for row in doc.select("tr.run")
    }


def backfill_rows(group: Any) -> pd.DataFrame:
    """The rows of the backfill (its one event time) in feature group ``group``, in a fixed order."""
    start = pd.Timestamp(BACKFILL_EVENT_TIME)
    rows = group.read(start_time=start, end_time=start + timedelta(seconds=1))
    return rows.sort_values(list(FEATURES)).reset_index(drop=True)


# --- the serverless-ML course's Lab 1, as tests/fixtures/course-lab1 replays it --------------------------

COURSE_LAB1 = FIXTURES / "course-lab1"
COURSE_CSV_URL = "https://repo.hops.works/master/hopsworks-tutorials/data/iris.csv"  # its backfill's source
# The course's `!pip install hopsworks` cells: pip finds hopsworks installed and asks no index (no network)
OFFLINE_PIP = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def course_checkout(root: Path) -> Path:
    """The Lab 1 notebooks where the course keeps them, ``src/01-module/`` with the flower pictures in its
    ``assets/``, and the ``assets/`` two folders up that the batch inference writes its pictures to."""
    module = root / "src" / "01-module"
    shutil.copytree(COURSE_LAB1, module)
    (module / "assets").mkdir()
    for variety in ("Setosa", "Versicolor", "Virginica"):
        shutil.copy(ASSETS_DIR / f"{variety}.png", module / "assets")
    (root / "assets").mkdir()
    return module


def course_feature_view(store: Path) -> None:
    """The course training notebook's fallback, run here: ``fs.get_feature_view`` returns None for a missing
    view in 5.2.1 (the SDK's documented behaviour, mirrored), so the notebook's ``try/except`` never creates
    it, on Hopsworks as here; a first run needs the view made once with the course's own arguments."""
    from serverless_iris.embedded.project import LocalProject

    fs = LocalProject(store).get_feature_store()
    query = fs.get_feature_group(name="iris", version=1).select_all()
    fs.create_feature_view(
        name="iris", version=1, description="Read from Iris flower dataset", labels=["variety"], query=query
    )


def course_backfill(store: Path) -> None:
    """The course's first feature-pipeline run (``BACKFILL=True``) done in-process: the iris CSV into
    feature group ``iris`` v1 with the course's primary key; then its view (:func:`course_feature_view`)."""
    from serverless_iris.embedded.project import LocalProject

    fs = LocalProject(store).get_feature_store()
    iris_fg = fs.get_or_create_feature_group(
        name="iris",
        version=1,
        primary_key=["sepal_length", "sepal_width", "petal_length", "petal_width"],
        description="Iris flower dataset",
    )
    iris_fg.insert(pd.read_csv(ASSETS_DIR / "iris.csv"))
    course_feature_view(store)

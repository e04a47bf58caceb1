"""The outputs folder's layout and the run archive (``<outputs>/runs/<id>/run.json`` records, pruning),
and the store lock (``run.lock``). Every other module finds a run's files through the names here.

The runner deletes and overwrites only what it recognisably wrote: the outputs folder and each run folder
hold a marker file (``.serverless-iris``); an outputs folder holding anything else is refused
(:func:`foreign_contents`). Folders written before the marker existed are recognised by what the runner
wrote there: a run folder by its ``run.json`` naming it, ``index.html`` by its run data.

A run record is written atomically each time it changes, so a reader (the index, the next run, a
crash test) always finds a whole one. A record left ``running`` by a process that is gone was
interrupted (killed outright).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from serverless_iris.backend import describe_store_record
from serverless_iris.errors import StoreBusyError
from serverless_iris.files import read_json, write_json
from serverless_iris.helpers.dashboard_files import DASHBOARD_FOLDER
from serverless_iris.helpers.provenance import package_versions
from serverless_iris.helpers.wording import plural
from serverless_iris.paths import LOCK_TIMEOUT_ENV, STORE_ENV, lock_timeout, store_path
from serverless_iris.runner.plan import PIPELINE, UsageError

RUN_LOCK = "run.lock"  # in the store's folder
STORE_ID = "store.id"  # in the embedded store's folder: tells a store from a later one at the same path
RUNS_FOLDER = "runs"  # <outputs>/runs/<run id>/: one folder per run
RUN_FILE = "run.json"  # in a run's folder: the run's record
INDEX_PAGE = "index.html"  # <outputs>/index.html: the dashboard and the run history
MARKER = ".serverless-iris"  # in the outputs folder and each run folder: the runner wrote it
INDEX_MARKS = (
    '<meta name="generator" content="serverless-iris runner.py">',
    '<script type="application/json" id="runs-data">',  # every index.html before the generator mark
)
PACKAGES = (
    "papermill", "nbclient", "nbconvert", "ipykernel", "pandas", "scikit-learn", "duckdb", "seaborn",
    "matplotlib", "dataframe-image", "pandera", "hopsworks",
)  # fmt: skip

Echo = Callable[[str], None]


def notebook_entry(name: str) -> dict[str, Any]:
    """A notebook's entry in ``run.json`` before it runs."""
    return {
        "name": name,
        "notebook": PIPELINE.get(name, f"{name}.ipynb"),  # another folder's notebook is named by its stem
        "status": "pending",
        "duration_s": None,
        "executed": None,
        "report": None,
        "results_report": None,
        "error": None,
    }


def run_folder(outputs: Path, run_id: str) -> Path:
    """Where run ``run_id`` of ``outputs`` keeps its notebooks, reports and record."""
    return Path(outputs) / RUNS_FOLDER / run_id


def in_run_folder(path: Path) -> bool:
    """Whether ``path`` (an executed notebook or report) lies in a run's folder of an outputs folder."""
    return path.parent.parent.name == RUNS_FOLDER


def load_runs(outputs: Path) -> list[dict[str, Any]]:
    """Every readable ``outputs/runs/*/run.json``, newest first (run ids sort by their UTC start)."""
    runs = [read_json(path) for path in (Path(outputs) / RUNS_FOLDER).glob(f"*/{RUN_FILE}")]
    return sorted((r for r in runs if r and r.get("id")), key=lambda r: r["id"], reverse=True)


def effective_status(run: dict[str, Any]) -> str:
    """The status to show: a ``running`` run whose process is gone from this host was interrupted."""
    status = run.get("status", "running")
    if status == "running" and run.get("host") == socket.gethostname() and run.get("pid"):
        if not _process_alive(int(run["pid"]), run.get("started")):
            return "interrupted"
    return status


def parse_time(value: str | None) -> datetime | None:
    """An ISO time as an aware datetime (naive times are UTC); None when missing or unreadable."""
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


def _process_alive(pid: int, started: str | None) -> bool:
    """Whether ``pid`` runs and is the process that started at ``started`` (not a later one reusing it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    since_boot = _process_start(pid)
    begun = parse_time(started)
    return since_boot is None or begun is None or since_boot <= begun.timestamp() + 1


def _process_start(pid: int) -> float | None:
    """The process's start as a Unix time, from /proc (None where there is no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
    except (OSError, StopIteration):
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return int(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")


def mark(folder: Path, what: str) -> None:
    """Leave the marker that says the runner wrote ``folder`` (``what``: outputs folder or run folder)."""
    write_json(
        Path(folder) / MARKER,
        {"written_by": "serverless-iris runner.py", "what": what, "note": "runner.py prunes and overwrites "
         "only folders holding this file"},
    )  # fmt: skip


def is_run_folder(folder: Path) -> bool:
    """Whether the runner wrote run folder ``folder``: its marker, or (older runs) a run.json naming it."""
    if (folder / MARKER).is_file():
        return True
    return (read_json(folder / RUN_FILE) or {}).get("id") == folder.name


def foreign_contents(outputs: Path) -> list[str]:
    """What in ``outputs`` the runner did not write (relative paths); empty when it may write there.

    The runner's own: its marker, ``runs/`` of run folders, an ``index.html`` it generated, and the
    dashboard folder the notebooks write (the runner deletes nothing in it).
    """
    outputs = Path(outputs)
    if not outputs.is_dir():
        return [] if not outputs.exists() else [f"{outputs} (a file, not a folder)"]
    found = []
    for entry in sorted(outputs.iterdir()):
        if entry.name == MARKER and entry.is_file():
            continue
        if entry.name == RUNS_FOLDER and entry.is_dir() and not entry.is_symlink():
            found += [
                f"{RUNS_FOLDER}/{run.name}"
                for run in sorted(entry.iterdir())
                if run.is_symlink() or not run.is_dir() or not is_run_folder(run)
            ]
        elif entry.name == INDEX_PAGE and entry.is_file() and not entry.is_symlink():
            if not _generated_index(entry):
                found.append(f"{INDEX_PAGE} (not generated by runner.py)")
        elif not (entry.name == DASHBOARD_FOLDER and entry.is_dir() and not entry.is_symlink()):
            found.append(entry.name + ("/" if entry.is_dir() else ""))
    return found


def _generated_index(page: Path) -> bool:
    try:
        text = page.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(mark in text for mark in INDEX_MARKS)


def prune(outputs: Path, keep: int, current: str, in_use: str | None = None) -> tuple[list[str], list[str]]:
    """Delete all but the newest ``keep`` run folders the runner wrote; never the current run, another
    live one, or ``in_use``, the run that trained the model in use (the dashboard links its report), nor
    a folder the runner did not write (:func:`is_run_folder`).

    Returns the ids deleted and the ids older than the newest ``keep`` kept on purpose.
    """
    live = {run["id"] for run in load_runs(outputs) if effective_status(run) == "running"}
    ours = (p for p in (outputs / RUNS_FOLDER).iterdir() if p.is_dir() and not p.is_symlink())
    folders = sorted((p for p in ours if is_run_folder(p)), key=lambda p: p.name)
    deleted, kept = [], []
    for folder in folders[::-1][keep:]:
        if folder.name not in (current, in_use) and folder.name not in live:
            shutil.rmtree(folder, ignore_errors=True)
            deleted.append(folder.name)
        else:
            kept.append(folder.name)
    return deleted, kept


def pruned_line(keep: int, deleted: list[str], kept: list[str], in_use: str | None) -> str | None:
    """What ``--keep`` did, for the console: how many runs it deleted, and which older ones it kept, why."""
    if not deleted and not kept:
        return None
    line = f"--keep {keep}: deleted {plural(len(deleted), 'older run')}"
    reasons = [
        f"{run} ({'it trained the model in use' if run == in_use else 'still running'})" for run in kept
    ]
    return line + (f"; kept {', '.join(reasons)}" if reasons else "")


def reached_store(run: dict[str, Any]) -> dict[str, Any] | None:
    """The store ``run`` recorded, once it reached it (a notebook succeeded); None before, or for a run
    archived before run.json recorded its store. A run that failed to log in wrote nothing anywhere, so it
    does not claim its outputs folder for the store it never reached."""
    recorded = run.get("store")
    reached = any(entry.get("status") == "succeeded" for entry in run.get("notebooks") or [])
    return recorded if isinstance(recorded, dict) and reached else None


def other_store(outputs: Path, store: dict[str, Any]) -> str | None:
    """The store the runs archived in ``outputs`` reached, described, when it is not ``store``; else None.

    A store deleted and made again at the same path is the same place (its runs stay in the folder's
    history, noted as an earlier store's: :func:`earlier_store`)."""
    for run in load_runs(outputs):
        recorded = reached_store(run)
        if recorded and _place(recorded) != _place(store):
            return describe_store_record(recorded)
    return None


def _place(store: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in store.items() if k != "id"}


def store_id(folder: Path) -> str:
    """The embedded store's identity, kept in ``<store>/store.id`` (made on its first run)."""
    path = Path(folder) / STORE_ID
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        identity = uuid.uuid4().hex
        path.write_text(identity + "\n")
        return identity


def earlier_store(run: dict[str, Any], current: dict[str, Any] | None) -> bool:
    """Whether ``run`` reached an earlier store than ``current`` at the same place (deleted since): its
    predictions and models are gone from the store the dashboard shows."""
    recorded = reached_store(run)
    return bool(recorded and current and recorded.get("id") and current.get("id")) and (
        recorded["id"] != current["id"]
    )


def unfinished_runs(outputs: Path) -> list[str]:
    """Notes on earlier runs still recorded as running whose process is gone (killed outright)."""
    return [
        f"note: run {run['id']} was interrupted (its process is gone)"
        for run in load_runs(outputs)[::-1]
        if run.get("status") == "running" and effective_status(run) == "interrupted"
    ]


def package_versions_later() -> Future[dict[str, str]]:
    """Python's and the installed packages' versions for run.json, looked up in a thread (reading
    package metadata takes a while)."""

    def versions() -> dict[str, str]:
        found = {name: version for name, version in package_versions(PACKAGES).items() if version}
        return {"python": sys.version.split()[0], **found}

    future: Future[dict[str, str]] = Future()
    threading.Thread(target=lambda: future.set_result(versions()), daemon=True).start()
    return future


@contextmanager
def store_lock(backend: str, say: Echo) -> Iterator[None]:
    """Hold ``<store>/run.lock`` for the whole run: a second run on the same store waits, bounded.

    Two runs on one store would interleave their inserts and models; DuckDB alone only keeps each
    statement safe. The wait is ``IRIS_LOCK_TIMEOUT`` (60 s), after which :class:`StoreBusyError`.
    The Hopsworks backend serialises on the server, so there is nothing to lock here.
    """
    if backend != "local":
        yield
        return
    import fcntl

    store = store_path()
    try:
        store.mkdir(parents=True, exist_ok=True)
        handle = open(store / RUN_LOCK, "a+")  # noqa: SIM115 - closed below, after the run
    except OSError as exc:
        raise UsageError(
            f"the store folder {store} cannot be written ({exc.strerror or exc}): every notebook writes to "
            f"the store; make it writable, or set {STORE_ENV} to a folder of your own"
        ) from None
    with handle:
        wait = lock_timeout()
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"another run ({_holder(handle)}) held the store {store} for {wait:g} s; wait for "
                        f"it to finish, raise {LOCK_TIMEOUT_ENV}, or set {STORE_ENV} to another folder"
                    ) from None
                if deadline - time.monotonic() >= wait - 0.25:
                    say(f"waiting for another run ({_holder(handle)}) on store {store} (up to {wait:g} s)")
                time.sleep(0.25)
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(handle: Any) -> str:
    handle.seek(0)
    return handle.read().strip() or "pid unknown"

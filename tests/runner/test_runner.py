"""``python runner.py`` end to end, as real subprocesses: archive, failures, interrupts, locking, secrets.

Notebook runs are slow on a small machine, so one full run of the real notebooks (and a ``--daily``
after it) is shared by several tests (``full_run``, tests/conftest.py); failure modes use the small
notebooks in ``tests/fixtures/``.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from support import FIXTURES, REPO, FullRun, Workspace, gone

from serverless_iris.runner.plan import PIPELINE

RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


# --- the real notebooks ------------------------------------------------------------------------------


def test_a_full_run_archives_every_notebook_with_its_reports(full_run: FullRun) -> None:
    assert full_run.full.returncode == 0, full_run.full.stdout + full_run.full.stderr
    record = full_run.workspace.runs()[0]
    folder = full_run.workspace.outputs / "runs" / record["id"]
    assert RUN_ID.match(record["id"])
    assert record["status"] == "succeeded" and record["mode"] == "full" and record["backend"] == "local"
    assert record["parameters"] == {} and record["retrained"] is None
    assert record["argv"][0] == "runner.py" and "--outputs" in record["argv"]
    assert record["pid"] > 0 and record["host"]
    assert record["started"] <= record["ended"] and record["duration_s"] > 0
    assert record["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", record["git_commit"])
    assert {"python", "papermill", "nbconvert", "pandas", "scikit-learn"} <= set(record["packages"])
    # a new store: the feature notebook backfills, then runs again to add today's flower
    assert [n["name"] for n in record["notebooks"]] == ["feature", *PIPELINE]
    for entry in record["notebooks"]:
        assert entry["notebook"] == PIPELINE[entry["name"]]
        assert entry["status"] == "succeeded" and entry["error"] is None and entry["duration_s"] > 0
        for key in ("executed", "report", "results_report"):
            assert (folder / entry[key]).is_file(), entry[key]
        executed = nbformat.read(folder / entry["executed"], as_version=4)
        assert executed.metadata.papermill.exception is None or not executed.metadata.papermill.exception
    assert (full_run.workspace.outputs / "dashboard" / "dashboard.json").is_file()  # DASHBOARD_DIR reached


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value for name, value in attrs if name in ("href", "src") and value]


def test_index_links_resolve_to_files_in_the_outputs_folder(full_run: FullRun) -> None:
    outputs = full_run.workspace.outputs
    parser = _Links()
    parser.feed((outputs / "index.html").read_text())
    local = [u for u in parser.links if not urlsplit(u).scheme and not u.startswith("#")]
    reports = [u for u in local if u.startswith("runs/") and u.endswith(".html")]
    assert len(reports) >= 3 * 2  # every notebook's full and results-only report, for both runs
    for link in local:
        target = (outputs / unquote(urlsplit(link).path)).resolve()
        assert target.is_file(), link
        assert outputs.resolve() in target.parents


def test_a_daily_run_adds_flowers_and_predicts_without_training(full_run: FullRun) -> None:
    assert full_run.daily.returncode == 0, full_run.daily.stdout + full_run.daily.stderr
    daily = full_run.workspace.runs()[1]
    assert daily["mode"] == "daily" and daily["status"] == "succeeded" and daily["retrained"] is None
    assert [n["name"] for n in daily["notebooks"]] == ["feature", "inference"]
    assert all(n["status"] == "succeeded" for n in daily["notebooks"])


def test_the_console_shows_progress_and_a_summary_and_nothing_else(full_run: FullRun) -> None:
    for done in (full_run.full, full_run.daily):
        assert done.stderr == ""  # no kernel notices, no library warnings
        lines = done.stdout.splitlines()
        assert re.match(r"run \d{8}T\d{6}Z-\w{6} \((full|daily): [a-z, ]+; backend local\)", lines[0])
        assert any(re.match(r"\[1\] feature +started", line) for line in lines)
        assert any(re.match(r"\[1\] feature +succeeded in \d+\.\d s", line) for line in lines)
        assert re.search(r"^feature +succeeded +\d+\.\d s +outputs/runs/\S+\.html$", done.stdout, re.M)
        assert re.search(r"succeeded in \d+\.\d s; index: outputs/index\.html$", done.stdout, re.M)
        assert re.match(
            r"predicted \w+ for the flower of \S+ \(actually \w+\) with model iris v\d ", lines[-1]
        )


def test_the_hopsworks_key_appears_in_no_output_file_and_not_on_the_console(full_run: FullRun) -> None:
    key = full_run.key.encode()
    files = [p for p in full_run.workspace.outputs.rglob("*") if p.is_file()]
    assert len(files) > 10
    assert [p for p in files if key in p.read_bytes()] == []
    for done in (full_run.full, full_run.daily):
        assert full_run.key not in done.stdout + done.stderr


# --- fixture notebooks -------------------------------------------------------------------------------


def test_each_notebook_gets_a_fresh_warm_kernel_with_its_parameters(workspace: Workspace) -> None:
    done = workspace.run_here(
        "--notebooks", str(FIXTURES / "ok"), "-p", "N_FLOWERS=3", "-p", "RATIO=1", "-p", "LABEL=x y",
        "--backfill",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (record,) = workspace.runs()
    expected = {"N_FLOWERS": 3, "RATIO": 1.0, "LABEL": "x y", "BACKFILL": True}
    assert record["parameters"] == expected
    for name in PIPELINE:
        seen = json.loads((workspace.outputs / "dashboard" / f"{name}.json").read_text())
        assert seen["parameters"] == expected
        assert seen["run_id"] == record["id"]
        assert seen["executable"] == sys.executable
        assert Path(seen["cwd"]) == FIXTURES / "ok"
        assert seen["leaked"] is (name == "feature")  # the names it sets reach no later kernel
        assert seen["warmed"] is True  # its top-level imports were loaded before its first cell
    for entry in record["notebooks"]:  # the warm-up is silent: the notebook's cells are counted from 1
        executed = nbformat.read(workspace.outputs / "runs" / record["id"] / entry["executed"], as_version=4)
        counts = [cell.execution_count for cell in executed.cells if cell.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), entry["name"]


def test_daily_trains_first_when_no_model_is_registered(workspace: Workspace) -> None:
    threads = set(threading.enumerate())
    done = workspace.run_here("--daily", "--notebooks", str(FIXTURES / "ok"))
    assert done.returncode == 0, done.stdout + done.stderr
    # the run closed what it opened: no kernel client's heartbeat thread (nor any other) is left
    assert set(threading.enumerate()) == threads
    assert "no model 'iris' was registered yet: training one before inference" in done.stdout
    (record,) = workspace.runs()
    assert [n["name"] for n in record["notebooks"]] == ["feature", "training", "inference"]
    assert record["trained"] == "no model 'iris' was registered yet" and record["retrained"] is None
    assert "trained because no model 'iris' was registered yet" in done.stdout
    index = (workspace.outputs / "index.html").read_text()  # a first model is trained, not retrained
    assert "trained: no model &#39;iris&#39; was registered yet" in index
    assert "retrained:" not in index


def test_keep_prunes_the_oldest_runs(workspace: Workspace) -> None:
    for _ in range(2):  # runner.py processes: a run's id starts with its start second, so these are apart
        done = workspace.run("--only", "feature", "--notebooks", str(FIXTURES / "ok"), "--keep", "1", "-q")
        assert done.returncode == 0, done.stdout + done.stderr
    ids = [run["id"] for run in workspace.runs()]
    assert len(ids) == 1
    assert done.stdout.strip().splitlines()[-1].startswith(f"run {ids[-1]} succeeded")
    assert sorted(p.name for p in (workspace.outputs / "runs").iterdir()) == ids


def _assert_failure_marked(folder: Path, entry: dict, kind: str) -> None:
    assert entry["status"] == "failed" and entry["error"]["kind"] == kind
    executed = nbformat.read(folder / entry["executed"], as_version=4)
    banner = executed.cells[0]
    assert "papermill-error-cell-tag" in banner.metadata.tags
    assert 'href="#papermill-error-cell"' in banner.source
    failed = [c for c in executed.cells if c.metadata.get("papermill", {}).get("exception")]
    assert len(failed) == 1 and failed[0].execution_count == entry["error"]["cell"]
    assert any(o.output_type == "error" for o in failed[0].outputs)
    report = (folder / entry["report"]).read_text()
    assert 'href="#papermill-error-cell"' in report and 'id="papermill-error-cell"' in report


@pytest.mark.parametrize(
    ("fixture", "args", "kind", "message"),
    [
        ("raises", [], "error", "ValueError: fixture failure in training"),
        ("timeout", ["--only", "feature", "--timeout", "2"], "timeout", "within --timeout 2 s"),
        ("dies", ["--only", "feature"], "dead-kernel", "the kernel died (exit code 1)"),
    ],
)
def test_a_failing_notebook_stops_the_run_and_its_report_marks_the_cell(
    workspace: Workspace, fixture: str, args: list[str], kind: str, message: str
) -> None:
    done = workspace.run_here("--notebooks", str(FIXTURES / fixture), *args)
    assert done.returncode == 1, done.stdout + done.stderr
    (record,) = workspace.runs()
    folder = workspace.outputs / "runs" / record["id"]
    assert record["status"] == "failed"
    failed = next(n for n in record["notebooks"] if n["status"] == "failed")
    _assert_failure_marked(folder, failed, kind)
    assert message in failed["error"]["message"]
    later = record["notebooks"][record["notebooks"].index(failed) + 1 :]
    assert all(n["status"] == "skipped" for n in later)
    assert [n["status"] for n in record["notebooks"][: record["notebooks"].index(failed)]] == [
        "succeeded"
    ] * (len(record["notebooks"]) - len(later) - 1)
    cell = failed["error"]["cell"]
    assert f"FAILED {failed['name']} ({failed['notebook']}) at cell In [{cell}]: " in done.stdout
    assert f"report: outputs/runs/{record['id']}/{failed['report']}" in done.stdout


def _wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while not (path.exists() and path.read_text()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)
    return path.read_text()


def test_ctrl_c_stops_the_kernel_and_records_the_run_as_interrupted(
    workspace: Workspace, tmp_path: Path
) -> None:
    pid_file = tmp_path / "kernel.pid"
    runner = workspace.start(
        "--notebooks", str(FIXTURES / "timeout"), "--only", "feature", "-p", f"PID_FILE={pid_file}"
    )
    kernel = int(_wait_for(pid_file, runner))
    runner.send_signal(signal.SIGINT)
    stdout, stderr = runner.communicate(timeout=120)
    assert runner.returncode == 130, stdout + stderr
    (record,) = workspace.runs()
    assert record["status"] == "failed"
    (entry,) = record["notebooks"]
    _assert_failure_marked(workspace.outputs / "runs" / record["id"], entry, "interrupted")
    assert entry["error"]["message"] == "interrupted (SIGINT)"
    assert gone(kernel)
    assert (workspace.outputs / "index.html").is_file()


@pytest.mark.slow
def test_a_second_run_on_the_same_store_waits_or_refuses(workspace: Workspace, tmp_path: Path) -> None:
    pid_file = tmp_path / "kernel.pid"
    first = workspace.start(
        "--notebooks", str(FIXTURES / "timeout"), "--only", "feature", "-p", f"PID_FILE={pid_file}"
    )
    _wait_for(pid_file, first)
    refused = workspace.run(
        "--notebooks", str(FIXTURES / "ok"), "--only", "feature", env={"IRIS_LOCK_TIMEOUT": "1"}
    )
    assert refused.returncode == 1
    assert "another run (pid " in refused.stderr and "IRIS_LOCK_TIMEOUT" in refused.stderr
    assert len(workspace.runs()) == 1  # the refused run wrote nothing
    waiting = workspace.start("--notebooks", str(FIXTURES / "ok"), "--only", "feature")
    assert waiting.stdout is not None
    assert waiting.stdout.readline().startswith("waiting for another run (pid ")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 130
    stdout, stderr = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, stdout + stderr
    interrupted, second = workspace.runs()
    assert interrupted["notebooks"][0]["error"]["message"] == "interrupted (SIGTERM)"
    assert second["status"] == "succeeded" and second["started"] >= interrupted["ended"]


# --- usage -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-p", "N_NEIGHBORS=abc"], "N_NEIGHBORS expects an integer"),
        (["-p", "TEST_SIZE=big"], "TEST_SIZE expects a number"),
        (["-p", "NO_SUCH_PARAMETER=1"], "NO_SUCH_PARAMETER: unknown parameter"),
        (["-p", "n_neighbors=5"], "-p n_neighbors: unknown parameter (did you mean N_NEIGHBORS?)"),
        (["--only", "feature", "-p", "N_NEIGHBORS=3"], "N_NEIGHBORS: unknown parameter"),
        (["-p", "DASHBOARD_DIR=/tmp/x"], "DASHBOARD_DIR: set by the runner (use --outputs)"),
        (
            ["-p", "HOPSWORKS_API_KEY=do-not-print-me"],
            "HOPSWORKS_API_KEY: a parameter whose name looks like a secret",
        ),
        (["-p", "my_token=do-not-print-me"], "my_token: a parameter whose name looks like a secret"),
        (["-p", "N_NEIGHBORS"], "expected NAME=VALUE"),
        (["--only", "feature,scoring"], "unknown notebook scoring"),
        (["--daily", "--backfill"], "--backfill contradicts --daily"),
        (["--only", "training", "--backfill"], "--backfill needs the feature notebook"),
        (["--daily", "--only", "feature"], "not allowed with argument"),
        (["--keep", "0"], "at least 1"),
        (["--notebooks", "no-such-folder"], "notebook not found"),
    ],
)
def test_bad_usage_exits_2_and_writes_nothing(workspace: Workspace, args: list[str], expected: str) -> None:
    done = workspace.call(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr
    assert "do-not-print-me" not in done.stdout + done.stderr
    assert not workspace.outputs.exists() and not workspace.store.exists()


def test_list_shows_notebooks_parameters_defaults_and_documentation(workspace: Workspace) -> None:
    done = workspace.call("--list")
    assert done.returncode == 0, done.stderr
    for name, notebook in PIPELINE.items():
        assert f"{name}: {notebook}" in done.stdout
    assert re.search(r"^  N_NEIGHBORS +2 +\S", done.stdout, re.M)
    assert re.search(r"^  BACKFILL +None +None: automatic", done.stdout, re.M)
    assert "(set by the runner)" in done.stdout
    assert not workspace.outputs.exists()


def test_runner_py_exits_with_the_code_and_message_of_the_command_line(workspace: Workspace) -> None:
    """The other usage tests call ``cli.main`` in-process (``Workspace.call``); ``runner.py`` hands on its
    code and console."""
    done = workspace.run("-p", "NO_SUCH_PARAMETER=1")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "NO_SUCH_PARAMETER: unknown parameter" in done.stderr and done.stdout == ""
    assert not workspace.outputs.exists() and not workspace.store.exists()


def test_help_documents_the_exit_codes() -> None:
    done = subprocess.run([sys.executable, str(REPO / "runner.py"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for code in ("0", "1", "2", "130"):
        assert re.search(rf"^  {code} +\S", done.stdout, re.M)
    for option in ("--daily", "--backfill", "--only", "-p NAME=VALUE", "--list", "--outputs", "--notebooks"):
        assert option in done.stdout
    for option in ("--keep", "--timeout", "-q"):
        assert option in done.stdout

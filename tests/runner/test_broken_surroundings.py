"""The run's surroundings fail: the console is closed by its reader, the store or outputs folder cannot be
written, the runner itself fails mid-run. Each ends with a clear message and no raw traceback, and no
run.json is left "running"."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import FIXTURES, REPO, Workspace

OK = ("--notebooks", str(FIXTURES / "ok"))


def test_a_console_closed_by_its_reader_does_not_stop_the_run(workspace: Workspace) -> None:
    """``python runner.py | head -1``: the reader goes away after the first line."""
    runner = workspace.start(*OK)
    assert runner.stdout is not None and runner.stderr is not None
    first = runner.stdout.readline()
    runner.stdout.close()  # what head does after its line
    err = runner.stderr.read()
    runner.wait(timeout=300)

    assert first.startswith("run ") and " -> " in first
    assert runner.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    (record,) = workspace.runs()
    assert record["status"] == "succeeded"
    assert [n["status"] for n in record["notebooks"]] == ["succeeded"] * 3
    assert (workspace.outputs / "index.html").is_file()


def test_a_store_folder_that_cannot_be_written_is_refused_before_anything_runs(
    workspace: Workspace, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    done = workspace.call(*OK, env={"IRIS_STORE": str(blocker / "store")})

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"runner.py: error: the store folder {blocker / 'store'} cannot be written (" in done.stderr
    assert "make it writable, or set IRIS_STORE to a folder of your own" in done.stderr
    assert "Traceback" not in done.stderr
    assert not workspace.outputs.exists()


def test_an_outputs_folder_that_cannot_be_written_is_refused_before_anything_runs(
    workspace: Workspace, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    done = workspace.call(*OK, "--outputs", str(blocker / "outputs"))

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"runner.py: error: the outputs folder {blocker / 'outputs'} cannot be written (" in done.stderr
    assert "or give the run another one (--outputs DIR)" in done.stderr
    assert blocker.read_text() == "not a folder"


def _read_only_mount_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(
    not _read_only_mount_works(), reason="needs user namespaces (unshare -rm) to mount read-only"
)
def test_a_read_only_store_folder_is_refused_with_a_clear_error(workspace: Workspace) -> None:
    """The store is a read-only bind mount in a mount namespace of the run's own (root ignores a folder's
    permission bits, not a read-only mount)."""
    workspace.store.mkdir()
    (workspace.store / "kept.txt").write_text("the user's store")
    store = str(workspace.store)
    script = (
        f'mount --bind "{store}" "{store}" && mount -o remount,ro,bind "{store}" "{store}" && exec '
        f'"{sys.executable}" "{REPO / "runner.py"}" --outputs "{workspace.outputs}" '
        f'--notebooks "{FIXTURES / "ok"}"'
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=workspace.outputs.parent,
        env=workspace.env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        f"runner.py: error: the store folder {store} cannot be written (Read-only file system)" in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert not workspace.outputs.exists()
    assert sorted(p.name for p in workspace.store.iterdir()) == ["kept.txt"]


def test_a_fault_of_the_runner_mid_run_is_recorded_as_failed_not_running(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serverless_iris.runner import run

    def broken(*args: object) -> str:
        raise RuntimeError("the progress line broke")

    monkeypatch.setattr(run, "_progress_line", broken)

    done = workspace.run_here(*OK)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "problem: the runner failed: RuntimeError: the progress line broke" in done.stdout
    (record,) = workspace.runs()
    assert record["status"] == "failed"
    assert [n["status"] for n in record["notebooks"]] == ["succeeded", "failed", "skipped"]
    assert json.loads((workspace.outputs / "runs" / record["id"] / "run.json").read_text())["ended"]


def test_terminal_escape_sequences_in_a_failure_message_are_shown_not_obeyed(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A CSV cell or a store value that reaches an error message must not clear, retitle or rewrite the
    user's terminal: control characters are printed as ``\\x..``."""
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('raise ValueError("bad row \\x1b[2J\\x1b]0;owned\\x07\\rdone")')]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "iris-feature-pipeline.ipynb")

    done = workspace.run_here("--notebooks", str(tmp_path / "notebooks"), "--only", "feature")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "ValueError: bad row \\x1b[2J\\x1b]0;owned\\x07\\x0ddone" in done.stdout
    assert "\x1b" not in done.stdout + done.stderr and "\r" not in done.stdout

"""``kill -INT`` or ``kill -TERM`` sent to the runner's pid alone (not its process group) ends every process
the run started, at whatever moment it lands: kernels, the fork server and its forks.

Every process of a run is found by a tag in its environment (``/proc/<pid>/environ``), which the runner
hands to the fork server and every kernel, so a process that escaped the runner's tree (an orphan
re-parented to init) is found too.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from support import FIXTURES, REPO, Workspace

TAG = "IRIS_TEST_SIGNAL_TAG"
GRACE = 15.0  # seconds the run's processes get to end after the runner has exited


def _tagged(tag: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(TAG) == tag and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _survivors(tag: str) -> list[str]:
    deadline = time.monotonic() + GRACE
    while (left := _tagged(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    described = []
    for process in left:
        try:
            described.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
        except psutil.Error:
            continue
        process.kill()  # leave nothing behind for the next test
    return described


def _wait_for_runner_py(pid: int) -> None:
    """Until runner.py's first line has run (it catches SIGTERM): a signal during the interpreter's own
    start-up (site-packages, before any line of runner.py) ends it as Python does, with nothing started."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.01)
    raise AssertionError("runner.py never started")


def _run_and_signal(workspace: Workspace, sig: signal.Signals, after: float, *args: str) -> None:
    """Start ``runner.py ARGS``, send ``sig`` to its pid ``after`` seconds in, and check what is left."""
    tag = secrets.token_hex(8)
    runner = subprocess.Popen(
        [sys.executable, str(REPO / "runner.py"), "--outputs", str(workspace.outputs), "-q", *args],
        cwd=workspace.outputs.parent,
        env={**workspace.env, TAG: tag},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_runner_py(runner.pid)
    time.sleep(after)
    runner.send_signal(sig)  # the pid alone, as `kill -INT <pid>` does
    out, err = runner.communicate(timeout=300)

    assert runner.returncode in (0, 130), out + err  # finished before the signal, or interrupted
    assert "Traceback" not in err, err
    assert _survivors(tag) == []
    for record in workspace.outputs.glob("runs/*/run.json"):
        assert json.loads(record.read_text())["status"] != "running"


@pytest.mark.parametrize(
    ("sig", "after"),
    [
        (signal.SIGINT, 0.0),  # while runner.py imports
        (signal.SIGINT, 0.6),  # the fork server starting, the plan
        (signal.SIGTERM, 1.0),
        (signal.SIGINT, 1.4),  # kernels forked, notebooks running
        (signal.SIGINT, 1.8),
        (signal.SIGTERM, 2.2),  # the end: reports, index
    ],
    ids=lambda v: v.name if isinstance(v, signal.Signals) else f"{v}s",
)
def test_a_signal_to_the_runners_pid_alone_ends_every_process_of_the_run(
    sig: signal.Signals, after: float, workspace: Workspace
) -> None:
    _run_and_signal(workspace, sig, after, "--notebooks", str(FIXTURES / "ok"))


@pytest.mark.slow
@pytest.mark.parametrize("after", [3.3, 3.8, 4.0, 4.3, 4.8, 5.3, 5.8, 6.3, 7.3])
def test_kill_int_to_the_runners_pid_during_a_real_first_run_leaves_no_process(
    after: float, workspace: Workspace
) -> None:
    """The real notebooks on a new store, as in the report of orphaned kernels (5-6.5 s into a run)."""
    _run_and_signal(workspace, signal.SIGINT, after)


def test_a_fork_server_killed_outright_takes_its_kernels_with_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    """SIGKILL leaves the fork server no chance to kill its kernels; Linux ends them (PR_SET_PDEATHSIG)."""
    pid_file = tmp_path / "kernel.pid"
    runner = workspace.start(
        "--notebooks", str(FIXTURES / "timeout"), "--only", "feature", "-p", f"PID_FILE={pid_file}", "-q"
    )
    try:
        deadline = time.monotonic() + 120
        while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        kernel = psutil.Process(int(pid_file.read_text()))
        server = psutil.Process(kernel.ppid())
        assert "serverless_iris.runner.kernels.forkserver" in " ".join(server.cmdline())

        server.kill()

        kernel.wait(timeout=GRACE)  # psutil.TimeoutExpired when the kernel outlives its server
        assert not kernel.is_running()
    finally:
        runner.send_signal(signal.SIGINT)
        runner.communicate(timeout=120)

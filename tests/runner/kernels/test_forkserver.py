"""Kernels forked from the fork server: fresh, in their own folder and session, and never left behind.

The fixture notebooks in ``fixtures/whoami`` write what their kernel sees (its parent process, the names
in its namespace, its history, environment and folder) to ``REPORT_DIR/<notebook>.json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from support import FIXTURES, REPO

WHOAMI = FIXTURES / "whoami"
OWN_NAMES = [
    "In",
    "Out",
    "Path",
    "REPORT_DIR",
    "exit",
    "gc",
    "get_ipython",
    "json",
    "open",
    "os",
    "pandas",
    "parent",
    "quit",
]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="kernels are forked on Linux only")


def runner(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, str(REPO / "runner.py"), "--outputs", str(tmp_path / "outputs"), *args]


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HOPSWORKS_API_KEY"}
    env.update(IRIS_BACKEND="local", IRIS_STORE=str(tmp_path / "store"), **extra)
    return env


def whoami(tmp_path: Path, **extra: str) -> dict[str, dict]:
    reports = tmp_path / "reports"
    reports.mkdir()
    done = subprocess.run(
        runner(
            tmp_path,
            "-q",
            "--notebooks",
            str(WHOAMI),
            "--only",
            "feature,training",
            "-p",
            f"REPORT_DIR={reports}",
        ),
        env=environment(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = [json.loads(p.read_text()) for p in (tmp_path / "outputs" / "runs").glob("*/run.json")]
    return {
        name: json.loads((reports / f"{name}.json").read_text()) | {"run": run["id"]}
        for name in ("feature", "training")
    }


def test_each_notebook_gets_a_fresh_kernel_forked_from_the_server(tmp_path: Path) -> None:
    seen = whoami(tmp_path, MPLBACKEND="Agg")  # as on many servers and CI images: kernels still draw inline
    assert seen["feature"]["pid"] != seen["training"]["pid"]
    for report in seen.values():
        assert report["parent"][1:3] == ["-m", "serverless_iris.runner.kernels.forkserver"], report["parent"]
        assert report["names"] == OWN_NAMES  # nothing from the other notebook, nor from the warm-up
        assert (
            report["history"] == 5
        )  # In[0] is empty; the parameters, injected parameters, imports, this cell
        assert report["session_leader"]  # its own session, so a signal to its group reaches only it
        assert report["cwd"] == str(WHOAMI)
        assert report["run_id"] == report["run"]
        assert report["mpl_backend"] == "module://matplotlib_inline.backend_inline"
        # what it inherited from the server (pandas and all) is frozen; its own objects are collected
        assert report["gc"]["enabled"] and report["gc"]["frozen"] > 100_000, report["gc"]


def test_without_forking_kernels_are_the_runners_children(tmp_path: Path) -> None:
    seen = whoami(tmp_path, IRIS_FORK_KERNELS="0")
    for report in seen.values():
        assert "runner.py" in " ".join(report["parent"]), report["parent"]
        assert report["names"] == OWN_NAMES
        assert report["history"] == 5
        assert report["cwd"] == str(WHOAMI)
        assert report["gc"] == {"enabled": True, "frozen": 0}


@pytest.mark.slow
def test_a_killed_runner_leaves_no_fork_server_or_kernel_behind(tmp_path: Path) -> None:
    """SIGKILL leaves the runner no chance to clean up: the server sees its stdin close, kills the kernels."""
    process = subprocess.Popen(
        runner(tmp_path),
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "training  started" in line:  # the feature kernel has come and gone; two more are forked
            break
    else:
        pytest.fail("the run never reached the training notebook")
    runner_process = psutil.Process(process.pid)
    deadline = time.monotonic() + 120
    descendants = runner_process.children(recursive=True)
    while len(descendants) < 2 and time.monotonic() < deadline:  # the server and a kernel it forked
        time.sleep(0.1)
        descendants = runner_process.children(recursive=True)
    kinds = [_command(p) for p in descendants]
    assert any("serverless_iris.runner.kernels.forkserver" in kind for kind in kinds), kinds
    assert len(descendants) >= 2, kinds
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(
        p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in descendants
    ):
        time.sleep(0.2)
    left = [p.pid for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"still running after the runner was killed: {left}"


def _command(process: psutil.Process) -> str:
    """The command line of ``process``; a kernel that has just ended (a zombie the server has not reaped
    yet, on a busy machine) has none left."""
    try:
        return " ".join(process.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return "(ended)"

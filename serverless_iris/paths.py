"""Where things live: the repository's folders and every ``IRIS_*`` environment variable, in one place.

All three rooms read their locations here, so a run, a notebook opened in Jupyter and the tests agree
on one store and one outputs folder whichever directory they were started from.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout; installed, the folder holding the package
ASSETS_DIR = REPO_ROOT / "assets"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
OUTPUTS_DIR = REPO_ROOT / "outputs"  # the run archive; runner.py --outputs moves it

BACKEND_ENV = "IRIS_BACKEND"  # local | hopsworks; unset: hopsworks when HOPSWORKS_API_KEY is set
STORE_ENV = "IRIS_STORE"  # the embedded store's folder
LOCK_TIMEOUT_ENV = "IRIS_LOCK_TIMEOUT"  # seconds a writer waits for another (60)
DASHBOARD_ENV = "IRIS_DASHBOARD_DIR"  # where the inference notebook writes the dashboard's files
RUN_ID_ENV = "IRIS_RUN_ID"  # set by the runner in each kernel: the run a model or file belongs to
FORK_KERNELS_ENV = "IRIS_FORK_KERNELS"  # 0: start kernels from scratch instead of forking them
KILL_AT_ENV = "IRIS_TEST_KILL_AT"  # tests only: insert | model-save | report, see kill_point
PREDICTOR_START_ENV = "IRIS_PREDICTOR_START_TIMEOUT"  # seconds a local predictor gets to load (120)
LOGIN_TIMEOUT_ENV = "IRIS_LOGIN_TIMEOUT"  # seconds hopsworks.login() may take in all (120)
REQUEST_TIMEOUT_ENV = "IRIS_REQUEST_TIMEOUT"  # seconds a Hopsworks call waits to connect or for data (300)
QUESTION_TIMEOUT_ENV = "IRIS_STORE_QUESTION_TIMEOUT"  # seconds the runner waits for a store answer (180)
DEFAULT_LOCK_TIMEOUT_S = 60.0
TIMEOUTS = {
    LOCK_TIMEOUT_ENV: DEFAULT_LOCK_TIMEOUT_S,
    LOGIN_TIMEOUT_ENV: 120.0,
    REQUEST_TIMEOUT_ENV: 300.0,
    QUESTION_TIMEOUT_ENV: 180.0,
}


def importable(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a child Python that imports this very serverless_iris, installed or not (a kernel, a
    model's predictor): the folder holding the package first on ``PYTHONPATH``."""
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))}


def store_path() -> Path:
    """The embedded store's folder: ``IRIS_STORE`` or ``store/`` at the repository root (git-ignored)."""
    return Path(os.environ.get(STORE_ENV) or REPO_ROOT / "store").resolve()


def lock_timeout() -> float:
    """Seconds a writer waits for another process to release the store: ``IRIS_LOCK_TIMEOUT`` or 60."""
    return timeout(LOCK_TIMEOUT_ENV)


def timeout(name: str) -> float:
    """The seconds environment variable ``name`` (one of :data:`TIMEOUTS`) sets, else its default: every
    wait that could hang has one. A value that is not a positive number raises ``ValueError`` naming it."""
    text = os.environ.get(name, "").strip()
    if not text:
        return TIMEOUTS[name]
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError(
            f"{name}={text!r} is not a number of seconds; give a positive number, e.g. {TIMEOUTS[name]:g}"
        )
    return value


def kill_point(point: str) -> None:
    """SIGKILL this process here when ``IRIS_TEST_KILL_AT`` names ``point``: the crash tests' way to die at a
    moment they choose (mid-insert, mid-model-save, mid-report) instead of a random one. Unset: nothing."""
    if os.environ.get(KILL_AT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)

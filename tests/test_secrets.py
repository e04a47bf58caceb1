"""The Hopsworks key never leaks when the Hopsworks backend fails, as a real ``python runner.py``.

``IRIS_BACKEND=hopsworks`` with a random ``HOPSWORKS_API_KEY`` and ``HOPSWORKS_HOST=127.0.0.1``,
``HOPSWORKS_PORT=9`` (the discard port: the connection is refused at once, no network is needed), so the
SDK's login fails in the feature notebook. The run must stop with a clear message, and the key must be
in no file the run wrote and nowhere on the console. A local-backend run with a key set is covered by
tests/runner/test_runner.py.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO


def _run(root: Path, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOPSWORKS_", "IRIS_"))}
    env.update(
        IRIS_BACKEND="hopsworks",
        HOPSWORKS_API_KEY=key,
        HOPSWORKS_HOST="127.0.0.1",
        HOPSWORKS_PORT="9",
        IRIS_STORE=str(root / "store"),  # must stay unused: nothing is stored locally
        IRIS_DASHBOARD_DIR=str(root / "dashboard"),
    )
    return subprocess.run(
        [sys.executable, str(REPO / "runner.py"), "--outputs", str(root / "outputs"), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _files_holding(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.mark.slow
@pytest.mark.parametrize("args", [(), ("--daily",), ("-q",)], ids=["full", "daily", "quiet"])
def test_a_failed_hopsworks_login_stops_the_run_and_the_key_leaks_nowhere(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    key = f"{secrets.token_hex(8)}.{secrets.token_urlsafe(48)}"  # shaped like a Hopsworks API key
    done = _run(tmp_path, key, *args)

    assert done.returncode == 1, done.stdout + done.stderr
    assert key not in done.stdout + done.stderr
    assert "FAILED feature (iris-feature-pipeline.ipynb) at cell In [" in done.stdout
    assert ": ConnectionError: " in done.stdout  # the SDK's own error: the notebook calls hopsworks.login()
    assert "port=9" in done.stdout  # says where it tried to connect
    assert "the run used Hopsworks 127.0.0.1, project the key's default: check the host and project" in (
        done.stdout
    )
    assert "to run offline on the embedded store, set IRIS_BACKEND=local" in done.stdout
    assert done.stdout.splitlines()[-1].endswith("; index: outputs/index.html")

    (folder,) = (tmp_path / "outputs" / "runs").iterdir()
    record = json.loads((folder / "run.json").read_text())
    assert record["backend"] == "hopsworks" and record["status"] == "failed"
    assert record["store"] == {"backend": "hopsworks", "host": "127.0.0.1", "project": None}
    feature = record["notebooks"][0]
    assert feature["status"] == "failed" and feature["error"]["kind"] == "error"
    assert feature["error"]["message"].startswith("ConnectionError: ")
    assert all(n["status"] == "skipped" for n in record["notebooks"][1:])
    assert (folder / feature["report"]).is_file()

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 5  # run.json, the executed notebook, its two reports, the index
    assert _files_holding(tmp_path, key) == []  # outputs, working directory, anything else under it
    assert not (tmp_path / "store").exists()
    assert _files_holding(REPO / "notebooks", key) == []  # the kernels' working directory: no .hw_api_key


def test_list_with_the_hopsworks_backend_selected_needs_no_login_and_shows_no_key(tmp_path: Path) -> None:
    key = f"{secrets.token_hex(8)}.{secrets.token_urlsafe(48)}"
    done = _run(tmp_path, key, "--list")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "feature: iris-feature-pipeline.ipynb" in done.stdout
    assert key not in done.stdout + done.stderr
    assert not (tmp_path / "outputs").exists()
    assert _files_holding(tmp_path, key) == []

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


# --- the key's forms, and keys too short to scrub ---------------------------------------------------------


def _encoded_leaks(key: str) -> dict[str, str]:
    """The key as a cell could print it: plain, in part, URL-encoded, and base64 inside longer text at
    each of base64's three alignments (standard and URL-safe)."""
    import base64
    from urllib.parse import quote

    raw = key.encode()
    return {
        "plain": f"api_key={key};",
        "first-half": f"starts {key[: len(key) // 2]} ...",
        "middle-20": f"[{key[10:30]}]",
        "url-encoded": f"https://h/?k={quote(key, safe='')}&x=1",
        **{f"base64-after-{n}": base64.b64encode(b"Bearer "[:n] + raw + b" end").decode() for n in range(3)},
        "urlsafe-base64": base64.urlsafe_b64encode(b"k:" + raw).decode(),
    }


@pytest.mark.parametrize(
    "form", ["plain", "first-half", "middle-20", "url-encoded", *(f"base64-after-{n}" for n in range(3)),
             "urlsafe-base64"],
)  # fmt: skip
def test_a_cell_printing_the_key_in_any_form_is_scrubbed(form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from serverless_iris.backend import redact

    key = f"{secrets.token_hex(8)}.{secrets.token_urlsafe(48)}"
    monkeypatch.setenv("HOPSWORKS_API_KEY", key)
    leak = _encoded_leaks(key)[form]

    clean = redact(leak)

    assert "***" in clean
    for piece in (key[i : i + 16] for i in range(len(key) - 15)):
        assert piece not in clean
    assert redact("ordinary output, 150 rows, accuracy 0.97") == "ordinary output, 150 rows, accuracy 0.97"
    assert redact(key[:15]) == key[:15]  # under 16 characters a piece of the key is left as it is


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("cell", "4 characters, 3 of them different"),
        ("secret-key-12", "13 characters, 10 of them different"),
        ("a" * 40, "40 characters, 1 of them different"),
    ],
)
def test_a_key_too_short_or_repetitive_to_scrub_is_refused_before_anything_runs(
    key: str, why: str, tmp_path: Path
) -> None:
    from support import make_workspace

    space = make_workspace(tmp_path)
    done = space.call("--only", "feature", env={"HOPSWORKS_API_KEY": key})

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"runner.py: error: HOPSWORKS_API_KEY has {why}; " in done.stderr
    assert "Set the whole Hopsworks API key, or unset HOPSWORKS_API_KEY" in done.stderr
    assert not space.outputs.exists() and not space.store.exists()

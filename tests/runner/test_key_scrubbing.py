"""The Hopsworks key is scrubbed from a notebook's outputs before they reach the disk, and the local
backend's kernels never get it.

The notebooks here come by the key as a careless cell could (the local backend's kernels have no
``HOPSWORKS_API_KEY``): from ``LEAKED_KEY``, which the test sets next to the key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest
from support import REPO, Workspace

from serverless_iris.backend import KEY_ENV

PRINT_FORMS = """import base64, os, urllib.parse
key = os.environ["LEAKED_KEY"]
print("plain", key)
print("part", key[8:40])
print("base64", base64.b64encode(b"Basic " + key.encode()).decode())
print("url", urllib.parse.quote(key, safe=""))
"""


@pytest.fixture
def key() -> str:
    return f"{secrets.token_hex(8)}.{secrets.token_urlsafe(48)}"  # shaped like a Hopsworks API key


def _notebook(folder: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / "iris-feature-pipeline.ipynb")
    return folder


def _leaks(key: str) -> list[bytes]:
    return [
        piece.encode()
        for form in (key, quote(key, safe=""), base64.b64encode(b"Basic " + key.encode()).decode()[8:])
        for piece in (form[i : i + 16] for i in range(0, len(form) - 15, 4))
    ]


def _files_leaking(folder: Path, key: str) -> list[str]:
    leaks = _leaks(key)
    return [str(p) for p in folder.rglob("*") if p.is_file() and any(x in p.read_bytes() for x in leaks)]


def test_a_cell_printing_the_key_plain_in_part_base64_and_url_encoded_leaves_it_in_no_file(
    key: str, workspace: Workspace, tmp_path: Path
) -> None:
    notebooks = _notebook(tmp_path / "notebooks", PRINT_FORMS)

    done = workspace.run_here(
        "--notebooks", str(notebooks), "--only", "feature", env={KEY_ENV: key, "LEAKED_KEY": key}
    )

    assert done.returncode == 0, done.stdout + done.stderr
    (record,) = workspace.runs()
    executed = nbformat.read(workspace.outputs / "runs" / record["id"] / "iris-feature-pipeline.ipynb", 4)
    printed = executed.cells[0].outputs[0]["text"]
    assert printed == "plain ***\npart ***\nbase64 QmFzaWMg***\nurl ***\n"
    assert _files_leaking(workspace.outputs, key) == []  # the notebook, both reports, run.json, index


def test_the_executed_notebook_holds_no_key_while_the_run_goes_on_nor_after_a_kill(
    key: str, workspace: Workspace, tmp_path: Path
) -> None:
    """The runner saves the notebook while a long cell runs (at most every 10 s); each save must be
    clean, and a SIGKILL leaves the last one on disk."""
    notebooks = _notebook(
        tmp_path / "notebooks",
        PRINT_FORMS,
        "import time\ntime.sleep(10.5)  # the next cell's start saves the notebook",
        "time.sleep(600)",
    )
    runner = subprocess.Popen(
        [sys.executable, str(REPO / "runner.py"), "--outputs", str(workspace.outputs)]
        + ["--notebooks", str(notebooks), "--only", "feature"],
        cwd=tmp_path,
        env={**workspace.env, KEY_ENV: key, "LEAKED_KEY": key},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so the test can end every process the run started
    )
    try:
        deadline = time.monotonic() + 120
        executed = None
        while time.monotonic() < deadline:
            found = list(workspace.outputs.glob("runs/*/iris-feature-pipeline.ipynb"))
            if found and '"plain ***' in found[0].read_text():
                executed = found[0]
                break
            time.sleep(0.2)
        assert executed is not None, "the notebook was never saved with the first cell's output"
        assert _files_leaking(workspace.outputs, key) == []
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)
        assert _files_leaking(workspace.outputs, key) == []
        assert json.loads(executed.read_text())["cells"][0]["outputs"][0]["text"][0] == "plain ***\n"
    finally:
        try:
            os.killpg(runner.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        runner.wait(timeout=30)


def test_the_local_backends_kernels_do_not_get_the_key(
    key: str, workspace: Workspace, tmp_path: Path
) -> None:
    """Neither in ``os.environ`` nor in the process's initial environment (``/proc/self/environ``, what a
    fork inherits from the fork server): the kernel looks for the key by its SHA-256."""
    report = tmp_path / "seen.json"
    notebooks = _notebook(
        tmp_path / "notebooks",
        "import hashlib, json, os\nfrom pathlib import Path\n"
        "initial = Path('/proc/self/environ').read_bytes().split(b'\\0')\n"
        "values = [e.split(b'=', 1)[-1] for e in initial] + [v.encode() for v in os.environ.values()]\n"
        "found = [hashlib.sha256(v).hexdigest() == os.environ['KEY_SHA'] for v in values]\n"
        f"Path({str(report)!r}).write_text(json.dumps({{'env': os.environ.get({KEY_ENV!r}),"
        " 'found': any(found),"
        " 'looked': len(found)}))",
    )

    done = workspace.run_here(
        "--notebooks",
        str(notebooks),
        "--only",
        "feature",
        env={KEY_ENV: key, "KEY_SHA": hashlib.sha256(key.encode()).hexdigest()},
    )

    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(report.read_text())
    assert seen["env"] is None and seen["found"] is False and seen["looked"] > 10

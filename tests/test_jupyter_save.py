"""Working in Jupyter leaves the repository clean: a notebook of ``notebooks/`` run and saved the README's
way (``jupyter lab notebooks/``) is written without outputs, so ``git status`` shows no change.

The test installs ``jupyter-config/`` as requirements.txt does (a plain install, into a prefix of its
own), starts a real JupyterLab server on 127.0.0.1 with that prefix's config, saves notebooks full of
outputs through the contents API (what JupyterLab's Save does) and asks git.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from serverless_iris.jupyter_save import clean, strip_outputs
from serverless_iris.paths import NOTEBOOKS_DIR, REPO_ROOT

STARTUP_S = 180  # a deadline for the server to answer, not a measurement


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def with_outputs(notebook: dict) -> dict:
    """``notebook`` as JupyterLab holds it after Run All: outputs, counts, the kernel's language details
    and the metadata the front end adds to cells."""
    ran = json.loads(json.dumps(notebook))
    ran["metadata"]["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.11.7",
    }
    for count, cell in enumerate((c for c in ran["cells"] if c["cell_type"] == "code"), 1):
        cell["execution_count"] = count
        cell["outputs"] = [
            {"output_type": "stream", "name": "stdout", "text": f"cell {count} ran\n"},
            {
                "output_type": "execute_result",
                "execution_count": count,
                "data": {"text/plain": "42", "image/png": "iVBORw0KGgo="},
                "metadata": {},
            },
        ]
        cell["metadata"].update(
            {"scrolled": True, "execution": {"iopub.status.busy": "2026-11-30T22:00:00Z"}}
        )
    return ran


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding this checkout's package and committed notebooks, as a user's clone would."""
    root = tmp_path_factory.mktemp("clone")
    shutil.copytree(
        REPO_ROOT / "serverless_iris", root / "serverless_iris", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(NOTEBOOKS_DIR, root / "notebooks")
    shutil.copy(REPO_ROOT / ".gitignore", root / ".gitignore")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "clone")
    return root


@pytest.fixture(scope="module")
def jupyter_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``jupyter-config/`` installed the way ``pip install -r requirements.txt`` installs it."""
    prefix = tmp_path_factory.mktemp("prefix")
    source = tmp_path_factory.mktemp("source") / "jupyter-config"
    shutil.copytree(
        REPO_ROOT / "jupyter-config", source, ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--prefix",
            str(prefix),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return prefix / "etc" / "jupyter"


class Server:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/contents/{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def save(self, path: str, notebook: dict) -> dict:
        return self.request("PUT", path, {"type": "notebook", "format": "json", "content": notebook})


@pytest.fixture(scope="module")
def server(
    checkout: Path, jupyter_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """``jupyter lab notebooks/`` started in the clone, on 127.0.0.1, no browser, a token of its own."""
    home = tmp_path_factory.mktemp("home")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),  # the clone's package, as its editable install would import it
        "JUPYTER_CONFIG_PATH": str(jupyter_config),
        "JUPYTER_CONFIG_DIR": str(home / "config"),  # no user config of this machine
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "HOME": str(home),
    }
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "notebooks/",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.port_retries=0",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
        ],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    started = Server(f"http://127.0.0.1:{port}", token)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                started.request("GET", "")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start:\n{(home / 'server.log').read_text()}")
                time.sleep(0.5)
        yield started
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


@pytest.mark.slow
def test_saving_run_notebooks_in_jupyter_lab_leaves_git_status_clean(checkout: Path, server: Server) -> None:
    names = sorted(p.name for p in (checkout / "notebooks").glob("*.ipynb"))
    assert len(names) == 3
    for name in names:
        opened = server.request("GET", f"{name}?content=1")  # root_dir is notebooks/, as the README starts it
        assert any(c["cell_type"] == "code" for c in opened["content"]["cells"])
        saved = server.save(name, with_outputs(opened["content"]))
        assert saved["name"] == name
    assert git(checkout, "status", "--porcelain") == ""
    for name in names:
        on_disk = nbformat.read(checkout / "notebooks" / name, as_version=4)
        code = [c for c in on_disk.cells if c.cell_type == "code"]
        assert code and all(c.outputs == [] and c.execution_count is None for c in code)


@pytest.mark.slow
def test_a_new_notebook_saved_there_keeps_its_cells_and_loses_only_outputs(
    checkout: Path, server: Server
) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# mine"), nbformat.v4.new_code_cell("print(1)")]
    )
    server.save("scratch.ipynb", with_outputs(json.loads(nbformat.writes(notebook))))
    on_disk = nbformat.read(checkout / "notebooks" / "scratch.ipynb", as_version=4)
    assert [c.source for c in on_disk.cells] == ["# mine", "print(1)"]
    assert on_disk.cells[1].outputs == [] and on_disk.cells[1].execution_count is None
    assert git(checkout, "status", "--porcelain") == "?? notebooks/scratch.ipynb\n"  # new, not a changed file


def test_notebooks_outside_the_repositorys_notebooks_folder_keep_their_outputs(tmp_path: Path) -> None:
    ran = with_outputs(
        json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])))
    )
    model = {"type": "notebook", "content": ran}
    manager = type("Manager", (), {"root_dir": str(tmp_path)})()
    strip_outputs(model=model, path="/elsewhere.ipynb", contents_manager=manager)
    assert model["content"]["cells"][0]["outputs"]  # untouched
    manager.root_dir = str(REPO_ROOT)
    strip_outputs(model=model, path="/notebooks/elsewhere.ipynb", contents_manager=manager)
    assert model["content"]["cells"][0]["outputs"] == []


def test_clean_keeps_what_is_committed() -> None:
    committed = json.loads((NOTEBOOKS_DIR / "iris-feature-pipeline.ipynb").read_text(encoding="utf-8"))
    ran = with_outputs(committed)
    clean(ran)
    assert ran == committed

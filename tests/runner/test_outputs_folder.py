"""What a user reads about the outputs folder (issue 26): a failed Hopsworks login leaves nothing that
refuses the corrected retry, a refusal says how to give a store its own folder, the page suggests only a
command the runner accepts, ``--keep`` says what it deleted and kept, and after ``store/`` is deleted the
old store's runs are noted in the history."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import nbformat
from browser import chromium_page
from playwright.sync_api import Browser
from support import FIXTURES, Workspace, make_workspace

TEST_KEY = "test-key-0123456789abcdef"  # long and varied enough to scrub (shorter keys are refused)

STUB_HOPSWORKS = '''
import os
from types import SimpleNamespace


def login(**kwargs):
    """A fake SDK login that reaches only the host right.example."""
    if os.environ.get("HOPSWORKS_HOST") != "right.example":
        raise ConnectionError(f"cannot reach {os.environ.get('HOPSWORKS_HOST')}")
    return SimpleNamespace(name="iris_course")
'''


def _login_notebooks(folder: Path) -> Path:
    """A feature notebook that logs in, as the real one does first."""
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("N_FLOWERS = 1  # flowers to add")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        parameters,
        nbformat.v4.new_code_cell("from serverless_iris import login\n\nproject = login()"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "iris-feature-pipeline.ipynb")
    return folder


def test_after_a_failed_login_the_corrected_host_may_use_the_same_outputs(
    tmp_path: Path, chromium: Browser
) -> None:
    stub = tmp_path / "stub" / "hopsworks"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(STUB_HOPSWORKS)
    space = make_workspace(tmp_path, IRIS_BACKEND="hopsworks", PYTHONPATH=str(stub.parent))
    notebooks = str(_login_notebooks(tmp_path / "notebooks"))
    args = ("--only", "feature", "--notebooks", notebooks)

    wrong = space.run_here(*args, env={"HOPSWORKS_API_KEY": TEST_KEY, "HOPSWORKS_HOST": "wrong.example"})
    assert wrong.returncode == 1 and "cannot reach wrong.example" in wrong.stdout
    right = space.run_here(*args, env={"HOPSWORKS_API_KEY": TEST_KEY, "HOPSWORKS_HOST": "right.example"})
    assert right.returncode == 0, right.stdout + right.stderr  # was: "holds the runs of another store"

    local = space.call(*args, env={"IRIS_BACKEND": "local"})
    assert local.returncode == 2
    message = " ".join(local.stderr.split())
    assert "holds the runs of another store (Hopsworks right.example, project the key's default)" in message
    assert f"e.g. python runner.py --outputs {space.outputs} {' '.join(args)} --outputs outputs-local" in (
        message
    )
    assert "See README, Backends" in message

    with chromium_page(chromium) as session:
        session.open(space.outputs / "index.html")
        page = session.page
        assert (
            page.locator("#store").inner_text() == "Store: Hopsworks right.example, project the key's default"
        )
        command = page.locator("#create-command").inner_text()
        assert command == (
            "HOPSWORKS_API_KEY=<your key> HOPSWORKS_HOST=right.example python runner.py "
            f"--outputs {space.outputs}"
        )
        session.assert_clean()


def test_keep_says_how_many_runs_it_deleted_and_which_it_kept_on_purpose(workspace: Workspace) -> None:
    args = ("--only", "feature", "--notebooks", str(FIXTURES / "ok"))
    assert workspace.run_here(*args).returncode == 0
    (trainer,) = [run["id"] for run in workspace.runs()]
    dashboard = workspace.outputs / "dashboard" / "dashboard.json"
    dashboard.write_text(json.dumps({"model": {"name": "iris", "version": 1, "training_run": trainer}}))
    for _ in range(2):
        time.sleep(1)  # runs are ordered by their id, which starts with the start second
        assert workspace.run_here(*args).returncode == 0
    time.sleep(1)

    done = workspace.run_here(*args, "--keep", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"--keep 1: deleted 2 older runs; kept {trainer} (it trained the model in use)" in done.stdout
    assert len(workspace.runs()) == 2


def test_after_store_is_deleted_the_old_stores_runs_are_noted_in_the_history(
    workspace: Workspace, chromium: Browser
) -> None:
    args = ("--only", "feature", "--notebooks", str(FIXTURES / "ok"))
    assert workspace.run_here(*args).returncode == 0
    shutil.rmtree(workspace.store)
    assert workspace.run_here(*args).returncode == 0
    current = (workspace.store / "store.id").read_text().strip()
    (old,) = [run for run in workspace.runs() if run["store"]["id"] != current]
    (new,) = [run for run in workspace.runs() if run["store"]["id"] == current]

    with chromium_page(chromium) as session:
        session.open(workspace.outputs / "index.html")
        note = session.page.locator(f"#run-{old['id']} .earlier-store")
        assert note.inner_text() == (
            "on an earlier store at this place, deleted since: its predictions and models are gone"
        )
        assert session.page.locator(f"#run-{new['id']} .earlier-store").count() == 0
        session.assert_clean()

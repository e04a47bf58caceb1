"""What a kernel is warmed with before its notebook runs (``runner.kernels.notebook_modules``), and the
fork server's order: a kernel whose modules are loaded is forked before the server imports for another.

``LATER_IMPORTS`` names modules a notebook's top-level import makes it import later, inside a cell. Each
entry is checked against the installed packages: importing the module does not import its companion (else
the entry would be useless), and the first use the notebook makes of it does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import REPO

from serverless_iris.runner.kernels.forkserver import ForkServer
from serverless_iris.runner.kernels.kernel import (
    LATER_IMPORTS,
    kernel_environment,
    notebook_modules,
    top_level_imports,
)
from serverless_iris.runner.plan import PIPELINE

FIRST_USE = {  # what the notebooks do with each module of LATER_IMPORTS
    "serverless_iris.helpers.contract": "module.iris_schema()",
    "hsml.schema": "module.Schema(__import__('pandas').DataFrame({'sepal_length': [5.1]}))",
}


@pytest.mark.parametrize("name", sorted(LATER_IMPORTS))
def test_a_later_import_happens_at_first_use_not_at_import(name: str) -> None:
    code = textwrap.dedent(
        f"""
        import importlib, json, sys
        from serverless_iris.runner.kernels.startup import skip_unused_grammar
        skip_unused_grammar()  # as the fork server does before it imports these
        module = importlib.import_module({name!r})
        later = {LATER_IMPORTS[name]!r}
        at_import = [m for m in later if m in sys.modules]
        {FIRST_USE[name]}
        print(json.dumps([at_import, [m for m in later if m in sys.modules]]))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)

    assert done.returncode == 0, done.stderr
    at_import, after_use = json.loads(done.stdout.splitlines()[-1])
    assert at_import == []
    assert after_use == LATER_IMPORTS[name]


def test_every_later_import_follows_a_notebooks_top_level_import() -> None:
    notebooks = [REPO / "notebooks" / name for name in PIPELINE.values()]
    imported = {name for notebook in notebooks for name in top_level_imports(notebook)}

    assert set(LATER_IMPORTS) <= imported
    training = notebook_modules(REPO / "notebooks" / PIPELINE["training"])
    assert training[training.index("hsml.schema") + 1] == "hsfs.training_dataset"
    assert len(training) == len(top_level_imports(REPO / "notebooks" / PIPELINE["training"])) + 1


@pytest.mark.skipif(sys.platform != "linux", reason="kernels are forked on Linux only")
def test_a_kernel_whose_modules_are_loaded_is_forked_while_another_waits_for_its_imports(
    tmp_path: Path,
) -> None:
    """The first kernel asked for needs a module whose import waits until a file exists; the second needs
    nothing more. The second is forked while the first's import waits; the first once the file exists.
    Each "kernel" is ipykernel asked for its ``--version``: it exits at once."""
    go = tmp_path / "go"
    (tmp_path / "slow_to_import.py").write_text(
        "import pathlib, time\n"
        "deadline = time.monotonic() + 300\n"
        f"while not pathlib.Path({str(go)!r}).exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
    )
    env = kernel_environment()
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    server = ForkServer(env)
    try:
        waiting = server.launch(["--version"], env, str(tmp_path), ["slow_to_import"])
        ready = server.launch(["--version"], env, str(tmp_path), [])

        assert ready.pid is not None  # forked while the other kernel's import waits (until `go` exists)
        go.touch()
        assert waiting.pid is not None
    finally:
        server.close()


def test_papermill_is_imported_without_remote_store_clients_that_import_as_usual_afterwards() -> None:
    code = textwrap.dedent(
        """
        import json, sys
        from serverless_iris.runner.kernels.startup import REMOTE_IO, without_remote_io
        with without_remote_io():
            import papermill
        during = [name for name in REMOTE_IO if sys.modules.get(name) is not None]
        left_blocked = [name for name in REMOTE_IO if name in sys.modules]
        import boto3, pyarrow
        print(json.dumps([during, left_blocked, papermill.__name__]))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [[], [], "papermill"]

"""The Hopsworks key is planted where it would leak, and must be found nowhere the run writes or prints.

tests/test_secrets.py only ever triggers a connection error, which never holds the key, so its checks
cannot fail. Here the key is put where it passes through the code: in the error a (fake) ``hopsworks.login``
raises, in a notebook cell's output and error, in a parameter's value and in a parameter that cannot be
converted. Each test names, in its docstring, the line of code each of its checks relies on; each fails
when that redaction is removed.
"""

from __future__ import annotations

import secrets
import sys
import traceback
import types
from pathlib import Path

import nbformat
import pytest
from support import FIXTURES, Workspace, make_workspace

from serverless_iris import backend
from serverless_iris.backend import KEY_ENV, BackendError

STUB_LOGIN = '''
def login(**kwargs):
    """A fake SDK login: the key is in its message, its chained cause and this very source line."""
    try:
        raise KeyError("{key}")
    except KeyError as cause:
        raise ConnectionError("could not log in with api_key={key}") from cause
'''


@pytest.fixture
def key() -> str:
    return f"{secrets.token_hex(8)}.{secrets.token_urlsafe(48)}"  # shaped like a Hopsworks API key


def _files_holding(folder: Path, key: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]


def _stub_hopsworks(folder: Path, key: str) -> Path:
    """A package ``hopsworks`` whose ``login`` raises with the key; put ``folder`` first on the path."""
    (folder / "hopsworks").mkdir(parents=True)
    (folder / "hopsworks" / "__init__.py").write_text(STUB_LOGIN.format(key=key))
    return folder


def test_a_login_error_holding_the_key_is_re_raised_without_it(
    key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Relies on backend._hopsworks_login: ``raise BackendError(redact(f"Hopsworks login failed: ..."))``
    (the message) and its ``from None`` (the chained SDK error, whose text and source hold the key)."""
    stub = types.ModuleType("hopsworks")
    exec(STUB_LOGIN.format(key=key), stub.__dict__)  # noqa: S102 - the fake SDK of this test
    monkeypatch.setitem(sys.modules, "hopsworks", stub)
    monkeypatch.setenv("IRIS_BACKEND", "hopsworks")
    monkeypatch.setenv(KEY_ENV, key)

    with pytest.raises(BackendError) as caught:
        backend.login()

    message = str(caught.value)
    assert message.startswith(
        "Hopsworks login failed: ConnectionError: could not log in with api_key=*** -- "
    )
    assert key not in "".join(traceback.format_exception(caught.value))


def test_a_failed_login_in_a_real_run_leaks_the_key_nowhere(key: str, tmp_path: Path) -> None:
    """The feature notebook logs in through a stub ``hopsworks`` first on the kernels' path.

    The notebook calls ``hopsworks.login()`` itself (a plain kernel on the Hopsworks backend), so the stub's
    error reaches the runner holding the key. Console and run.json: failures.error_record's
    ``redact(message)``; the executed notebook and the reports made from it: failures.scrub (called by
    run_notebook).
    """
    space = make_workspace(
        tmp_path, IRIS_BACKEND="hopsworks", PYTHONPATH=str(_stub_hopsworks(tmp_path / "stub", key))
    )
    done = space.run("--only", "feature", env={KEY_ENV: key})

    assert done.returncode == 1, done.stdout + done.stderr
    assert "ConnectionError: could not log in with api_key=***" in done.stdout
    assert "to run offline on the embedded store, set IRIS_BACKEND=local" in done.stdout
    _assert_nowhere(space, done.stdout + done.stderr, key, tmp_path)


def _key_notebook(folder: Path) -> Path:
    """A feature notebook that prints the key, then raises with it in its message. The local backend's
    kernels do not get ``HOPSWORKS_API_KEY``, so the cells read it as a notebook could come by it
    otherwise (a file, another variable): from ``LEAKED_KEY``."""
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('LABEL = "iris"  # a string parameter')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        parameters,
        nbformat.v4.new_code_cell('import os\nprint("the key:", os.environ["LEAKED_KEY"])'),
        nbformat.v4.new_code_cell('raise RuntimeError("rejected " + os.environ["LEAKED_KEY"])'),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir()
    nbformat.write(nb, folder / "iris-feature-pipeline.ipynb")
    return folder


def test_a_cell_raising_with_the_key_and_the_key_as_a_parameter_value_leak_nowhere(
    key: str, workspace: Workspace, tmp_path: Path
) -> None:
    """Checks, and the line each relies on:

    - run.json ``argv``: run._Run's ``"argv": [redact(a) for a in argv]``;
    - run.json ``parameters``: run._Run's ``"parameters": json.loads(redact(json.dumps(...)))``;
    - run.json error message, console, index: failures.error_record's ``redact(message)``;
    - the executed notebook (the injected parameter, the printed key, the error) and both reports made
      from it: failures.scrub.
    """
    notebooks = _key_notebook(tmp_path / "notebooks")
    done = workspace.run(
        "--notebooks",
        str(notebooks),
        "--only",
        "feature",
        "-p",
        f"LABEL={key}",
        env={KEY_ENV: key, "LEAKED_KEY": key},
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "RuntimeError: rejected ***" in done.stdout
    (record,) = workspace.runs()
    assert "LABEL=***" in record["argv"] and record["parameters"] == {"LABEL": "***"}
    assert record["notebooks"][0]["error"]["message"] == "RuntimeError: rejected ***"
    executed = nbformat.read(workspace.outputs / "runs" / record["id"] / "iris-feature-pipeline.ipynb", 4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert injected.source.endswith('LABEL = "***"\n')  # the cells did run with the key, which is replaced
    assert [o["text"] for c in executed.cells for o in c.get("outputs", []) if "text" in o] == [
        "the key: ***\n"
    ]
    _assert_nowhere(workspace, done.stdout + done.stderr, key, tmp_path)


@pytest.mark.parametrize("option", ["N_FLOWERS={key}", "RATIO={key}"])
def test_a_parameter_value_that_cannot_be_converted_is_refused_without_the_key(
    option: str, key: str, workspace: Workspace, tmp_path: Path
) -> None:
    """Relies on cli._usage_error's ``print(f"runner.py: error: {redact(message)}")``: the conversion
    error (parameters.Parameter.convert) quotes the value it was given."""
    done = workspace.call(
        "--notebooks", str(FIXTURES / "ok"), "-p", option.format(key=key), env={KEY_ENV: key}
    )

    assert done.returncode == 2, done.stdout + done.stderr
    name = option.split("=")[0]
    assert f"runner.py: error: -p {name}=***: {name} expects " in done.stderr
    _assert_nowhere(workspace, done.stdout + done.stderr, key, tmp_path)


def _assert_nowhere(space: Workspace, console: str, key: str, root: Path) -> None:
    """The console, and every file under ``root``: run.json, the executed notebook, its reports, the
    index, the store (when one was written) and anything else the run left there."""
    assert key not in console
    assert [p for p in _files_holding(root, key) if not p.is_relative_to(root / "stub")] == []  # fake SDK
    written = {p.name for p in space.outputs.rglob("*") if p.is_file()}
    if space.runs():
        assert {"run.json", "index.html"} <= written
        record = space.runs()[0]
        entry = record["notebooks"][0]
        assert {entry["executed"], entry["report"], entry["results_report"]} <= written


def test_the_key_in_the_outputs_path_is_not_printed(key: str, workspace: Workspace, tmp_path: Path) -> None:
    """The only console text not taken from an already-redacted record: paths. Relies on cli._echo's
    ``print(redact(line))`` (the ``run ... -> <folder>`` and progress lines) and cli._summary's
    ``return redact("\\n".join(lines))`` (the report and index paths of the summary)."""
    outputs = workspace.outputs.parent / f"out-{key}"
    done = workspace.run("--notebooks", str(FIXTURES / "ok"), "--outputs", str(outputs), env={KEY_ENV: key})

    assert done.returncode == 0, done.stdout + done.stderr
    assert "-> out-***/runs/" in done.stdout
    assert done.stdout.splitlines()[-1].endswith("; index: out-***/index.html")
    assert key not in done.stdout + done.stderr
    (run,) = (outputs / "runs").iterdir()
    assert f"out-{key}" not in (run / "run.json").read_text()  # argv, as above


def test_a_failure_marked_on_a_cell_holds_no_key(
    key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relies on ``failures.mark_failure``'s ``text = redact(message)``: a timeout or a dead kernel is
    written into the executed notebook as an error output from the runner's own message, which may quote
    what the cell printed. (In a run, ``error_record`` and the notebook's scrub redact it again.)"""
    from serverless_iris.runner.notebook import mark_failure

    monkeypatch.setenv(KEY_ENV, key)
    executed = tmp_path / "executed.ipynb"
    cell = nbformat.v4.new_code_cell("print('working')", execution_count=1)
    cell.metadata["papermill"] = {"start_time": "2026-12-01T00:00:00"}
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), executed)

    assert mark_failure(executed, "TimeoutError", f"the cell printed api_key={key} and hung") == 1

    written = executed.read_text()
    assert key not in written
    assert "TimeoutError: the cell printed api_key=*** and hung" in written

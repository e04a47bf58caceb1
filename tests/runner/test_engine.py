"""The runner's papermill engine (``serverless_iris.runner.engine``) saves the executed notebook when it
matters — at the start, when a cell fails, at the end, and during a long cell — not at every cell's start
and end as papermill's own engine does, and writes the same notebook as papermill's engine.

Each test executes small notebooks in kernels of their own (``runner.kernels.Kernel``, not forked) and
records every save papermill's execution manager makes (``papermill.engines.write_ipynb``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import papermill
import papermill.engines
import pytest

from serverless_iris.runner import engine
from serverless_iris.runner.kernels.kernel import KERNEL_NAME, Kernel, kernel_environment

CELLS = ["x = 1", "print('first cell done')", "y = x + 1", "print(y)", "z = [y] * 3"]


def _notebook(folder: Path, sources: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    parameters = nbformat.v4.new_code_cell("N = 1", metadata={"tags": ["parameters"]})
    nb = nbformat.v4.new_notebook(cells=[parameters, *map(nbformat.v4.new_code_cell, sources)])
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    path = folder / "notebook.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every save of the execution manager, as the code cells' papermill statuses at that moment."""
    recorded: list[list[str]] = []
    write = papermill.engines.write_ipynb

    def counting(nb: Any, path: str) -> None:
        recorded.append([c.metadata.papermill["status"] for c in nb.cells if c.cell_type == "code"])
        write(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", counting)
    return recorded


def _execute(notebook: Path, executed: Path, engine_name: str | None) -> None:
    executed.parent.mkdir(parents=True, exist_ok=True)
    kernel = Kernel(notebook, kernel_environment(), None)
    try:
        papermill.execute_notebook(
            notebook,
            executed,
            parameters={"N": 2},  # papermill injects a cell, as for the runner
            engine_name=engine_name,
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            km=kernel.manager,
        )
    finally:
        kernel.stop()


def _without_times(nb: Any) -> Any:
    """The notebook without what differs between any two executions: times, durations, cell ids."""
    nb.metadata.papermill = {
        k: v for k, v in nb.metadata.papermill.items() if k in ("exception", "parameters")
    }
    for i, cell in enumerate(nb.cells):
        cell.id = str(i)
        cell.metadata.pop("execution", None)
        cell.metadata.papermill = {
            k: v for k, v in cell.metadata.papermill.items() if k in ("exception", "status")
        }
    return nb


def test_a_notebook_is_saved_at_its_start_and_end_only(tmp_path: Path, saves: list[list[str]]) -> None:
    notebook = _notebook(tmp_path / "source", CELLS)

    _execute(notebook, tmp_path / "runner" / "executed.ipynb", engine.ENGINE_NAME)
    ours = list(saves)
    saves.clear()
    _execute(notebook, tmp_path / "papermill" / "executed.ipynb", None)

    cells = len(CELLS) + 2  # the parameters cell and papermill's injected one
    assert ours == [["pending"] * cells, ["completed"] * cells]
    assert len(saves) == 2 + 2 * cells  # papermill's engine: also at every cell's start and end


def test_the_executed_notebook_is_the_one_papermills_engine_writes(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "source", CELLS)

    _execute(notebook, tmp_path / "runner" / "executed.ipynb", engine.ENGINE_NAME)
    _execute(notebook, tmp_path / "papermill" / "executed.ipynb", None)

    ours = nbformat.read(tmp_path / "runner" / "executed.ipynb", as_version=4)
    theirs = nbformat.read(tmp_path / "papermill" / "executed.ipynb", as_version=4)
    assert [c.outputs for c in ours.cells] == [c.outputs for c in theirs.cells]
    assert [c.outputs for c in ours.cells][3][0]["text"] == "first cell done\n"
    for nb in (ours, theirs):
        del nb.metadata.papermill["input_path"], nb.metadata.papermill["output_path"]
    assert _without_times(ours) == _without_times(theirs)


def test_a_failing_cell_is_saved_with_its_error(tmp_path: Path, saves: list[list[str]]) -> None:
    notebook = _notebook(tmp_path / "source", ["x = 1", "raise ValueError('planted')", "y = 2"])
    executed = tmp_path / "runner" / "executed.ipynb"

    with pytest.raises(papermill.PapermillExecutionError, match="planted"):
        _execute(notebook, executed, engine.ENGINE_NAME)

    statuses = ["completed", "completed", "completed", "failed", "pending"]
    assert saves == [["pending"] * 5, statuses, statuses]  # start, the failed cell's end, the end
    cells = nbformat.read(executed, as_version=4).cells  # with papermill's error banner and anchor
    (failed,) = [c for c in cells if c.get("metadata", {}).get("papermill", {}).get("status") == "failed"]
    assert failed.source == "raise ValueError('planted')"
    assert failed.outputs[0]["ename"] == "ValueError"


def test_a_long_cell_saves_the_notebook_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The long cell waits (printing, which is when papermill's autosave looks at the clock) until the
    executed notebook on disk holds the earlier cell's output; it fails after 120 s when it never does."""
    monkeypatch.setattr(engine, "SAVE_EVERY", 0.2)
    executed = tmp_path / "runner" / "executed.ipynb"
    wait = (
        "import time\n"
        f"path = {str(executed)!r}\n"
        "deadline = time.monotonic() + 120\n"
        "while 'first cell done' not in open(path).read():\n"
        "    assert time.monotonic() < deadline, 'the notebook was not saved during this cell'\n"
        "    print('.', end='', flush=True)\n"
        "    time.sleep(0.1)\n"
    )
    notebook = _notebook(tmp_path / "source", ["print('first cell done')", wait])

    _execute(notebook, executed, engine.ENGINE_NAME)

    assert nbformat.read(executed, as_version=4).cells[-1].metadata.papermill["status"] == "completed"

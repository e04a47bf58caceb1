"""One notebook through papermill, and how it failed: the error for run.json and the marked cell.

Failures are marked in the executed notebook the way papermill marks a cell error (banner at the top
linking to the cell, ``metadata.papermill.exception``), also for cell timeouts, dead kernels and
interrupts, which papermill leaves unmarked. papermill is imported only when a notebook runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_iris.backend import KEY_ENV, redact
from serverless_iris.files import write_atomic
from serverless_iris.runner.kernels.kernel import KERNEL_NAME

if TYPE_CHECKING:
    from serverless_iris.runner.kernels.kernel import Kernel


def run_notebook(
    source: Path,
    executed: Path,
    parameters: dict[str, Any],
    kernel: Kernel,
    timeout: int | None,
    progress_bar: bool,
) -> dict[str, Any] | None:
    """Execute one notebook in ``kernel``; the error for run.json, or None when every cell succeeded.

    The Hopsworks key is scrubbed from the notebook each time it is saved (:func:`scrub_node`, called by
    the engine), so the file never holds it, also while the run goes on or after a kill; the file is
    scrubbed once more at the end, for what papermill writes itself.
    """
    try:
        return _execute(source, executed, parameters, kernel, timeout, progress_bar)
    finally:
        scrub(executed)


def scrub_node(node: Any, checked: dict[int, str] | None = None) -> Any:
    """``node`` (a notebook, or any part of one) with the Hopsworks key redacted from every string in it,
    changed in place where it is a dict or list, so a cell's outputs are clean before they are written.

    ``checked`` remembers the strings already found clean (by identity, holding them so it stays theirs):
    a notebook saved again and again is then only searched in what is new since its last save.
    """
    if not os.environ.get(KEY_ENV):
        return node
    if isinstance(node, str):
        if checked is not None and checked.get(id(node)) is node:
            return node
        clean = redact(node)
        if checked is not None:
            checked[id(clean)] = clean
        return clean
    if isinstance(node, dict):
        for name, value in node.items():
            node[name] = scrub_node(value, checked)
    elif isinstance(node, list):
        node[:] = [scrub_node(value, checked) for value in node]
    return node


def scrub(executed: Path) -> None:
    """Replace the Hopsworks key in the executed notebook's file, if it is there at all."""
    try:
        text = executed.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    clean = redact(text)
    if clean != text:
        write_atomic(executed, clean)


def _execute(
    source: Path,
    executed: Path,
    parameters: dict[str, Any],
    kernel: Kernel,
    timeout: int | None,
    progress_bar: bool,
) -> dict[str, Any] | None:
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from serverless_iris.runner.engine import ENGINE_NAME

    try:
        papermill.execute_notebook(
            source,
            executed,
            engine_name=ENGINE_NAME,
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            language="python",
            progress_bar=progress_bar,
            execution_timeout=timeout,
            km=kernel.manager,
        )
    except PapermillExecutionError as exc:  # papermill has marked the cell itself
        return error_record("error", exc.exec_count, f"{exc.ename}: {exc.evalue}")
    except CellTimeoutError:
        why = f"the cell did not finish within --timeout {timeout} s"
        return error_record("timeout", mark_failure(executed, "CellTimeoutError", why), why)
    except (DeadKernelError, RuntimeError) as exc:
        if kernel.alive() and not isinstance(exc, DeadKernelError):
            return _unexpected(executed, exc)
        why = f"the kernel died ({kernel.exit_status()})"
        cell = mark_failure(executed, "DeadKernelError", why) if executed.exists() else None
        return error_record("dead-kernel", cell, why)
    except Exception as exc:  # e.g. a notebook papermill cannot read: record it, do not crash the run
        return _unexpected(executed, exc)
    return None


def _unexpected(executed: Path, exc: Exception) -> dict[str, Any]:
    why = f"{type(exc).__name__}: {exc}"
    cell = mark_failure(executed, type(exc).__name__, why) if executed.exists() else None
    return error_record("error", cell, why)


def error_record(kind: str, cell: int | None, message: str) -> dict[str, Any]:
    return {"kind": kind, "cell": cell, "message": redact(message)}


def mark_failure(executed: Path, ename: str, message: str) -> int | None:
    """Mark the cell that was running as papermill marks a cell error; return its execution count.

    The cell is the last one that started (the first code cell if none did). It gets an error output
    and ``metadata.papermill.exception``; papermill's own ``raise_for_execution_errors`` then adds the
    banner at the top and the anchor it links to, so every failure looks the same in the report.
    """
    import nbformat
    from papermill.exceptions import PapermillExecutionError
    from papermill.execute import raise_for_execution_errors

    nb = nbformat.read(executed, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if not code:
        return None
    started = [cell for cell in code if cell.metadata.get("papermill", {}).get("start_time")]
    cell = started[-1] if started else code[0]
    text = redact(message)
    cell.outputs.append(
        nbformat.v4.new_output("error", ename=ename, evalue=text, traceback=[f"{ename}: {text}"])
    )
    cell.metadata.setdefault("papermill", {}).update(exception=True, status="failed")
    nb.metadata.setdefault("papermill", {})["exception"] = True
    try:
        raise_for_execution_errors(nb, str(executed))
    except PapermillExecutionError:
        pass
    return cell.execution_count

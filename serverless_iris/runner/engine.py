"""The runner's papermill engine: papermill's nbclient engine, saving the executed notebook when it matters.

papermill's execution manager saves the whole notebook at every cell's start and end
(``NotebookExecutionManager.cell_start`` / ``cell_complete`` in ``papermill/engines.py``): nbformat
validates, deep-copies and serialises it each time while the kernel waits for its next cell, most of
the runner's main thread. This manager saves when the notebook starts, when a
cell fails, when the notebook ends (also on an error, a timeout, a dead kernel or an interrupt:
papermill's ``Engine.execute_notebook`` calls ``notebook_complete`` in a ``finally``), and in between
whenever :data:`SAVE_EVERY` seconds have passed since the last save, at a cell's start or end or while a
long cell sends output (papermill's ``autosave_cell``). So an executed notebook always ends with every
cell's outputs and the failing cell marked; only a runner killed outright (SIGKILL) leaves a notebook up
to :data:`SAVE_EVERY` seconds behind, as papermill's own autosave does within long cells. Every save
scrubs the Hopsworks key from the notebook first.

This module imports papermill; :mod:`serverless_iris.runner.notebook` imports it when a notebook runs.
"""

from __future__ import annotations

from typing import Any

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

from serverless_iris.runner.notebook import scrub_node

ENGINE_NAME = "serverless-iris"
SAVE_EVERY = 10  # seconds between saves while a notebook runs (papermill's autosave_cell_every)


class SavingWhenItMatters(NotebookExecutionManager):  # type: ignore[misc]
    """papermill's execution manager, whose saves at a cell's start and end happen only when one is due
    (a failed cell's end is always saved)."""

    def __init__(self, nb: Any, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self._deferring = False
        self._clean: dict[int, str] = {}  # strings of the notebook already scrubbed (scrub_node)

    def save(self, **kwargs: Any) -> None:
        """Save when due, the Hopsworks key scrubbed from the notebook first: nothing on disk holds it."""
        if self._deferring and (self.now() - self.last_save_time).total_seconds() < self.autosave_cell_every:
            return
        scrub_node(self.nb, self._clean)
        super().save(**kwargs)

    def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        self._deferring = True
        try:
            super().cell_start(cell, cell_index, **kwargs)
        finally:
            self._deferring = False

    def cell_complete(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        self._deferring = cell.metadata.papermill.get("status") != self.FAILED
        try:
            super().cell_complete(cell, cell_index, **kwargs)
        finally:
            self._deferring = False


class Engine(NBClientEngine):  # type: ignore[misc]
    """papermill's ``NBClientEngine`` under :class:`SavingWhenItMatters`."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        **kwargs: Any,
    ) -> Any:
        """papermill's ``Engine.execute_notebook`` with this manager and :data:`SAVE_EVERY`."""
        manager = SavingWhenItMatters(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=SAVE_EVERY,
        )
        manager.notebook_start()
        try:
            cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
        finally:
            manager.cleanup_pbar()
            manager.notebook_complete()
        return manager.nb


papermill_engines.register(ENGINE_NAME, Engine)

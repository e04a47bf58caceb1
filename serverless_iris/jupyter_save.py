"""Jupyter's save hook for this repository: a notebook of ``notebooks/`` is saved without its outputs.

The notebooks are committed clean (no outputs, no execution counts), so running one in JupyterLab and
saving it must not change the tracked file. ``pip install -r requirements.txt`` installs
``jupyter-config/serverless_iris.json`` into the environment's ``etc/jupyter/jupyter_server_config.d``,
which enables this module as a Jupyter server extension; it registers :func:`strip_outputs` as a
pre-save hook of the server's contents manager. Notebooks outside the repository's ``notebooks/``
folder are saved untouched; the open tab keeps its outputs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from serverless_iris.paths import NOTEBOOKS_DIR

# Cell metadata a front end writes while running or showing cells (nbstripout strips the same keys).
TRANSIENT_CELL_METADATA = ("collapsed", "scrolled", "execution", "ExecuteTime", "heading_collapsed", "hidden")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter server's entry point: this module is the extension."""
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Called by the Jupyter server at start-up."""
    serverapp.contents_manager.register_pre_save_hook(strip_outputs)
    serverapp.log.info("serverless_iris: notebooks saved into %s are saved without outputs", NOTEBOOKS_DIR)


def strip_outputs(model: dict[str, Any], path: str, contents_manager: Any, **_: Any) -> None:
    """Jupyter's ``pre_save_hook``: clear outputs, execution counts and run-time metadata of a notebook
    saved into ``notebooks/``, in place, so the file on disk is what git has."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    os_path = Path(os.path.join(contents_manager.root_dir, path.strip("/"))).resolve()
    if not os_path.is_relative_to(NOTEBOOKS_DIR.resolve()):
        return
    clean(model["content"])


def clean(notebook: dict[str, Any]) -> None:
    """Strip a notebook (as JSON) to what is committed: code without outputs or counts, the kernel's
    name and language, no metadata a run or a front end adds."""
    metadata = notebook.setdefault("metadata", {})
    for key in ("widgets", "signature"):
        metadata.pop(key, None)
    language = metadata.get("language_info")
    if isinstance(language, dict):  # the kernel fills in its version, lexer and file type when it runs
        metadata["language_info"] = {"name": language.get("name", "python")}
    for cell in notebook.get("cells", []):
        cell_metadata = cell.get("metadata", {})
        for key in TRANSIENT_CELL_METADATA:
            cell_metadata.pop(key, None)
        jupyter = cell_metadata.get("jupyter")
        if isinstance(jupyter, dict):
            jupyter.pop("outputs_hidden", None)
            if not jupyter:
                del cell_metadata["jupyter"]
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None

"""What a run will do: the pipeline, its steps and their checked parameters, decided before anything starts.

:func:`plan` checks everything a user typed (notebooks, parameters, backend) and touches nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serverless_iris.backend import BackendError, key_problem, selected_backend
from serverless_iris.helpers.backfill import check_backfill_parameters
from serverless_iris.paths import NOTEBOOKS_DIR, TIMEOUTS, timeout
from serverless_iris.runner.csv_source import SOURCE, SourceError, readable_source
from serverless_iris.runner.parameters import Parameter, ParameterError, read_parameters, resolve

PIPELINE = {
    "feature": "iris-feature-pipeline.ipynb",
    "training": "iris-training-pipeline.ipynb",
    "inference": "iris-batch-inference-pipeline.ipynb",
}
# Another folder's notebooks run feature pipelines first, then training, then inference, as the course's
# Lab 1 does, by these words in their file names; the rest after them; each group in name order.
STAGE_WORDS = (("feature",), ("train",), ("inference", "predict"))
MODEL_NAME = "iris"
RUNNER_PARAMETERS = {"DASHBOARD_DIR": "--outputs"}  # set by the runner, with the option that moves them


class UsageError(ValueError):
    """Bad notebooks folder, names, options or parameters: nothing ran and nothing was written."""


@dataclass
class Step:
    """One notebook of a run."""

    name: str
    path: Path
    parameters: dict[str, Any]  # the values given with -p, converted
    declared: frozenset[str] = frozenset()  # every parameter the notebook declares


@dataclass
class Plan:
    """What a run will do, checked before anything starts."""

    mode: str  # "full" | "daily" | "only" | "folder" (another folder's notebooks, see folder_notebooks)
    steps: list[Step]
    training: Step | None = None  # --daily: trained when the registry has no model, or on an accuracy alert
    backend: str = "local"

    @property
    def parameters(self) -> dict[str, Any]:
        """One value per name, as run.json records them (a name shared by notebooks has one value)."""
        merged: dict[str, Any] = {}
        for step in [*self.steps, *([self.training] if self.training else [])]:
            merged.update(step.parameters)
        return merged


def notebook_paths(names: Sequence[str], folder: Path) -> dict[str, Path]:
    """The pipeline notebooks ``names`` in ``folder``, in pipeline order; an error names what is missing."""
    unknown = [n for n in names if n not in PIPELINE]
    if unknown:
        raise UsageError(f"unknown notebook {', '.join(unknown)}; choose from {', '.join(PIPELINE)}")
    paths = {name: Path(folder) / notebook for name, notebook in PIPELINE.items() if name in names}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise UsageError(f"notebook not found: {', '.join(missing)} (--notebooks names the folder)")
    return paths


def holds_pipeline(folder: Path) -> bool:
    """Whether ``folder`` holds the three pipeline notebooks; else ``runner.py`` runs it as a folder."""
    return all((Path(folder) / notebook).is_file() for notebook in PIPELINE.values())


def folder_notebooks(folder: Path) -> dict[str, Path]:
    """Every ``*.ipynb`` in ``folder`` by its stem, feature pipelines first, then training, then inference
    (:data:`STAGE_WORDS` in the name), then the others, each group in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"notebook not found: {folder} is not a folder (--notebooks names the folder)")
    found = sorted(folder.glob("*.ipynb"), key=lambda path: (_stage(path.stem), path.name))
    if not found:
        raise UsageError(f"notebook not found: {folder} holds no *.ipynb (--notebooks names the folder)")
    return {path.stem: path for path in found}


def _stage(stem: str) -> int:
    name = stem.lower()
    return next((i for i, words in enumerate(STAGE_WORDS) if any(w in name for w in words)), len(STAGE_WORDS))


def declared_parameters(paths: Mapping[str, Path]) -> dict[str, dict[str, Parameter]]:
    """Each notebook's parameters cell, read with papermill."""
    return {name: read_parameters(path) for name, path in paths.items()}


def _load_source(mode: str, values: dict[str, Any]) -> None:
    """``-p IRIS_CSV`` means: load that file now. It is checked readable, and the feature notebook,
    which reads it only in a backfill, is told to backfill (upsert the file's flowers)."""
    if values.get(SOURCE) is None:
        return
    if mode == "daily":
        raise UsageError(
            f"-p {SOURCE} loads a file, which --daily (adding new flowers) does not; drop --daily"
        )
    try:
        check_backfill_parameters(values.get("BACKFILL"), values[SOURCE])
    except ValueError as exc:
        raise UsageError(f"-p {exc}") from None
    try:
        values[SOURCE] = readable_source(values[SOURCE])
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    values["BACKFILL"] = True


def plan(
    mode: str = "full",
    only: Sequence[str] = (),
    assignments: Mapping[str, str] | None = None,
    notebooks: Path = NOTEBOOKS_DIR,
) -> Plan:
    """Check notebooks, backend and ``-p`` values (already split by ``parameters.parse_assignments``).

    ``folder`` runs every notebook of ``notebooks`` (:func:`folder_notebooks`), each in a fresh kernel.

        Raises :class:`UsageError` naming every problem; reads only the notebooks.
    """
    names = {"full": list(PIPELINE), "daily": list(PIPELINE), "only": list(only), "folder": []}.get(mode)
    if names is None:
        raise UsageError(f"unknown mode {mode!r}; use full, daily, only or folder")
    if mode == "only" and not names:
        raise UsageError("--only needs at least one of: " + ", ".join(PIPELINE))
    try:
        backend = selected_backend()
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    unsafe_key = key_problem()
    if unsafe_key:
        raise UsageError(unsafe_key)
    try:
        for name in TIMEOUTS:
            timeout(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    paths = folder_notebooks(notebooks) if mode == "folder" else notebook_paths(names, notebooks)
    declared = declared_parameters(paths)
    assignments = dict(assignments or {})
    fixed = [
        f"-p {n}: set by the runner (use {opt})" for n, opt in RUNNER_PARAMETERS.items() if n in assignments
    ]
    if fixed:
        raise UsageError("\n".join(fixed))
    try:
        values = resolve(assignments, declared)
    except ParameterError as exc:
        raise UsageError(str(exc)) from None
    if "feature" in values and mode != "folder":
        _load_source(mode, values["feature"])
    steps = {name: Step(name, paths[name], values[name], frozenset(declared[name])) for name in paths}
    if mode == "daily":
        return Plan(mode, [steps["feature"], steps["inference"]], training=steps["training"], backend=backend)
    return Plan(mode, list(steps.values()), backend=backend)

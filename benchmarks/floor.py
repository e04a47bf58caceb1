"""The floor of the overhead benchmark: the three notebooks' code cells in ONE plain Python process.

What ``python runner.py`` does, minus the notebook machinery: no kernels, no papermill, no reports.
Each notebook runs in a fresh namespace, in pipeline order, with the values the runner gives it —
its ``parameters`` cell, then an injected ``DASHBOARD_DIR = "<outputs>/dashboard"`` where the notebook
declares it (as the runner does, see ``serverless_iris.runner.plan.RUNNER_PARAMETERS``) — in the
notebooks' folder (where the runner starts its kernels). As the runner's first run on an empty store does,
the feature notebook runs a second time with ``BACKFILL = False`` to add today's flower. IPython line
magics and shell escapes are stripped;
matplotlib runs on Agg (``MPLBACKEND=Agg`` is set here when unset). A cell's last expression is not
displayed: nothing here renders output.

    python benchmarks/floor.py --outputs DIR [--daily] [--timings FILE.json]

``--daily`` is the floor of ``python runner.py --daily``: the feature notebook with ``BACKFILL = False``
(new flowers), then the inference notebook, on the store as it is.

``--timings`` writes the seconds of every cell and notebook. The store is ``IRIS_STORE`` as for the
runner. Exits 1 with the failing notebook and cell when a cell raises.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # serverless_iris, installed or not
from serverless_iris.offline_kernel import install  # noqa: E402
from serverless_iris.paths import NOTEBOOKS_DIR, RUN_ID_ENV  # noqa: E402
from serverless_iris.runner.plan import PIPELINE  # noqa: E402

RUN_ID = "floor-benchmark"


def read_cells(path: Path) -> tuple[str, list[str]]:
    """The ``parameters`` cell and the other code cells of a notebook, magics stripped."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    parameters, cells = "", []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = strip_magics(cell.source)
        if "parameters" in cell.metadata.get("tags", []) and not parameters:
            parameters = source
        else:
            cells.append(source)
    return parameters, cells


def strip_magics(source: str) -> str:
    """Drop IPython ``%magic`` / ``!shell`` lines, which plain Python cannot run."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def declared(parameters: str) -> set[str]:
    """Names the parameters cell assigns."""
    names = set()
    for node in ast.parse(parameters).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def run_notebook(path: Path, injected: dict[str, object]) -> list[float]:
    """Execute the notebook's cells in a fresh namespace; the seconds each code cell took."""
    parameters, cells = read_cells(path)
    values = {name: value for name, value in injected.items() if name in declared(parameters)}
    injection = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    namespace: dict[str, object] = {"__name__": "__main__"}
    seconds = []
    for i, source in enumerate([parameters, injection, *cells]):
        begun = time.perf_counter()
        try:
            exec(compile(source, f"<{path.name} cell {i}>", "exec"), namespace)
        except Exception as exc:
            raise CellError(path.name, i, exc) from exc
        seconds.append(time.perf_counter() - begun)
    return seconds


class CellError(RuntimeError):
    def __init__(self, notebook: str, cell: int, exc: Exception) -> None:
        super().__init__(f"{notebook} cell {cell}: {type(exc).__name__}: {exc}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="floor.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--outputs", type=Path, required=True, help="the runner's --outputs equivalent")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, help="folder of the notebooks")
    parser.add_argument(
        "--daily", action="store_true", help="the daily run's notebooks: new flowers, inference"
    )
    parser.add_argument("--timings", type=Path, help="write per-cell and per-notebook seconds here (JSON)")
    args = parser.parse_args(argv)
    begun = time.perf_counter()
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault(RUN_ID_ENV, RUN_ID)
    install()  # as in the notebooks' kernel: their hopsworks.login() opens the embedded store
    injected = {"DASHBOARD_DIR": str((args.outputs / "dashboard").resolve())}
    notebooks = args.notebooks.resolve()
    timings_file = args.timings.resolve() if args.timings else None
    os.chdir(notebooks)
    timings = []
    if args.daily:
        steps = [("feature", {**injected, "BACKFILL": False}), ("inference", injected)]
    else:  # as the runner's first run: the backfill, today's flower, training, inference
        steps = [("feature", injected), ("feature", {**injected, "BACKFILL": False})]
        steps += [("training", injected), ("inference", injected)]
    try:
        for name, values in steps:
            cells = run_notebook(notebooks / PIPELINE[name], values)
            timings.append({"name": name, "seconds": sum(cells), "cells": cells})
    except CellError as exc:
        traceback.print_exc()
        print(f"floor.py: {exc}", file=sys.stderr)
        return 1
    if timings_file:
        total = time.perf_counter() - begun
        timings_file.write_text(json.dumps({"seconds": total, "notebooks": timings}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

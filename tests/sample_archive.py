"""A sample run archive for the report and index tests: real reports, hand-written records, a dashboard.

Two small notebooks executed by papermill (one succeeds with a plot and a parameters cell, one raises),
hand-written run.json files (succeeded, failed, killed) and a dashboard folder of Pillow pictures.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import nbformat
import papermill
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from PIL import Image

from serverless_iris.helpers import flowers
from serverless_iris.runner.kernels.kernel import MATPLOTLIB_INLINE
from serverless_iris.runner.pages.index import write_index
from serverless_iris.runner.pages.report import write_report
from serverless_iris.runner.plan import PIPELINE

OK_RUN = "20261125T093000Z-aaaaaa"
FAILED_RUN = "20261126T093000Z-bbbbbb"
DEAD_RUN = "20261127T093000Z-cccccc"
NOTEBOOK_FILES = {name: Path(notebook).stem for name, notebook in PIPELINE.items()}
# Any src/href (or kin) that makes the browser fetch from another host; <a href> is a link, not a fetch.
EXTERNAL_FETCH = re.compile(
    r"""<(?!a[\s>])[a-z][^<>]*\s(?:src|href|srcset|poster|data|action)\s*=\s*["']?\s*(?:https?:)?//""",
    re.I,
)
PICTURES = (
    "latest_iris.png",
    "actual_iris.png",
    "df_recent.png",
    "confusion_matrix.png",
    "accuracy.png",
    "training_confusion_matrix.png",
)


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    return nb


def _parameters_cell() -> nbformat.NotebookNode:
    return new_code_cell(
        'N_FLOWERS = 3  # how many flowers to draw\nNAME = "iris"\nSEED = None',
        metadata={"tags": ["parameters"]},
    )


OK_NOTEBOOK = notebook(
    new_markdown_cell("# A small pipeline\nIt draws a plot."),
    _parameters_cell(),
    new_code_cell("import matplotlib.pyplot as plt\nvalues = list(range(N_FLOWERS))"),
    new_code_cell("plt.plot(values, marker='o')\nplt.title(NAME)\nplt.show()"),
    new_code_cell(
        "from IPython.display import HTML\n"
        'HTML(\'<img alt="remote" src="https://example.invalid/logo.png">'
        ' <a href="https://example.invalid/docs">docs</a>\')'
    ),
    new_code_cell("print('drew', len(values), 'flowers')"),
)
FAILING_NOTEBOOK = notebook(
    _parameters_cell(),
    new_code_cell("total = N_FLOWERS * 2\nprint(total)"),
    new_code_cell("raise ValueError('boom: the flowers wilted')"),
    new_code_cell("print('never runs')"),
)


def _execute(nb: nbformat.NotebookNode, path: Path, parameters: dict) -> None:
    """Execute ``nb`` with papermill, its figures drawn inline as in the runner's kernels (a kernel
    inherits this process's ``MPLBACKEND``, ``Agg`` on many CI images)."""
    source = path.with_suffix(".source.ipynb")
    nbformat.write(nb, source)
    try:
        with mock.patch.dict(os.environ, {"MPLBACKEND": MATPLOTLIB_INLINE}):
            papermill.execute_notebook(
                source,
                path,
                parameters=parameters,
                progress_bar=False,
                log_output=False,
                kernel_name="python3",
            )
    except papermill.PapermillExecutionError:
        pass
    finally:
        source.unlink()


def notebook_entry(name: str, status: str, duration: float | None, error: dict | None = None) -> dict:
    stem = NOTEBOOK_FILES[name]
    written = status in ("succeeded", "failed")
    return {
        "name": name,
        "notebook": f"{stem}.ipynb",
        "status": status,
        "duration_s": duration,
        "executed": f"{stem}.ipynb" if written else None,
        "report": f"{stem}.html" if written else None,
        "results_report": f"{stem}.results.html" if written else None,
        "error": error,
    }


def write_run(outputs: Path, run_id: str, status: str, mode: str, notebooks: list[dict], **extra) -> Path:
    """A run.json as the runner writes it, under ``outputs/runs/<id>/``."""
    folder = outputs / "runs" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    run = {
        "id": run_id,
        "status": status,
        "mode": mode,
        "argv": ["runner.py", f"--{mode}"],
        "parameters": {},
        "backend": "local",
        "started": started.isoformat(),
        "ended": None,
        "duration_s": None,
        "pid": 1,
        "host": "ci-host",
        "git_commit": "0123456789abcdef",
        "packages": {"papermill": "2.7.0", "nbconvert": "7.17.0"},
        "retrained": None,
        "notebooks": notebooks,
        **extra,
    }
    (folder / "run.json").write_text(json.dumps(run))
    return folder


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_dashboard(outputs: Path, *, below: bool, training_run: str | None = OK_RUN) -> Path:
    """The inference notebook's dashboard folder: pictures (Pillow) and dashboard.json."""
    folder = outputs / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(PICTURES):
        Image.new("RGB", (160 + 40 * i, 120), (90 + 30 * i, 70, 200)).save(folder / name)
    recent = [
        {
            "event_time": f"2026-11-{27 - i:02d}T09:30:00+00:00",
            "predicted": "Setosa",
            "label": "Setosa" if i % 3 else "Virginica",
            "model_version": 1,
        }
        for i in range(12)
    ]
    dashboard = {
        "generated_at": "2026-11-27T09:31:00+00:00",
        "model": {
            "name": "iris",
            "version": 1,
            "metrics": {"accuracy": 0.9667, "f1_macro": 0.9664},
            "created": "2026-11-25T09:30:20+00:00",
            "training_run": training_run,
        },
        "today": {
            "event_time": "2026-11-27T09:30:00+00:00",
            "predicted": "Setosa",
            "actual": "Virginica",
            "features": {"sepal_length": 6.3, "sepal_width": 2.8, "petal_length": 5.1, "petal_width": 1.5},
        },
        "recent": recent,
        "history_accuracy": 0.667,
        "n_predictions": 12,
        "rolling_accuracy": {"7": 0.5714 if below else 0.857, "30": 0.667},
        "variety_counts": {
            "Setosa": {"predicted": 12, "actual": 8},
            "Versicolor": {"predicted": 0, "actual": 0},
            "Virginica": {"predicted": 0, "actual": 4},
        },
        "alert": {
            "threshold": 0.8,
            "below": below,
            "message": "Rolling accuracy 57.1% over the last 7 predictions is below 80.0%."
            if below
            else None,
        },
    }
    (folder / "dashboard.json").write_text(json.dumps(dashboard))
    return folder


def write_knn_model(outputs: Path) -> None:
    """``knn_model.json`` as the inference notebook exports it (``helpers.tryit.export_knn``)."""
    from sklearn.neighbors import KNeighborsClassifier

    from serverless_iris.helpers.tryit import export_knn

    iris = flowers.load_iris_frame()
    model = KNeighborsClassifier(n_neighbors=3).fit(iris[list(flowers.FEATURES)], iris["variety"])
    (outputs / "dashboard" / "knn_model.json").write_text(json.dumps(export_knn(model)))


def flower_assets(folder: Path) -> Path:
    """Stand-ins for ``assets/<Variety>.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, variety in enumerate(flowers.VARIETIES):
        Image.new("RGB", (64, 64), (80 * i, 120, 200)).save(folder / f"{variety}.png")
    return folder


def build_outputs(root: Path) -> Path:
    """An outputs folder with three runs (succeeded, failed, killed) whose reports come from notebooks
    papermill really executed, plus a dashboard with the Try-it model; index.html written."""
    outputs = root / "outputs"
    scratch = root / "executed"
    scratch.mkdir(parents=True)
    _execute(OK_NOTEBOOK, scratch / "ok.ipynb", {"N_FLOWERS": 5})
    _execute(FAILING_NOTEBOOK, scratch / "failing.ipynb", {"N_FLOWERS": 4})
    runs = {
        OK_RUN: (
            "succeeded",
            "full",
            {},
            [
                ("feature", "ok", "succeeded"),
                ("training", "ok", "succeeded"),
                ("inference", "ok", "succeeded"),
            ],
        ),
        FAILED_RUN: (
            "failed",
            "daily",
            {"N_FLOWERS": 4},
            [("feature", "ok", "succeeded"), ("inference", "failing", "failed")],
        ),
    }
    for run_id, (status, mode, parameters, notebooks) in runs.items():
        entries = []
        for name, _, nb_status in notebooks:
            error = {"kind": "error", "cell": 4, "message": "ValueError: boom"}
            entries.append(notebook_entry(name, nb_status, 1.5, error if nb_status == "failed" else None))
        folder = write_run(outputs, run_id, status, mode, entries, parameters=parameters, duration_s=4.5)
        for entry, (_, source, _) in zip(entries, notebooks, strict=True):
            executed = folder / entry["executed"]
            executed.write_bytes((scratch / f"{source}.ipynb").read_bytes())
            write_report(executed, folder / entry["report"])
    write_run(
        outputs,
        DEAD_RUN,
        "running",
        "daily",
        [notebook_entry("feature", "running", None), notebook_entry("inference", "pending", None)],
        pid=dead_pid(),
        host=socket.gethostname(),
    )
    write_dashboard(outputs, below=True)
    write_knn_model(outputs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flowers, "ASSETS_DIR", flower_assets(root / "assets"))
        write_index(outputs)
    return outputs


def report_path(outputs: Path, run_id: str, name: str, results: bool = False) -> Path:
    return outputs / "runs" / run_id / f"{NOTEBOOK_FILES[name]}{'.results' if results else ''}.html"


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def local_targets(page: Path) -> list[str]:
    """Every relative href/src of ``page`` (no fragments-only links, no external links)."""
    doc = soup(page)
    refs = [a["href"] for a in doc.find_all(href=True)] + [i["src"] for i in doc.find_all(src=True)]
    return [r for r in refs if not r.startswith(("#", "data:", "http:", "https:", "//"))]

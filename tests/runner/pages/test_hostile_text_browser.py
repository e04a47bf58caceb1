"""Hostile text in every place a page shows it runs no script: reports and the index opened in Chromium.

A run of a feature notebook of the test's own reads a CSV whose cell and column header are script, from a
path whose folder and file names are markup (``-p IRIS_CSV``), with a parameter value, a failure message
and a notebook title that are script; the dashboard holds such values as if they were in the store. Each
payload, run as script, would set ``window.__pwned``, log to the console and open a dialog: the pages
must show them as text and do none of that.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest
from browser import chromium_page
from playwright.sync_api import Browser
from sample_archive import write_dashboard
from support import Workspace, make_workspace

pytestmark = pytest.mark.browser


def js(n: int) -> str:
    return f"window.__pwned={n},console.log({n}),alert({n})"


CSV_CELL = f"<script>{js(1)}</script>"
HEADER = f"<svg onload={js(2)}>"
STORED = f'"><img src=x onerror={js(3)}>'
PATH_FOLDER = f'"><img src=x onerror={js(4)}>'
PATH_FILE = f"<svg onload={js(4)}>.csv"
PARAMETER = f"<script>{js(5)}</script>"
MESSAGE = f"<img src=x onerror={js(6)}>"
TITLE = f"<script>{js(7)}</script>"


def _notebook(folder: Path) -> Path:
    parameters = nbformat.v4.new_code_cell(
        'IRIS_CSV = None  # the dataset\nBACKFILL = False  # load it\nLABEL = "iris"  # a label'
    )
    parameters.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(
        cells=[
            parameters,
            nbformat.v4.new_code_cell("import pandas as pd\ndata = pd.read_csv(IRIS_CSV)\ndata"),
            nbformat.v4.new_code_cell("print(data.to_string(), IRIS_CSV, LABEL)"),
            nbformat.v4.new_code_cell(f"raise ValueError({MESSAGE!r} + data.columns[0])"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["title"] = TITLE
    folder.mkdir()
    nbformat.write(nb, folder / "iris-feature-pipeline.ipynb")
    return folder


def _stored_values(outputs: Path) -> None:
    """The dashboard the inference notebook writes from the store, with hostile values in it."""
    write_dashboard(outputs, below=True)
    path = outputs / "dashboard" / "dashboard.json"
    data = json.loads(path.read_text())
    data["today"]["predicted"] = data["today"]["actual"] = STORED
    data["recent"][0]["predicted"] = STORED
    data["alert"]["message"] = STORED
    data["model"]["name"] = STORED
    data["model"]["training_run"] = STORED
    path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("hostile")
    space = make_workspace(root)
    folder = root / PATH_FOLDER
    folder.mkdir()
    with (folder / PATH_FILE).open("w", newline="") as handle:
        csv.writer(handle).writerows([[HEADER, "sepal_length"], [CSV_CELL, 5.1]])
    _stored_values(space.outputs)
    done = space.run(
        "--notebooks", str(_notebook(root / "notebooks")), "--only", "feature",
        "-p", f"IRIS_CSV={folder / PATH_FILE}", "-p", f"LABEL={PARAMETER}",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # the notebook raises
    return space


def _pages(space: Workspace) -> list[Path]:
    (run,) = space.runs()
    folder = space.outputs / "runs" / run["id"]
    report = folder / "iris-feature-pipeline.html"
    return [space.outputs / "index.html", report, report.with_suffix(".results.html")]


@pytest.mark.parametrize("page", ["index", "report", "results"])
def test_hostile_text_in_every_place_a_page_shows_it_runs_no_script(
    page: str, hostile_run: Workspace, chromium: Browser
) -> None:
    path = _pages(hostile_run)[["index", "report", "results"].index(page)]
    with chromium_page(chromium) as session:
        dialogs: list[str] = []
        logged: list[str] = []
        session.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        session.page.on("console", lambda message: logged.append(message.text))
        session.page.route(
            "**/*",
            lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
        )
        session.open(path)
        session.page.wait_for_timeout(300)  # an onerror or onload payload fires after the load event
        pwned = session.page.evaluate("() => window.__pwned ?? null")
        text = session.page.inner_text("body")

    assert (dialogs, pwned, [m for m in logged if m.strip().isdigit()]) == ([], None, [])
    shown = {
        "index": [STORED, PARAMETER, MESSAGE, str(Path(PATH_FOLDER) / PATH_FILE)],
        "report": [TITLE, PARAMETER, MESSAGE, CSV_CELL, HEADER, PATH_FILE],
        "results": [TITLE, PARAMETER, MESSAGE, CSV_CELL, HEADER],
    }[page]
    assert [s for s in shown if s not in text] == []  # each reached the page, as text

"""axe-core, loaded into the page in headless Chromium, finds no accessibility violation on the index or on
any report: colour contrast, names of form fields and images, table headers and the rest of its rules.
The same first run shows that the dashboard's flower pictures are the shipped ones, which carry no sizes.

axe-core (MPL-2.0) comes from the Python package axe-playwright-python (requirements-dev.txt), which ships
its ``axe.min.js``; the tests load that file themselves.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from browser import BrowserPage, chromium_page
from PIL import Image
from playwright.sync_api import Browser
from sample_archive import FAILED_RUN, OK_RUN, report_path
from support import FullRun, Workspace

from serverless_iris.helpers import flowers

pytestmark = pytest.mark.browser

# Every violation as "rule (impact): element — what is wrong", for the assertion message. Only violations
# are collected (axe's resultTypes): every rule still runs on every element, but passes are not itemised.
AXE_RUN_JS = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.flatMap(v => v.nodes.map(n =>
    `${v.id} (${v.impact}): ${n.target.join(" ")} — ${n.failureSummary.replace(/\\s+/g, " ")}`));
}"""


# Two faults axe must find, so that its empty findings on our pages mean something.
FAULTY_PAGE = """<!doctype html><html lang="en"><head><title>faults</title></head><body><main>
<h1>Iris</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button type="button"></button>
</main></body></html>"""


@pytest.fixture(scope="module")
def axe_source() -> Iterator[Path]:
    """axe-core's ``axe.min.js`` as the installed axe-playwright-python package ships it."""
    with resources.as_file(resources.files("axe_playwright_python") / "axe.min.js") as path:
        yield path


@pytest.fixture(scope="module")
def sample(sample_outputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three runs (succeeded, failed, interrupted), an accuracy alert and the Try-it form."""
    return shutil.copytree(sample_outputs, tmp_path_factory.mktemp("a11y-sample") / "outputs")


@pytest.fixture(scope="module")
def real_run(full_run: FullRun) -> Workspace:
    """A user's first ``python runner.py`` and a ``--daily``: the real notebooks' reports and dashboard."""
    assert full_run.full.returncode == full_run.daily.returncode == 0, full_run.full.stderr
    return full_run.workspace


def violations(session: BrowserPage, page: Path, axe: Path) -> list[str]:
    session.open(page)
    session.page.add_script_tag(path=axe)
    return session.page.evaluate(AXE_RUN_JS)


def test_axe_core_is_loaded_and_finds_a_picture_and_a_button_without_a_name(
    axe_source: Path, chromium: Browser, tmp_path: Path
) -> None:
    page = tmp_path / "faults.html"
    page.write_text(FAULTY_PAGE, encoding="utf-8")
    with chromium_page(chromium) as session:
        found = violations(session, page, axe_source)
        assert session.page.evaluate("axe.version").startswith("4."), "not axe-core 4"
    rules = sorted({finding.split(" ", 1)[0] for finding in found})
    assert rules == ["button-name", "image-alt"], found


def test_index_has_no_violation_in_any_state(sample: Path, axe_source: Path, chromium: Browser) -> None:
    with chromium_page(chromium) as session:
        found = violations(session, sample / "index.html", axe_source)
        assert found == [], "\n".join(found)
        page = session.page
        # Two runs compared, a filter with no match, and the Try-it form showing an error.
        page.check(f"input.compare-pick[value='{OK_RUN}']")
        page.check(f"input.compare-pick[value='{FAILED_RUN}']")
        page.select_option("#filter-mode", "daily")
        page.select_option("#filter-status", "succeeded")
        page.fill("input[name=sepal_length]", "99")
        assert page.locator("#compare").is_visible() and page.locator("#no-match").is_visible()
        assert page.get_attribute("#prediction", "data-state") == "error"
        found = page.evaluate(AXE_RUN_JS)
        assert found == [], "\n".join(found)
        session.assert_clean()


def test_a_failed_report_has_no_violation(sample: Path, axe_source: Path, chromium: Browser) -> None:
    with chromium_page(chromium) as session:
        for results in (False, True):
            found = violations(session, report_path(sample, FAILED_RUN, "inference", results), axe_source)
            assert found == [], "\n".join(found)
        session.assert_clean()


def test_a_real_runs_index_and_reports_have_no_violation(
    real_run: Workspace, axe_source: Path, chromium: Browser
) -> None:
    pages = [real_run.outputs / "index.html", *sorted(real_run.outputs.glob("runs/*/*.html"))]
    # the index, and each step's report and results view: a first run's four steps (it adds today's flower
    # in a second feature step), then the daily run's two
    assert len(pages) == 1 + 4 * 2 + 2 * 2
    with chromium_page(chromium) as session:
        found = {page.name: violations(session, page, axe_source) for page in pages}
        assert all(not v for v in found.values()), "\n".join(
            f"{n}: {v}" for n, vs in found.items() for v in vs
        )
        session.assert_clean()


def test_the_dashboards_flower_pictures_are_the_sizes_free_pictures_of_the_varieties(
    real_run: Workspace, chromium: Browser
) -> None:
    today = json.loads((real_run.outputs / "dashboard" / "dashboard.json").read_text())["today"]
    for name, variety in (("latest_iris.png", today["predicted"]), ("actual_iris.png", today["actual"])):
        shown, shipped = (
            np.asarray(Image.open(p).convert("RGB"))
            for p in (real_run.outputs / "dashboard" / name, flowers.flower_picture(variety))
        )
        assert np.array_equal(shown, shipped), name
    with chromium_page(chromium) as session:
        session.open(real_run.outputs / "index.html")
        today_card = session.page.locator("#today").inner_text()
        sizes = [line for line in today_card.splitlines() if "cm" in line]
        assert len(sizes) == 4, today_card  # the measured flower's four sizes, and no others
        for name, value in today["features"].items():
            assert f"{value:.2f}".rstrip("0").rstrip(".") in today_card, (name, value)

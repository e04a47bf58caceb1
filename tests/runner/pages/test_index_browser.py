"""``outputs/index.html`` and the reports in headless Chromium, opened from disk with the network blocked.

Proves what a visitor sees: every picture loads, every report link opens a report, filtering and
comparing runs work, the model card reaches the training report, a failed report highlights and links
its failing cell and shows per-cell durations, and no page even attempts a request off the machine.
Screenshots (desktop and phone width) are saved under the test's temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import BrowserPage, chromium_page
from playwright.sync_api import Browser
from sample_archive import DEAD_RUN, FAILED_RUN, OK_RUN, report_path

pytestmark = pytest.mark.browser

PHONE = 375
IMAGES_JS = """() => Array.from(document.images)
  .filter(img => img.getAttribute("src"))
  .map(img => [img.getAttribute("src").slice(0, 60), img.complete && img.naturalWidth > 0])"""
ALL_IMAGES_DONE_JS = "() => Array.from(document.images).every(img => img.complete)"


def block_network(session: BrowserPage) -> list[str]:
    """Abort every request that is not a local file, and record it: the list must stay empty."""
    attempted: list[str] = []

    def handle(route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    session.page.route("**/*", handle)
    return attempted


def open_offline(session: BrowserPage, page: Path) -> list[str]:
    attempted = block_network(session)
    session.open(page)
    session.page.wait_for_function(ALL_IMAGES_DONE_JS)
    return attempted


def assert_images_loaded(session: BrowserPage) -> int:
    images = session.page.evaluate(IMAGES_JS)
    broken = [src for src, loaded in images if not loaded]
    assert not broken, f"images that did not load: {broken}"
    return len(images)


def visible_runs(session: BrowserPage) -> list[str]:
    return session.page.eval_on_selector_all(
        "tr.run", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.id)"
    )


@pytest.mark.parametrize("width", [1280, PHONE])
def test_index_loads_every_picture_offline_and_fits(
    outputs: Path, tmp_path: Path, width: int, chromium: Browser
) -> None:
    with chromium_page(chromium, width=width) as session:
        attempted = open_offline(session, outputs / "index.html")
        # 2 flowers of today + 4 figures + the Try-it picture of the current prediction
        assert assert_images_loaded(session) >= 6
        assert session.page.locator("#verdict").inner_text().endswith("Wrong")
        assert session.page.locator("#accuracy-alert").is_visible()
        assert session.page.locator("#try-it #prediction").inner_text().strip() != ""
        overflow = session.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
        session.page.screenshot(path=tmp_path / f"index-{width}.png", full_page=True)
        assert attempted == []
        session.assert_clean()


def test_every_report_link_opens_a_report(outputs: Path, chromium: Browser) -> None:
    with chromium_page(chromium) as session:
        attempted = open_offline(session, outputs / "index.html")
        links = session.page.eval_on_selector_all(
            "a[href^='runs/']", "links => links.map(a => [a.getAttribute('href'), a.href])"
        )
        assert len({href for href, _ in links}) == 10
        for href, url in sorted(set(map(tuple, links))):
            session.page.goto(url, wait_until="load")
            name = Path(href).name.split(".")[0]
            assert session.page.locator(".ir-header h1").inner_text() == name, href
            assert session.page.locator(".jp-Cell").count() > 0, f"{href} shows no cells"
            assert_images_loaded(session)
        assert attempted == []
        session.assert_clean()


def test_filter_runs_by_status_and_mode(outputs: Path, chromium: Browser) -> None:
    with chromium_page(chromium) as session:
        open_offline(session, outputs / "index.html")
        page = session.page
        assert visible_runs(session) == [DEAD_RUN, FAILED_RUN, OK_RUN]
        page.select_option("#filter-status", "failed")
        assert visible_runs(session) == [FAILED_RUN]
        assert page.locator("#run-count").inner_text() == "1 of 3 runs"
        page.select_option("#filter-status", "")
        page.select_option("#filter-mode", "daily")
        assert visible_runs(session) == [DEAD_RUN, FAILED_RUN]
        page.select_option("#filter-status", "succeeded")
        assert visible_runs(session) == []
        assert page.locator("#no-match").is_visible()
        page.select_option("#filter-status", "interrupted")
        assert visible_runs(session) == [DEAD_RUN]
        page.select_option("#filter-mode", "")
        page.select_option("#filter-status", "")
        assert page.locator("#run-count").inner_text() == "3 runs"
        session.assert_clean()


def test_compare_two_runs_side_by_side(outputs: Path, tmp_path: Path, chromium: Browser) -> None:
    with chromium_page(chromium) as session:
        open_offline(session, outputs / "index.html")
        page = session.page
        assert not page.locator("#compare").is_visible()
        page.check(f"input.compare-pick[value='{OK_RUN}']")
        assert not page.locator("#compare").is_visible()
        page.check(f"input.compare-pick[value='{FAILED_RUN}']")
        assert page.locator("#compare").is_visible()
        table = page.locator("#compare-table")
        assert table.locator("thead th").all_inner_texts() == [FAILED_RUN, OK_RUN]
        rows = {
            r[0]: r[1:]
            for r in table.locator("tbody tr:not(.group)").evaluate_all(
                "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))"
            )
        }
        assert rows["Status"] == ["failed", "succeeded"]
        assert rows["Mode"] == ["daily", "full"]
        assert rows["N_FLOWERS"] == ["4", "default"]
        assert rows["inference"] == ["failed · 1.50 s", "succeeded · 1.50 s"]
        assert rows["training"] == ["—", "succeeded · 1.50 s"]
        assert rows["Trained: accuracy"] == ["not recorded", "96.7%"]
        assert rows["Predicted with: model"] == ["not recorded", "not recorded"]
        notebooks = table.locator("tbody tr").all_inner_texts()
        order = [n for n in ("feature", "training", "inference") for t in notebooks if t.startswith(n + "\t")]
        assert order == ["feature", "training", "inference"], "notebooks in pipeline order"
        assert table.locator("tr.diff th", has_text="N_FLOWERS").count() == 1
        page.locator("#compare").screenshot(path=tmp_path / "compare.png")

        page.check(f"input.compare-pick[value='{DEAD_RUN}']")  # a third pick replaces the first
        assert page.locator("input.compare-pick:checked").count() == 2
        assert not page.is_checked(f"input.compare-pick[value='{OK_RUN}']")
        assert table.locator("thead th").all_inner_texts() == [DEAD_RUN, FAILED_RUN]
        page.click("#compare-clear")
        assert not page.locator("#compare").is_visible()
        assert page.locator("input.compare-pick:checked").count() == 0
        session.assert_clean()


def test_model_card_links_to_the_report_that_trained_the_model(outputs: Path, chromium: Browser) -> None:
    with chromium_page(chromium) as session:
        attempted = open_offline(session, outputs / "index.html")
        session.page.click("#training-report-link")
        session.page.wait_for_load_state("load")
        assert session.page.url == report_path(outputs, OK_RUN, "training").resolve().as_uri()
        assert session.page.locator(".ir-header h1").inner_text() == "iris-training-pipeline"
        assert attempted == []
        session.assert_clean()


@pytest.mark.parametrize("width", [1280, PHONE])
def test_failed_report_highlights_and_links_failing_cell(
    outputs: Path, tmp_path: Path, width: int, chromium: Browser
) -> None:
    with chromium_page(chromium, width=width) as session:
        attempted = open_offline(session, report_path(outputs, FAILED_RUN, "inference"))
        page = session.page
        failing = page.locator("#papermill-error-cell")
        assert failing.count() == 1
        background = failing.evaluate("el => getComputedStyle(el).backgroundColor")
        assert background == "rgb(253, 240, 240)", "the failing cell is highlighted"
        assert "ValueError" in failing.inner_text()
        durations = page.locator(".ir-duration").all_inner_texts()
        assert len(durations) == 5 and durations[-1] == "not run"
        assert all(text.endswith(" s") for text in durations[:-1])
        assert page.locator(".ir-slow").count() == 3
        page.screenshot(path=tmp_path / f"failed-report-{width}.png", full_page=True)

        page.click(".ir-failure a")
        assert page.evaluate("() => location.hash") == "#papermill-error-cell"
        page.wait_for_function(
            "() => { const r = document.getElementById('papermill-error-cell').getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight; }"
        )
        assert attempted == []
        session.assert_clean()


def test_reports_render_completely_with_the_network_blocked(outputs: Path, chromium: Browser) -> None:
    with chromium_page(chromium) as session:
        attempted = block_network(session)
        for page in sorted((outputs / "runs").glob("*/*.html")):
            session.open(page)
            session.page.wait_for_function(ALL_IMAGES_DONE_JS)
            assert session.page.locator(".ir-header h1").is_visible(), page.name
            assert session.page.locator(".ir-params").is_visible(), page.name
            if "results" not in page.name:
                assert session.page.locator(".jp-InputArea-editor").count() > 0, page.name
            assert_images_loaded(session)
        assert attempted == []
        session.assert_clean()

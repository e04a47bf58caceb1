"""The README's pictures show the page the code writes now.

``assets/make_screenshots.py`` photographs the dashboard of a real run and records the page's outline
(card headings and labels, ``browser.page_outline``) in ``assets/screenshots/outline.json``. A change to
the page's cards fails here until the pictures are taken again.
"""

from __future__ import annotations

import json

from browser import page_outline
from support import REPO, FullRun

SHOTS = REPO / "assets" / "screenshots"


def test_the_readme_pictures_show_the_cards_the_page_has_now(full_run: FullRun) -> None:
    photographed = json.loads((SHOTS / "outline.json").read_text(encoding="utf-8"))
    now = page_outline((full_run.workspace.outputs / "index.html").read_text(encoding="utf-8"))
    assert now == photographed, (
        "the dashboard's cards changed since the README's pictures were taken: "
        "run python assets/make_screenshots.py"
    )
    for picture in ("dashboard.png", "dashboard-phone.png", "report.png"):
        assert (SHOTS / picture).stat().st_size > 10_000  # a picture, not an empty file
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "assets/screenshots/dashboard.png" in readme


def test_the_outline_folds_what_changes_from_run_to_run() -> None:
    page = (
        '<section id="dashboard"><h2>The flower of 07 Dec 2026 23:01 UTC</h2><dl><dt>Accuracy</dt>'
        "<dt>All 14 predictions</dt></dl><h3>Confusion matrix</h3></section><h2>Run history</h2>"
    )
    assert page_outline(page) == [
        "The flower of # Dec # #:# UTC",
        "Accuracy",
        "All # predictions",
        "Confusion matrix",
    ]

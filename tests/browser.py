"""Headless Debian Chromium for the browser tests, driven by Playwright.

Nothing is ever downloaded: Playwright drives /usr/bin/chromium. Without it the session says so once, at
its start, with the command that installs it (tests/conftest.py); the browser tests then fail under CI
(``CI=true``: they must really run there) and are skipped elsewhere.
Console errors, uncaught exceptions and failed requests are collected for the test to assert on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_CHROMIUM = "apt-get install chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class BrowserPage:
    """A Chromium tab plus what went wrong in it so far."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def open(self, path: Path) -> None:
        """Load a local HTML file the way a user double-clicking it would (``file://``)."""
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def assert_clean(self) -> None:
        """Fail with every console error and failed request seen so far."""
        problems = [*self.console_errors, *self.failed_requests]
        assert not problems, "the page reported problems:\n" + "\n".join(problems)


def chromium_missing() -> str | None:
    """What is wrong and how to fix it when Debian's Chromium is not installed, else None."""
    if CHROMIUM.exists():
        return None
    return f"Chromium is not installed ({CHROMIUM} is missing); install it with `{INSTALL_CHROMIUM}`"


def in_ci() -> bool:
    """CI sets CI=true (GitHub Actions, the runner of .ci/run): the browser tests must run there."""
    return os.environ.get("CI", "").lower() == "true"


@contextmanager
def chromium_browser() -> Iterator[Browser]:
    """A headless Chromium and its Playwright driver, for the tests of one module (the ``chromium``
    fixture): launching them costs seconds, a new context per test a few milliseconds."""
    missing = chromium_missing()
    if missing:
        pytest.fail(missing, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chromium_page(browser: Browser, *, width: int = 1280, height: int = 900) -> Iterator[BrowserPage]:
    """Yield a tab in a new context of ``browser``: its own cookies, storage and cache, as a fresh profile."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        session = BrowserPage(context.new_page())
        session.page.on(
            "console",
            lambda msg: msg.type == "error" and session.console_errors.append(f"console: {msg.text}"),
        )
        session.page.on("pageerror", lambda error: session.console_errors.append(f"uncaught: {error}"))
        session.page.on(
            "requestfailed",
            lambda request: session.failed_requests.append(f"{request.url}: {request.failure}"),
        )
        yield session
    finally:
        context.close()


def page_outline(html: str) -> list[str]:
    """The dashboard's cards as a reader scans them: every card and figure heading, and the labels of the
    model card, in page order, each run of digits folded to ``#`` (dates and counts change from run to run).

    ``assets/make_screenshots.py`` records the outline of the page it photographs beside the pictures;
    a test compares it with the page the current code writes, so the README's pictures cannot drift
    from the page unnoticed.
    """
    import re

    from bs4 import BeautifulSoup

    dashboard = BeautifulSoup(html, "html.parser").find(id="dashboard") or BeautifulSoup(html, "html.parser")
    texts = [" ".join(tag.get_text(" ").split()) for tag in dashboard.find_all(["h2", "h3", "dt"])]
    return [re.sub(r"\d+", "#", text) for text in texts if text]

"""Without Chromium the test session says so once, at its start, with the command that installs it; the
browser tests are then skipped, except under CI (``CI=true``), where they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from browser import INSTALL_CHROMIUM

TESTS = Path(__file__).parent

# Loaded before tests/conftest.py (-p), it points the browser helpers at a Chromium that does not exist.
NO_CHROMIUM_PLUGIN = """
from pathlib import Path
import browser
browser.CHROMIUM = Path("/nonexistent/chromium")
"""
SESSION = """
import pytest

@pytest.mark.browser
def test_opens_a_page(chromium):
    pass

@pytest.mark.browser
def test_opens_another(chromium):
    pass

def test_needs_no_browser():
    pass
"""


def run_without_chromium(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "no_chromium.py").write_text(NO_CHROMIUM_PLUGIN)
    (tmp_path / "test_session.py").write_text(SESSION)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(TESTS), *filter(None, [env.get("PYTHONPATH")])])
    if ci is not None:
        env["CI"] = ci
    command = [sys.executable, "-m", "pytest", "-p", "no_chromium", "-p", "conftest"]
    command += ["-p", "no:cacheprovider", "-p", "no:xdist", "-W", "ignore::pytest.PytestUnknownMarkWarning"]
    command += ["-q", "-rs", "test_session.py"]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_outside_ci_the_browser_tests_are_skipped_and_the_fix_is_said_once(tmp_path: Path) -> None:
    result = run_without_chromium(tmp_path, ci=None)
    assert result.returncode == 0, result.stdout + result.stderr
    announced = [line for line in result.stdout.splitlines() if line.startswith("Chromium is not installed")]
    assert announced == [
        "Chromium is not installed (/nonexistent/chromium is missing); install it with "
        f"`{INSTALL_CHROMIUM}`. Until then the browser tests are skipped."
    ], result.stdout
    assert INSTALL_CHROMIUM == "apt-get install chromium"
    assert result.stdout.splitlines()[-1].startswith("1 passed, 2 skipped"), result.stdout


def test_under_ci_the_browser_tests_fail_with_the_fix(tmp_path: Path) -> None:
    result = run_without_chromium(tmp_path, "true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("Until then the browser tests fail (CI=true).") == 1, result.stdout
    assert result.stdout.splitlines()[-1].startswith("1 passed, 2 errors"), result.stdout
    assert result.stdout.count(f"install it with `{INSTALL_CHROMIUM}`") == 3, result.stdout  # start, 2 errors

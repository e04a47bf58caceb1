"""Code and notebooks stay lint-clean, the pre-commit hooks that keep them so are configured, and the test
session itself runs as tests/conftest.py sets it up."""

from __future__ import annotations

import gc
import subprocess
import sys

import yaml
from support import REPO


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=REPO, capture_output=True, text=True)


def test_ruff_lints_code_and_notebooks_clean() -> None:
    result = _ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_strips_notebooks_and_runs_ruff_on_them() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert "nbstripout" in hooks
    assert "jupyter" in hooks["ruff"]["types_or"]
    assert "jupyter" in hooks["ruff-format"]["types_or"]


def test_the_garbage_collector_runs_during_the_tests_with_the_collected_imports_frozen() -> None:
    """tests/conftest.py turns the collector off while the test modules are imported; it must be back on."""
    assert gc.isenabled()
    assert gc.get_freeze_count() > 100_000  # pandas, scikit-learn and the SDK, imported at collection

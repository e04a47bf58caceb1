"""Code and notebooks stay lint-clean, and the pre-commit hooks that keep them so are configured."""

from __future__ import annotations

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

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


def _where_things_are() -> dict[str, str]:
    """README's "Where things are" table: path -> what it says is there."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Where things are", 1)[1]
    rows = [line for line in section.split("\n## ", 1)[0].splitlines() if line.startswith("| `")]
    return {row.split("`")[1]: row.split(" | ", 1)[1] for row in rows}


def test_where_things_are_names_paths_that_exist_and_every_module_of_the_package() -> None:
    table = _where_things_are()
    for cell in table:
        for path in cell.split("`, `"):
            assert (REPO / path).exists(), f"README names {path}, which does not exist"
    package = REPO / "serverless_iris"
    for folder in [package, *(p for p in package.rglob("*") if p.is_dir() and p.name != "__pycache__")]:
        if not any(folder.glob("*.py")):
            continue
        row = table.get(folder.relative_to(REPO).as_posix() + "/")
        assert row is not None, f"README's 'Where things are' has no row for {folder.relative_to(REPO)}/"
        for module in folder.glob("*.py"):
            if module.name != "__init__.py" and folder.name != "embedded":
                assert f"`{module.name}`" in row, f"README does not say what {module.relative_to(REPO)} holds"

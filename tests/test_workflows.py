"""The GitHub Actions workflows are valid and pass zizmor's security audit, offline."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from support import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).with_name(name))
    assert Path(path).exists(), f"{name} is not installed: pip install -r requirements-dev.txt"
    return path


def test_there_are_a_ci_and_a_daily_workflow() -> None:
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "daily.yml"}


def test_workflows_match_the_github_schema() -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_offline_has_no_findings() -> None:
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", str(REPO / ".github" / "workflows")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_daily_workflow_runs_daily_and_publishes_pages() -> None:
    daily = yaml.safe_load((REPO / ".github" / "workflows" / "daily.yml").read_text())
    triggers = daily[True]  # PyYAML reads the key `on` as the boolean True
    assert triggers["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"], "cron must fire every day"
    assert "retrain" in triggers["workflow_dispatch"]["inputs"]
    assert daily["concurrency"]["cancel-in-progress"] is False
    steps = [step.get("uses", "") + step.get("run", "") for step in daily["jobs"]["run"]["steps"]]
    assert any("python runner.py" in s for s in steps)
    assert any(s.startswith("actions/upload-pages-artifact@") for s in steps)
    deploy = daily["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")


def test_ci_workflow_runs_the_readme_test_command() -> None:
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    command = readme_test_command()
    assert any(step.get("run", "").endswith(command) for step in ci["jobs"]["test"]["steps"])
    assert command in (REPO / ".ci" / "run").read_text()


def readme_test_command() -> str:
    """The second command of the README's opening block: set up and run the tests."""
    text = (REPO / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2, f"README must open with two commands, found {commands}"
    return commands[1]

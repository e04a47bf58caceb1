"""The GitHub Actions workflows and the Dependabot config are valid and pass zizmor's security audit,
offline; CI, the daily workflow and ``.ci/run`` install the locks (requirements.txt, requirements-dev.txt).

The schemas are SchemaStore's, kept in ``tests/schemas/`` (see its README for why not check-jsonschema's).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from jsonschema import Draft7Validator
from packaging.requirements import Requirement
from support import REPO

GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
SCHEMAS = Path(__file__).parent / "schemas"
CI_RUN = (REPO / ".ci" / "run").read_text()
PYPROJECT_DEPENDENCIES = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


class GitHubYaml(yaml.SafeLoader):
    """YAML as GitHub reads it: only true and false are booleans, so ``on:`` is the key "on" (PyYAML's
    YAML 1.1 would make it ``True``, and the schema would miss the triggers)."""


GitHubYaml.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
GitHubYaml.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=GitHubYaml)


def schema_errors(document: dict, schema: str) -> list[str]:
    """Every place ``document`` breaks the schema, as "where: what"."""
    validator = Draft7Validator(
        json.loads((SCHEMAS / schema).read_text(encoding="utf-8")),
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).with_name(name))
    assert Path(path).exists(), f"{name} is not installed: pip install -r requirements-dev.txt"
    return path


def test_there_are_a_ci_and_a_daily_workflow() -> None:
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "daily.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflows_match_the_github_schema(workflow: Path) -> None:
    assert schema_errors(load(workflow), "github-workflow.json") == []


def test_dependabot_config_matches_its_schema() -> None:
    assert schema_errors(load(GITHUB / "dependabot.yml"), "dependabot-2.0.json") == []


def test_the_schemas_refuse_what_github_refuses() -> None:
    ci = load(GITHUB / "workflows" / "ci.yml")
    ci["jobs"]["test"]["timeout-minutes"] = "an hour"
    ci["on"] = {"push": None, "pull_requests": None}  # misspelt trigger
    errors = "\n".join(schema_errors(ci, "github-workflow.json"))
    assert "$.on" in errors and "$.jobs.test" in errors, errors
    dependabot = load(GITHUB / "dependabot.yml")
    dependabot["updates"][0]["schedule"]["interval"] = "fortnightly"
    assert any("fortnightly" in e for e in schema_errors(dependabot, "dependabot-2.0.json"))


def test_dependabot_refreshes_the_locks_and_the_actions_every_week() -> None:
    updates = {u["package-ecosystem"]: u for u in load(GITHUB / "dependabot.yml")["updates"]}
    assert set(updates) == {"pip", "github-actions"}
    assert all(u["directory"] == "/" and u["schedule"]["interval"] == "weekly" for u in updates.values())


def test_zizmor_offline_has_no_findings() -> None:
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", str(GITHUB)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_daily_workflow_runs_daily_and_publishes_pages() -> None:
    daily = load(GITHUB / "workflows" / "daily.yml")
    triggers = daily["on"]
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
    ci = load(GITHUB / "workflows" / "ci.yml")
    command = readme_test_command()
    assert any(step.get("run", "").endswith(command) for step in ci["jobs"]["test"]["steps"])
    assert command in CI_RUN


def pip_installs(job: dict) -> list[str]:
    """What each ``python -m pip install`` of a job installs, in order."""
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    return [found.strip() for found in re.findall(r"python -m pip install ([^&\n]+)", runs)]


def test_ci_and_the_daily_workflow_install_the_locks() -> None:
    ci = load(GITHUB / "workflows" / "ci.yml")
    for name, job in ci["jobs"].items():
        assert pip_installs(job)[:1] == ["-r requirements-dev.txt"], name
    assert pip_installs(load(GITHUB / "workflows" / "daily.yml")["jobs"]["run"]) == ["-r requirements.txt"]
    assert "python -m pip install -r requirements-dev.txt" in CI_RUN
    runs = [step.get("run", "") for job in ci["jobs"].values() for step in job["steps"]]
    assert not [run for run in [*runs, CI_RUN] if re.search(r"\bnpm\b", run)], "the tests need no npm"


def newest_great_expectations() -> str:
    """The highest great-expectations release pyproject.toml allows (its ``<=`` bound)."""
    (requirement,) = [
        Requirement(r) for r in PYPROJECT_DEPENDENCIES if Requirement(r).name == "great-expectations"
    ]
    (newest,) = [s.version for s in requirement.specifier if s.operator == "<="]
    return newest


def test_ci_and_ci_run_test_the_newest_great_expectations_too() -> None:
    install = f"great-expectations=={newest_great_expectations()}"
    locked = re.search(r"^great-expectations==(\S+)", (REPO / "requirements-dev.txt").read_text(), re.M)
    assert locked and locked[1] != newest_great_expectations(), "the lock already has the newest release"
    ci = load(GITHUB / "workflows" / "ci.yml")
    (job,) = [job for job in ci["jobs"].values() if install in pip_installs(job)]
    assert pip_installs(job) == ["-r requirements-dev.txt", install]
    assert job["steps"][-1]["run"] == "python -m pytest"
    assert f"-m pip install -q {install}" in CI_RUN
    # .ci/run runs the store's test modules that use great_expectations or expectation suites there
    assert "grep -rlE --include='test_*.py' 'great_expectations|expectation_suite' tests/embedded" in CI_RUN


def readme_test_command() -> str:
    """The second command of the README's opening block: set up and run the tests."""
    text = (REPO / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2, f"README must open with two commands, found {commands}"
    return commands[1]

"""Runner promises a deliberate bug once slipped past: each test here fails on that bug.

- ``--daily`` trains when the registry is known to be empty, and not when it cannot be read (unknown);
- ``run.json`` names the commit of the checkout it ran from;
- a parameter name with a secret marker in the middle (``API_KEY_FILE``, ``MY_TOKEN_PATH``) is refused.
"""

from __future__ import annotations

import subprocess

import pytest
from support import FIXTURES, REPO, Workspace

from serverless_iris.embedded.db import DB_FILE
from serverless_iris.runner.parameters import ParameterError, looks_secret, parse_assignments

DAILY = ("--daily", "--notebooks", str(FIXTURES / "ok"), "-q")


def _names(workspace: Workspace) -> list[str]:
    (record,) = workspace.runs()
    return [entry["name"] for entry in record["notebooks"]]


def test_daily_does_not_train_when_the_registry_cannot_be_read(workspace: Workspace) -> None:
    """Planted bug: ``if not check.result():`` in ``run._train_first`` (unknown taken as empty). The
    control, the same run on a readable empty store that does train, is test_runner.py's
    ``test_daily_trains_first_when_no_model_is_registered``.

    The store's database is not a DuckDB file, so ``ModelVersions`` answers None; the fixture notebooks
    never open the store, so the run itself succeeds without training.
    """
    workspace.store.mkdir(parents=True)
    (workspace.store / DB_FILE).write_bytes(b"not a duckdb file\n" * 64)

    done = workspace.run_here(*DAILY)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "training" not in done.stdout
    assert _names(workspace) == ["feature", "inference"]
    (record,) = workspace.runs()
    assert record["retrained"] is None
    # the run records the commit of the checkout it ran from (read here with another git command)
    head = subprocess.run(
        ["git", "log", "-1", "--format=%H"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert record["git_commit"] == head.stdout.strip() and len(record["git_commit"]) == 40


@pytest.mark.parametrize(
    "name", ["API_KEY_FILE", "MY_TOKEN_PATH", "db_password_hint", "CLIENT_SECRET_NAME", "xkeyx"]
)
def test_a_secret_marker_in_the_middle_of_a_name_is_refused(name: str) -> None:
    """Planted bug: ``looks_secret`` matching only names that start or end with a marker."""
    assert looks_secret(name)
    with pytest.raises(ParameterError) as caught:
        parse_assignments([f"{name}=/home/me/secret-value", "N_FLOWERS=3"])
    assert str(caught.value).startswith(f"-p {name}: a parameter whose name looks like a secret")
    assert "secret-value" not in str(caught.value)


def test_the_runner_refuses_a_middle_marker_name_before_any_kernel_starts(workspace: Workspace) -> None:
    done = workspace.call("--notebooks", str(FIXTURES / "ok"), "-p", "API_KEY_FILE=/home/me/secret-value")

    assert done.returncode == 2, done.stdout + done.stderr
    assert "-p API_KEY_FILE: a parameter whose name looks like a secret" in done.stderr
    assert "secret-value" not in done.stdout + done.stderr
    assert not workspace.outputs.exists()

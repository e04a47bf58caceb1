"""A model's provenance record: run, commit, packages and the data it saw; written and read back."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from serverless_iris.helpers import provenance
from serverless_iris.paths import REPO_ROOT


def test_run_id_comes_from_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRIS_RUN_ID", "20261127T093000Z-ab12cd")
    assert provenance.run_id() == "20261127T093000Z-ab12cd"
    monkeypatch.delenv("IRIS_RUN_ID")
    assert provenance.run_id() is None


def test_git_commit_of_the_checkout_or_none(tmp_path: Path) -> None:
    expected = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert provenance.git_commit() == (expected.stdout.strip() if expected.returncode == 0 else None)
    assert provenance.git_commit(tmp_path) is None  # not a git checkout


def test_package_versions_name_the_model_shaping_packages() -> None:
    versions = provenance.package_versions()
    assert set(versions) == {"pandas", "scikit-learn", "numpy", "hopsworks", "duckdb"}
    assert versions["pandas"] == pd.__version__


def test_training_provenance_round_trips_through_the_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IRIS_RUN_ID", "run-7")
    data = pd.DataFrame({"event_time": pd.to_datetime(["2020-01-01 00:00", "2026-11-27 09:30"])})
    record = provenance.training_provenance(SimpleNamespace(name="iris", version=1), data)
    assert record["run_id"] == "run-7"
    assert record["data"] == {
        "feature_group": "iris",
        "feature_group_version": 1,
        "rows": 2,
        "latest_event_time": "2026-11-27T09:30:00+00:00",
    }
    assert provenance.read_provenance(tmp_path) is None
    provenance.write_provenance(tmp_path, record)
    assert provenance.read_provenance(tmp_path) == record


GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def _commit(repo: Path, message: str) -> None:
    (repo / "file.txt").write_text(message)
    for command in (["git", "add", "file.txt"], ["git", "commit", "-q", "-m", message]):
        subprocess.run(command, cwd=repo, env=GIT_ENV, check=True, capture_output=True)


def _head_from_files(repo: Path) -> str:
    """HEAD as git stores it: ``.git/HEAD`` names a branch whose ref file holds the commit."""
    head = (repo / ".git" / "HEAD").read_text().strip()
    ref = head.removeprefix("ref: ")
    return (repo / ".git" / ref).read_text().strip() if ref != head else head


def test_git_commit_names_the_checked_out_commit_and_follows_a_new_one(tmp_path: Path) -> None:
    """Planted bug: ``git_commit`` returning None (or a stale value) whatever the checkout says."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True, capture_output=True)
    _commit(tmp_path, "first")
    first = _head_from_files(tmp_path)
    _commit(tmp_path, "second")
    second = _head_from_files(tmp_path)

    assert re.fullmatch(r"[0-9a-f]{40}", second) and first != second
    assert provenance.git_commit(tmp_path) == second
    subprocess.run(["git", "checkout", "-q", first], cwd=tmp_path, check=True, capture_output=True)
    assert provenance.git_commit(tmp_path) == first  # detached HEAD: .git/HEAD holds the commit itself

"""A model's provenance record: run, commit, packages and the data it saw; written and read back."""

from __future__ import annotations

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

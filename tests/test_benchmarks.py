"""The benchmark command still runs end to end (tiny sizes, one repetition) and reports every figure.

No timings are asserted: only that each measurement was taken and is a positive number.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

MEASUREMENTS = {
    "overhead",
    "daily",
    "store.insert",
    "store.upsert",
    "store.read",
    "memory.full",
    "memory.daily",
}
SECTIONS = ["overhead", "daily", "store", "memory"]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(REPO / "benchmarks" / "run.py"), *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1800)


@pytest.mark.slow
def test_benchmark_command_reports_every_measurement(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    sizes = ["--rows", "2000", "--history-rows", "3000", "--repeat", "1"]
    done = _bench(*sizes, "--json", str(results), "--workdir", str(tmp_path / "work"))
    assert done.returncode == 0, done.stdout + done.stderr

    report = json.loads(results.read_text())
    by_name = {m["name"]: m for m in report["measurements"]}
    assert set(by_name) == MEASUREMENTS
    for name, m in by_name.items():
        assert len(m["values"]) == len(m["baseline_values"]) == 1, name
        assert m["median"] > 0 and m["baseline_median"] > 0 and m["ratio"] > 0, name
        assert m["ratio"] == m["median"] / m["baseline_median"], name
        assert name in done.stdout
    assert report["config"] == {"repeat": 1, "rows": 2000, "history_rows": 3000, "only": SECTIONS}
    assert report["extra"]["history_build"]["rows"] == 3000
    for key in ("overhead_phases", "daily_phases"):
        for phases in report["extra"][key].values():
            assert phases["process"] > 0 and phases["inference notebook"] > 0, key
    assert report["load"]["samples"] and report["machine"]["cores"] >= 1
    assert str(results) in done.stdout


def test_unknown_section_is_a_usage_error_and_nothing_runs(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = _bench("--only", "overhead,speed", "--json", str(results), "--workdir", str(tmp_path / "work"))
    assert done.returncode == 2
    assert "unknown section speed" in done.stderr and "overhead,daily,store,memory" in done.stderr
    assert not results.exists() and not (tmp_path / "work").exists()


def test_store_section_alone_compares_the_api_with_duckdb(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = _bench("--only", "store", "--rows", "500", "--repeat", "2", "--json", str(results))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(results.read_text())
    assert [m["name"] for m in report["measurements"]] == ["store.insert", "store.upsert", "store.read"]
    for m in report["measurements"]:
        assert len(m["values"]) == len(m["baseline_values"]) == 2

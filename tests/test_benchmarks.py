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
    "overhead.daily",
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


def _measurement(name: str, values: list[float], baseline: list[float], target: float | None) -> dict:
    ratio = (sorted(values)[len(values) // 2]) / (sorted(baseline)[len(baseline) // 2])
    return {
        "name": name,
        "contender": f"{name} contender",
        "baseline": f"{name} baseline",
        "unit": "s",
        "median": sorted(values)[len(values) // 2],
        "baseline_median": sorted(baseline)[len(baseline) // 2],
        "ratio": ratio,
        "target": target,
        "within_target": None if target is None else ratio <= target,
        "values": values,
        "baseline_values": baseline,
    }


def test_readme_table_takes_this_runs_rows_and_keeps_the_others() -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import run as bench
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    before = (REPO / "benchmarks" / "README.md").read_text(encoding="utf-8")
    older = "| store.read | old contender | old baseline | 0.44× | ≤ 1.5× | 2026-12-01, 2 × CPU, 5 pairs |"
    text = before.replace(bench.TABLE_END, older + "\n" + bench.TABLE_END)
    report = {
        "started": "2026-12-07T22:00:00+00:00",
        "machine": {"cores": 2, "cpu": "Test CPU"},
        "load": {"median": 1.25},
        "measurements": [_measurement("overhead", [7.0, 8.0, 9.0], [10.0, 10.0, 9.0], 0.7)],
    }
    updated = bench.update_readme(text, report)
    table = updated.split(bench.TABLE_START)[1].split(bench.TABLE_END)[0]
    rows = [line for line in table.strip().splitlines() if line not in bench.TABLE_HEADER]
    by_name = {row.split("|")[1].strip(): row for row in rows}
    assert by_name["store.read"] == older  # a section that did not run keeps its row and its date
    assert by_name["overhead"] == (
        "| overhead | overhead contender: 8.000 s | overhead baseline: 10.000 s | 0.80× (0.70–1.00) "
        "| ≤ 0.7× (missed) | 2026-12-07, 2 × Test CPU, load 1.2, 3 pairs |"
    )
    assert updated.split(bench.TABLE_START)[0] == before.split(bench.TABLE_START)[0]  # the prose stays

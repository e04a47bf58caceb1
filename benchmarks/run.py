"""Benchmarks: the runner against the floor, the daily run against a big store, the store against DuckDB.

    python benchmarks/run.py [--repeat N] [--rows N] [--history-rows N]
                             [--only overhead,daily,store,memory] [--json PATH] [--workdir DIR]

One invocation measures every contender beside its baseline, alternating them (A B A B ...) ``--repeat``
times (default 3), and prints the median of each and their ratio, contender / baseline. Only ratios
within one invocation mean anything: both sides run under the same machine load, so no figure here
is compared with an absolute threshold. The same table, every single value, the per-phase timings,
the machine and its load average go to JSON (``--json``, default ``benchmarks/results/<UTC time>.json``,
git-ignored).

Measurements (section names are the ``--only`` choices):

``overhead``  ``python runner.py`` on an empty store (backfill, training, inference, every HTML report,
              ``index.html``) against the floor, ``benchmarks/floor.py``: the code cells of the same
              three notebooks with the same parameters in one plain Python process (no kernels, no
              reports). Target <= 0.7x. Each side gets a fresh temporary ``IRIS_STORE`` and outputs
              folder. The runner's phases are read from what it leaves behind: ``run.json`` (each
              notebook's duration, the run's duration) and papermill's per-cell durations in the
              executed notebooks; the floor times its own cells. Then ``overhead.daily``:
              ``python runner.py --daily`` against ``floor.py --daily`` (new flowers, then inference,
              in one plain process), each on a fresh copy of the same 150-row store in daily use (see
              ``daily``). Target <= 0.7x.
``daily``     ``python runner.py --daily`` with the ``iris`` group holding ``--history-rows`` (default
              10,000,000) rows of older history against the same store without them (150 rows). Both
              start from the state a full run leaves (model registered, one prediction recorded; the
              first ``overhead`` runner run when that section runs, else one full run), copied afresh
              (store and outputs folder) before every run. The history is written once, through the
              feature store API (``FeatureGroup.insert``, upsert, batches of 1,000,000 rows), with
              event times one second apart ending one second before the backfill's. Both stores then
              get one untimed ``--daily`` run, as a store in daily use has had (see ``Bench.settle``).
              Target <= 1.1x.
``store``     ``--rows`` (default 1,000,000) iris-shaped rows inserted into a new feature group through
              the API, ``--rows`` more upserted (half existing keys with a new variety, half new keys)
              and all read back with ``fg.read()``, against the same three steps straight on DuckDB: a
              table with the same columns, ``INSERT`` from the registered pandas frame, upsert as
              ``DELETE ... USING`` the frame on the key (the four measurements + event time) then
              ``INSERT`` in one transaction, read with ``.df()``. Upserting into a ``PRIMARY KEY`` table
              with ``INSERT OR REPLACE`` was measured 2-4x slower than that in raw DuckDB (its index
              also slows the plain insert), so the faster form is the baseline. Both sides open the
              database file, work in a transaction and close it, in this process, per step. Target
              <= 1.5x each.
``memory``    Peak memory of ``python runner.py`` (the runner and its kernels) against the floor, and of
              the daily run on the history store against the 150-row store: the resident set size
              (RSS) of the whole process tree, sampled with psutil every 50 ms; the peak of the sum.
              Shared pages count once per process, so this is an upper bound. One run each (peaks
              vary little); the timed runs of the other sections are never sampled.

Every command's output goes to ``<workdir>/logs/``; a failing command stops the benchmark (exit 1)
with its last lines. The work folder is a temporary one removed at the end, unless ``--workdir`` names
one (kept). The repository is put on ``PYTHONPATH`` of both sides, so an uninstalled checkout works.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # serverless_iris, installed or not
from serverless_iris.backend import KEY_ENV  # noqa: E402
from serverless_iris.paths import BACKEND_ENV, REPO_ROOT, RUN_ID_ENV, STORE_ENV  # noqa: E402

RUNNER = REPO_ROOT / "runner.py"
FLOOR = Path(__file__).with_name("floor.py")
RESULTS = Path(__file__).with_name("results")
README = Path(__file__).with_name("README.md")
TABLE_START, TABLE_END = "<!-- results: written by run.py --readme -->", "<!-- end of results -->"
TABLE_HEADER = (
    "| measurement | contender | baseline | ratio (each pair) | target | measured |",
    "|---|---|---|---|---|---|",
)
SECTIONS = ("overhead", "daily", "store", "memory")
HISTORY_BATCH = 1_000_000
SAMPLE_INTERVAL_S = 0.05
SEED = 20240101
PACKAGES = ("duckdb", "pandas", "papermill", "nbclient", "nbconvert", "ipykernel", "jupyter_client", "psutil")


class BenchmarkError(RuntimeError):
    """A benchmarked command failed or did not do its job: the figures would mean nothing."""


@dataclass
class Measurement:
    """One contender against its baseline: every value of each, in seconds or MiB."""

    name: str
    contender: str
    baseline: str
    unit: str
    target: float | None
    values: list[float] = field(default_factory=list)
    baseline_values: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        median, base = statistics.median(self.values), statistics.median(self.baseline_values)
        ratio = median / base
        return {
            "name": self.name,
            "contender": self.contender,
            "baseline": self.baseline,
            "unit": self.unit,
            "median": median,
            "baseline_median": base,
            "ratio": ratio,
            "target": self.target,
            "within_target": None if self.target is None else ratio <= self.target,
            "values": self.values,
            "baseline_values": self.baseline_values,
        }


@dataclass
class Timed:
    seconds: float
    peak_bytes: int | None


class Bench:
    """The work folder, the environment every command gets, and the shared store states."""

    def __init__(self, work: Path, repeat: int, history_rows: int) -> None:
        self.work = work
        self.repeat = repeat
        self.history_rows = history_rows
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.loads: list[float] = []
        self.extra: dict[str, Any] = {}
        self._template: Path | None = None
        self._history: Path | None = None
        self._small: Path | None = None

    def fresh(self, name: str) -> Path:
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def env(self, store: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The caller's environment on the embedded backend at ``store``, with the repository importable."""
        env = {k: v for k, v in os.environ.items() if k not in (RUN_ID_ENV, KEY_ENV)}
        path = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        env.update({BACKEND_ENV: "local", STORE_ENV: str(store), "PYTHONPATH": os.pathsep.join(path)})
        return {**env, **(extra or {})}

    def run(
        self, label: str, command: list[str], store: Path, *, sample: bool = False, extra: dict | None = None
    ) -> Timed:
        """Run ``command`` to its end: its wall time and, when ``sample``, its process tree's peak RSS."""
        self.loads.append(os.getloadavg()[0])
        log = self.logs / f"{label}.log"
        with open(log, "wb") as out:
            begun = time.perf_counter()
            child = subprocess.Popen(
                command, cwd=REPO_ROOT, env=self.env(store, extra), stdout=out, stderr=subprocess.STDOUT
            )
            with _peak_rss(child.pid) if sample else _nothing() as peak:
                code = child.wait()
            seconds = time.perf_counter() - begun
        if code != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise BenchmarkError(f"{label}: {' '.join(map(str, command))} exited {code}:\n{tail}")
        return Timed(seconds, peak.get("bytes") if sample else None)

    def full_run(self, label: str, folder: Path, *, sample: bool = False) -> tuple[Timed, dict[str, Any]]:
        """``python runner.py`` on the (empty) store in ``folder``, checked for a complete run."""
        timed = self.run(label, _runner(folder), folder / "store", sample=sample)
        # a first run adds today's flower in a second feature step
        return timed, _check_run(folder / "outputs", ["feature", "feature", "training", "inference"])

    def daily_run(self, label: str, store: Path, *, sample: bool = False) -> tuple[Timed, dict[str, Any]]:
        """``python runner.py --daily`` on a fresh copy of ``store`` and of the template's outputs."""
        folder = self.fresh(label)
        shutil.copytree(store, folder / "store")
        _copy_outputs(self.template() / "outputs", folder / "outputs")
        timed = self.run(label, _runner(folder, "--daily"), folder / "store", sample=sample)
        record = _check_run(folder / "outputs", ["feature", "inference"])
        phases = _runner_phases(record, timed.seconds)
        shutil.rmtree(folder)
        return timed, phases

    def adopt_template(self, folder: Path) -> None:
        """A full run's store and outputs: the state every daily run starts from."""
        if self._template is None:
            self._template = folder.rename(self.work / "template")

    def template(self) -> Path:
        if self._template is None:
            folder = self.fresh("template-run")
            self.full_run("template", folder)
            self.adopt_template(folder)
        assert self._template is not None
        return self._template

    def history_store(self) -> Path:
        """The template's store plus ``history_rows`` older rows in ``iris``, written once."""
        if self._history is None:
            store = self.work / "history-store"
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(self.template() / "store", store)
            begun = time.perf_counter()
            _write_history(store, self.history_rows)
            self.extra["history_build"] = {
                "rows": self.history_rows,
                "seconds": time.perf_counter() - begun,
                "method": f"FeatureGroup.insert (upsert) in batches of {HISTORY_BATCH:,} rows",
            }
            self._history = self.settle("history", store)
        return self._history

    def small_store(self) -> Path:
        """The template's store (149 rows, 150 once settled), settled like the history store."""
        if self._small is None:
            store = self.work / "small-store"
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(self.template() / "store", store)
            self._small = self.settle("small", store)
        return self._small

    def settle(self, name: str, store: Path) -> Path:
        """Run ``--daily`` once on ``store`` in place, untimed: the state of a store in daily use.

        The first write after a bulk import makes DuckDB rewrite the table's storage once when it
        closes (0.5 s with 10,000,000 rows, measured); a store in use paid that long ago, and every
        timed run starts from a fresh copy of this one.
        """
        folder = self.fresh(f"settle-{name}")
        _copy_outputs(self.template() / "outputs", folder / "outputs")
        self.run(f"settle-{name}", _runner(folder, "--daily"), store)
        _check_run(folder / "outputs", ["feature", "inference"])
        shutil.rmtree(folder)
        return store


# --- the sections ---------------------------------------------------------------------------------


def bench_overhead(bench: Bench) -> list[Measurement]:
    """``python runner.py`` against the floor, alternating, on fresh empty stores; then ``--daily``
    against the daily floor, alternating, on fresh copies of one store in daily use."""
    measurement = Measurement("overhead", "python runner.py", "floor: one Python process", "s", 0.7)
    runner_phases, floor_phases = [], []
    for rep in range(bench.repeat):
        folder = bench.fresh(f"overhead-runner-{rep}")
        timed, record = bench.full_run(f"overhead-runner-{rep}", folder)
        measurement.values.append(timed.seconds)
        runner_phases.append(_runner_phases(record, timed.seconds))
        if rep == 0:
            bench.adopt_template(folder)
        else:
            shutil.rmtree(folder)

        folder = bench.fresh(f"overhead-floor-{rep}")
        timed = _floor(bench, f"overhead-floor-{rep}", folder)
        measurement.baseline_values.append(timed.seconds)
        floor_phases.append(_floor_phases(folder, timed.seconds))
        shutil.rmtree(folder)
    bench.extra["overhead_phases"] = {
        "python runner.py": _median_phases(runner_phases),
        "floor": _median_phases(floor_phases),
    }
    return [measurement, _daily_overhead(bench)]


def _daily_overhead(bench: Bench) -> Measurement:
    measurement = Measurement(
        "overhead.daily", "python runner.py --daily", "daily floor: one Python process", "s", 0.7
    )
    store = bench.small_store()
    runner_phases, floor_phases = [], []
    for rep in range(bench.repeat):
        timed, phases = bench.daily_run(f"overhead-daily-runner-{rep}", store)
        measurement.values.append(timed.seconds)
        runner_phases.append(phases)
        folder = bench.fresh(f"overhead-daily-floor-{rep}")
        shutil.copytree(store, folder / "store")
        _copy_outputs(bench.template() / "outputs", folder / "outputs")
        timed = _floor(bench, f"overhead-daily-floor-{rep}", folder, "--daily")
        measurement.baseline_values.append(timed.seconds)
        floor_phases.append(_floor_phases(folder, timed.seconds))
        shutil.rmtree(folder)
    bench.extra["daily_overhead_phases"] = {
        "python runner.py --daily": _median_phases(runner_phases),
        "daily floor": _median_phases(floor_phases),
    }
    return measurement


def bench_daily(bench: Bench) -> list[Measurement]:
    """``runner.py --daily`` on the history store against the 150-row store, alternating."""
    history = bench.history_store()
    small = bench.small_store()
    big_label = f"--daily, {bench.history_rows:,} history rows"
    measurement = Measurement("daily", big_label, "--daily, 150 rows", "s", 1.1)
    big_phases, small_phases = [], []
    for rep in range(bench.repeat):
        timed, phases = bench.daily_run(f"daily-history-{rep}", history)
        measurement.values.append(timed.seconds)
        big_phases.append(phases)
        timed, phases = bench.daily_run(f"daily-small-{rep}", small)
        measurement.baseline_values.append(timed.seconds)
        small_phases.append(phases)
    bench.extra["daily_phases"] = {
        big_label: _median_phases(big_phases),
        "150 rows": _median_phases(small_phases),
    }
    return [measurement]


def bench_store(bench: Bench, rows: int) -> list[Measurement]:
    """Insert, upsert and read ``rows`` rows through the feature store API and straight on DuckDB."""
    first, second = _store_frames(rows)
    expected = rows + (len(second) - rows // 2)
    steps = ("insert", "upsert", "read")
    measurements = {s: Measurement(f"store.{s}", "feature store API", "DuckDB", "s", 1.5) for s in steps}
    for rep in range(bench.repeat):
        for side, steps_of in (("api", _api_steps), ("duckdb", _duckdb_steps)):
            seconds, read = steps_of(bench.fresh(f"store-{side}-{rep}"), first, second)
            if read != expected:
                raise BenchmarkError(f"store {side}: read {read} rows after the upsert, expected {expected}")
            for step, value in seconds.items():
                m = measurements[step]
                (m.values if side == "api" else m.baseline_values).append(value)
            shutil.rmtree(bench.work / f"store-{side}-{rep}")
    return list(measurements.values())


def bench_memory(bench: Bench) -> list[Measurement]:
    """Peak RSS of the process tree: full run against the floor, daily on the history against 150 rows."""
    full = Measurement("memory.full", "python runner.py (runner + kernels)", "floor", "MiB", None)
    folder = bench.fresh("memory-runner")
    full.values.append(_mib(bench.full_run("memory-runner", folder, sample=True)[0]))
    shutil.rmtree(folder)
    folder = bench.fresh("memory-floor")
    full.baseline_values.append(_mib(_floor(bench, "memory-floor", folder, sample=True)))
    shutil.rmtree(folder)

    label = f"--daily, {bench.history_rows:,} history rows"
    daily = Measurement("memory.daily", label, "--daily, 150 rows", "MiB", None)
    daily.values.append(_mib(bench.daily_run("memory-daily-history", bench.history_store(), sample=True)[0]))
    daily.baseline_values.append(
        _mib(bench.daily_run("memory-daily-small", bench.small_store(), sample=True)[0])
    )
    return [full, daily]


# --- commands and what they leave behind ----------------------------------------------------------


def _copy_outputs(source: Path, target: Path) -> None:
    """The template's outputs folder without its runs: each copy's store lives at another path, and the
    runner keeps one store per outputs folder."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("runs"))


def _runner(folder: Path, *options: str) -> list[str]:
    return [sys.executable, str(RUNNER), *options, "--outputs", str(folder / "outputs")]


def _floor(bench: Bench, label: str, folder: Path, *options: str, sample: bool = False) -> Timed:
    command = [sys.executable, str(FLOOR), *options, "--outputs", str(folder / "outputs")]
    command += ["--timings", str(folder / "timings.json")]
    timed = bench.run(label, command, folder / "store", sample=sample, extra={"MPLBACKEND": "Agg"})
    if not (folder / "outputs" / "dashboard" / "dashboard.json").is_file():
        raise BenchmarkError(f"{label}: the floor wrote no dashboard.json")
    return timed


def _latest_record(outputs: Path) -> dict[str, Any]:
    folder = max((outputs / "runs").iterdir(), key=lambda p: p.name)
    record = json.loads((folder / "run.json").read_text())
    record["_folder"] = str(folder)
    return record


def _check_run(outputs: Path, notebooks: list[str]) -> dict[str, Any]:
    """The newest run succeeded, ran exactly ``notebooks``, and wrote every report and the index."""
    record = _latest_record(outputs)
    folder = Path(record["_folder"])
    ran = [entry["name"] for entry in record["notebooks"]]
    problems = []
    if record["status"] != "succeeded":
        problems.append(f"status {record['status']}")
    if ran != notebooks:
        problems.append(f"ran {ran}, expected {notebooks}")
    for entry in record["notebooks"]:
        for key in ("executed", "report", "results_report"):
            if not entry.get(key) or not (folder / entry[key]).is_file():
                problems.append(f"{entry['name']}: no {key}")
    if not (outputs / "index.html").is_file():
        problems.append("no index.html")
    if problems:
        raise BenchmarkError(f"run {folder}: " + "; ".join(problems))
    return record


def _runner_phases(record: dict[str, Any], wall: float) -> dict[str, float]:
    """Where a runner process spent its time, from run.json and papermill's per-cell durations."""
    import nbformat

    folder = Path(record["_folder"])
    phases = {"process": wall, "outside the run (start-up, index, exit)": wall - record["duration_s"]}
    for entry in record["notebooks"]:
        nb = nbformat.read(folder / entry["executed"], as_version=4)
        cells = [
            c.metadata.get("papermill", {}).get("duration") or 0.0 for c in nb.cells if c.cell_type == "code"
        ]
        phases[f"{entry['name']} notebook"] = entry["duration_s"]
        phases[f"{entry['name']}: in its cells"] = sum(cells)
    notebooks = sum(entry["duration_s"] for entry in record["notebooks"])
    phases["after the notebooks (reports, run.json)"] = record["duration_s"] - notebooks
    return phases


def _floor_phases(folder: Path, wall: float) -> dict[str, float]:
    timings = json.loads((folder / "timings.json").read_text())
    phases = {"process": wall, "outside the run (start-up, index, exit)": wall - timings["seconds"]}
    for notebook in timings["notebooks"]:
        phases[f"{notebook['name']} notebook"] = notebook["seconds"]
        phases[f"{notebook['name']}: in its cells"] = notebook["seconds"]
    return phases


def _median_phases(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _mib(timed: Timed) -> float:
    assert timed.peak_bytes is not None
    return timed.peak_bytes / 2**20


@contextmanager
def _nothing() -> Iterator[dict[str, int]]:
    yield {}


@contextmanager
def _peak_rss(pid: int) -> Iterator[dict[str, int]]:
    """Sample the summed RSS of ``pid`` and its descendants every 50 ms; the peak lands in ``["bytes"]``."""
    import psutil

    peak = {"bytes": 0}
    stop = threading.Event()

    def sample() -> None:
        root = psutil.Process(pid)
        while not stop.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for process in tree:
                try:
                    total += process.memory_info().rss
                except psutil.Error:  # exited between listing and reading
                    continue
            peak["bytes"] = max(peak["bytes"], total)
            stop.wait(SAMPLE_INTERVAL_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()


# --- data -----------------------------------------------------------------------------------------


def iris_rows(n: int, first: Any, rng: Any) -> Any:
    """``n`` iris-shaped rows (the course's species ranges), event times one second apart from ``first``."""
    import numpy as np
    import pandas as pd

    from serverless_iris.helpers.flowers import FEATURES, SPECIES_RANGES, VARIETIES

    variety = rng.integers(len(VARIETIES), size=n)
    columns: dict[str, Any] = {}
    for feature in FEATURES:
        low, high = (np.array([SPECIES_RANGES[v][feature][i] for v in VARIETIES]) for i in (0, 1))
        columns[feature] = low[variety] + (high - low)[variety] * rng.random(n)
    columns["variety"] = np.array(VARIETIES, dtype=object)[variety]
    columns["event_time"] = pd.Timestamp(first) + pd.to_timedelta(np.arange(n), unit="s")
    return pd.DataFrame(columns)


def _store_frames(rows: int) -> tuple[Any, Any]:
    """The inserted frame, and the upserted one: half its keys already inserted (new variety), half new."""
    import numpy as np
    import pandas as pd

    from serverless_iris.helpers.flowers import VARIETIES

    rng = np.random.default_rng(SEED)
    first = iris_rows(rows, "2021-01-01", rng)
    existing = first.iloc[rng.choice(rows, rows // 2, replace=False)]
    existing = existing.assign(variety=np.array(VARIETIES, dtype=object)[rng.integers(3, size=len(existing))])
    new = iris_rows(rows - rows // 2, first["event_time"].iloc[-1] + pd.Timedelta(seconds=1), rng)
    second = pd.concat([existing, new], ignore_index=True)
    return first, second.iloc[rng.permutation(len(second))].reset_index(drop=True)


def _write_history(store: Path, rows: int) -> None:
    """Append ``rows`` rows older than the backfill to ``iris`` v1 through the API, in big batches."""
    import numpy as np
    import pandas as pd

    from serverless_iris.embedded.project import LocalProject
    from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME

    group = LocalProject(store).get_feature_store().get_feature_group("iris", version=1)
    if group is None:
        raise BenchmarkError(f"{store} has no feature group iris v1 to add history to")
    first = pd.Timestamp(BACKFILL_EVENT_TIME).tz_convert(None) - pd.Timedelta(seconds=rows)
    rng = np.random.default_rng(SEED)
    for start in range(0, rows, HISTORY_BATCH):
        batch = iris_rows(min(HISTORY_BATCH, rows - start), first + pd.Timedelta(seconds=start), rng)
        group.insert(batch, wait=True)


@contextmanager
def _timer(seconds: dict[str, float], step: str) -> Iterator[None]:
    begun = time.perf_counter()
    yield
    seconds[step] = time.perf_counter() - begun


def _api_steps(folder: Path, first: Any, second: Any) -> tuple[dict[str, float], int]:
    from serverless_iris.embedded.project import LocalProject
    from serverless_iris.helpers.flowers import FEATURES

    seconds: dict[str, float] = {}
    with _timer(seconds, "insert"):
        fs = LocalProject(folder).get_feature_store()
        group = fs.get_or_create_feature_group(
            "bench", version=1, primary_key=list(FEATURES), event_time="event_time"
        )
        group.insert(first, wait=True)
    with _timer(seconds, "upsert"):
        group.insert(second, wait=True)
    with _timer(seconds, "read"):
        read = len(group.read())
    return seconds, read


def _duckdb_steps(folder: Path, first: Any, second: Any) -> tuple[dict[str, float], int]:
    import duckdb

    from serverless_iris.helpers.flowers import FEATURES

    path = str(folder / "raw.duckdb")
    columns = ", ".join([*(f"{f} DOUBLE" for f in FEATURES), "variety VARCHAR", "event_time TIMESTAMP"])
    match = " AND ".join(f"t.{k} = s.{k}" for k in [*FEATURES, "event_time"])
    seconds: dict[str, float] = {}
    with _timer(seconds, "insert"), duckdb.connect(path) as con:
        con.begin()
        con.execute(f"CREATE TABLE t ({columns})")
        con.register("frame", first)
        con.execute("INSERT INTO t SELECT * FROM frame")
        con.commit()
    with _timer(seconds, "upsert"), duckdb.connect(path) as con:
        con.begin()
        con.register("frame", second)
        con.execute(f"DELETE FROM t USING frame AS s WHERE {match}")
        con.execute("INSERT INTO t SELECT * FROM frame")
        con.commit()
    with _timer(seconds, "read"), duckdb.connect(path) as con:
        read = len(con.execute("SELECT * FROM t").df())
    return seconds, read


# --- report ---------------------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    from importlib import metadata

    import psutil

    model = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _value(value: float, unit: str) -> str:
    return f"{value:,.0f} MiB" if unit == "MiB" else f"{value:.3f} s"


def render(report: dict[str, Any]) -> str:
    """The results table, the phase tables and the load, as printed."""
    rows = [["measurement", "contender", "median", "baseline", "median", "ratio", "target"]]
    for m in report["measurements"]:
        target = "-"
        if m["target"] is not None:
            target = f"<= {m['target']:.1f}x " + ("ok" if m["within_target"] else "MISSED")
        rows.append(
            [
                m["name"],
                m["contender"],
                _value(m["median"], m["unit"]),
                m["baseline"],
                _value(m["baseline_median"], m["unit"]),
                f"{m['ratio']:.2f}x",
                target,
            ]
        )
    parts = [_table(rows)]
    for key, title in (
        ("overhead_phases", "overhead"),
        ("daily_overhead_phases", "daily overhead"),
        ("daily_phases", "daily"),
    ):
        phases = report["extra"].get(key)
        if phases:
            names = list(phases)
            keys = list(dict.fromkeys(k for name in names for k in phases[name]))
            table = [[f"{title} phases (median s)", *names]]
            table += [[k, *(f"{phases[n][k]:.3f}" if k in phases[n] else "-" for n in names)] for k in keys]
            parts.append(_table(table))
    build = report["extra"].get("history_build")
    if build:
        parts.append(
            f"history: {build['rows']:,} rows written in {build['seconds']:.1f} s, {build['method']}"
        )
    load = report["load"]
    parts.append(
        f"load average (1 min) before each run: min {load['min']:.2f}, median {load['median']:.2f}, "
        f"max {load['max']:.2f} on {report['machine']['cores']} cores; repeat {report['config']['repeat']}"
    )
    return "\n\n".join(parts)


def readme_row(m: dict[str, Any], report: dict[str, Any]) -> str:
    """One measurement as a row of the README's table: medians, the ratio with the spread of the pairs'
    ratios, the target, and when and on what it was measured."""
    pairs = [v / b for v, b in zip(m["values"], m["baseline_values"], strict=False) if b]
    spread = f" ({min(pairs):.2f}–{max(pairs):.2f})" if len(pairs) > 1 else ""
    target = (
        "—" if m["target"] is None else f"≤ {m['target']:.1f}×" + ("" if m["within_target"] else " (missed)")
    )
    machine = report["machine"]
    load = report["load"]
    measured = (
        f"{report['started'][:10]}, {machine['cores']} × {machine['cpu']}, load {load['median']:.1f}, "
        f"{len(m['values'])} pairs"
    )
    return (
        f"| {m['name']} | {m['contender']}: {_value(m['median'], m['unit'])} | {m['baseline']}: "
        f"{_value(m['baseline_median'], m['unit'])} | {m['ratio']:.2f}×{spread} | {target} | {measured} |"
    )


def update_readme(text: str, report: dict[str, Any]) -> str:
    """``text`` (benchmarks/README.md) with this run's rows put in its results table; rows of sections
    that did not run stay as they were."""
    head, rest = text.split(TABLE_START, 1)
    table, tail = rest.split(TABLE_END, 1)
    rows = {
        line.split("|")[1].strip(): line
        for line in table.strip().splitlines()
        if line.startswith("| ") and line not in TABLE_HEADER
    }
    for m in report["measurements"]:
        rows[m["name"]] = readme_row(m, report)
    lines = [*TABLE_HEADER, *rows.values()]
    return f"{head}{TABLE_START}\n" + "\n".join(lines) + f"\n{TABLE_END}{tail}"


# --- command line ---------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _sections(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section {', '.join(unknown) or repr(text)}; choose from {','.join(SECTIONS)}"
        )
    return [name for name in SECTIONS if name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring (benchmarks/run.py) for what each section measures and how.",
    )
    parser.add_argument("--repeat", type=_positive, default=3, help="timed runs of each side (default 3)")
    parser.add_argument("--rows", type=_positive, default=1_000_000, help="store rows (default 1,000,000)")
    parser.add_argument(
        "--history-rows", type=_positive, default=10_000_000, help="daily history rows (default 10,000,000)"
    )
    parser.add_argument(
        "--only", type=_sections, default=list(SECTIONS), help=f"comma-separated: {','.join(SECTIONS)}"
    )
    parser.add_argument("--json", type=Path, help="results file (default benchmarks/results/<UTC time>.json)")
    parser.add_argument("--workdir", type=Path, help="work folder, kept (default: a temporary one, removed)")
    parser.add_argument(
        "--readme",
        action="store_true",
        help="also update the results table of benchmarks/README.md (the rows of the sections that ran)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if "store" in args.only and args.rows < 2:
        build_parser().error("--rows must be at least 2 (the upsert reuses half the keys)")
    started = datetime.now(timezone.utc)
    output = args.json or RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="iris-bench-"))).resolve()
    bench = Bench(work, args.repeat, args.history_rows)
    load_before = os.getloadavg()
    measurements: list[Measurement] = []
    try:
        for section in args.only:
            print(f"benchmark {section} ...", flush=True)
            if section == "overhead":
                measurements += bench_overhead(bench)
            elif section == "daily":
                measurements += bench_daily(bench)
            elif section == "store":
                measurements += bench_store(bench, args.rows)
            else:
                measurements += bench_memory(bench)
    except BenchmarkError as exc:
        print(f"benchmarks/run.py: {exc}\nlogs and work files kept in {work}", file=sys.stderr)
        return 1
    report = {
        "started": started.isoformat(timespec="seconds"),
        "ended": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {k: getattr(args, k) for k in ("repeat", "rows", "history_rows", "only")},
        "machine": _machine(),
        "load": {
            "before": load_before,
            "after": os.getloadavg(),
            "min": min(bench.loads, default=load_before[0]),
            "median": statistics.median(bench.loads or [load_before[0]]),
            "max": max(bench.loads, default=load_before[0]),
            "samples": bench.loads,
        },
        "measurements": [m.to_dict() for m in measurements],
        "extra": bench.extra,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(render(report))
    print(f"\nresults: {output}")
    if args.readme:
        README.write_text(update_readme(README.read_text(encoding="utf-8"), report), encoding="utf-8")
        print(f"table updated: {README}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

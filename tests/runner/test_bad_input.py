"""Bad input stops the run with a message that names the problem, and the store keeps every row it had.

Each case is one ``python runner.py --only feature -p BACKFILL=True -p IRIS_CSV=<file>`` (or a bad ``-p``) on
its own copy of a store that already holds the backfill: exit code 1 or 2, the console or ``run.json`` names
what is wrong, and the store's feature groups read back exactly as before. The cases run in one module fixture
(only the selected ones), and each test asserts everything about its case. The default run keeps one case per
path (``DEFAULT_CASES``); the rest are marked ``slow``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from support import make_workspace

from serverless_iris.embedded.project import LocalProject
from serverless_iris.paths import REPO_ROOT

IRIS_CSV = REPO_ROOT / "assets" / "iris.csv"
UNREACHABLE_URL = "http://127.0.0.1:9/iris.csv"  # loopback port 9 (discard): connection refused, no network


def store_snapshot(store: Path) -> dict[tuple[str, int], pd.DataFrame]:
    """Every feature group of the store, read through the embedded API, rows in a fixed order."""
    with duckdb.connect(str(store / "feature_store.duckdb"), read_only=True) as con:
        groups = con.execute("SELECT name, version FROM fs_feature_groups ORDER BY ALL").fetchall()
    fs = LocalProject(store).get_feature_store()
    snapshot = {}
    for name, version in groups:
        rows = fs.get_feature_group(name, version=version).read()
        snapshot[(name, version)] = rows.sort_values(list(rows.columns), ignore_index=True)
    return snapshot


# --- the bad files ---------------------------------------------------------------------------------------


def iris_text() -> pd.DataFrame:
    """The shipped iris data as text, so a case can put anything in any cell."""
    return pd.read_csv(IRIS_CSV, dtype=str, keep_default_na=False)


def edited(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        path = folder / "bad.csv"
        edit(iris_text()).to_csv(path, index=False)
        return str(path)

    return make


def put(row: int, column: str, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[row, column] = value
        return df

    return edit


def raw(content: bytes, name: str = "bad.csv") -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        path = folder / name
        path.write_bytes(content)
        return str(path)

    return make


def ten_thousand_rows_last_bad(folder: Path) -> str:
    df = iris_text()
    big = pd.concat([df] * (10_000 // len(df) + 1), ignore_index=True).head(10_000)
    big.loc[9_999, "petal_length"] = "-1.3"
    path = folder / "big.csv"
    big.to_csv(path, index=False)
    return str(path)


@dataclass(frozen=True)
class Case:
    """One bad input: the ``-p`` options (``{csv}`` is the file ``make`` writes) and what the message says."""

    id: str
    parameters: tuple[str, ...]
    says: tuple[str, ...]  # regular expressions, all of which the message must match (case-insensitive)
    make: Callable[[Path], str] | None = None
    exit_codes: tuple[int, ...] = (1, 2)


LOAD = ("BACKFILL=True", "IRIS_CSV={csv}")
CASES = [
    Case(
        "missing-column",
        LOAD,
        (r"missing column\(s\): petal_width",),
        edited(lambda df: df.drop(columns="petal_width")),
    ),
    Case(
        "extra-column", LOAD, (r"unexpected column\(s\): colour",), edited(lambda df: df.assign(colour="red"))
    ),
    Case(
        "text-in-number-column",
        LOAD,
        (r"column sepal_width: .*not a number.*line 9 \('abc'\)",),
        edited(put(7, "sepal_width", "abc")),
    ),
    Case(
        "nan",
        LOAD,
        (r"column petal_length: .*missing.*line 14 \(nan\)",),
        edited(put(12, "petal_length", "")),
    ),
    Case(
        "negative",
        LOAD,
        (r"column sepal_length: .*line 22 \(-5\.1\).*allowed: .*> 0",),
        edited(put(20, "sepal_length", "-5.1")),
    ),
    Case(
        "absurdly-large",
        LOAD,
        (r"column petal_width: .*line 32 \(1000000000\.0\).*allowed: .*<= ",),
        edited(put(30, "petal_width", "1e9")),
    ),
    Case(
        "uci-variety-spelling",
        LOAD,
        (r"column variety: 50 value\(s\) .*'Iris-setosa'.*allowed: Setosa, Versicolor, Virginica",),
        edited(lambda df: df.replace({"variety": {"Setosa": "Iris-setosa"}})),
    ),
    Case(
        "unknown-variety",
        LOAD,
        (r"column variety: 1 value\(s\) .*line 101 \('Rose'\)",),
        edited(put(99, "variety", "Rose")),
    ),
    Case(
        "empty-file", LOAD, (r"bad\.csv: the file is empty",), raw(b""), exit_codes=(2,)
    ),  # checked up front
    Case(
        "header-only",
        LOAD,
        (r"no iris rows.*header but no",),
        raw(IRIS_CSV.read_bytes().splitlines(keepends=True)[0]),
    ),
    Case(
        "png",
        LOAD,
        (r"Setosa\.png is not a readable CSV",),
        raw((REPO_ROOT / "assets/Setosa.png").read_bytes(), "Setosa.png"),
    ),
    Case(
        "random-bytes",
        LOAD,
        (r"noise\.csv is not a readable CSV",),
        raw(random.Random(7).randbytes(4096), "noise.csv"),
    ),
    Case(
        "10000-rows-last-bad",
        LOAD,
        (r"1 of 10000 rows", r"column petal_length: .*line 10001 \(-1\.3\)"),
        ten_thousand_rows_last_bad,
    ),
    Case(
        "unreachable-url",
        ("BACKFILL=True", f"IRIS_CSV={UNREACHABLE_URL}"),
        (rf"IRIS_CSV={re.escape(UNREACHABLE_URL)}: cannot be read: .*refused",),
        exit_codes=(2,),
    ),
    Case(
        "missing-file",
        ("BACKFILL=True", "IRIS_CSV={csv}"),
        (r"nowhere\.csv: cannot be read: No such file or directory",),
        lambda folder: str(folder / "nowhere.csv"),
        exit_codes=(2,),
    ),
    # bad -p values: refused before any kernel starts, or stopped by the notebook
    Case("p-wrong-type", ("N_FLOWERS=abc",), (r"N_FLOWERS expects an integer",), exit_codes=(2,)),
    Case(
        "p-unknown-name",
        ("N_FLOWER=3",),
        (r"-p N_FLOWER: unknown parameter \(did you mean N_FLOWERS\?\)",),
        exit_codes=(2,),
    ),
    Case("p-not-name-value", ("BACKFILL",), (r"-p BACKFILL: expected NAME=VALUE",), exit_codes=(2,)),
    Case("p-secret-name", ("API_KEY=abc",), (r"-p API_KEY: .*looks like a secret",), exit_codes=(2,)),
    Case("p-runner-owned", ("DASHBOARD_DIR=/tmp",), (r"DASHBOARD_DIR: set by the runner",), exit_codes=(2,)),
    # values outside those the parameters cell allows
    Case(
        "p-backfill-not-boolean", ("BACKFILL=maybe",), (r"-p BACKFILL=maybe: not allowed",), exit_codes=(2,)
    ),
    Case("p-version-zero", ("BACKFILL=True", "version=0"), (r"-p version=0: not allowed",), exit_codes=(2,)),
    Case(
        "p-no-flowers", ("BACKFILL=False", "N_FLOWERS=0"), (r"-p N_FLOWERS=0: not allowed",), exit_codes=(2,)
    ),
]


@dataclass
class Outcome:
    result: subprocess.CompletedProcess[str]
    outputs: Path
    before: dict[tuple[str, int], pd.DataFrame]
    after: dict[tuple[str, int], pd.DataFrame]

    def runs(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(self.outputs.glob("runs/*/run.json"))]

    def message(self) -> str:
        """What a person sees: the console, and the errors recorded in run.json."""
        errors = [e["error"]["message"] for run in self.runs() for e in run["notebooks"] if e["error"]]
        return "\n".join([self.result.stdout, self.result.stderr, *errors])


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, backfilled_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Outcome]:
    """Run the selected cases one after another, each on its own copy of the backfilled store, through
    ``cli.main`` in this process (test_runner.py checks that ``runner.py`` hands on its code and console):
    the command lines refused before anything runs (exit 2) without a fork server (``Workspace.call``),
    the others as runs whose feature notebook refuses the data (``Workspace.run_here``)."""
    selected = {
        item.callspec.params["case"].id
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec") and "case" in item.callspec.params
    }
    before = store_snapshot(backfilled_store)

    def run(case: Case) -> Outcome:
        work = tmp_path_factory.mktemp(case.id)
        space = make_workspace(work)
        shutil.copytree(backfilled_store, space.store)
        csv = case.make(work) if case.make else ""
        args = ["--only", "feature", "--timeout", "300"]
        for parameter in case.parameters:
            args += ["-p", parameter.format(csv=csv)]
        result = space.call(*args) if case.exit_codes == (2,) else space.run_here(*args)
        return Outcome(result, space.outputs, before, store_snapshot(space.store))

    return {case.id: run(case) for case in CASES if case.id in selected}


# One end-to-end case per path through the runner in the default run: a CSV the notebook's contract refuses,
# a file that cannot be read and a command-line refusal (exit 2). The
# other contract cases take the same path as missing-column (the contract's messages are tested in-process
# in tests/helpers/test_contract.py), the other refusals the same path as p-wrong-type (their messages are
# tested in-process in tests/runner/test_runner.py and test_allowed_values.py); they run with the slow tests.
DEFAULT_CASES = {"missing-column", "missing-file", "p-wrong-type"}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.id, marks=() if c.id in DEFAULT_CASES else pytest.mark.slow) for c in CASES],
)
def test_bad_input_is_refused_and_changes_nothing(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.id]
    console = outcome.result.stdout + outcome.result.stderr
    assert outcome.result.returncode in case.exit_codes, console
    message = outcome.message()
    for pattern in case.says:
        assert re.search(pattern, message, re.IGNORECASE | re.DOTALL), f"{pattern!r} not in:\n{message}"
    assert "Traceback" not in console, "the console shows a message, not a traceback"

    assert outcome.after.keys() == outcome.before.keys()
    for group, rows in outcome.before.items():
        pd.testing.assert_frame_equal(outcome.after[group], rows)

    runs = outcome.runs()
    if outcome.result.returncode == 2:
        assert runs == [], "a refused command line starts no run"
    else:
        [run] = runs
        assert run["status"] == "failed"
        [feature] = run["notebooks"]
        assert feature["status"] == "failed" and feature["error"]["kind"] == "error"

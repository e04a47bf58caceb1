"""Fuzzing the data contract through the feature notebook's own code: malformed data never reaches the store.

Hypothesis builds malformed iris data — wrong types, missing and extra columns, out-of-range values, bad
labels, good and bad rows mixed — either as a CSV file that a backfill reads (``IRIS_CSV``) or as the
frame of synthetic flowers a daily run makes. Each one goes through the feature notebook's code cells,
executed in this process exactly as written (load, ``validate_iris``, ``fg.insert``), on one store that
holds the backfill. Every one must be refused with a message that names its defects (the columns, and for
bad cells rows that really are bad), and the store's tables must stay byte-for-byte what they were.

It tries ``FUZZ_EXAMPLES`` (200) cases, with the slow tests; ``IRIS_FUZZ_EXAMPLES=2000`` searches longer.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import serverless_iris
from serverless_iris.embedded import db
from serverless_iris.embedded.feature_store import FeatureStoreException
from serverless_iris.helpers.contract import LIMITS_CM, IrisDataError
from serverless_iris.helpers.flowers import FEATURES, VARIETIES
from serverless_iris.paths import REPO_ROOT

FUZZ_EXAMPLES = int(os.environ.get("IRIS_FUZZ_EXAMPLES", "200"))
NOTEBOOK = REPO_ROOT / "notebooks" / "iris-feature-pipeline.ipynb"
COLUMNS = (*FEATURES, "variety", "event_time")
IRIS = pd.read_csv(REPO_ROOT / "assets" / "iris.csv")
IRIS_TEXT = pd.read_csv(REPO_ROOT / "assets" / "iris.csv", dtype=str, keep_default_na=False)
NOW = pd.Timestamp("2026-01-01", tz="UTC")


# --- the feature notebook, in this process --------------------------------------------------------------


def _notebook_code() -> tuple[str, list[str]]:
    """The parameters cell and the code cells after it, as written in the notebook."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    [at] = [i for i, c in enumerate(code) if "parameters" in c["metadata"].get("tags", [])]
    return "".join(code[at]["source"]), ["".join(c["source"]) for c in code[at + 1 :]]


PARAMETERS_CELL, CELLS = _notebook_code()


def run_feature_notebook(parameters: dict[str, Any], flowers: pd.DataFrame | None = None) -> dict[str, Any]:
    """Run the notebook's cells as papermill would with ``parameters`` injected; return its namespace.

    ``flowers`` replaces the daily run's synthetic flowers (``iris_df``, as the cell that makes them
    leaves it, event times included), so the run goes on to validate and insert that frame.
    """
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(PARAMETERS_CELL, NOTEBOOK.name, "exec"), namespace)
    namespace.update(parameters)
    for cell in CELLS:
        made = "iris_df" not in namespace
        exec(compile(cell, NOTEBOOK.name, "exec"), namespace)
        if flowers is not None and made and "iris_df" in namespace:
            namespace["iris_df"] = flowers.copy()
    return namespace


def fingerprint(store: Path) -> tuple[Any, ...]:
    """Tables, feature-group metadata, and every group's row count and content hash."""
    with db.connect(store) as con:
        tables = [
            t
            for (t,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
        ]
        groups = con.execute("SELECT name, version, spec FROM fs_feature_groups ORDER BY ALL").fetchall()
        rows = [
            con.execute(f'SELECT count(*), sum(hash(t)::HUGEINT) FROM "{table}" t').fetchone()
            for table in tables
            if table.startswith("fg_")
        ]
    return tuple(tables), tuple(groups), tuple(rows)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One store filled by the notebook's own backfill, shared by every example. Its ``hopsworks.login()``
    opens the embedded store, as in the notebook's kernel (serverless_iris.offline_kernel)."""
    import hopsworks

    folder = tmp_path_factory.mktemp("fuzz") / "store"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IRIS_STORE", str(folder))
        env.setenv("IRIS_BACKEND", "local")
        env.setattr(hopsworks, "login", serverless_iris.login)
        run_feature_notebook({"BACKFILL": True})
        yield folder


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("csv") / "iris.csv"


# --- malformed data ---------------------------------------------------------------------------------------


@dataclass
class Malformed:
    """A dataset and its known defects: what the refusal must name."""

    via: str  # "csv" (a backfill reads the file) or "frame" (a daily run's synthetic flowers)
    data: pd.DataFrame
    missing: set[str] = field(default_factory=set)
    extra: set[str] = field(default_factory=set)
    bad_rows: dict[str, set[int]] = field(default_factory=dict)  # column -> rows with a bad value
    whole: set[str] = field(default_factory=set)  # columns whose type is wrong as a whole

    def spoil(self, column: str, rows: list[int], values: list[Any]) -> None:
        data = self.data
        if data[column].dtype != object:
            data[column] = data[column].astype(object)
        for row, value in zip(rows, values, strict=True):
            data.at[row, column] = value
        self.bad_rows.setdefault(column, set()).update(rows)

    def replace_column(self, column: str, values: list[Any]) -> None:
        self.data[column] = pd.Series(values, index=self.data.index, dtype=object).infer_objects()
        self.whole.add(column)

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        text = (
            self.data.to_csv(index=False) if len(self.data) <= 12 else self.data.head(12).to_csv(index=False)
        )
        return (
            f"Malformed(via={self.via!r}, missing={self.missing}, extra={self.extra}, "
            f"bad_rows={self.bad_rows}, whole={self.whole}, dtypes={self.data.dtypes.to_dict()})\n{text}"
        )


NOT_A_NUMBER = st.one_of(
    st.sampled_from(["abc", "five", "5,1", "5.1.2", "cm", "--", "N/A?", "", " ", "none of it"]),
    st.text(alphabet=string.ascii_letters + " ,;:'\"#-_()éß花", min_size=1, max_size=8),
)  # no digits: none of these can read as a valid number
BAD_LABEL = st.one_of(
    st.sampled_from(
        [
            "Iris-setosa",
            "Iris-versicolor",
            "Iris-virginica",
            "setosa",
            "SETOSA",
            " Setosa",
            "Setosa ",
            "Rose",
            "?",
            "",
        ]
    ),
    st.text(alphabet=string.ascii_letters + " -_.é", min_size=1, max_size=10),
).filter(lambda label: label not in VARIETIES)
EXTRA_NAME = st.one_of(
    st.sampled_from(["colour", "id", "species", "Unnamed: 0", "Sepal_Length", "VARIETY", "petal width"]),
    st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True),
).filter(lambda name: name not in COLUMNS)


def out_of_range(column: str) -> st.SearchStrategy[float]:
    """Zero, negative, infinite, or beyond the plausible maximum by a margin CSV parsing cannot round away."""
    limit = LIMITS_CM[column]
    return st.one_of(
        st.floats(max_value=0.0, allow_nan=False),
        st.floats(min_value=limit + 0.01, allow_nan=False),
    )


@st.composite
def malformed(draw: st.DrawFn) -> Malformed:
    via = draw(st.sampled_from(["csv", "frame"]))
    picks = draw(st.lists(st.integers(0, len(IRIS) - 1), min_size=1, max_size=30))
    if via == "csv":
        data = IRIS_TEXT.iloc[picks].reset_index(drop=True)
    else:
        data = IRIS.iloc[picks].reset_index(drop=True)
        data["event_time"] = NOW + pd.to_timedelta(np.arange(len(data)), unit="s")
    case = Malformed(via, data)
    n = len(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(_KINDS[via]))
        rows = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=min(n, 6), unique=True))
        _apply(draw, case, kind, rows, draw(st.sampled_from(FEATURES)))
    assume(case.missing or case.extra or case.bad_rows or case.whole)  # every step may have been a no-op
    return case


_KINDS = {
    "csv": ["text", "nan", "range", "label", "missing", "extra", "rename", "bool-column", "label-numbers"],
    "frame": [
        "text", "nan", "range", "label", "missing", "extra", "rename", "bool-column", "label-numbers",
        "timestamp-in-number", "event-time-text", "event-time-number", "event-time-nat", "label-number-cells",
    ],
}  # fmt: skip


def _apply(draw: st.DrawFn, case: Malformed, kind: str, rows: list[int], measurement: str) -> None:
    data, csv = case.data, case.via == "csv"
    if kind == "missing":
        column = draw(st.sampled_from([c for c in data.columns if c in COLUMNS]))
        case.data = data.drop(columns=column)
        case.missing.add(column)
        case.bad_rows.pop(column, None)
        case.whole.discard(column)
        return
    if kind in ("extra", "rename"):
        if kind == "rename":
            present = [c for c in data.columns if c in COLUMNS and c != "event_time"]
            if not present:
                return
            column = draw(st.sampled_from(present))
            spellings = {column.upper(), column.title(), column.replace("_", " "), column + "_cm"} - {column}
            name = draw(st.sampled_from(sorted(spellings)))  # "variety" has no space to put back
            if name in data.columns:
                return
            case.data = data.rename(columns={column: name})
            case.missing.add(column)
            case.bad_rows.pop(column, None)
            case.whole.discard(column)
        else:
            name = draw(EXTRA_NAME)
            if name in data.columns:
                return
            data[name] = (
                draw(st.sampled_from(["red", "1", ""])) if csv else draw(st.sampled_from([1, "x", None]))
            )
        case.extra.add(name)
        return
    target = (
        "variety" if kind.startswith("label") else "event_time" if kind.startswith("event") else measurement
    )
    if target not in data.columns:
        return
    n = len(data)
    if kind == "text":
        case.spoil(target, rows, [draw(NOT_A_NUMBER) for _ in rows])
    elif kind == "nan":
        case.spoil(target, rows, ["" if csv else draw(st.sampled_from([None, np.nan])) for _ in rows])
    elif kind == "range":
        values = [draw(out_of_range(target)) for _ in rows]
        case.spoil(target, rows, [repr(v) for v in values] if csv else values)
    elif kind == "label":
        case.spoil(target, rows, [draw(BAD_LABEL) for _ in rows])
    elif kind == "label-number-cells":
        case.spoil(target, rows, [draw(st.sampled_from([1, 2.5, 0])) for _ in rows])
    elif kind == "label-numbers":
        case.replace_column(target, [str(v) if csv else v for v in draw(_numbers(n))])
    elif kind == "bool-column":
        flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        case.replace_column(target, [str(f) if csv else f for f in flags])
    elif kind == "timestamp-in-number":
        case.replace_column(target, [NOW] * n)
    elif kind == "event-time-text":
        case.replace_column(target, [f"2026-01-01 00:00:{i % 60:02d}" for i in range(n)])
    elif kind == "event-time-number":
        case.replace_column(target, list(range(1_700_000_000, 1_700_000_000 + n)))
    elif kind == "event-time-nat":
        case.spoil(target, rows, [pd.NaT] * len(rows))
        data[target] = pd.to_datetime(data[target], utc=True)


def _numbers(n: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, 3), min_size=n, max_size=n)


# --- the property -------------------------------------------------------------------------------------------


def refusal(case: Malformed, csv_file: Path) -> str:
    """Run the data through the notebook; return the message it stopped with (fails if it did not stop)."""
    try:
        if case.via == "csv":
            case.data.to_csv(csv_file, index=False)
            run_feature_notebook({"BACKFILL": True, "IRIS_CSV": str(csv_file)})
        else:
            run_feature_notebook({"BACKFILL": False, "N_FLOWERS": len(case.data)}, flowers=case.data)
    except (IrisDataError, FeatureStoreException) as exc:
        return str(exc)
    pytest.fail(f"the notebook accepted malformed data: {case!r}")


def check_names_defects(message: str, case: Malformed) -> None:
    lines = message.split("\n- ")
    for column in case.missing:
        assert any(re.match(rf"missing column\(s\):.*\b{re.escape(column)}\b", line) for line in lines), (
            message
        )
    for name in case.extra:
        assert any(line.startswith("unexpected column(s):") and name in line for line in lines), message
    for column in set(case.bad_rows) | case.whole:
        mine = [line for line in lines if line.startswith(f"column {column}:")]
        assert mine, f"no line about column {column}:\n{message}"
        named = {int(row) for line in mine for row in re.findall(r"\brow (\d+) \(", line)}
        # a CSV file's rows are named by their line (the header is line 1)
        named |= {int(line_no) - 2 for line in mine for line_no in re.findall(r"\bline (\d+) \(", line)}
        if column in case.whole:
            continue
        bad = case.bad_rows[column]
        assert named <= bad, f"rows {sorted(named - bad)} of {column} are fine, yet named:\n{message}"
        assert named & bad or any("value(s)" not in line for line in mine), message
    counted = re.search(r": (\d+) of (\d+) rows break the contract", lines[0])
    if counted:
        assert int(counted.group(2)) == len(case.data), message
        assert 1 <= int(counted.group(1)) <= len(case.data), message


@pytest.mark.slow
@settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(case=malformed())
def test_malformed_data_is_refused_by_name_and_the_store_never_changes(
    case: Malformed, store: Path, csv_file: Path
) -> None:
    before = fingerprint(store)
    message = refusal(case, csv_file)
    check_names_defects(message, case)
    assert fingerprint(store) == before


# --- focused regressions, and the control that shows the path really inserts -------------------------------


def test_valid_data_goes_through_the_same_path(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without this, a harness that refused everything would pass the property above."""
    scratch = tmp_path / "store"
    monkeypatch.setenv("IRIS_STORE", str(scratch))
    run_feature_notebook({"BACKFILL": True})
    flowers = IRIS.head(3).assign(event_time=NOW + pd.to_timedelta([0, 1, 2], unit="s"))
    flowers[list(FEATURES)] += 0.05  # new keys
    run_feature_notebook({"BACKFILL": False, "N_FLOWERS": 3}, flowers=flowers)
    assert fingerprint(scratch)[2] != fingerprint(store)[2]
    with db.connect(scratch) as con:
        assert con.execute("SELECT count(*) FROM fg_iris_1").fetchone() == (152,)


@pytest.mark.parametrize("via", ["csv", "frame"])
def test_booleans_are_not_measurements(via: str, store: Path, csv_file: Path) -> None:
    data = (IRIS_TEXT if via == "csv" else IRIS).head(5).copy()
    if via == "frame":
        data["event_time"] = NOW + pd.to_timedelta(np.arange(5), unit="s")
    data["petal_width"] = ["True"] * 5 if via == "csv" else [True] * 5
    case = Malformed(via, data, whole={"petal_width"})
    before = fingerprint(store)
    check_names_defects(refusal(case, csv_file), case)
    assert fingerprint(store) == before


def test_every_bad_row_is_counted_when_text_and_range_errors_mix(store: Path, csv_file: Path) -> None:
    """The count and the listing cover all bad rows, not only the first kind of problem in a column."""
    data = IRIS_TEXT.head(12).copy()
    data.loc[3, "sepal_length"] = "abc"
    data.loc[7, "sepal_length"] = "-1.0"
    data.loc[9, "sepal_length"] = "99.0"
    message = refusal(Malformed("csv", data), csv_file)
    assert "3 of 12 rows break the contract" in message, message
    for row, value in ((3, "'abc'"), (7, "-1.0"), (9, "99.0")):
        assert f"line {row + 2} ({value})" in message, message

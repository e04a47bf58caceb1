"""The iris data contract, declared once with pandera, and the error people read when data breaks it.

The feature pipeline validates every frame before it inserts anything, so a broken file stops the
run with a message naming the offending rows, columns and values, and the store stays as it was.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from serverless_iris.helpers.flowers import FEATURES, VARIETIES
from serverless_iris.helpers.wording import plural

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

COLUMNS = (*FEATURES, "variety", "event_time")
# Plausible measurements in cm: strictly positive and far from absurd (Fisher's largest is 7.9).
LIMITS_CM = {"sepal_length": 15.0, "sepal_width": 10.0, "petal_length": 15.0, "petal_width": 10.0}
SHOWN = 5  # offending values listed per problem; the rest are counted
_TIMESTAMP_CHECK = "a timestamp column"


class IrisDataError(ValueError):
    """The data breaks the iris contract; the message says where and what is allowed."""


@cache
def iris_schema() -> pa.DataFrameSchema:
    """The contract: the four measurements, the variety and the event time, and nothing else."""
    import pandas as pd
    import pandera.pandas as pa

    columns = {
        name: pa.Column("float64", pa.Check.in_range(0, LIMITS_CM[name], include_min=False), coerce=True)
        for name in FEATURES
    }
    columns["variety"] = pa.Column(str, pa.Check.isin(list(VARIETIES)))
    columns["event_time"] = pa.Column(
        checks=pa.Check(pd.api.types.is_datetime64_any_dtype, element_wise=False, error=_TIMESTAMP_CHECK)
    )
    return pa.DataFrameSchema(columns, strict=True, name="iris")


def read_iris_csv(source: Any) -> pd.DataFrame:
    """``pandas.read_csv(source)`` (a path or a URL), failing with a message that names the source."""
    import pandas as pd

    with csv_read_errors(source):
        return pd.read_csv(source)


@contextmanager
def csv_read_errors(source: Any) -> Iterator[None]:
    """Turn what ``pandas.read_csv(source)`` raises into an :class:`IrisDataError` naming ``source``.

    The feature notebook keeps the course's ``pd.read_csv`` call in view and wraps it in this.
    """
    import pandas as pd

    try:
        yield
    except FileNotFoundError:
        raise IrisDataError(f"iris data not found: {source} does not exist") from None
    except pd.errors.EmptyDataError:
        raise IrisDataError(
            f"{source} is empty: expected a CSV file with the header {','.join(COLUMNS[:5])}"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IrisDataError(f"{source} is not a readable CSV file: {exc}") from None
    except OSError as exc:  # unreachable URL, a folder, no permission
        reason = getattr(exc, "reason", None) or exc.strerror or exc
        raise IrisDataError(f"could not read {source}: {reason}") from None


def validate_iris(df: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    """``df`` with float measurements if it meets the contract, else :class:`IrisDataError`.

    ``source`` says where the data came from. When it is the CSV file (or URL) ``df`` was read from,
    as read, the message names the file's lines (the header is line 1) instead of the frame's rows.
    """
    import pandas as pd
    from pandera.errors import SchemaErrors

    where = f" in {source}" if source else ""
    name = _line_namer(df, source)
    df, mistyped = _numbers_only(df)
    try:
        with warnings.catch_warnings():
            # pandera's own failure report concatenates frames in a way pandas 2.x deprecates
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"pandera\.")
            valid = iris_schema().validate(df, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        if not mistyped.empty:
            cases = pd.concat([mistyped, cases], ignore_index=True)
        raise IrisDataError(_describe(cases, len(df), where, name)) from None
    if not mistyped.empty:
        raise IrisDataError(_describe(mistyped, len(df), where, name))
    if valid.empty:
        raise IrisDataError(f"no iris rows{where}: the data has a header but no flowers")
    return valid


def _numbers_only(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``df`` with text measurements made numeric, and failure cases (pandera's shape) for what is not.

    pandera's coercion fails a whole column on the first cell of text, which would hide the column's
    other bad rows (a negative length next to an ``abc``); coercing cell by cell here lets its range
    checks see every number. Booleans coerce to 0 and 1 silently, so a boolean column is refused whole.
    """
    import pandas as pd

    df = df.copy()
    cases = []
    for name in FEATURES:
        if name not in df.columns:
            continue
        column = df[name]
        if pd.api.types.is_bool_dtype(column):
            cases.append({"column": name, "index": None, "failure_case": str(column.dtype)})
        elif column.dtype == object:
            numbers = pd.to_numeric(column, errors="coerce")
            text = numbers.isna() & column.notna()
            cases += [{"column": name, "index": i, "failure_case": v} for i, v in column[text].items()]
            df[name] = numbers
    failures = pd.DataFrame(cases, columns=["column", "index", "failure_case"])
    return df, failures.assign(schema_context="Column", check="coerce_dtype('float64')")


def load_summary(df: pd.DataFrame, source: str) -> str:
    """What a load of ``df`` (validated, read from ``source``) keeps: its valid flowers, and the repeated
    rows that ``df.drop_duplicates()`` drops, named by line (or row) and the line they repeat.

    The feature notebook prints this before it drops the repeats, so a 150-row file that inserts 149
    flowers says why.
    """
    repeated = df.duplicated()
    kept = len(df) - int(repeated.sum())
    summary = f"{plural(kept, 'valid flower')} from {source}"
    if not repeated.any():
        return summary
    name = _line_namer(df, source)
    first: dict[tuple[Any, ...], Any] = {}  # each distinct row -> the label of its first occurrence
    for index, row in zip(df.index, df.itertuples(index=False), strict=True):
        first.setdefault(row, index)
    pairs = [
        f"{name(i)} repeats {name(first[row])}"
        for i, row in zip(df.index[repeated], df[repeated].itertuples(index=False), strict=True)
    ]
    dropped = plural(len(pairs), "repeated row")
    return f"{summary} ({plural(len(df), 'row')} read; dropped {dropped}: {_first_few(pairs)})"


def _first_few(items: list[str]) -> str:
    """The first ``SHOWN`` items, and how many more there are."""
    more = f", … and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def _line_namer(df: pd.DataFrame, source: Any) -> Callable[[Any], str]:
    """How messages name a row of ``df``: ``line N`` of the CSV file ``source`` when ``df`` is that file as
    read (index 0, 1, … after the header on line 1), else ``row <index label>``."""
    import pandas as pd

    text = str(source or "")
    from_file = urlparse(text).scheme in ("http", "https", "ftp", "file") or (
        bool(text) and Path(text).is_file()
    )
    as_read = isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
    if from_file and as_read:
        return lambda index: f"line {int(index) + 2}"
    return lambda index: f"row {_row(index)}"


def _describe(cases: pd.DataFrame, n_rows: int, where: str, name: Callable[[Any], str]) -> str:
    """Turn pandera's failure cases into one line per problem: where, which values, what is allowed."""
    lines: list[str] = []
    frame_level = cases[cases["schema_context"] == "DataFrameSchema"]
    absent = set(frame_level.loc[frame_level["check"] == "column_in_dataframe", "failure_case"].astype(str))
    extra = sorted(frame_level.loc[frame_level["check"] == "column_in_schema", "failure_case"].astype(str))
    if absent:
        lines.append(f"missing column(s): {', '.join(name for name in COLUMNS if name in absent)}")
    if extra:
        lines.append(f"unexpected column(s): {', '.join(extra)}")
    if absent or extra:
        lines.append(f"allowed columns, exactly: {', '.join(COLUMNS)}")

    cells = cases[cases["schema_context"] == "Column"].copy()
    cells["kind"] = cells["check"].astype(str).map(_kind)
    # one problem per cell, the most basic first: text in a number column is not also "out of range"
    cells = cells.sort_values("kind", key=lambda kind: kind.map(["type", "missing", "value"].index))
    mistyped = set(cells.loc[cells["kind"] == "type", "column"])
    cells = cells[~((cells["kind"] != "type") & cells["column"].isin(mistyped) & cells["index"].isna())]
    cells = cells.drop_duplicates(subset=["column", "index"], keep="first")
    for (column, kind), group in cells.groupby(["column", "kind"], sort=False):
        lines.append(_problem(str(column), kind, group, name))

    head = f"invalid iris data{where}"
    bad_rows = cells["index"].dropna().nunique()
    if bad_rows:
        head += f": {bad_rows} of {n_rows} rows break the contract"
    return "\n- ".join([head, *lines])


def _kind(check: str) -> str:
    if check.startswith(("coerce_dtype", "dtype")) or check == _TIMESTAMP_CHECK:
        return "type"
    return "missing" if check == "not_nullable" else "value"


def _problem(column: str, kind: str, group: pd.DataFrame, name: Callable[[Any], str]) -> str:
    what, allowed = _what(column, kind), _allowed(column)
    rows = group[group["index"].notna()]
    if rows.empty:  # a column-wide failure: an event_time column that holds no timestamps
        return f"column {column}: {what}; allowed: {allowed}"
    rows = rows.sort_values("index", key=lambda index: index.map(_row_order))
    shown = _first_few([f"{name(i)} ({_value(v)})" for i, v in rows[["index", "failure_case"]].values])
    return f"column {column}: {len(rows)} value(s) {what}: {shown}; allowed: {allowed}"


def _what(column: str, kind: str) -> str:
    if kind == "type":
        if column == "event_time":
            return "not a timestamp column"
        return "not a number" if column in LIMITS_CM else "not text"
    return "missing (empty or NaN)" if kind == "missing" else "not allowed"


def _allowed(column: str) -> str:
    if column in LIMITS_CM:
        return f"a number of cm, > 0 and <= {LIMITS_CM[column]:g}"
    if column == "variety":
        return ", ".join(VARIETIES)
    return "timestamps, none missing"


def _row_order(index: Any) -> tuple[int, float | str]:
    """Numeric row labels in numeric order, any others after them."""
    try:
        return (0, float(index))
    except (TypeError, ValueError):
        return (1, str(index))


def _row(index: Any) -> str:
    return str(int(index)) if isinstance(index, float) and index.is_integer() else str(index)


def _value(value: Any) -> str:
    return repr(value.item() if hasattr(value, "item") else value)

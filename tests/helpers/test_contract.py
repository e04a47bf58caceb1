"""The iris data contract: good data passes with float measurements, each kind of bad data is refused
with a message that names the problem, where it is, and what is allowed."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serverless_iris.helpers.contract import IrisDataError, read_iris_csv, validate_iris
from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME, IRIS_CSV, load_iris_frame

ALLOWED_COLUMNS = "sepal_length, sepal_width, petal_length, petal_width, variety, event_time"


@pytest.fixture
def good() -> pd.DataFrame:
    return load_iris_frame().assign(event_time=pd.Timestamp(BACKFILL_EVENT_TIME))


def refusal(df: pd.DataFrame) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a refusal comes without library warnings
        with pytest.raises(IrisDataError) as caught:
            validate_iris(df, source="iris.csv")
    message = str(caught.value)
    assert "pandera" not in message.lower() and "Traceback" not in message
    assert message.startswith(("invalid iris data in iris.csv", "no iris rows in iris.csv"))
    return message


def test_good_data_passes_with_float_measurements(good: pd.DataFrame) -> None:
    as_text = good.astype({"sepal_length": str, "petal_width": object})
    valid = validate_iris(as_text)
    assert len(valid) == 150
    assert valid["sepal_length"].dtype == "float64" and valid["petal_width"].dtype == "float64"
    assert issubclass(IrisDataError, ValueError)


def test_naive_event_times_are_timestamps_too(good: pd.DataFrame) -> None:
    validate_iris(good.assign(event_time=pd.Timestamp("2020-01-01")))


def test_missing_column(good: pd.DataFrame) -> None:
    message = refusal(good.drop(columns="petal_width"))
    assert "missing column(s): petal_width" in message
    assert f"allowed columns, exactly: {ALLOWED_COLUMNS}" in message


def test_extra_column(good: pd.DataFrame) -> None:
    message = refusal(good.assign(colour="blue"))
    assert "unexpected column(s): colour" in message
    assert ALLOWED_COLUMNS in message


def test_text_in_a_numeric_column(good: pd.DataFrame) -> None:
    bad = good.astype({"sepal_width": object})
    bad.loc[17, "sepal_width"] = "wide"
    message = refusal(bad)
    assert "1 of 150 rows" in message
    assert "column sepal_width: 1 value(s) not a number: row 17 ('wide')" in message
    assert "allowed: a number of cm, > 0 and <= 10" in message
    assert "in_range" not in message and "TypeError" not in message


def test_nan(good: pd.DataFrame) -> None:
    bad = good.copy()
    bad.loc[[4, 9], "petal_length"] = np.nan
    message = refusal(bad)
    assert "column petal_length: 2 value(s) missing (empty or NaN): row 4 (nan), row 9 (nan)" in message


@pytest.mark.parametrize("value", [-1.0, 0.0, 1e9, np.inf])
def test_negative_zero_and_absurd_values(good: pd.DataFrame, value: float) -> None:
    bad = good.copy()
    bad.loc[120, "sepal_length"] = value
    message = refusal(bad)
    assert f"column sepal_length: 1 value(s) not allowed: row 120 ({value!r})" in message
    assert "allowed: a number of cm, > 0 and <= 15" in message


@pytest.mark.parametrize("label", ["Iris-setosa", "setosa", "Rose", ""])
def test_unknown_variety(good: pd.DataFrame, label: str) -> None:
    bad = good.copy()
    bad.loc[3, "variety"] = label
    message = refusal(bad)
    assert f"column variety: 1 value(s) not allowed: row 3 ({label!r})" in message
    assert "allowed: Setosa, Versicolor, Virginica" in message


def test_uci_labels_everywhere_are_listed_first_few_with_a_count(good: pd.DataFrame) -> None:
    bad = good.assign(variety="Iris-" + good["variety"].str.lower())
    message = refusal(bad)
    assert "150 of 150 rows" in message
    shown = re.findall(r"row (\d+) \('Iris-setosa'\)", message)
    assert shown == ["0", "1", "2", "3", "4"]
    assert "… and 145 more" in message


def test_numbers_as_varieties(good: pd.DataFrame) -> None:
    message = refusal(good.assign(variety=1))
    assert "column variety: 150 value(s) not text" in message


def test_event_time_that_is_not_a_timestamp(good: pd.DataFrame) -> None:
    message = refusal(good.assign(event_time="yesterday"))
    assert "column event_time: not a timestamp column; allowed: timestamps, none missing" in message


def test_missing_event_time(good: pd.DataFrame) -> None:
    bad = good.copy()
    bad.loc[2, "event_time"] = pd.NaT
    assert "column event_time: 1 value(s) missing (empty or NaN): row 2 (NaT)" in refusal(bad)


def test_empty_frame_with_header(good: pd.DataFrame) -> None:
    assert refusal(good.iloc[:0]) == "no iris rows in iris.csv: the data has a header but no flowers"


def test_empty_frame_without_columns() -> None:
    assert f"missing column(s): {ALLOWED_COLUMNS}" in refusal(pd.DataFrame())


def test_one_bad_row_at_the_end_of_a_large_file(good: pd.DataFrame) -> None:
    big = pd.concat([good] * 67, ignore_index=True)
    big.loc[len(big) - 1, "petal_width"] = -0.5
    message = refusal(big)
    assert f"1 of {len(big)} rows" in message
    assert f"row {len(big) - 1} (-0.5)" in message


def test_several_problems_are_all_reported(good: pd.DataFrame) -> None:
    bad = good.assign(extra=1).astype({"sepal_length": object})
    bad.loc[1, "sepal_length"] = "abc"
    bad.loc[2, "variety"] = "Iris-virginica"
    bad.loc[3, "petal_width"] = 99.0
    message = refusal(bad)
    for expected in [
        "unexpected column(s): extra",
        "row 1 ('abc')",
        "row 2 ('Iris-virginica')",
        "row 3 (99.0)",
    ]:
        assert expected in message
    assert "3 of 150 rows" in message


def test_read_iris_csv_reads_the_shipped_file() -> None:
    assert read_iris_csv(IRIS_CSV).shape == (150, 5)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        (b"", "is empty: expected a CSV file with the header sepal_length,"),
        (b'a,b\n1,"2\n', "is not a readable CSV file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "is not a readable CSV file"),
    ],
)
def test_read_iris_csv_names_the_file_and_the_problem(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    path = tmp_path / "iris.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(IrisDataError, match=re.escape(expected)) as caught:
        read_iris_csv(path)
    assert str(path) in str(caught.value)


def test_read_iris_csv_names_an_unreachable_url() -> None:
    url = "http://127.0.0.1:9/iris.csv"  # the discard port: refused at once, no network needed
    with pytest.raises(IrisDataError, match=f"could not read {re.escape(url)}: .*refused"):
        read_iris_csv(url)


def test_header_only_file_is_refused_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "iris.csv"
    path.write_text("sepal_length,sepal_width,petal_length,petal_width,variety\n")
    frame = read_iris_csv(path).assign(event_time=pd.Timestamp(BACKFILL_EVENT_TIME))
    assert "no iris rows" in refusal(frame)


@pytest.mark.parametrize("flags", [[True] * 4, [True, False, True, True]], ids=["all-true", "mixed"])
def test_a_boolean_measurement_column_is_refused_by_name(flags: list[bool]) -> None:
    """Planted bug: the ``is_bool_dtype`` refusal removed from ``contract._numbers_only`` (True reads as
    1.0, a valid petal width, so an all-True column would pass)."""
    frame = load_iris_frame().assign(event_time=pd.Timestamp(BACKFILL_EVENT_TIME)).head(4)
    frame["petal_width"] = flags

    with pytest.raises(IrisDataError) as caught:
        validate_iris(frame, source="iris.csv")

    assert "- column petal_width: not a number; allowed: a number of cm" in str(caught.value)

"""Differential tests: the installed hopsworks 5.2.1 SDK's own code and the embedded store, on the same input.

Wherever the SDK's code runs here without a server (its delta-rs writer on a local folder, the time
conversion of ``hopsworks_common.util``, ``FeatureViewEngine._set_event_time``, the Python engine's schema
parsing, splits and warnings), both run and their results are compared, so an SDK release that changes
behaviour shows up as a failing test. Rows of issue 12 are named in each test's docstring.
"""

from __future__ import annotations

import datetime as dt
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from serverless_iris.embedded import training_dataset as embedded_training_dataset
from serverless_iris.embedded.feature_store import FeatureStore, FeatureStoreException
from serverless_iris.embedded.training_dataset import random_splits, split_frame
from serverless_iris.embedded.util import epoch_ms

hsfs_python = pytest.importorskip("hsfs.engine.python", reason="the hopsworks SDK is a project requirement")
from deltalake import DeltaTable  # noqa: E402  (hops-deltalake, installed with hopsworks[python])
from hopsworks_common.util import _convert_event_time_to_timestamp  # noqa: E402
from hsfs.core.delta_engine import DeltaEngine  # noqa: E402
from hsfs.core.feature_view_engine import FeatureViewEngine  # noqa: E402
from hsfs.training_dataset_split import TrainingDatasetSplit  # noqa: E402

T0 = pd.Timestamp("2024-01-03 10:00:00")
NOW_MS = int(pd.Timestamp("2030-01-01").timestamp() * 1000)


@pytest.fixture
def engine() -> Any:
    """The SDK's Python engine; the methods compared here use no connection."""
    return hsfs_python.Engine.__new__(hsfs_python.Engine)


def outcome(call: Any, *args: Any) -> tuple:
    """``("ok", result)`` or ``("error", exception type name, message)``: comparable across both sides."""
    try:
        return ("ok", call(*args))
    except Exception as error:  # noqa: BLE001 - the point is to compare whatever is raised
        return ("error", type(error).__name__, str(error))


def rows(df: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """The rows as a sorted list of plain values (a multiset: repeats count)."""
    plain = df[columns].astype(object).where(df[columns].notna(), None)
    return sorted(tuple(r) for r in plain.itertuples(index=False))


# --------------------------------------------------------------- row 1 and 8: the Delta writer


def frame(ids: list[int], values: list[int], hours: list[int] | None = None) -> pd.DataFrame:
    hours = hours or [0] * len(ids)
    return pd.DataFrame(
        {
            "id": np.array(ids, dtype="int64"),
            "v": np.array(values, dtype="int64"),
            "et": [(T0 + pd.Timedelta(hours=h)).as_unit("us") for h in hours],
        }
    )


def sdk_writes(folder: Path, primary_key: list[str], event_time: str | None, writes: list[tuple]) -> Any:
    """Run ``hsfs.core.delta_engine.DeltaEngine._write_delta_rs_dataset`` (the Python engine's offline write)
    on a local folder, for each ``(frame, operation, overwrite)``; return the table, or the exception.

    ``overwrite=True`` is ``FeatureGroupEngine._insert``: the server deletes the group's content (here: the
    folder), then the frame is written with operation "bulk_insert".
    """
    group = SimpleNamespace(
        name="t",
        version=1,
        primary_key=primary_key,
        event_time=event_time,
        partition_key=[],
        location=str(folder),
        storage_connector=None,
        partitioned_by=None,
        _is_hopsfs_storage=lambda: False,
    )
    delta = DeltaEngine.__new__(DeltaEngine)
    delta._feature_group, delta._spark_session, delta._spark_context = group, None, None
    for data, operation, overwrite in writes:
        if overwrite:
            shutil.rmtree(folder, ignore_errors=True)
        try:
            delta._write_delta_rs_dataset(data.copy(), None, "bulk_insert" if overwrite else operation)
        except Exception as error:  # noqa: BLE001
            return error
    return DeltaTable(str(folder)).to_pandas()


def embedded_writes(
    fs: FeatureStore, primary_key: list[str], event_time: str | None, writes: list[tuple]
) -> Any:
    group = fs.create_feature_group("t", version=1, primary_key=primary_key, event_time=event_time)
    for data, operation, overwrite in writes:
        try:
            group.insert(data, overwrite=overwrite, operation=operation)
        except FeatureStoreException as error:
            return error
    return group.read()


WRITES = {
    "first write keeps repeats": (["id"], None, [(frame([1, 1, 2], [1, 2, 3]), "upsert", False)]),
    "upsert updates matches and inserts every unmatched row": (
        ["id"],
        None,
        [
            (frame([1, 1, 2], [1, 2, 3]), "upsert", False),
            (frame([1, 3, 3], [9, 4, 5]), "upsert", False),
        ],
    ),
    "two source rows matching one stored row": (
        ["id"],
        None,
        [(frame([1, 2], [1, 2]), "upsert", False), (frame([2, 2], [7, 8]), "upsert", False)],
    ),
    "overwrite is a bulk insert": (
        ["id"],
        None,
        [(frame([1, 2], [1, 2]), "upsert", False), (frame([3, 3], [4, 5]), "upsert", True)],
    ),
    "operation insert appends": (
        ["id"],
        None,
        [(frame([1], [1]), "upsert", False), (frame([1, 1], [2, 3]), "insert", False)],
    ),
    "event time is part of the merge key": (
        ["id"],
        "et",
        [
            (frame([1, 1, 2], [1, 2, 3], [0, 1, 0]), "upsert", False),
            (frame([1, 1, 2], [7, 8, 9], [1, 2, 0]), "upsert", False),
        ],
    ),
    "the notebook's second backfill adds nothing": (
        ["id"],
        "et",
        [(frame([1, 2, 3], [1, 2, 3]), "upsert", False), (frame([1, 2, 3], [1, 2, 3]), "upsert", False)],
    ),
}


@pytest.mark.parametrize("case", sorted(WRITES))
def test_inserts_leave_the_rows_the_sdk_delta_writer_leaves(
    case: str, fs: FeatureStore, tmp_path: Path
) -> None:
    """Row 1: the default DELTA format keeps repeated primary key + event time rows."""
    primary_key, event_time, writes = WRITES[case]

    sdk = sdk_writes(tmp_path / "delta", primary_key, event_time, writes)
    ours = embedded_writes(fs, primary_key, event_time, writes)

    assert rows(ours, ["id", "v", "et"]) == rows(sdk, ["id", "v", "et"])


def test_the_course_iris_csv_keeps_its_repeated_flower(fs: FeatureStore, tmp_path: Path) -> None:
    """Row 1: 150 rows with one repeat stay 150 rows, on both sides."""
    from serverless_iris.helpers.contract import read_iris_csv
    from serverless_iris.paths import REPO_ROOT

    iris = read_iris_csv(str(REPO_ROOT / "assets" / "iris.csv")).assign(et=T0.as_unit("us"))
    keys = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    writes = [(iris, "upsert", False)]

    sdk = sdk_writes(tmp_path / "delta", keys, "et", writes)
    ours = embedded_writes(fs, keys, "et", writes)

    assert len(sdk) == len(ours) == 150
    assert rows(ours, list(iris.columns)) == rows(sdk, list(iris.columns))


def test_a_second_upsert_without_keys_fails_like_the_sdk_and_writes_nothing(
    fs: FeatureStore, tmp_path: Path
) -> None:
    """Row 8: no primary key and no event time leave the Delta merge without a condition."""
    writes = [(frame([1, 2], [1, 2]), "upsert", False), (frame([3], [3]), "upsert", False)]

    sdk = sdk_writes(tmp_path / "delta", [], None, writes)
    ours = embedded_writes(fs, [], None, writes)

    assert "Expected: an expression, found: EOF" in str(sdk)
    assert isinstance(ours, FeatureStoreException)
    assert "neither primary key nor event time" in str(ours)
    assert "Expected: an expression, found: EOF" in str(ours)
    stored = DeltaTable(str(tmp_path / "delta")).to_pandas()
    assert len(stored) == len(fs.get_feature_group("t", 1).read()) == 2


# ------------------------------------------------------------------- rows 2 and 9: time values

TIMES = [
    "2024-01-03",
    "2024/01/03",
    "20240103",
    "2024-01-03 10",
    "2024-01-03 10:11",
    "2024-01-03 10:11:12",
    "2024-01-03 10:11:12.123",
    "20240103T101112Z",
    "2024-01-03T10:11:12Z",
    "2024-01-03T10:11:12.123Z",
    "2024-01-03T10:11:12.123456Z",
    "2024-01-03T00:00:00",
    "2024-01-03T00:00:00+02:00",
    "2024-01-03 00:00:00+02:00",
    "Jan 3 2024",
    "2024-13-03",
    "",
    None,
    0,
    1704276672,
    1704276672123,
    170427667,
    True,
    False,
    np.int64(1704276672),
    1704276672.5,
    dt.date(2024, 1, 3),
    dt.datetime(2024, 1, 3, 10, 11, 12, 123456),
    dt.datetime(2024, 1, 3, 10, 11, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    pd.Timestamp("2024-01-03 10:11:12.123456"),
    pd.Timestamp("2024-01-03 10:11:12", tz="Europe/Oslo"),
]


@pytest.mark.parametrize("value", TIMES, ids=repr)
def test_time_values_convert_like_hopsworks_common_util(value: Any) -> None:
    """Rows 2 and 9: only the SDK's string formats; ints of up to 10 digits are seconds, longer ms."""
    assert outcome(epoch_ms, value) == outcome(_convert_event_time_to_timestamp, value)


def timed_view(fs: FeatureStore, event_times: list, kind: str = "timestamp") -> Any:
    data = pd.DataFrame({"id": range(len(event_times)), "y": [0] * len(event_times), "et": event_times})
    if kind == "bigint":
        data["et"] = data["et"].astype("int64")
    group = fs.create_feature_group("timed", version=1, primary_key=["id"], event_time="et")
    group.insert(data)
    return group, fs.create_feature_view("timed", group.select_all(), version=1, labels=["y"])


@pytest.mark.parametrize("text", ["2024-01-03T00:00:00", "2024-01-03T00:00:00+02:00", "Jan 3 2024"])
def test_time_strings_the_sdk_refuses_are_refused_everywhere(fs: FeatureStore, text: str) -> None:
    """Row 2: reads, batch data, training data, splits and filters raise the SDK's ValueError."""
    group, view = timed_view(fs, [T0])
    expected = outcome(_convert_event_time_to_timestamp, text)
    assert expected[:2] == ("error", "ValueError")
    calls = {
        "fg.read": lambda: group.read(start_time=text),
        "get_batch_data": lambda: view.get_batch_data(end_time=text),
        "training_data": lambda: view.training_data(start_time=text),
        "train_test_split": lambda: view.train_test_split(train_end=text),
        "filter": lambda: group.filter(group.et >= text),
    }
    for name, call in calls.items():
        assert outcome(call) == expected, name


def test_a_bigint_event_time_splits_like_the_sdk_python_engine(
    fs: FeatureStore, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 9: each bigint event time is read as seconds (up to 10 digits) or milliseconds, as
    ``Engine._time_series_split`` converts it with ``util._convert_event_time_to_timestamp``."""
    monkeypatch.setattr(embedded_training_dataset, "now_ms", lambda: NOW_MS)
    seconds = [1704276672, 1704276672 + 86400, 1704276672 + 3 * 86400]
    millis = [s * 1000 + 5 for s in seconds]
    group, view = timed_view(fs, seconds + millis + [4102444800], kind="bigint")  # last: 2100, after "now"
    data = group.read()
    split_at = 1704276672 + 2 * 86400
    time = TrainingDatasetSplit.TIME_SERIES_SPLIT
    splits = [
        TrainingDatasetSplit("train", time, start_time=1000, end_time=split_at * 1000),
        TrainingDatasetSplit("test", time, start_time=split_at * 1000, end_time=NOW_MS),
    ]

    sdk = engine._time_series_split(data, SimpleNamespace(splits=splits), "et")
    x_train, x_test, _, _ = view.train_test_split(train_end=split_at, primary_key=True)

    assert sorted(x_train["id"]) == sorted(sdk["train"]["id"]) == [0, 1, 3, 4]
    assert sorted(x_test["id"]) == sorted(sdk["test"]["id"]) == [2, 5]


@pytest.mark.parametrize("bound", [1704276672, 1704276672000, 1704276672123])
def test_an_epoch_bound_filters_a_timestamp_event_time_like_the_sdk(fs: FeatureStore, bound: int) -> None:
    """Row 9: ``hsfs.feature.Feature._get_filter_value`` turns an epoch int into whole UTC seconds."""
    from hsfs.feature import Feature as SdkFeature

    group, _ = timed_view(fs, [T0])

    assert (group.et >= bound).value == (SdkFeature("et", type="timestamp") >= bound).value


# -------------------------------------------------------------------- row 3: training at now


@pytest.mark.parametrize("event_time", ["et", None])
@pytest.mark.parametrize(("start", "end"), [(None, None), (1704276672000, None), (None, 1704276672000)])
def test_training_bounds_are_set_event_time(fs: FeatureStore, monkeypatch, event_time, start, end) -> None:
    """Row 3: ``FeatureViewEngine._set_event_time`` bounds a training read at 1 s and now."""
    monkeypatch.setattr(FeatureViewEngine, "_get_end_time", lambda self: NOW_MS)
    monkeypatch.setattr(embedded_training_dataset, "now_ms", lambda: NOW_MS)
    query = SimpleNamespace(_left_feature_group=SimpleNamespace(event_time=event_time))
    dataset = SimpleNamespace(splits=[], event_start_time=start, event_end_time=end)
    FeatureViewEngine.__new__(FeatureViewEngine)._set_event_time(SimpleNamespace(query=query), dataset)
    group = fs.create_feature_group("g", version=1, primary_key=["id"], event_time=event_time)
    group.insert(pd.DataFrame({"id": [1], "et": [T0]}))
    view = fs.create_feature_view("g", group.select_all(), version=1)

    meta = view._meta(embedded_training_dataset.IN_MEMORY, [], start, end)
    assert (meta["event_start_time"], meta["event_end_time"]) == (
        dataset.event_start_time,
        dataset.event_end_time,
    )


def test_training_data_and_time_splits_leave_out_rows_dated_in_the_future(fs: FeatureStore) -> None:
    """Row 3: rows after now (and before 1 s after the epoch) are not training data; batch data has them."""
    epoch, future = pd.Timestamp("1970-01-01 00:00:00.5"), pd.Timestamp("2100-01-01")
    _, view = timed_view(fs, [epoch, T0, pd.Timestamp("2022-06-01"), future])

    x, _ = view.training_data(primary_key=True)
    x_train, x_test, _, _ = view.train_test_split(train_end="2023-01-01", primary_key=True)

    assert sorted(x["id"]) == [1, 2]
    assert (sorted(x_train["id"]), sorted(x_test["id"])) == ([2], [1]), "train from 1 s, test until now"
    assert sorted(view.get_batch_data(primary_key=True)["id"]) == [0, 1, 2, 3]


# ------------------------------------------------------ rows 4 and 5, schema: the frame on the way in


def test_the_offline_type_of_each_dtype_is_the_sdk_python_engines(fs: FeatureStore, engine: Any) -> None:
    """Schema conversion: ``Engine._parse_schema_feature_group`` against the type the embedded store keeps."""
    columns = {
        "i8": np.array([1], dtype="int8"),
        "i16": np.array([1], dtype="int16"),
        "i32": np.array([1], dtype="int32"),
        "i64": np.array([1], dtype="int64"),
        "u8": np.array([1], dtype="uint8"),
        "u16": np.array([1], dtype="uint16"),
        "u32": np.array([1], dtype="uint32"),
        "u64": np.array([1], dtype="uint64"),
        "f16": np.array([1.0], dtype="float16"),
        "f32": np.array([1.0], dtype="float32"),
        "f64": np.array([1.0], dtype="float64"),
        "nullable_int": pd.array([1], dtype="Int64"),
        "nullable_bool": pd.array([None], dtype="boolean"),
        "flag": [True],
        "text": ["x"],
        "string_dtype": pd.array(["x"], dtype="string"),
        "category": pd.Categorical(["a"]),
        "raw": [b"x"],
        "stamp": [T0],
        "zoned": [pd.Timestamp("2024-01-03", tz="Europe/Oslo")],
        "day": [dt.date(2024, 1, 3)],
        "none": [None],
        "duration": [pd.Timedelta(1)],
        "python_ints": pd.Series([1], dtype=object),
    }
    for name, values in columns.items():
        data = pd.DataFrame({name: values})
        sdk = outcome(engine._parse_schema_feature_group, data, "DELTA")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = outcome(fs.create_feature_group(name, 1).insert, data)
        if sdk[0] == "ok":
            assert ours[0] == "ok", (name, ours)
            assert fs.get_feature_group(name, 1).features[0].type == sdk[1][0].type, name
        else:
            assert ours[:2] == sdk[:2] and ours[2].startswith(sdk[2]), name


@pytest.mark.parametrize(
    "values",
    [[1, "a"], [1.5, "a"], ["a", 1], [dt.date(2024, 1, 3), "a"], [True, 1.5]],
    ids=["int+str", "float+str", "str+int", "date+str", "bool+float"],
)
def test_a_mixed_type_column_fails_as_arrow_fails_and_nothing_is_written(
    fs: FeatureStore, engine: Any, values: list
) -> None:
    """Row 5: ``pa.Schema.from_pandas`` in ``Engine._parse_schema_feature_group`` raises Arrow's own error."""
    data = pd.DataFrame({"id": range(len(values)), "mixed": values})
    group = fs.create_feature_group("mixed", version=1, primary_key=["id"])

    sdk = outcome(engine._parse_schema_feature_group, data, "DELTA")
    ours = outcome(group.insert, data)

    assert sdk[0] == "error" and ours == sdk
    assert fs.get_feature_group("mixed", version=1) is None


def test_a_read_frame_has_arrow_dtypes_and_reinserts_where_the_sdk_accepts_it(
    fs: FeatureStore, engine: Any
) -> None:
    """Row 4: the Arrow reader's pandas defaults, and a re-insert judged by the SDK's own schema parse."""
    data = pd.DataFrame(
        {
            "id": [1, 2],
            "n": pd.array([1, None], dtype="Int64"),
            "flag": pd.array([True, None], dtype="boolean"),
            "day": [dt.date(2024, 1, 3), None],
            "count": [3, 4],
        }
    )
    group = fs.create_feature_group("typed", version=1, primary_key=["id"])
    group.insert(data)
    stored = {f.name: f.type for f in group.features}

    read = group.read().sort_values("id", ignore_index=True)

    assert (read["n"].dtype, read["flag"].dtype, read["day"].dtype) == (np.float64, object, object)
    assert read["flag"].tolist() == [True, None] and read["day"].tolist() == [dt.date(2024, 1, 3), None]
    parsed = {f.name: f.type for f in engine._parse_schema_feature_group(read, "DELTA")}
    assert {name for name in stored if parsed[name] != stored[name]} == {"n"}, "n reads as double"
    wrong = r"n \(expected type: 'bigint', derived from input: 'double'\)"
    with pytest.raises(FeatureStoreException, match=wrong):
        group.insert(read)
    group.insert(read.assign(n=read["n"].astype("Int64")))
    again = group.read().sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(again, read)


# ------------------------------------------------------------------------- row 13: warnings


def caught(call: Any) -> list[tuple[str, str]]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        call()
    return sorted((w.category.__name__, str(w.message)) for w in seen if w.category is not DeprecationWarning)


def test_column_name_and_precision_warnings_are_the_sdks(fs: FeatureStore, engine: Any) -> None:
    """Row 13: ``Engine._convert_to_default_dataframe`` and ``DeltaEngine._prepare_df_for_delta`` warnings."""
    small = np.array([1.0], dtype="float16")
    data = pd.DataFrame({"Flower Id": [1], "Petal": [2.0], "small": small, "et": [T0.as_unit("ns")]})

    def sdk() -> None:
        converted = engine._convert_to_default_dataframe(data)
        DeltaEngine._prepare_df_for_delta(converted)

    group = fs.create_feature_group("warned", version=1, primary_key=["flower_id"])
    ours = caught(lambda: group.insert(data))

    assert ours == caught(sdk)
    assert len(ours) == 4
    assert caught(
        lambda: fs.get_feature_group("warned", 1).insert(
            data.rename(columns=lambda c: c.lower().replace(" ", "_"))
        )
    ) == [w for w in ours if "Casting" in w[1]]


# ----------------------------------------------------------------------- random split sizes


@pytest.mark.parametrize("test_size", [0.1, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.7])
def test_random_split_sizes_are_the_sdks(engine: Any, test_size: float) -> None:
    """``Engine._random_split``: ``int(n * percentage)`` rows per split, the remainder to the last."""
    for n in range(0, 160, 7):
        splits = [
            TrainingDatasetSplit("train", TrainingDatasetSplit.RANDOM_SPLIT, percentage=1 - test_size),
            TrainingDatasetSplit("test", TrainingDatasetSplit.RANDOM_SPLIT, percentage=test_size),
        ]
        sdk = engine._random_split(pd.DataFrame({"x": range(n)}), SimpleNamespace(splits=splits, seed=None))
        ours = split_frame(pd.DataFrame({"x": range(n)}), random_splits(test_size), None)

        assert (len(ours["train"]), len(ours["test"])) == (len(sdk["train"]), len(sdk["test"])), n

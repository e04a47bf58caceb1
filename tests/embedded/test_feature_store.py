"""The embedded feature store keeps the Hopsworks API's promises on a real DuckDB file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_iris

from serverless_iris.embedded import db
from serverless_iris.embedded.feature_store import (
    FeatureStore,
    FeatureStoreException,
    VersionWarning,
)
from serverless_iris.paths import REPO_ROOT

MEASUREMENTS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
BACKFILL = pd.Timestamp("2020-01-01")
DAY = pd.Timedelta(days=1)


def iris_frame() -> pd.DataFrame:
    """The 150 iris rows as the feature pipeline backfills them (one row is duplicated)."""
    data = load_iris(as_frame=True)
    frame = data.data.set_axis(MEASUREMENTS, axis=1)
    frame["variety"] = [data.target_names[t].capitalize() for t in data.target]
    frame["event_time"] = BACKFILL
    return frame


def backfill_frame() -> pd.DataFrame:
    """The iris rows as the feature notebook inserts them: the repeated flower dropped first, since a
    Delta feature group keeps repeated keys (as on Hopsworks)."""
    return iris_frame().drop_duplicates(subset=MEASUREMENTS, ignore_index=True)


def flowers(n: int, start: pd.Timestamp = BACKFILL, step: pd.Timedelta = DAY) -> pd.DataFrame:
    """``n`` distinct flowers, one per ``step`` from ``start``."""
    frame = pd.DataFrame({m: [float(i) + k / 10 for i in range(n)] for k, m in enumerate(MEASUREMENTS)})
    frame["variety"] = ["Setosa", "Versicolor", "Virginica"] * (n // 3) + ["Setosa"] * (n % 3)
    frame["event_time"] = [start + i * step for i in range(n)]
    return frame


@pytest.fixture
def fs(tmp_path: Path) -> FeatureStore:
    return FeatureStore(tmp_path / "store")


def iris_group(fs: FeatureStore, name: str = "iris"):
    return fs.get_or_create_feature_group(
        name=name, version=1, description="Iris", primary_key=MEASUREMENTS, event_time="event_time"
    )


def sorted_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def run_python(code: str, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        text=True,
        capture_output=True,
        **kwargs,
    )


# ---------------------------------------------------------------------------------- insert


def test_backfill_keeps_the_repeated_flower_like_delta_and_the_notebook_drops_it(fs: FeatureStore) -> None:
    frame = iris_frame()
    assert frame.duplicated().sum() == 1

    job, report = iris_group(fs).insert(frame)

    assert (job, report) == (None, None)
    df = fs.get_feature_group("iris", version=1).read()
    # hopsworks 5.2.1: the first write to a DELTA group is a plain Delta write, repeats included
    assert len(df) == 150 and df.duplicated(MEASUREMENTS + ["event_time"]).sum() == 1
    assert list(df.columns) == MEASUREMENTS + ["variety", "event_time"]
    assert df["event_time"].dt.tz is None and (df["event_time"] == BACKFILL).all()

    iris_group(fs, "deduplicated").insert(backfill_frame())
    kept = fs.get_feature_group("deduplicated", version=1).read()
    assert len(kept) == 149 and not kept.duplicated(MEASUREMENTS + ["event_time"]).any()


def test_reinserting_the_same_frame_changes_nothing(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(backfill_frame())
    before = sorted_rows(fg.read())

    fg.insert(backfill_frame())

    pd.testing.assert_frame_equal(sorted_rows(fg.read()), before)


def test_reinserting_a_repeated_key_multiplies_it_like_a_delta_merge(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(iris_frame())

    fg.insert(iris_frame())

    # delta-rs merge: each of the two stored copies is matched by both source copies
    df = fg.read()
    assert len(df) == 152 and df.duplicated(MEASUREMENTS + ["event_time"], keep=False).sum() == 4


def test_delta_keeps_repeats_inside_a_frame_and_an_upsert_updates_every_match(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    frame = flowers(3)
    repeated = pd.concat([frame, frame.iloc[[0]].assign(variety="Virginica")], ignore_index=True)
    fg.insert(repeated)
    assert sorted(fg.read()["variety"]) == ["Setosa", "Versicolor", "Virginica", "Virginica"]

    fg.insert(frame.iloc[[0, 1]].assign(variety="Setosa"))

    df = fg.read()
    assert len(df) == 4
    assert df.groupby("sepal_length")["variety"].apply(sorted).to_dict() == {
        0.0: ["Setosa", "Setosa"],
        1.0: ["Setosa"],
        2.0: ["Virginica"],
    }
    fg.insert(repeated, overwrite=True)
    assert len(fg.read()) == 4, "overwrite=True is a bulk insert: repeats are kept"
    fg.insert(frame, operation="insert")
    assert len(fg.read()) == 7, "operation='insert' appends"


def test_last_occurrence_wins_inside_a_frame_and_across_inserts_in_a_hudi_group(fs: FeatureStore) -> None:
    fg = fs.get_or_create_feature_group(
        name="iris", version=1, primary_key=MEASUREMENTS, event_time="event_time", time_travel_format="HUDI"
    )
    frame = flowers(3)
    repeated = pd.concat([frame, frame.iloc[[0]].assign(variety="Virginica")], ignore_index=True)
    fg.insert(repeated)
    assert fg.read().set_index("sepal_length")["variety"].to_dict() == {
        0.0: "Virginica",
        1.0: "Versicolor",
        2.0: "Virginica",
    }

    fg.insert(frame.iloc[[1]].assign(variety="Setosa"))

    df = fg.read()
    assert len(df) == 3
    varieties = df.set_index("sepal_length")["variety"].to_dict()
    assert varieties == {0.0: "Virginica", 1.0: "Setosa", 2.0: "Virginica"}


def test_same_flower_at_another_event_time_is_another_row(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    frame = flowers(2)
    fg.insert(frame)

    fg.insert(frame.assign(event_time=frame["event_time"] + DAY * 100))

    assert len(fg.read()) == 4


def test_column_names_are_lower_cased_like_the_sdk(fs: FeatureStore) -> None:
    frame = flowers(3).rename(columns={"sepal_length": "Sepal_Length", "variety": "Variety"})
    fg = iris_group(fs)
    fg.insert(frame)

    assert list(fg.read().columns) == MEASUREMENTS + ["variety", "event_time"]
    assert list(frame.columns)[0] == "Sepal_Length", "the caller's frame is not changed"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda df: df.drop(columns="petal_width"), ["petal_width", "double", "missing"]),
        (lambda df: df.assign(colour="blue"), ["colour", "does not exist"]),
        (lambda df: df.assign(sepal_width=df.sepal_width.astype(str)), ["sepal_width", "double", "string"]),
        (lambda df: df.assign(event_time=df.event_time.astype(str)), ["event_time", "timestamp", "string"]),
    ],
    ids=["missing column", "extra column", "wrong type", "wrong timestamp type"],
)
def test_a_wrong_frame_names_the_column_and_writes_nothing(fs: FeatureStore, change, named) -> None:
    fg = iris_group(fs)
    fg.insert(backfill_frame())
    before = sorted_rows(fg.read())
    wrong = change(flowers(5, start=BACKFILL + DAY))

    with pytest.raises(FeatureStoreException) as error:
        fg.insert(wrong)

    for text in named:
        assert text in str(error.value)
    pd.testing.assert_frame_equal(sorted_rows(fg.read()), before)


def test_a_failed_first_insert_leaves_no_feature_group(fs: FeatureStore) -> None:
    frame = flowers(3)
    frame.loc[1, "sepal_width"] = None

    with pytest.raises(FeatureStoreException, match="null"):
        iris_group(fs).insert(frame)

    assert fs.get_feature_group("iris", version=1) is None


def test_first_insert_needs_the_primary_key_columns(fs: FeatureStore) -> None:
    with pytest.raises(ValueError, match="Primary key column petal_width is missing"):
        iris_group(fs).insert(flowers(3).drop(columns="petal_width"))


def test_operation_insert_appends_and_overwrite_replaces(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(flowers(3))

    fg.insert(flowers(3), operation="insert")
    assert len(fg.read()) == 6

    fg.insert(flowers(2), overwrite=True)
    assert len(fg.read()) == 2


def test_zone_aware_times_are_stored_as_utc_and_naive_times_round_trip(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    aware = flowers(2, start=pd.Timestamp("2024-06-01 12:00", tz="Europe/Stockholm"))
    fg.insert(aware)

    times = sorted(fg.read()["event_time"])
    assert times == [pd.Timestamp("2024-06-01 10:00"), pd.Timestamp("2024-06-02 10:00")]

    naive = fg.read()
    fg.insert(naive)
    pd.testing.assert_frame_equal(sorted_rows(fg.read()), sorted_rows(naive))


def test_write_options_that_only_steer_hopsworks_jobs_are_accepted(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(flowers(3), write_options={"wait_for_job": False}, wait=True)
    assert len(fg.read()) == 3

    with pytest.raises(NotImplementedError, match="spark"):
        fg.insert(flowers(3), write_options={"spark": {}})


# ----------------------------------------------------------------------------------- reads


def test_read_window_is_inclusive_start_exclusive_end(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(flowers(5))  # one flower per day from 2020-01-01

    window = fg.read(start_time=BACKFILL + DAY, end_time=BACKFILL + 3 * DAY)

    assert sorted(window["event_time"]) == [BACKFILL + DAY, BACKFILL + 2 * DAY]
    assert len(fg.read(start_time="2020-01-04")) == 2
    assert len(fg.read(end_time=pd.Timestamp("2020-01-02 01:00", tz="Europe/Stockholm"))) == 1


def test_read_window_needs_an_event_time(fs: FeatureStore) -> None:
    fg = fs.get_or_create_feature_group("plain", version=1, primary_key=["sepal_length"])
    fg.insert(flowers(3).drop(columns="event_time"))

    with pytest.raises(FeatureStoreException, match="no event_time column is defined"):
        fg.read(start_time=BACKFILL)
    assert len(fg.read()) == 3


def test_filters_combine_like_hsfs(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(backfill_frame())

    setosa_or_big = fg.filter((fg.variety == "Setosa") | (fg.get_feature("sepal_length") > 7.5)).read()
    small_setosa = fg.select_all().filter(fg.variety == "Setosa").filter(fg.sepal_length < 4.4).read()
    two_kinds = fg.select(["variety"]).filter(fg.variety.isin(["Setosa", "Virginica"])).read()

    assert set(setosa_or_big["variety"]) == {"Setosa", "Virginica"}
    assert (setosa_or_big["variety"] == "Virginica").sum() == 6
    assert (small_setosa["sepal_length"] < 4.4).all() and len(small_setosa) == 1
    assert list(two_kinds.columns) == ["variety"] and len(two_kinds) == 99
    assert len(fg.select_all().show(5)) == 5


def test_select_all_can_leave_out_keys_and_event_time(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(flowers(3))

    assert list(fg.select_all(include_event_time=False).read().columns) == MEASUREMENTS + ["variety"]
    assert list(fg.select_all(include_primary_key=False).read().columns) == ["variety", "event_time"]
    assert fg.get_feature("nope") is None


# --------------------------------------------------------------------------- feature views


def iris_view(fs: FeatureStore):
    fg = iris_group(fs)
    fg.insert(backfill_frame())
    return fs.get_or_create_feature_view(
        name="iris", version=1, description="Iris", labels=["variety"], query=fg.select_all()
    )


def test_train_test_split_sizes_and_label_separation(fs: FeatureStore) -> None:
    X_train, X_test, y_train, y_test = iris_view(fs).train_test_split(0.2)

    # hsfs Engine._random_split: int(149 * 0.8) = 119 train rows, the rest test
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (119, 30, 119, 30)
    # primary-key and event-time columns the view's query selects are features (as in hsfs)
    assert list(X_train.columns) == MEASUREMENTS + ["event_time"]
    assert list(y_train.columns) == ["variety"]
    assert set(X_train.index).isdisjoint(X_test.index)
    assert (X_train.index == y_train.index).all()
    assert set(y_train["variety"]) | set(y_test["variety"]) == {"Setosa", "Versicolor", "Virginica"}


def test_a_view_without_the_event_time_gives_the_four_measurements(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(backfill_frame())
    fv = fs.create_feature_view("iris_x", fg.select_except(["event_time"]), labels=["variety"])

    X_train, X_test, y_train, _ = fv.train_test_split(test_size=0.2)

    assert list(X_train.columns) == MEASUREMENTS
    assert len(fv.get_batch_data(start_time=BACKFILL)) == 149, "windows still use the group's event time"


def test_training_data_and_batch_data_columns(fs: FeatureStore) -> None:
    fv = iris_view(fs)

    X, y = fv.training_data()
    batch = fv.get_batch_data()

    assert (len(X), list(y.columns)) == (149, ["variety"])
    assert list(batch.columns) == MEASUREMENTS + ["event_time"]


def test_primary_key_and_event_time_flags_add_unselected_keys(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(flowers(3))
    fv = fs.create_feature_view("narrow", fg.select(["sepal_length", "variety"]), labels=["variety"])

    plain = fv.get_batch_data()
    flagged = fv.get_batch_data(primary_key=True, event_time=True)

    assert list(plain.columns) == ["sepal_length"]
    assert list(flagged.columns) == ["sepal_length"] + [
        f"local_iris_1_{name}" for name in ["sepal_width", "petal_length", "petal_width", "event_time"]
    ]


def test_batch_and_training_windows(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    fg.insert(flowers(6))
    fv = fs.create_feature_view("days", fg.select_all(), labels=["variety"])

    batch = fv.get_batch_data(start_time=BACKFILL + DAY, end_time=BACKFILL + 4 * DAY)
    X, y = fv.training_data(start_time=BACKFILL + 4 * DAY)
    X_train, X_test, _, _ = fv.train_test_split(train_start=BACKFILL, test_start=BACKFILL + 4 * DAY)

    assert sorted(batch["event_time"]) == [BACKFILL + i * DAY for i in (1, 2, 3)]
    assert "variety" not in batch.columns
    assert len(X) == len(y) == 2
    assert (len(X_train), len(X_test)) == (4, 2)


def test_view_windows_need_an_event_time(fs: FeatureStore) -> None:
    fg = fs.get_or_create_feature_group("plain", version=1, primary_key=["sepal_length"])
    fg.insert(flowers(3).drop(columns="event_time"))
    fv = fs.create_feature_view("plain", fg.select_all(), labels=["variety"])

    with pytest.raises(ValueError, match="event time column is not available"):
        fv.get_batch_data(start_time=BACKFILL)
    assert len(fv.get_batch_data()) == 3


def test_getters_return_none_when_missing_and_default_to_version_1(fs: FeatureStore) -> None:
    assert fs.get_feature_group("iris", version=1) is None
    assert fs.get_feature_view("iris", version=1) is None
    iris_view(fs)

    with pytest.warns(VersionWarning):
        assert fs.get_feature_group("iris").version == 1
    with pytest.warns(VersionWarning):
        assert fs.get_feature_view("iris").version == 1
    assert fs.get_feature_group("iris", version=2) is None


def test_view_persists_across_feature_store_objects(fs: FeatureStore, tmp_path: Path) -> None:
    fg = iris_group(fs)
    fg.insert(flowers(6))
    fs.get_or_create_feature_view("setosa", fg.filter(fg.variety == "Setosa"), version=1, labels=["variety"])

    fv = FeatureStore(tmp_path / "store").get_feature_view("setosa", version=1)

    assert (fv.name, fv.version, fv.labels) == ("setosa", 1, ["variety"])
    X, y = fv.training_data()
    assert len(X) == 2 and set(y["variety"]) == {"Setosa"}


def test_view_is_found_by_another_process(fs: FeatureStore, tmp_path: Path) -> None:
    iris_view(fs)

    result = run_python(
        """
        import sys
        from pathlib import Path
        from serverless_iris.embedded.feature_store import FeatureStore
        fv = FeatureStore(Path(sys.argv[1])).get_feature_view("iris", version=1)
        print(len(fv.get_batch_data()), fv.labels)
        """,
        str(tmp_path / "store"),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "149 ['variety']"


def test_versions_of_groups_and_views(fs: FeatureStore) -> None:
    fv = iris_view(fs)
    fg = fs.get_feature_group("iris", version=1)

    again = fs.get_or_create_feature_view("iris", fg.select(["variety"]), version=1)
    assert again.query.features[0].name == "sepal_length", "an existing view keeps its stored query"
    assert fs.create_feature_view("iris", fg.select_all(), labels=["variety"]).version == 2
    with pytest.raises(FeatureStoreException, match="already exists"):
        fs.create_feature_view("iris", fg.select_all(), version=fv.version)
    with pytest.raises(FeatureStoreException, match="already exists"):
        fs.create_feature_group("iris", version=1, primary_key=MEASUREMENTS)
    new = fs.create_feature_group("iris", primary_key=MEASUREMENTS, event_time="event_time")
    new.insert(flowers(2))
    assert new.version == 2 and len(fs.get_feature_group("iris", version=2).read()) == 2


def test_bad_view_definitions_are_refused(fs: FeatureStore) -> None:
    fg = iris_group(fs)
    with pytest.raises(FeatureStoreException, match="insert data"):
        fs.create_feature_view("early", fg.select_all(), labels=["variety"])
    fg.insert(flowers(3))
    with pytest.raises(FeatureStoreException, match="colour"):
        fs.create_feature_view("bad", fg.select_all(), labels=["colour"])


def test_sdk_parameters_without_an_embedded_meaning_are_refused(fs: FeatureStore) -> None:
    with pytest.raises(NotImplementedError, match="embedding_index"):
        fs.get_or_create_feature_group("iris", 1, embedding_index={"index": "knn"})
    fg = iris_group(fs)
    fg.insert(flowers(3))
    with pytest.raises(NotImplementedError, match="online"):
        fg.read(online=True)
    with pytest.raises(FeatureStoreException, match="dataframe_type"):
        fg.read(dataframe_type="spark")
    assert fg.read(dataframe_type="python")[0][:4] == [0.0, 0.1, 0.2, 0.3]


# ---------------------------------------------------------------------------- concurrency

WRITER = """
import sys
from pathlib import Path
import pandas as pd
from serverless_iris.embedded.feature_store import FeatureStore
store, first, batches = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
fg = FeatureStore(store).get_or_create_feature_group("load", 1, primary_key=["k"], event_time="event_time")
for b in range(batches):
    keys = list(range(first + 10 * b, first + 10 * b + 10))
    fg.insert(pd.DataFrame({"k": keys, "v": [k / 2 for k in keys], "event_time": pd.Timestamp("2021-01-01")}))
"""


def test_two_writer_processes_at_once_lose_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "IRIS_LOCK_TIMEOUT": "120"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store), str(first), "15"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for first in (0, 1000)
    ]
    for writer in writers:
        assert writer.wait(timeout=300) == 0, writer.stderr.read()

    df = FeatureStore(store).get_feature_group("load", version=1).read()

    assert len(df) == 300
    assert df["k"].is_unique and set(df["k"]) == set(range(150)) | set(range(1000, 1150))
    assert (df["v"] == df["k"] / 2).all()


def test_a_held_store_fails_with_a_clear_message_after_the_timeout(
    fs: FeatureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from serverless_iris.embedded import db\n"
            "with db.connect(Path(sys.argv[1])):\n    print('holding', flush=True); sys.stdin.read()",
            str(tmp_path / "store"),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        monkeypatch.setenv("IRIS_LOCK_TIMEOUT", "0.3")
        with pytest.raises(db.StoreBusyError, match="another run holds the store"):
            iris_group(fs).insert(flowers(3))
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)

    assert fs.get_feature_group("iris", version=1) is None

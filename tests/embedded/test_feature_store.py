"""The embedded feature store keeps the Hopsworks API's promises on a real DuckDB file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hopsworks_common.util import _convert_event_time_to_timestamp
from sklearn.datasets import load_iris

from serverless_iris.embedded import db, feature_store
from serverless_iris.embedded.feature import Feature
from serverless_iris.embedded.feature_store import (
    FeatureStore,
    FeatureStoreException,
    VersionWarning,
)
from serverless_iris.embedded.project import LocalProject
from serverless_iris.embedded.util import naive_utc
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


# ---------------------------------- create_feature_group arguments, refusals, no-version warnings


FRAME = pd.DataFrame({"k": [1, 2], "p": ["a", "b"], "f": [3, 4], "t": pd.Timestamp("2024-01-01")})


def _spec(group) -> dict:
    return {**group._spec(), "name": group.name, "version": group.version}


def test_every_create_feature_group_argument_is_saved_and_read_back(fs: FeatureStore) -> None:
    group = fs.create_feature_group(
        name="g",
        version=2,
        description="Described",
        online_enabled=True,
        time_travel_format="HUDI",
        partition_key=["p"],
        primary_key=["k"],
        foreign_key=["f"],
        event_time="t",
    )
    group.insert(FRAME)

    expected = {
        "name": "g",
        "version": 2,
        "description": "Described",
        "primary_key": ["k"],
        "event_time": "t",
        "partition_key": ["p"],
        "foreign_key": ["f"],
        "online_enabled": True,
        "time_travel_format": "HUDI",
        "features": [["k", "bigint"], ["p", "string"], ["f", "bigint"], ["t", "timestamp"]],
    }
    assert _spec(group) == expected
    assert _spec(fs.get_feature_group("g", version=2)) == expected


def test_create_feature_group_defaults(fs: FeatureStore) -> None:
    group = fs.create_feature_group(name="g", primary_key=["k"])
    group.insert(FRAME[["k", "f"]])

    saved = fs.get_feature_group("g", version=1)
    assert (saved.description, saved.online_enabled, saved.event_time, saved.partition_key) == (
        "",
        False,
        None,
        [],
    )
    assert saved._spec()["foreign_key"] == [] and saved._spec()["time_travel_format"] == "DELTA"


@pytest.mark.parametrize(
    "argument",
    [{"embedding_index": object()}, {"hudi_precombine_key": "k"}, {"features": [Feature("k", "bigint")]}],
    ids=lambda a: next(iter(a)),
)
def test_create_feature_group_refuses_what_the_stand_in_cannot_do(fs: FeatureStore, argument: dict) -> None:
    (name,) = argument
    with pytest.raises(NotImplementedError) as caught:
        fs.create_feature_group(name="g", version=1, **argument)
    assert str(caught.value).startswith(f"FeatureStore.create_feature_group({name}=...) is not supported")


def test_an_existing_version_cannot_be_created_again(fs: FeatureStore) -> None:
    fs.create_feature_group(name="g", version=1, primary_key=["k"]).insert(FRAME[["k"]])

    with pytest.raises(FeatureStoreException) as caught:
        fs.create_feature_group(name="g", version=1, primary_key=["k"])
    assert str(caught.value) == "Feature group 'g' version 1 already exists."


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda fs: fs.create_feature_group(name="Bad-Name", version=1), "Feature group"),
        (lambda fs: fs.get_or_create_feature_group(name="Bad-Name", version=1), "Feature group"),
        (lambda fs: fs.get_feature_group("Bad-Name", version=1), "Feature group"),
        (lambda fs: fs.get_feature_view("Bad-Name", version=1), "Feature view"),
    ],
)
def test_a_bad_name_is_refused_naming_what_it_names(fs: FeatureStore, call, kind: str) -> None:
    with pytest.raises(FeatureStoreException) as caught:
        call(fs)
    assert str(caught.value) == (
        f"{kind} name 'Bad-Name' is not valid: use lower-case letters, digits and underscores."
    )


@pytest.mark.parametrize("kind", ["group", "view"])
def test_no_version_warns_at_the_callers_line_and_means_1(fs: FeatureStore, kind: str) -> None:
    group = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    group.insert(FRAME[["k"]])
    fs.create_feature_view(name="g", version=1, query=group.select_all())
    get = fs.get_feature_group if kind == "group" else fs.get_feature_view

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = get("g")

    (warning,) = caught
    # attributed to a caller, not to the store's own line (mutmut's trampoline adds a frame of its own)
    assert warning.category is VersionWarning and warning.filename != feature_store.__file__
    assert str(warning.message) == f"No version provided for getting feature {kind} `g`, defaulting to `1`."
    assert found is not None and found.version == 1


def test_an_object_meeting_a_group_saved_with_other_keys_is_refused(fs: FeatureStore) -> None:
    early = fs.get_or_create_feature_group(name="g", version=1, primary_key=["k"], event_time="t")
    fs.get_or_create_feature_group(name="g", version=1, primary_key=["p"], event_time="t").insert(FRAME)

    with pytest.raises(FeatureStoreException) as caught:
        early.insert(FRAME)
    assert str(caught.value) == (
        "Feature group 'g' version 1 already exists with primary_key=['p'], not ['k']."
    )
    assert fs.get_feature_group("g", version=1).primary_key == ["p"]


def test_the_local_project_names_itself_and_its_store(tmp_path: Path) -> None:
    project = LocalProject(tmp_path / "store")

    assert (project.name, repr(project)) == ("local", f"LocalProject(store={str(tmp_path / 'store')!r})")
    assert project.get_model_registry()._store == tmp_path / "store"


def test_filters_narrow_a_query_together_and_refuse_what_is_not_one(fs: FeatureStore) -> None:
    group = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    group.insert(pd.DataFrame({"k": [1, 2, 3, 4], "f": [10, 20, 30, 40]}))
    query = group.select_all()

    narrowed = query.filter(group["k"] > 1).filter(group["f"] < 40)

    assert narrowed is query and sorted(narrowed.read()["k"]) == [2, 3]
    with pytest.raises(TypeError) as caught:
        query.filter("k > 1")
    assert str(caught.value) == "Operator `filter` expected type `Filter` or `Logic`, got `<class 'str'>`"


def test_show_refuses_the_online_store(fs: FeatureStore) -> None:
    group = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    group.insert(pd.DataFrame({"k": [1, 2, 3]}))

    assert len(group.select_all().show(2)) == 2
    with pytest.raises(NotImplementedError, match=r"^Query.show\(online=...\) is not supported"):
        group.select_all().show(2, online=True)


def test_the_feature_store_prints_its_store(tmp_path: Path) -> None:
    assert repr(FeatureStore(tmp_path)) == f"FeatureStore('local_featurestore', store={str(tmp_path)!r})"


def test_every_get_or_create_feature_group_argument_is_saved_and_an_existing_group_wins(
    fs: FeatureStore,
) -> None:
    arguments = {
        "description": "Described",
        "online_enabled": True,
        "time_travel_format": "HUDI",
        "partition_key": ["p"],
        "primary_key": ["k"],
        "foreign_key": ["f"],
        "event_time": "t",
    }
    fs.get_or_create_feature_group(name="g", version=3, **arguments).insert(FRAME)
    plain = fs.get_or_create_feature_group(name="h", version=1, primary_key=["k"])
    plain.insert(FRAME[["k"]])

    again = fs.get_or_create_feature_group(name="g", version=3, description="other", primary_key=["f"])
    assert {k: v for k, v in _spec(again).items() if k in arguments} == arguments
    assert again.version == 3 and len(again.read()) == 2
    saved = _spec(fs.get_feature_group("h", version=1))
    assert (saved["description"], saved["online_enabled"]) == ("", False)


@pytest.mark.parametrize(
    "argument",
    [{"embedding_index": object()}, {"hudi_precombine_key": "k"}, {"features": [Feature("k", "bigint")]}],
    ids=lambda a: next(iter(a)),
)
def test_get_or_create_feature_group_refuses_what_the_stand_in_cannot_do(
    fs: FeatureStore, argument: dict
) -> None:
    (name,) = argument
    with pytest.raises(NotImplementedError) as caught:
        fs.get_or_create_feature_group(name="g", version=1, **argument)
    assert str(caught.value).startswith(
        f"FeatureStore.get_or_create_feature_group({name}=...) is not supported"
    )


def test_a_view_keeps_its_name_and_description_and_exists_once(fs: FeatureStore) -> None:
    group = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    group.insert(FRAME[["k", "f"]])
    made = fs.create_feature_view(name="v", version=1, query=group.select_all(), description="Described")
    fs.get_or_create_feature_view(name="w", version=1, query=group.select_all(), description="Other")
    fs.create_feature_view(name="x", version=1, query=group.select_all())
    fs.get_or_create_feature_view(name="y", version=1, query=group.select_all())

    assert (made.name, made.description) == ("v", "Described")
    stored = [fs.get_feature_view(n, version=1) for n in ("v", "w", "x", "y")]
    assert [(v.name, v.description) for v in stored] == [
        ("v", "Described"),
        ("w", "Other"),
        ("x", ""),
        ("y", ""),
    ]
    with pytest.raises(FeatureStoreException) as caught:
        fs.create_feature_view(name="v", version=1, query=group.select_all())
    assert str(caught.value) == "Feature view 'v' version 1 already exists."
    with pytest.raises(FeatureStoreException) as caught:
        fs.create_feature_view(name="Bad-Name", version=1, query=group.select_all())
    assert str(caught.value) == (
        "Feature view name 'Bad-Name' is not valid: use lower-case letters, digits and underscores."
    )


def test_a_view_needs_a_query_on_a_saved_group(fs: FeatureStore) -> None:
    with pytest.raises(TypeError) as caught:
        fs.create_feature_view(name="v", version=1, query="SELECT *")
    assert str(caught.value) == "query must be a Query (e.g. fg.select_all()), got str."
    unsaved = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    with pytest.raises(FeatureStoreException) as caught:
        fs.create_feature_view(name="v", version=1, query=unsaved.select_all())
    assert str(caught.value) == (
        "Feature group 'g' is not saved yet: insert data before creating a feature view on it."
    )


def test_get_or_create_gives_a_new_group_the_expectation_suite_it_was_given(tmp_path: Path) -> None:
    """``get_or_create_feature_group(expectation_suite=...)`` creates the group with the suite, as
    ``create_feature_group`` does (hsfs passes it to the FeatureGroup it creates)."""
    from hsfs.expectation_suite import ExpectationSuite

    between = {"column": "sepal_length", "min_value": 4.5, "max_value": 8.0}
    suite = ExpectationSuite(
        expectation_suite_name="sizes",
        expectations=[
            {"expectation_type": "expect_column_values_to_be_between", "kwargs": between, "meta": {}}
        ],
        meta={},
    )
    fs = FeatureStore(tmp_path / "store")
    fg = fs.get_or_create_feature_group(
        name="flowers", version=1, primary_key=["id"], expectation_suite=suite
    )
    fg.insert(pd.DataFrame({"id": [1], "sepal_length": [5.0]}))

    saved = fs.get_feature_group("flowers", version=1).get_expectation_suite(ge_type=False)
    assert saved is not None and saved.expectation_suite_name == "sizes"


# ----------------------------------------------------- next versions, integer start and end times


MEASURES = ["a", "b"]


def _rows(times: list[pd.Timestamp]) -> pd.DataFrame:
    return pd.DataFrame({"a": [float(i) for i in range(len(times))], "b": 1.0, "event_time": times})


def _group(fs: FeatureStore, version: int | None):
    return fs.create_feature_group(name="g", version=version, primary_key=["a"], event_time="event_time")


# --- version numbering: highest + 1 ------------------------------------------------------------------


def test_the_next_feature_group_version_follows_the_highest_not_the_count(fs: FeatureStore) -> None:
    """Planted bug: ``count(*) + 1`` in ``util.next_version``: with 1 and 3 saved it gives 3 and appends."""
    for version in (1, 3):
        _group(fs, version).insert(_rows([pd.Timestamp("2024-01-01")]))

    created = _group(fs, None)
    created.insert(_rows([pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-02")]))

    assert created.version == 4
    assert [len(fs.get_feature_group("g", version=v).read()) for v in (1, 3, 4)] == [1, 1, 2]


def test_the_next_feature_view_version_follows_the_highest_not_the_count(fs: FeatureStore) -> None:
    group = _group(fs, 1)
    group.insert(_rows([pd.Timestamp("2024-01-01")]))
    for version in (1, 3):
        fs.create_feature_view(name="v", version=version, query=group.select(["a"]))

    created = fs.create_feature_view(name="v", query=group.select(["a", "b"]))

    assert created.version == 4
    assert [list(fs.get_feature_view("v", version=v).get_batch_data().columns) for v in (1, 3, 4)] == [
        ["a"],
        ["a"],
        ["a", "b"],
    ]


# --- integer epoch bounds ----------------------------------------------------------------------------

SECONDS = 1_704_067_200  # 2024-01-01T00:00:00Z, 10 digits
MILLIS = 1_704_153_600_000  # 2024-01-02T00:00:00Z, 13 digits


@pytest.mark.parametrize("value", [SECONDS, MILLIS, 86_400, 9_999_999_999, 10_000_000_000, 1])
def test_integer_times_are_read_in_the_sdks_unit(value: int) -> None:
    """Differential: the SDK's ``hopsworks_common.util._convert_event_time_to_timestamp`` gives epoch ms."""
    assert naive_utc(value) == pd.Timestamp(_convert_event_time_to_timestamp(value), unit="ms")


def test_integer_start_and_end_times_select_the_right_days(fs: FeatureStore) -> None:
    """Seconds and milliseconds bound the same window: a bug reading either in the other unit selects
    everything (ms read as s lies far in the future) or nothing (s read as ms lies in 1970)."""
    group = _group(fs, 1)
    days = [pd.Timestamp("2023-12-31"), pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    group.insert(_rows(days))

    window = group.read(start_time=SECONDS, end_time=MILLIS)
    view = fs.create_feature_view(name="w", version=1, query=group.select_all())
    batch = view.get_batch_data(start_time=SECONDS, end_time=MILLIS, event_time=True)

    for frame in (window, batch):
        assert list(frame["event_time"]) == [pd.Timestamp("2024-01-01")]

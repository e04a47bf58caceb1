"""Training datasets of a feature view against the installed 5.2.1 SDK's own code.

Where the SDK needs its backend, the backend's part is stubbed and the SDK's code runs around it:
``hsfs.feature_view.FeatureView``'s training methods with a feature-view engine that numbers each new
training dataset as the backend does (one sequence per view), ``Engine._random_split`` and
``Engine._time_series_split`` on the frame the query returned, ``Engine._read_pandas`` on the files a
materialised version wrote, ``hsfs.training_dataset.TrainingDataset`` with
``FeatureViewEngine._set_event_time`` for the splits a call asks for.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from sdk_support import flowers, sdk, view

from serverless_iris.embedded import db
from serverless_iris.embedded import training_dataset as embedded_training_dataset
from serverless_iris.embedded.feature_store import FeatureStore
from serverless_iris.embedded.model_registry import ModelRegistry
from serverless_iris.embedded.project import LocalProject
from serverless_iris.embedded.training_dataset import split_frame, split_spec
from serverless_iris.embedded.util import VersionWarning

NOW_MS = 1_800_000_000_000  # 2027-01-15: after every day below


def dated_view(fs: FeatureStore, n: int = 10):
    """A view of ``n`` flowers on consecutive days from 2024-01-01, the event time not selected."""
    fg = fs.get_or_create_feature_group("dated", version=1, primary_key=["id"], event_time="day")
    fg.insert(
        flowers(n).assign(day=pd.date_range("2024-01-01", periods=n, freq="D").astype("datetime64[us]"))
    )
    return fs.get_or_create_feature_view(
        "dated", version=1, query=fg.select_except(["day"]), labels=["variety"]
    )


# ------------------------------------------------------------- one version sequence, warnings, provenance


class SdkBackend:
    """The feature-view engine of an SDK ``FeatureView`` with its backend stubbed: every new training
    dataset, in memory or materialised, takes the view's next version (``_create_training_data_metadata``)."""

    def __init__(self) -> None:
        self.versions = 0

    def _new(self, td: Any) -> Any:
        self.versions += 1
        td._version, td._missing_mandatory_tags = self.versions, []
        return td

    def _create_training_dataset(self, fv: Any, td: Any, *args: Any, **kwargs: Any) -> tuple[Any, None]:
        return self._new(td), None

    def _get_training_data(self, fv: Any, *args: Any, splits=None, training_dataset_obj=None, **kwargs: Any):
        version = kwargs.get("training_dataset_version")
        td = SimpleNamespace(version=version, missing_mandatory_tags=[]) if version else None
        return td or self._new(training_dataset_obj), [None] * 2 * len(splits or [None])

    def _delete_training_data(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to delete: no training dataset of the stub has data."""


def sdk_view() -> Any:
    fv = sdk("hsfs.feature_view.FeatureView").__new__(sdk("hsfs.feature_view.FeatureView"))
    fv._name, fv._version, fv._featurestore_id = "flowers", 1, 1
    fv._last_accessed_training_dataset = None
    fv._feature_view_engine = SdkBackend()
    return fv


CALLS = [
    ("training_data", {}),
    ("create_training_data", {}),
    ("train_test_split", {"test_size": 0.2}),
    ("create_train_test_split", {"test_size": 0.2, "seed": 1}),
    ("train_validation_test_split", {"validation_size": 0.2, "test_size": 0.2}),
    ("create_train_validation_test_split", {"validation_size": 0.2, "test_size": 0.2, "seed": 1}),
    ("get_training_data", {"training_dataset_version": 2}),
    ("get_train_test_split", {"training_dataset_version": 3}),
    ("get_train_validation_test_split", {"training_dataset_version": 6}),
    ("get_training_data", {"training_dataset_version": 1}),
    ("delete_training_dataset", {"training_dataset_version": 1}),
    ("train_test_split", {"test_size": 0.5}),
    ("delete_all_training_datasets", {}),
]


def test_every_call_numbers_warns_and_sets_the_last_accessed_version_as_the_sdk(
    project: LocalProject,
) -> None:
    """One sequence for in-memory and materialised versions; ``Incremented version`` from each call
    that creates one; every call that creates or reads one sets the version ``Model.save`` records."""
    ours, theirs = view(project), sdk_view()
    for method, kwargs in CALLS:
        seen = {}
        for name, fv in (("ours", ours), ("sdk", theirs)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = getattr(fv, method)(**kwargs)
            version_warnings = [str(w.message) for w in caught if w.category.__name__ == "VersionWarning"]
            shape = len(result) if isinstance(result, tuple | list) else result
            seen[name] = (version_warnings, fv.get_last_accessed_training_dataset(), shape)
        assert seen["ours"] == seen["sdk"], method
    assert [t.version for t in ours.get_training_datasets()] == []


def test_versions_are_listed_in_one_sequence_with_their_type(project: LocalProject) -> None:
    fv = view(project)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fv.training_data()
        assert fv.create_training_data(data_format="csv", seed=5, description="all") == (2, None)
        fv.train_test_split(0.2)
        assert fv.create_train_test_split(test_size=0.2, seed=42) == (4, None)
    assert [(w.category, str(w.message)) for w in caught if w.category is VersionWarning] == [
        (VersionWarning, f"Incremented version to `{n}`.") for n in (1, 2, 3, 4)
    ]
    assert [
        (t.version, t.training_dataset_type, t.data_format, t.seed) for t in fv.get_training_datasets()
    ] == [
        (1, "IN_MEMORY_TRAINING_DATASET", "tsv", None),
        (2, "HOPSFS_TRAINING_DATASET", "csv", 5),
        (3, "IN_MEMORY_TRAINING_DATASET", "tsv", None),
        (4, "HOPSFS_TRAINING_DATASET", "parquet", 42),
    ]
    listed = fv.get_training_datasets()
    assert listed[0].location == "" and listed[1].location.endswith("local_Training_Datasets/flowers_1_2")
    assert [s["name"] for s in listed[3].splits] == ["train", "test"] and listed[3].train_split == "train"
    folders = sorted(p.name for p in project.store.glob("datasets/local_Training_Datasets/flowers_1_*"))
    assert folders == ["flowers_1_2", "flowers_1_4"]
    with pytest.raises(ValueError, match="Use `feature_view.get_training_data` instead"):
        fv.get_train_test_split(1)
    with pytest.raises(Exception, match=r"version 9 .* does not exist; existing versions: \[1, 2, 3, 4\]"):
        fv.get_train_test_split(9)


@pytest.mark.parametrize(
    ("create", "get"),
    [
        (lambda fv: fv.training_data(), lambda fv, v: fv.get_training_data(v)),
        (lambda fv: fv.create_training_data(), lambda fv, v: fv.get_training_data(v)),
        (lambda fv: fv.train_test_split(0.2), lambda fv, v: fv.get_train_test_split(v)),
        (lambda fv: fv.create_train_test_split(0.2), lambda fv, v: fv.get_train_test_split(v)),
        (
            lambda fv: fv.train_validation_test_split(0.2, 0.2),
            lambda fv, v: fv.get_train_validation_test_split(v),
        ),
        (
            lambda fv: fv.create_train_validation_test_split(0.2, 0.2),
            lambda fv, v: fv.get_train_validation_test_split(v),
        ),
    ],
)
def test_a_model_saved_after_any_training_call_records_its_version_and_schema(
    project: LocalProject, tmp_path: Path, create, get
) -> None:
    """The tutorials' pattern: create (or split in memory), read the version back, save the model."""
    fv = view(project)
    fv.training_data()  # version 1, so the version the pair below makes is not the first
    create(fv)
    get(fv, 2)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.txt").write_text("weights")
    mr = ModelRegistry(project.store)
    mr.python.create_model("iris", feature_view=fv).save(str(folder))
    saved = mr.get_model("iris", 1)
    assert saved.training_dataset_version == 2
    assert saved.model_schema == {
        "input_schema": {
            "columnar_schema": [{"name": "id", "type": "bigint"}, {"name": "sepal_length", "type": "double"}]
        },
        "output_schema": {"columnar_schema": [{"name": "variety", "type": "string"}]},
    }


def test_deleting_the_last_accessed_version_forgets_it(project: LocalProject) -> None:
    """``FeatureView.delete_training_dataset``: only the version it deletes is forgotten."""
    fv = view(project)
    fv.training_data()
    fv.training_data()
    fv.delete_training_dataset(1)
    assert fv.get_last_accessed_training_dataset() == 2
    fv.delete_training_dataset(2)
    assert fv.get_last_accessed_training_dataset() is None
    with pytest.raises(Exception, match="Training dataset version 2 does not exist"):
        fv.delete_training_dataset(2)


# ---------------------------------------------------------------- splits: the frames the SDK's code returns


class FixedRandom(random.Random):
    """``random.Random`` seeded alike wherever it is called without a seed, so that the SDK's split and
    the embedded one shuffle alike."""

    def __init__(self, seed: Any = None) -> None:
        super().__init__(13 if seed is None else seed)


def labelled(engine: Any, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return engine._split_labels(frame, ["variety"], "default")


def test_an_in_memory_random_split_returns_the_sdks_frames(
    project: LocalProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Engine._random_split`` on the frame the query returns: each split keeps the read's index and
    order, the dtypes are the read's. The query's rows are in canonical order already."""
    monkeypatch.setattr(random, "Random", FixedRandom)
    fv = view(project, 37)
    engine = sdk("hsfs.engine.python.Engine")()
    read = fv.query.read()
    td = SimpleNamespace(
        splits=[SimpleNamespace(name="train", percentage=0.8), SimpleNamespace(name="test", percentage=0.2)],
        seed=None,
    )
    theirs = engine._random_split(read.copy(), td)

    x_train, x_test, y_train, y_test = fv.train_test_split(test_size=0.2)

    for (x, y), split in (((x_train, y_train), "train"), ((x_test, y_test), "test")):
        sdk_x, sdk_y = labelled(engine, theirs[split])
        pd.testing.assert_frame_equal(x, sdk_x)
        pd.testing.assert_frame_equal(y, sdk_y)
    assert not x_test.index.equals(pd.RangeIndex(len(x_test)))  # the read's positions, not renumbered


def test_an_in_memory_time_split_returns_the_sdks_frames(
    fs: FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Engine._time_series_split`` on the frame the query returns, with the event time appended under
    its qualified name and dropped again, as ``_prepare_transform_split_df`` does when the view does not
    select it; the bounds ``TrainingDataset``/``_set_event_time`` give the splits."""
    monkeypatch.setattr(embedded_training_dataset, "now_ms", lambda: NOW_MS)
    fv = dated_view(fs)
    engine = sdk("hsfs.engine.python.Engine")()
    read = fv.query.read().assign(local_dated_1_day=fs.get_feature_group("dated", version=1).read()["day"])
    td = sdk_training_dataset(2, train_end="2024-01-08")
    theirs = engine._time_series_split(read.copy(), td, "local_dated_1_day", drop_event_time=True)

    x_train, x_test, y_train, y_test = fv.train_test_split(train_end="2024-01-08")

    for (x, y), split in (((x_train, y_train), "train"), ((x_test, y_test), "test")):
        sdk_x, sdk_y = labelled(engine, theirs[split])
        pd.testing.assert_frame_equal(x, sdk_x)
        pd.testing.assert_frame_equal(y, sdk_y)
    assert list(x_test.index) == [7, 8, 9]


def sdk_training_dataset(n_splits: int, **bounds: Any) -> Any:
    """The SDK's training dataset of a split call, its event-time defaults set as the engine sets them."""
    cls = sdk("hsfs.training_dataset.TrainingDataset")
    td = cls(
        name="v",
        version=None,
        data_format="tsv",
        featurestore_id=1,
        splits={},
        time_split_size=n_splits,
        **bounds,
    )
    engine = sdk("hsfs.core.feature_view_engine.FeatureViewEngine").__new__(
        sdk("hsfs.core.feature_view_engine.FeatureViewEngine")
    )
    engine._get_end_time = lambda: NOW_MS
    query = SimpleNamespace(_left_feature_group=SimpleNamespace(event_time="day"))
    engine._set_event_time(SimpleNamespace(query=query), td)
    return td


SPLIT_CALLS = [
    (2, {"test_size": 0.2}),
    (2, {"train_end": "2024-01-08"}),
    (2, {"test_start": "2024-01-08", "test_end": "2024-01-10"}),
    (2, {"test_size": 0.2, "train_end": "2024-01-08"}),
    (2, {"test_size": 0.3, "train_start": "2024-01-02", "test_start": "2024-01-08"}),
    (3, {"validation_size": 0.2, "test_size": 0.1}),
    (3, {"train_end": "2024-01-05", "validation_end": "2024-01-08"}),
    (3, {"validation_start": "2024-01-05", "test_start": "2024-01-08", "test_end": "2024-01-09"}),
    (3, {"validation_size": 0.2, "test_size": 0.1, "train_end": "2024-01-05", "test_start": "2024-01-08"}),
]


@pytest.mark.parametrize(("n_splits", "kwargs"), SPLIT_CALLS, ids=lambda v: str(v))
def test_the_splits_of_a_call_are_the_sdks(
    fs: FeatureStore, monkeypatch: pytest.MonkeyPatch, n_splits: int, kwargs: dict
) -> None:
    """Random by size, or by time when any bound is given: the time split wins over the sizes."""
    monkeypatch.setattr(embedded_training_dataset, "now_ms", lambda: NOW_MS)
    fv = dated_view(fs)
    sizes = {k: kwargs.pop(k) for k in ("test_size", "validation_size") if k in kwargs}
    td = sdk_training_dataset(n_splits, **sizes, **kwargs)
    theirs = [
        {"name": s.name, "type": s.split_type}
        | (
            {"percentage": s.percentage}
            if s.split_type == "RANDOM_SPLIT"
            else {"start_time": s.start_time, "end_time": s.end_time}
        )
        for s in td.splits
    ]
    windows = [
        (kwargs.get(f"{name}_start", ""), kwargs.get(f"{name}_end", ""))
        for name in ("train", "validation", "test")
    ]

    ours = split_spec(fv, n_splits, sizes.get("test_size"), sizes.get("validation_size"), *windows)

    assert ours == theirs


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"test_size": 0.2, "train_start": "2024-01-02"}, "'train' has no end"),
        ({"test_size": 0.2, "test_end": "2024-01-09"}, "'train' has no end"),
        ({"test_size": 0.2, "train_start": "2024-01-02", "test_end": "2024-01-09"}, "'train' has no end"),
    ],
)
def test_a_time_split_the_sdk_records_and_then_fails_on_is_refused_first(
    fs: FeatureStore, kwargs: dict, missing: str
) -> None:
    """``train_start`` with ``test_size`` makes the SDK's ``TrainingDataset`` a time split (it wins) with a
    missing split or bound; 5.2.1 records the version, then fails (``UnboundLocalError`` choosing the
    ``get`` method to name, or comparing with ``None``). Here the call is refused before anything."""
    fv = dated_view(fs)
    td = sdk_training_dataset(2, **kwargs)
    kinds = {s.split_type for s in td.splits}
    assert kinds == {"TIME_SERIES_SPLIT"}
    assert len(td.splits) < 2 or any(None in (s.start_time, s.end_time) for s in td.splits)

    with pytest.raises(ValueError, match=missing):
        fv.train_test_split(**kwargs)
    with pytest.raises(ValueError, match=missing):
        fv.create_train_test_split(**kwargs)
    assert fv.get_training_datasets() == []


def test_an_in_memory_version_read_back_runs_its_query_and_split_again(fs: FeatureStore) -> None:
    """``get_train_test_split`` of an in-memory version reads the view again (a random split of an
    in-memory version has no time bound and no seed); an unsplit one keeps its recorded end."""
    fv = dated_view(fs, 10)
    fv.train_test_split(test_size=0.2)
    fv.training_data()
    group = fs.get_feature_group("dated", version=1)
    group.insert(flowers(12).iloc[10:].assign(day=pd.Timestamp("2024-02-01")))

    x_train, x_test, _, _ = fv.get_train_test_split(1)
    x, _ = fv.get_training_data(2)

    assert sorted([*x_train["id"], *x_test["id"]]) == list(range(12))
    assert (len(x_train), len(x_test)) == (9, 3)
    assert sorted(x["id"]) == list(range(12))  # the rows are dated before the version's end (now)


def test_a_time_split_version_read_back_keeps_its_windows(fs: FeatureStore) -> None:
    fv = dated_view(fs, 10)
    fv.train_test_split(train_end="2024-01-08")
    fs.get_feature_group("dated", version=1).insert(
        flowers(12).iloc[10:].assign(day=pd.Timestamp("2024-01-03"))
    )

    x_train, x_test, _, _ = fv.get_train_test_split(1)

    assert sorted(x_train["id"]) == [0, 1, 2, 3, 4, 5, 6, 10, 11] and sorted(x_test["id"]) == [7, 8, 9]


# ------------------------------------------------------------------------- materialised versions read back


@pytest.mark.parametrize("data_format", ["parquet", "csv", "tsv"])
def test_a_materialised_split_reads_back_as_the_sdk_reads_its_files(
    project: LocalProject, data_format: str
) -> None:
    """``_read_from_storage_connector``: ``Engine._read_pandas`` of each split's file (text formats are
    not cast back), index renumbered, helper columns dropped unless asked for."""
    fs = project.get_feature_store()
    fv = dated_view(fs)
    version, job = fv.create_train_test_split(train_end="2024-01-08", data_format=data_format)
    engine = sdk("hsfs.engine.python.Engine")()
    folder = project.store / "datasets" / "local_Training_Datasets" / f"dated_1_{version}"

    x_train, x_test, y_train, y_test = fv.get_train_test_split(version, event_time=True)

    for (x, y), split in (((x_train, y_train), "train"), ((x_test, y_test), "test")):
        read = engine._read_pandas(data_format, str(folder / split / f"{split}.{data_format}"))
        sdk_x, sdk_y = labelled(engine, read)
        pd.testing.assert_frame_equal(x, sdk_x)
        pd.testing.assert_frame_equal(y, sdk_y)
    assert list(x_test.columns) == ["id", "sepal_length", "local_dated_1_day"]
    assert x_test.index.equals(pd.RangeIndex(3)) and job is None
    expected = "datetime64[us]" if data_format == "parquet" else "object"  # text: the file's strings
    assert str(x_test["local_dated_1_day"].dtype) == expected
    x_train, _, _, _ = fv.get_train_test_split(version)
    assert list(x_train.columns) == ["id", "sepal_length"]


def test_a_json_training_dataset_is_written_but_not_read_back_as_in_the_sdk(project: LocalProject) -> None:
    fv = view(project)
    version, _ = fv.create_training_data(data_format="json")
    with pytest.raises(TypeError) as sdk_error:
        sdk("hsfs.engine.python.Engine")()._read_pandas("json", "any.json")
    with pytest.raises(TypeError) as ours:
        fv.get_training_data(version)
    assert str(ours.value) == str(sdk_error.value)


@pytest.mark.parametrize("seed", [0, 1, 42, 2024])
@pytest.mark.parametrize(
    "sizes", [{"train": 0.8, "test": 0.2}, {"train": 0.5, "validation": 0.3, "test": 0.2}]
)
def test_split_assignment_is_the_sdks(seed: int, sizes: dict[str, float]) -> None:
    frame = flowers(37)
    ours = split_frame(frame, sizes, seed)
    splits = [SimpleNamespace(name=k, percentage=v) for k, v in sizes.items()]
    theirs = sdk("hsfs.engine.python.Engine")()._random_split(
        frame.copy(), SimpleNamespace(splits=splits, seed=seed)
    )
    for name in sizes:
        pd.testing.assert_frame_equal(ours[name], theirs[name])


def test_split_assignment_does_not_depend_on_the_read_order() -> None:
    frame = flowers(37)
    shuffled = frame.sample(frac=1, random_state=3)
    ours, again = (
        split_frame(frame, {"train": 0.7, "test": 0.3}, 5),
        split_frame(shuffled, {"train": 0.7, "test": 0.3}, 5),
    )
    assert sorted(ours["test"]["id"]) == sorted(again["test"]["id"])
    assert list(again["test"].index) == [i for i in shuffled.index if i in set(again["test"].index)]


def test_materialised_split_is_versioned_reproducible_and_read_back(project: LocalProject) -> None:
    fv = view(project)
    assert fv.create_train_test_split(test_size=0.2, seed=42) == (1, None)
    assert fv.create_train_test_split(test_size=0.2, seed=42, data_format="csv") == (2, None)
    x1_train, x1_test, y1_train, y1_test = fv.get_train_test_split(1)
    x2_train, x2_test, y2_train, y2_test = fv.get_train_test_split(2)
    assert (len(x1_train), len(x1_test)) == (40, 10)
    pd.testing.assert_frame_equal(x1_test, x2_test)
    pd.testing.assert_frame_equal(y1_train, y2_train)
    assert list(x1_train.columns) == ["id", "sepal_length"] and list(y1_train.columns) == ["variety"]
    files = sorted(p.relative_to(project.store) for p in project.store.glob("datasets/*/flowers_1_2/*/*"))
    assert [str(f).rsplit("/", 2)[-1] for f in files] == ["test.csv", "train.csv"]


def test_three_way_split_and_unsplit_data(project: LocalProject) -> None:
    fv = view(project)
    version, job = fv.create_train_validation_test_split(validation_size=0.2, test_size=0.2, seed=3)
    parts = fv.get_train_validation_test_split(version)
    assert [len(p) for p in parts] == [30, 10, 10, 30, 10, 10]
    assert set(parts[0]["id"]) | set(parts[1]["id"]) | set(parts[2]["id"]) == set(range(50))
    version, _ = fv.create_training_data(data_format="tsv", description="all of it")
    x, y = fv.get_training_data(version)
    assert len(x) == 50 and x["sepal_length"].dtype == "float64"
    with pytest.raises(ValueError, match="Use `feature_view.get_train_validation_test_split` instead"):
        fv.get_train_test_split(1)
    in_memory = fv.train_validation_test_split(validation_size=0.2, test_size=0.2)
    assert [len(p) for p in in_memory] == [30, 10, 10, 30, 10, 10]


def test_training_dataset_errors_and_deletes(project: LocalProject) -> None:
    fv = view(project)
    with pytest.raises(ValueError, match="Invalid split input"):
        fv.create_train_test_split(test_size=1.5)
    with pytest.raises(Exception, match="data_format 'avro' is not supported"):
        fv.create_training_data(data_format="avro")
    with pytest.raises(Exception, match="version 7 .* does not exist"):
        fv.get_training_data(7)
    fv.create_training_data()
    fv.create_training_data(data_format="csv", seed=5, description="second")
    listed = fv.get_training_datasets()
    assert [(t.version, t.data_format, t.seed, t.description) for t in listed] == [
        (1, "parquet", None, ""),
        (2, "csv", 5, "second"),
    ]
    fv.delete_training_dataset(1)
    with pytest.raises(Exception, match="version 1 .* does not exist"):
        fv.get_training_data(1)
    fv.get_training_data(2)
    fv.delete_all_training_datasets()
    assert not list(project.store.glob("datasets/*/flowers_1_*"))
    assert fv.get_training_datasets() == []


def test_versions_recorded_before_their_splits_were_kept_are_listed_not_read(project: LocalProject) -> None:
    """A store whose ``fs_training_datasets`` has no ``meta`` column (in-memory reads of an earlier
    serverless-iris): its versions stay in the sequence, and reading one says why it cannot be."""
    fv = view(project)
    with db.transaction(project.store) as con:
        con.execute(
            "CREATE TABLE fs_training_datasets (feature_view VARCHAR NOT NULL, view_version INTEGER NOT NULL,"
            " version INTEGER NOT NULL, created TIMESTAMP NOT NULL,"
            " PRIMARY KEY (feature_view, view_version, version))"
        )
        con.execute("INSERT INTO fs_training_datasets VALUES ('flowers', 1, 1, now()::TIMESTAMP)")

    fv.training_data()

    assert [(t.version, t.training_dataset_type) for t in fv.get_training_datasets()] == [
        (1, "IN_MEMORY_TRAINING_DATASET"),
        (2, "IN_MEMORY_TRAINING_DATASET"),
    ]
    with pytest.raises(
        Exception, match="recorded by an earlier serverless-iris, which did not keep its splits"
    ):
        fv.get_training_data(1)
    assert len(fv.get_training_data(2)[0]) == 50

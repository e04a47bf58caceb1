"""Training datasets of a feature view: versioned files in the store, split as hsfs's Python engine splits.

A training dataset version is the folder ``<store>/datasets/local_Training_Datasets/<view>_<view
version>_<version>/`` as Hopsworks lays it out, one file per split (``train/train.parquet``...) in the
requested ``data_format`` and ``training_dataset.json`` describing it. The folder is written under a
temporary name and renamed into place, so a version exists whole or not at all.

Random splits follow ``hsfs.engine.python.Engine._random_split``: each split gets
``int(n * percentage)`` rows, the last one the remainder, and the assignment is shuffled with
``random.Random(seed)``. Rows are put in a canonical order (by every column) first, so one seed
gives one split whatever order the store returns rows in. Time splits follow
``hsfs.training_dataset.TrainingDataset._set_time_splits`` (``[start, end)`` on the event time).
"""

from __future__ import annotations

import json
import math
import random
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from serverless_iris.embedded.dataset_api import DATASETS_DIR
from serverless_iris.embedded.feature import and_filters
from serverless_iris.embedded.util import (
    JOB_WRITE_OPTIONS,
    PROJECT_NAME,
    FeatureStoreException,
    check_dataframe_type,
    check_options,
    epoch_ms,
    require_defaults,
)

TRAIN, VALIDATION, TEST = "train", "validation", "test"  # hsfs.training_dataset_split.TrainingDatasetSplit
META_FILE = "training_dataset.json"
_WRITERS = {
    "parquet": lambda df, path: df.to_parquet(path, index=False),
    "csv": lambda df, path: df.to_csv(path, index=False),
    "tsv": lambda df, path: df.to_csv(path, index=False, sep="\t"),
    "json": lambda df, path: df.to_json(path, orient="records", lines=True, date_format="iso"),
}
_READERS = {
    "parquet": pd.read_parquet,
    "csv": pd.read_csv,
    "tsv": lambda path: pd.read_csv(path, sep="\t"),
    "json": lambda path: pd.read_json(path, orient="records", lines=True),
}
_GET_METHOD = {0: "get_training_data", 2: "get_train_test_split", 3: "get_train_validation_test_split"}


def random_splits(test_size: float | None, validation_size: float | None = None) -> dict[str, float]:
    """``TrainingDataset.__init__``: train gets what validation and test leave; unset splits are dropped."""
    sizes = {
        TRAIN: 1 - (validation_size or 0) - (test_size or 0),
        VALIDATION: validation_size,
        TEST: test_size,
    }
    return {name: size for name, size in sizes.items() if size is not None}


def time_splits(
    train: tuple[Any, Any], test: tuple[Any, Any], validation: tuple[Any, Any] | None = None
) -> dict[str, tuple[Any, Any]]:
    """``TrainingDataset._set_time_splits``: each split's ``(start, end)``, unset splits dropped."""
    windows = {TRAIN: train, VALIDATION: validation, TEST: test}
    return {name: window for name, window in windows.items() if window is not None}


def split_frame(df: pd.DataFrame, splits: dict[str, float], seed: int | None) -> dict[str, pd.DataFrame]:
    """``hsfs.engine.python.Engine._random_split`` on a frame put in canonical row order first."""
    if not math.isclose(sum(splits.values()), 1) or sum(p > 1 or p < 0 for p in splits.values()) > 1:
        raise ValueError("Sum of split ratios should be 1 and each values should be in range (0, 1)")
    df = df.sort_values(list(df.columns), kind="mergesort").reset_index(drop=True) if len(df.columns) else df
    groups: list[int] = []
    for i, percentage in enumerate(splits.values()):
        groups += [i] * int(len(df) * percentage)
    groups += [len(splits) - 1] * (len(df) - len(groups))
    random.Random(seed).shuffle(groups)
    assignment = pd.Series(groups, index=df.index)
    return {name: df[assignment == i] for i, name in enumerate(splits)}


def read_splits(
    view: Any, splits: dict[str, Any], start_time: Any, end_time: Any, extra_filter: Any, seed: int | None
) -> dict[str, pd.DataFrame]:
    """Each split's rows with labels and every helper column, as a training dataset stores them."""
    columns = view._columns(True, True, True)
    if not splits:
        window = view._window(*view._training_bounds(epoch_ms(start_time), epoch_ms(end_time)))
        return {"": view._query._read(columns, and_filters(window, extra_filter))}
    first = next(iter(splits.values()))
    if isinstance(first, tuple):
        # FeatureViewEngine._set_event_time: the train split starts at 1 s, the test split ends at now
        start, now = view._training_bounds(None, None)
        windows = {name: [epoch_ms(t) for t in window] for name, window in splits.items()}
        windows[TRAIN][0] = windows[TRAIN][0] or start
        windows[TEST][1] = windows[TEST][1] or now
        return {
            name: view._query._read(columns, and_filters(view._window(*window), extra_filter))
            for name, window in windows.items()
        }
    frame = view._query._read(
        columns, and_filters(view._window(epoch_ms(start_time), epoch_ms(end_time)), extra_filter)
    )
    return split_frame(frame, splits, seed)


def for_caller(
    view: Any, df: pd.DataFrame, primary_key: bool, event_time: bool, dataframe_type: str
) -> tuple:
    """Drop the helper columns not asked for, then ``(features, labels)`` as ``_split_labels`` gives them."""
    wanted = {alias for _, alias in view._columns(True, primary_key, event_time)}
    stored = {alias for _, alias in view._columns(True, True, True)}
    df = df.drop(columns=[c for c in df.columns if c in stored - wanted])
    return view._split_labels(df.reset_index(drop=True), dataframe_type)


class TrainingDataset:
    """One saved version, as ``FeatureView.get_training_datasets`` lists it (``TrainingDatasetBase``)."""

    def __init__(self, folder: Path, version: int, meta: dict) -> None:
        self._folder, self._version, self._meta = folder, version, meta

    def __repr__(self) -> str:
        return f"TrainingDataset({self.name!r}, {self._version})"

    name = property(lambda self: self._folder.name.rsplit("_", 1)[0], doc="The feature view's name_version.")
    version = property(lambda self: self._version)
    location = property(lambda self: str(self._folder))
    data_format = property(lambda self: self._meta["data_format"])
    description = property(lambda self: self._meta["description"])
    seed = property(lambda self: self._meta["seed"])


class TrainingDatasets:
    """The training-dataset versions of one feature view (``FeatureViewEngine`` create/get/delete)."""

    def __init__(self, store: Path, view: Any) -> None:
        self._root = Path(store) / DATASETS_DIR / f"{PROJECT_NAME}_Training_Datasets"
        self._view = view

    @property
    def _unsplit(self) -> str:
        """The folder of an unsplit dataset's one file, named for the view as Hopsworks names it."""
        return f"{self._view.name}_{self._view.version}"

    def _folder(self, version: int) -> Path:
        return self._root / f"{self._view.name}_{self._view.version}_{version}"

    def versions(self) -> list[int]:
        prefix = f"{self._view.name}_{self._view.version}_"
        found = []
        for meta in self._root.glob(f"{prefix}*/{META_FILE}"):
            suffix = meta.parent.name[len(prefix) :]
            if suffix.isdigit():
                found.append(int(suffix))
        return sorted(found)

    def listing(self) -> list[TrainingDataset]:
        return [
            TrainingDataset(self._folder(v), v, json.loads((self._folder(v) / META_FILE).read_text()))
            for v in self.versions()
        ]

    def create(
        self,
        frames: dict[str, pd.DataFrame],
        data_format: str | None,
        seed: int | None,
        description: str | None,
    ) -> tuple[int, None]:
        """Write the frames as the next version; returns ``(version, job)`` (no job runs here)."""
        data_format = str(data_format or "parquet").lower()
        if data_format not in _WRITERS:
            raise FeatureStoreException(
                f"data_format {data_format!r} is not supported by the embedded backend; use one of "
                f"{sorted(_WRITERS)}."
            )
        self._root.mkdir(parents=True, exist_ok=True)
        staging = self._root / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            sample = next(iter(frames.values()))
            for name, frame in frames.items():
                folder = staging / (name or self._unsplit)
                folder.mkdir()
                _WRITERS[data_format](frame, folder / f"{folder.name}.{data_format}")
            meta = {
                "data_format": data_format,
                "splits": [name for name in frames if name],
                "seed": seed,
                "description": description or "",
                "dtypes": {column: str(dtype) for column, dtype in sample.dtypes.items()},
            }
            (staging / META_FILE).write_text(json.dumps(meta, indent=1))
            return self._claim(staging), None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _claim(self, staging: Path) -> int:
        """Rename the staged folder to the next free version (retried if another writer took it)."""
        while True:
            version = max(self.versions(), default=0) + 1
            try:
                staging.rename(self._folder(version))
            except OSError:
                if not self._folder(version).exists():
                    raise
                continue
            print(f"Training dataset version {version} written to {self._folder(version)}", flush=True)
            return version

    def read(self, version: Any, n_splits: int) -> dict[str, pd.DataFrame]:
        """Every split of ``version``; the wrong ``get_*`` method for its splits is an error, as in hsfs."""
        folder = self._folder(version)
        meta_file = folder / META_FILE
        if isinstance(version, bool) or not isinstance(version, int) or not meta_file.exists():
            raise FeatureStoreException(
                f"Training dataset version {version!r} of feature view {self._view.name!r} version "
                f"{self._view.version} does not exist; existing versions: {self.versions()}."
            )
        meta = json.loads(meta_file.read_text())
        if len(meta["splits"]) != n_splits:  # FeatureViewEngine.get_training_data_from_version
            raise ValueError(
                "Incorrect `get` method is used. Use "
                f"`feature_view.{_GET_METHOD[len(meta['splits'])]}` instead."
            )
        names = meta["splits"] or [self._unsplit]
        read = _READERS[meta["data_format"]]
        frames = {}
        for name in names:
            frame = read(folder / name / f"{name}.{meta['data_format']}")
            frames[name] = _restore_types(frame, meta["dtypes"])
        return frames

    def delete(self, version: int | None = None) -> None:
        """One version, or all of them (``delete_training_dataset`` / ``delete_all_training_datasets``)."""
        for number in self.versions() if version is None else [version]:
            if not (self._folder(number) / META_FILE).exists():
                raise FeatureStoreException(f"Training dataset version {number!r} does not exist.")
            shutil.rmtree(self._folder(number))


def _restore_types(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Text formats lose column types; cast back as ``FeatureViewEngine._cast_columns`` does."""
    for column, dtype in dtypes.items():
        if column not in frame.columns or str(frame[column].dtype) == dtype:
            continue
        if dtype.startswith("datetime64"):
            frame[column] = pd.to_datetime(frame[column]).astype(dtype)
        else:
            frame[column] = frame[column].astype(dtype)
    return frame


def _check_create(method: Any, storage_connector: Any, location: Any, write_options: Any) -> None:
    require_defaults(method, storage_connector=storage_connector, location=location)
    check_options("write_options", write_options, JOB_WRITE_OPTIONS)


def _check_test_split(test_size: Any, train_end: Any, test_start: Any) -> None:
    """``hsfs.feature_view.FeatureView._validate_train_test_split``."""
    if not ((test_size and 0 < test_size < 1) or (train_end or test_start)):
        raise ValueError(
            "Invalid split input. You should specify either `test_size` or (`train_end` or `test_start`). "
            "`test_size` should be between 0 and 1 if specified."
        )


def _check_validation_split(
    validation_size: Any,
    test_size: Any,
    train_end: Any,
    validation_start: Any,
    validation_end: Any,
    test_start: Any,
) -> None:
    """``hsfs.feature_view.FeatureView._validate_train_validation_test_split``."""
    if not (
        (validation_size and 0 < validation_size < 1)
        and (test_size and 0 < test_size < 1)
        and (validation_size + test_size < 1)
        or ((train_end or validation_start) and (validation_end or test_start))
    ):
        raise ValueError(
            "Invalid split input. You should specify either (`validation_size` and `test_size`) or "
            "((`train_end` or `validation_start`) and (`validation_end` or `test_start`))."
            "`validation_size`, `test_size` and sum of `validationSize` and `testSize` should be between 0 "
            "and 1 if specified."
        )


def _three_splits(
    validation_size: Any, test_size: Any, train: tuple, validation: tuple, test: tuple
) -> dict[str, Any]:
    """Random splits when sizes are given, else time windows (a missing bound is the neighbour's)."""
    if validation_size and test_size:
        return random_splits(test_size, validation_size)
    (train_start, train_end), (validation_start, validation_end), (test_start, test_end) = (
        train,
        validation,
        test,
    )
    return time_splits(
        (train_start, train_end or validation_start),
        (test_start or validation_end, test_end),
        (validation_start or train_end, validation_end or test_start),
    )


def _two_splits(test_size: Any, train: tuple, test: tuple) -> dict[str, Any]:
    (train_start, train_end), (test_start, test_end) = train, test
    if train_end or test_start:
        return time_splits((train_start, train_end or test_start), (test_start or train_end, test_end))
    return random_splits(test_size)


class TrainingDataMixin:
    """Training-dataset methods of ``hsfs.feature_view.FeatureView``; mixed into the embedded view."""

    def _datasets(self) -> TrainingDatasets:
        return TrainingDatasets(self._query._feature_group._store, self)

    def _materialise(
        self, splits: dict, start: Any, end: Any, extra_filter: Any, fmt: Any, seed: Any, desc: Any
    ):
        frames = read_splits(self, splits, start, end, extra_filter, seed)
        return self._datasets().create(frames, fmt, seed, desc)

    def create_training_data(
        self,
        start_time: Any = "",
        end_time: Any = "",
        storage_connector: Any = None,
        location: str | None = "",
        description: str | None = "",
        extra_filter: Any = None,
        data_format: str | None = "parquet",
        coalesce: bool | None = False,
        seed: int | None = None,
        statistics_config: Any = None,
        write_options: dict[Any, Any] | None = None,
    ) -> tuple[int, None]:
        """Materialise the view's rows as the next training-dataset version: ``(version, job)``."""
        _check_create(TrainingDataMixin.create_training_data, storage_connector, location, write_options)
        return self._materialise({}, start_time, end_time, extra_filter, data_format, seed, description)

    def create_train_test_split(
        self,
        test_size: float | None = None,
        train_start: Any = "",
        train_end: Any = "",
        test_start: Any = "",
        test_end: Any = "",
        storage_connector: Any = None,
        location: str | None = "",
        description: str | None = "",
        extra_filter: Any = None,
        data_format: str | None = "parquet",
        coalesce: bool | None = False,
        seed: int | None = None,
        statistics_config: Any = None,
        write_options: dict[Any, Any] | None = None,
    ) -> tuple[int, None]:
        """Materialise a train/test split (random by ``test_size`` and ``seed``, or by event time)."""
        _check_create(TrainingDataMixin.create_train_test_split, storage_connector, location, write_options)
        _check_test_split(test_size, train_end, test_start)
        splits = _two_splits(test_size, (train_start, train_end), (test_start, test_end))
        return self._materialise(splits, None, None, extra_filter, data_format, seed, description)

    def create_train_validation_test_split(
        self,
        validation_size: float | None = None,
        test_size: float | None = None,
        train_start: Any = "",
        train_end: Any = "",
        validation_start: Any = "",
        validation_end: Any = "",
        test_start: Any = "",
        test_end: Any = "",
        storage_connector: Any = None,
        location: str | None = "",
        description: str | None = "",
        extra_filter: Any = None,
        data_format: str | None = "parquet",
        coalesce: bool | None = False,
        seed: int | None = None,
        statistics_config: Any = None,
        write_options: dict[Any, Any] | None = None,
    ) -> tuple[int, None]:
        """Materialise a train/validation/test split."""
        method = TrainingDataMixin.create_train_validation_test_split
        _check_create(method, storage_connector, location, write_options)
        _check_validation_split(
            validation_size, test_size, train_end, validation_start, validation_end, test_start
        )
        splits = _three_splits(
            validation_size,
            test_size,
            (train_start, train_end),
            (validation_start, validation_end),
            (test_start, test_end),
        )
        return self._materialise(splits, None, None, extra_filter, data_format, seed, description)

    def _get(self, version: Any, n_splits: int, primary_key: bool, event_time: bool, dataframe_type: Any):
        check_dataframe_type(dataframe_type)
        frames = self._datasets().read(version, n_splits)
        return [for_caller(self, df, primary_key, event_time, dataframe_type) for df in frames.values()]

    def get_training_data(
        self,
        training_dataset_version: int,
        read_options: dict[str, Any] | None = None,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str | None = "default",
    ) -> tuple[Any, Any]:
        """``X, y`` of a saved unsplit training dataset."""
        ((x, y),) = self._get(training_dataset_version, 0, primary_key, event_time, dataframe_type)
        return x, y

    def get_train_test_split(
        self,
        training_dataset_version: int,
        read_options: dict[Any, Any] | None = None,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str | None = "default",
    ) -> tuple[Any, Any, Any, Any]:
        """``X_train, X_test, y_train, y_test`` of a saved train/test split."""
        (x_train, y_train), (x_test, y_test) = self._get(
            training_dataset_version, 2, primary_key, event_time, dataframe_type
        )
        return x_train, x_test, y_train, y_test

    def get_train_validation_test_split(
        self,
        training_dataset_version: int,
        read_options: dict[str, Any] | None = None,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str = "default",
    ) -> tuple[Any, Any, Any, Any, Any, Any]:
        """``X_train, X_val, X_test, y_train, y_val, y_test`` of a saved three-way split."""
        (x_train, y_train), (x_val, y_val), (x_test, y_test) = self._get(
            training_dataset_version, 3, primary_key, event_time, dataframe_type
        )
        return x_train, x_val, x_test, y_train, y_val, y_test

    def train_validation_test_split(
        self,
        validation_size: float | None = None,
        test_size: float | None = None,
        train_start: Any = "",
        train_end: Any = "",
        validation_start: Any = "",
        validation_end: Any = "",
        test_start: Any = "",
        test_end: Any = "",
        description: str | None = "",
        extra_filter: Any = None,
        statistics_config: Any = None,
        read_options: dict[Any, Any] | None = None,
        spine: Any = None,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str | None = "default",
    ) -> tuple[Any, Any, Any, Any, Any, Any]:
        """The three-way split in memory (nothing is written; no seed, as in the SDK)."""
        require_defaults(
            TrainingDataMixin.train_validation_test_split, read_options=read_options, spine=spine
        )
        check_dataframe_type(dataframe_type)
        _check_validation_split(
            validation_size, test_size, train_end, validation_start, validation_end, test_start
        )
        splits = _three_splits(
            validation_size,
            test_size,
            (train_start, train_end),
            (validation_start, validation_end),
            (test_start, test_end),
        )
        frames = read_splits(self, splits, None, None, extra_filter, None)
        (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
            for_caller(self, frames[name], primary_key, event_time, dataframe_type)
            for name in (TRAIN, VALIDATION, TEST)
        )
        return x_train, x_val, x_test, y_train, y_val, y_test

    def delete_training_dataset(self, training_dataset_version: int) -> None:
        self._datasets().delete(training_dataset_version)

    def delete_all_training_datasets(self) -> None:
        self._datasets().delete()

    def get_training_datasets(self) -> list[TrainingDataset]:
        """Every saved version, oldest first."""
        return self._datasets().listing()

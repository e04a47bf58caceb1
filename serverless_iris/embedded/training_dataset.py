"""Training datasets of a feature view: one sequence of versions, in memory or written to files.

As on Hopsworks, every ``training_data``/``train_test_split``/``train_validation_test_split`` call
and every ``create_*`` call records the next version of the view's one sequence
(``FeatureViewEngine._get_training_data`` / ``_create_training_dataset`` ->
``_create_training_data_metadata``); the record (table ``fs_training_datasets``) keeps what the SDK's
``TrainingDataset`` keeps: its type, splits, event-time bounds, extra filter, seed and format. An
in-memory version read back by ``get_*`` runs its query again and splits again, as the SDK does. A
materialised version is also the folder ``<store>/datasets/local_Training_Datasets/<view>_<view
version>_<version>/`` as Hopsworks lays it out, one file per split (``train/train.parquet``...); the
folder is staged under a temporary name and renamed in the transaction that records the version, so
a version exists whole or not at all.

Random splits follow ``hsfs.engine.python.Engine._random_split``: each split gets
``int(n * percentage)`` rows, the last one the remainder, and the assignment is shuffled with
``random.Random(seed)``. Rows are given their split in a canonical order (by every column), so one seed
gives one split whatever order the store returns rows in; each split keeps the rows' order and index of
the read. Time splits follow ``hsfs.training_dataset.TrainingDataset._set_time_splits`` and
``Engine._time_series_split`` (``start <= event time < end``, one read filtered per split).
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from serverless_iris.embedded import db
from serverless_iris.embedded.dataset_api import DATASETS_DIR
from serverless_iris.embedded.feature import and_filters, filter_from_dict
from serverless_iris.embedded.util import (
    JOB_WRITE_OPTIONS,
    PROJECT_NAME,
    FeatureStoreException,
    VersionWarning,
    check_dataframe_type,
    check_options,
    epoch_ms,
    now_ms,
    require_defaults,
)

TRAIN, VALIDATION, TEST = "train", "validation", "test"  # hsfs.training_dataset_split.TrainingDatasetSplit
RANDOM_SPLIT, TIME_SERIES_SPLIT = "RANDOM_SPLIT", "TIME_SERIES_SPLIT"
IN_MEMORY, HOPSFS = "IN_MEMORY_TRAINING_DATASET", "HOPSFS_TRAINING_DATASET"  # TrainingDataset types
TABLE = "fs_training_datasets"
# hsfs.core.feature_view_engine.FeatureViewEngine._get_start_time: "minimum start time is 1 second"
FIRST_TRAINING_MS = 1000
_WRITERS = {
    "parquet": lambda df, path: df.to_parquet(path, index=False),
    "csv": lambda df, path: df.to_csv(path, index=False),
    "tsv": lambda df, path: df.to_csv(path, index=False, sep="\t"),
    "json": lambda df, path: df.to_json(path, orient="records", lines=True, date_format="iso"),
}
# hsfs.engine.python.Engine._read_pandas: the formats a training dataset is read back from, uncast
_READERS = {
    "parquet": pd.read_parquet,
    "csv": pd.read_csv,
    "tsv": lambda path: pd.read_csv(path, sep="\t"),
}
_logger = logging.getLogger(__name__)
_GET_METHOD = {0: "get_training_data", 2: "get_train_test_split", 3: "get_train_validation_test_split"}
# Which arguments set the bound of a time split that has none (TrainingDataset._set_time_splits)
_BOUND_ARGUMENTS = {
    (TRAIN, "end"): "train_end, validation_start or test_start",
    (VALIDATION, "start"): "validation_start or train_end",
    (VALIDATION, "end"): "validation_end or test_start",
    (TEST, "start"): "test_start, validation_end or train_end",
}


def random_splits(test_size: float | None, validation_size: float | None = None) -> dict[str, float]:
    """``TrainingDataset.__init__``: train gets what validation and test leave; unset splits are dropped."""
    sizes = {
        TRAIN: 1 - (validation_size or 0) - (test_size or 0),
        VALIDATION: validation_size,
        TEST: test_size,
    }
    return {name: size for name, size in sizes.items() if size is not None}


def split_frame(df: pd.DataFrame, splits: dict[str, float], seed: int | None) -> dict[str, pd.DataFrame]:
    """``hsfs.engine.python.Engine._random_split``, the rows assigned in canonical order.

    Each split keeps the rows' index and order of ``df``, as the SDK's boolean selection does.
    """
    if not math.isclose(sum(splits.values()), 1) or sum(p > 1 or p < 0 for p in splits.values()) > 1:
        raise ValueError("Sum of split ratios should be 1 and each values should be in range (0, 1)")
    canonical = df.sort_values(list(df.columns), kind="mergesort").index if len(df.columns) else df.index
    groups: list[int] = []
    for i, percentage in enumerate(splits.values()):
        groups += [i] * int(len(df) * percentage)
    groups += [len(splits) - 1] * (len(df) - len(groups))
    random.Random(seed).shuffle(groups)
    assignment = pd.Series(groups, index=canonical).reindex(df.index)
    return {name: df[assignment == i] for i, name in enumerate(splits)}


def split_spec(
    view: Any,
    n_splits: int,
    test_size: float | None = None,
    validation_size: float | None = None,
    train: tuple[Any, Any] = ("", ""),
    validation: tuple[Any, Any] = ("", ""),
    test: tuple[Any, Any] = ("", ""),
) -> list[dict[str, Any]]:
    """The splits ``hsfs.training_dataset.TrainingDataset`` builds, with the event-time defaults of
    ``FeatureViewEngine._set_event_time``: time splits when any bound is given (they win over sizes),
    else random splits by size.

    Where the SDK would record a time split missing a split or a bound and then fail on it
    (``UnboundLocalError`` or a ``TypeError`` comparing with ``None``), this refuses it first.
    """
    (train_start, train_end), (validation_start, validation_end), (test_start, test_end) = (
        [epoch_ms(t) for t in window] for window in (train, validation, test)
    )
    windows = {TRAIN: [train_start, train_end or validation_start or test_start]}
    if n_splits == 3:
        windows[VALIDATION] = [validation_start or train_end, validation_end or test_start]
    windows[TEST] = [test_start or validation_end or train_end, test_end]
    if not any(bound for window in windows.values() for bound in window):
        sizes = random_splits(test_size, validation_size)
        return [{"name": name, "type": RANDOM_SPLIT, "percentage": p} for name, p in sizes.items()]
    view._event_time_column()  # refuses a view whose feature group has no event time
    windows[TRAIN][0] = windows[TRAIN][0] or FIRST_TRAINING_MS
    windows[TEST][1] = windows[TEST][1] or now_ms()
    for name, (start, end) in windows.items():
        for side, bound in (("start", start), ("end", end)):
            if bound is None:
                raise ValueError(
                    f"The time split {name!r} has no {side}: give {_BOUND_ARGUMENTS[name, side]}. With a "
                    "time bound the splits are by event time and test_size/validation_size are not used."
                )
    return [
        {"name": name, "type": TIME_SERIES_SPLIT, "start_time": start, "end_time": end}
        for name, (start, end) in windows.items()
    ]


def _event_ms(column: pd.Series) -> pd.Series:
    """Each event time in epoch milliseconds, as ``_convert_event_time_to_timestamp`` converts a value."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return (column - pd.Timestamp(0)) // pd.Timedelta(milliseconds=1)
    if pd.api.types.is_integer_dtype(column):
        return column.where(column.astype(str).str.len() > 10, column * 1000)
    return pd.to_datetime(column).pipe(_event_ms)  # datetime.date objects


def compute_splits(view: Any, meta: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Each split's rows with labels and every helper column, read as ``meta`` records them."""
    columns = view._columns(True, True, True)
    fg = view._query._feature_group
    extra = filter_from_dict(meta["extra_filter"], {f.name: f for f in fg.features})
    window = view._window(meta["event_start_time"], meta["event_end_time"])
    frame = view._query._read(columns, and_filters(window, extra))
    splits = meta["splits"]
    if not splits:
        return {"": frame}
    if splits[0]["type"] == RANDOM_SPLIT:
        return split_frame(frame, {s["name"]: s["percentage"] for s in splits}, meta["seed"])
    event_ms = _event_ms(frame[dict(columns)[view._event_time_column()]])
    return {s["name"]: frame[(s["start_time"] <= event_ms) & (event_ms < s["end_time"])] for s in splits}


def for_caller(
    view: Any, df: pd.DataFrame, primary_key: bool, event_time: bool, dataframe_type: str
) -> tuple:
    """Drop the helper columns not asked for, then ``(features, labels)`` as ``_split_labels`` gives them."""
    wanted = {alias for _, alias in view._columns(True, primary_key, event_time)}
    stored = {alias for _, alias in view._columns(True, True, True)}
    df = df.drop(columns=[c for c in df.columns if c in stored - wanted])
    return view._split_labels(df, dataframe_type)


class TrainingDataset:
    """One version, as ``FeatureView.get_training_datasets`` lists it (``TrainingDatasetBase``)."""

    def __init__(self, name: str, version: int, location: str, meta: dict) -> None:
        self._name, self._version, self._location, self._meta = name, version, location, meta

    def __repr__(self) -> str:
        return f"TrainingDataset({self.name!r}, {self._version})"

    name = property(lambda self: self._name, doc="The feature view's name_version.")
    version = property(lambda self: self._version)
    location = property(lambda self: self._location, doc="The folder of a materialised version, else ''.")
    data_format = property(lambda self: self._meta["data_format"])
    description = property(lambda self: self._meta["description"])
    seed = property(lambda self: self._meta["seed"])
    training_dataset_type = property(lambda self: self._meta["type"])
    event_start_time = property(lambda self: self._meta["event_start_time"])
    event_end_time = property(lambda self: self._meta["event_end_time"])
    train_split = property(lambda self: TRAIN if self._meta["splits"] else None)
    splits = property(lambda self: [dict(s) for s in self._meta["splits"]], doc="As the SDK's to_dict.")


class TrainingDatasets:
    """The training-dataset versions of one feature view (``FeatureViewEngine`` create/get/delete)."""

    def __init__(self, store: Path, view: Any) -> None:
        self._store = Path(store)
        self._root = self._store / DATASETS_DIR / f"{PROJECT_NAME}_Training_Datasets"
        self._view = view

    @property
    def _name(self) -> str:
        """The training datasets' name, and the folder of an unsplit one's file, as Hopsworks names them."""
        return f"{self._view.name}_{self._view.version}"

    def _folder(self, version: int) -> Path:
        return self._root / f"{self._name}_{version}"

    def _rows(self, version: int | None = None) -> list[tuple[int, dict | None]]:
        if not db.db_path(self._store).exists():
            return []
        key = [self._view.name, self._view.version]
        with db.connect(self._store) as con:
            if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [TABLE]).fetchall():
                return []
            _ensure_table(con)
            sql = f"SELECT version, meta FROM {TABLE} WHERE feature_view = ? AND view_version = ?"
            if version is not None:
                sql, key = sql + " AND version = ?", [*key, version]
            rows = con.execute(sql + " ORDER BY version", key).fetchall()
        return [(number, json.loads(meta) if meta else None) for number, meta in rows]

    def versions(self) -> list[int]:
        return [number for number, _ in self._rows()]

    def listing(self) -> list[TrainingDataset]:
        return [self._entry(number, meta) for number, meta in self._rows()]

    def _entry(self, version: int, meta: dict | None) -> TrainingDataset:
        meta = meta or _LEGACY
        location = str(self._folder(version)) if meta["type"] == HOPSFS else ""
        return TrainingDataset(self._name, version, location, meta)

    def record(self, meta: dict[str, Any], frames: dict[str, pd.DataFrame] | None = None) -> int:
        """Record ``meta`` as the next version, writing ``frames`` to its folder when given."""
        staging = None if frames is None else self._stage(frames, meta["data_format"])
        try:
            with db.transaction(self._store) as con:
                _ensure_table(con)
                key = [self._view.name, self._view.version]
                (version,) = con.execute(
                    f"SELECT coalesce(max(version), 0) + 1 FROM {TABLE} "
                    "WHERE feature_view = ? AND view_version = ?",
                    key,
                ).fetchone()
                created = datetime.now(timezone.utc).replace(tzinfo=None)
                con.execute(
                    f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)", [*key, version, created, json.dumps(meta)]
                )
                if staging is not None:
                    staging.rename(self._folder(version))
        except BaseException:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            raise
        if staging is not None:
            print(f"Training dataset version {version} written to {self._folder(version)}", flush=True)
        return version

    def _stage(self, frames: dict[str, pd.DataFrame], data_format: str) -> Path:
        self._root.mkdir(parents=True, exist_ok=True)
        staging = self._root / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            for name, frame in frames.items():
                folder = staging / (name or self._name)
                folder.mkdir()
                _WRITERS[data_format](frame, folder / f"{folder.name}.{data_format}")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return staging

    def meta(self, version: Any, n_splits: int) -> dict[str, Any]:
        """A version's record; a missing version, or the wrong ``get_*`` method for its splits, is an
        error (``FeatureViewEngine._get_training_data``)."""
        rows = [] if isinstance(version, bool) or not isinstance(version, int) else self._rows(version)
        if not rows:
            raise FeatureStoreException(
                f"Training dataset version {version!r} of feature view {self._view.name!r} version "
                f"{self._view.version} does not exist; existing versions: {self.versions()}."
            )
        meta = rows[0][1]
        if meta is None:
            raise FeatureStoreException(
                f"Training dataset version {version} was recorded by an earlier serverless-iris, which did "
                "not keep its splits, so it cannot be read back; create a new version."
            )
        if len(meta["splits"]) != n_splits:
            raise ValueError(
                "Incorrect `get` method is used. Use "
                f"`feature_view.{_GET_METHOD[len(meta['splits'])]}` instead."
            )
        return meta

    def read(self, version: int, meta: dict[str, Any]) -> dict[str, pd.DataFrame]:
        """Every split of a materialised version from its files (``Engine._read_pandas``, uncast)."""
        data_format = meta["data_format"]
        if data_format not in _READERS:
            raise TypeError(
                f"{data_format} training dataset format is not supported to read as pandas dataframe."
            )
        names = [s["name"] for s in meta["splits"]] or [self._name]
        folder = self._folder(version)
        return {name: _READERS[data_format](folder / name / f"{name}.{data_format}") for name in names}

    def delete(self, version: int | None = None) -> None:
        """One version, or all of them (``delete_training_dataset`` / ``delete_all_training_datasets``)."""
        if version is not None and not self._rows(version):
            raise FeatureStoreException(f"Training dataset version {version!r} does not exist.")
        numbers = self.versions() if version is None else [version]
        with db.transaction(self._store) as con:
            con.execute(
                f"DELETE FROM {TABLE} WHERE feature_view = ? AND view_version = ? AND version IN "
                f"({', '.join('?' * len(numbers)) or 'NULL'})",
                [self._view.name, self._view.version, *numbers],
            )
        for number in numbers:
            shutil.rmtree(self._folder(number), ignore_errors=True)


# What a version recorded before the record kept its splits is listed as
_LEGACY = {
    "type": IN_MEMORY,
    "data_format": "tsv",
    "splits": [],
    "seed": None,
    "description": "",
    "event_start_time": None,
    "event_end_time": None,
}


def _ensure_table(con: Any) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (feature_view VARCHAR NOT NULL, view_version INTEGER NOT NULL, "
        "version INTEGER NOT NULL, created TIMESTAMP NOT NULL, meta VARCHAR, "
        "PRIMARY KEY (feature_view, view_version, version))"
    )
    # stores made before the record kept each version's splits have no meta column
    con.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS meta VARCHAR")


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


class TrainingDataMixin:
    """Training-dataset methods of ``hsfs.feature_view.FeatureView``; mixed into the embedded view (whose
    ``__init__`` sets ``_last_accessed_training_dataset``)."""

    def _datasets(self) -> TrainingDatasets:
        return TrainingDatasets(self._query._feature_group._store, self)

    def get_last_accessed_training_dataset(self) -> int | None:
        """The training dataset version the last training-data call of this object created or read:
        what ``Model.save(feature_view=...)`` records."""
        return self._last_accessed_training_dataset

    def update_last_accessed_training_dataset(self, version: int | None) -> None:
        if self._last_accessed_training_dataset is not None:
            _logger.info(
                "Provenance cached data - overwriting last accessed/created training dataset from "
                f"{self._last_accessed_training_dataset} to {version}."
            )
        self._last_accessed_training_dataset = version

    def _meta(
        self,
        kind: str,
        splits: list[dict[str, Any]],
        start_time: Any = None,
        end_time: Any = None,
        extra_filter: Any = None,
        data_format: Any = "tsv",
        seed: int | None = None,
        description: str | None = "",
    ) -> dict[str, Any]:
        """The record of a new version, as ``TrainingDataset`` plus ``_set_event_time`` make it: an
        unsplit read of a view with an event time starts at 1 s and ends now."""
        start, end = epoch_ms(start_time), epoch_ms(end_time)
        if not splits and self._query._feature_group.event_time is not None:
            start, end = start or FIRST_TRAINING_MS, end or now_ms()
        return {
            "type": kind,
            "data_format": data_format,
            "splits": splits,
            "event_start_time": start,
            "event_end_time": end,
            "seed": seed,
            "description": description or "",
            "extra_filter": extra_filter._to_dict() if extra_filter is not None else None,
        }

    def _incremented(self, version: int) -> None:
        """What every call that creates a version does after it (``FeatureView.training_data`` ...)."""
        warnings.warn(f"Incremented version to `{version}`.", VersionWarning, stacklevel=1)
        self.update_last_accessed_training_dataset(version)

    def _outputs(
        self,
        meta: dict[str, Any],
        frames: dict[str, pd.DataFrame],
        primary_key: bool,
        event_time: bool,
        dataframe_type: str,
    ) -> tuple:
        """``(X, y)`` unsplit, else every split's features, then every split's labels."""
        pairs = [for_caller(self, df, primary_key, event_time, dataframe_type) for df in frames.values()]
        if not meta["splits"]:
            return pairs[0]
        return tuple(x for x, _ in pairs) + tuple(y for _, y in pairs)

    def _in_memory(
        self, meta: dict[str, Any], primary_key: bool, event_time: bool, dataframe_type: Any
    ) -> tuple:
        check_dataframe_type(dataframe_type)
        frames = compute_splits(self, meta)
        self._incremented(self._datasets().record(meta))
        return self._outputs(meta, frames, primary_key, event_time, dataframe_type)

    def _materialise(self, meta: dict[str, Any]) -> tuple[int, None]:
        data_format = str(meta["data_format"] or "parquet").lower()
        if data_format not in _WRITERS:
            raise FeatureStoreException(
                f"data_format {data_format!r} is not supported by the embedded backend; use one of "
                f"{sorted(_WRITERS)}."
            )
        meta["data_format"] = data_format
        version = self._datasets().record(meta, compute_splits(self, meta))
        self._incremented(version)
        return version, None

    def training_data(
        self,
        start_time: Any = None,
        end_time: Any = None,
        description: str | None = "",
        extra_filter: Any = None,
        statistics_config: Any = None,
        read_options: dict[Any, Any] | None = None,
        spine: Any = None,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str | None = "default",
        **kwargs: Any,
    ) -> tuple[Any, Any]:
        """``X, y`` over ``[start_time, end_time)``, bounded at now, recorded as the next in-memory
        version; ``y`` is None for a view without labels.

        ``statistics_config`` has no effect here; the embedded views define no training helper columns.
        """
        require_defaults(TrainingDataMixin.training_data, read_options=read_options, spine=spine)
        reject_unknown_kwargs(kwargs, "training_data")
        meta = self._meta(IN_MEMORY, [], start_time, end_time, extra_filter, description=description)
        return self._in_memory(meta, kwargs.get("primary_keys") or primary_key, event_time, dataframe_type)

    def train_test_split(
        self,
        test_size: float | None = None,
        train_start: Any = "",
        train_end: Any = "",
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
        **kwargs: Any,
    ) -> tuple[Any, Any, Any, Any]:
        """``X_train, X_test, y_train, y_test`` in memory: by event time when any time bound is given,
        else a random ``test_size`` split (no seed, as in the SDK)."""
        require_defaults(TrainingDataMixin.train_test_split, read_options=read_options, spine=spine)
        reject_unknown_kwargs(kwargs, "train_test_split")
        _check_test_split(test_size, train_end, test_start)
        splits = split_spec(self, 2, test_size, None, (train_start, train_end), test=(test_start, test_end))
        meta = self._meta(IN_MEMORY, splits, extra_filter=extra_filter, description=description)
        return self._in_memory(meta, kwargs.get("primary_keys") or primary_key, event_time, dataframe_type)

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
        """The three-way split in memory (no seed, as in the SDK)."""
        require_defaults(
            TrainingDataMixin.train_validation_test_split, read_options=read_options, spine=spine
        )
        _check_validation_split(
            validation_size, test_size, train_end, validation_start, validation_end, test_start
        )
        splits = split_spec(
            self,
            3,
            test_size,
            validation_size,
            (train_start, train_end),
            (validation_start, validation_end),
            (test_start, test_end),
        )
        meta = self._meta(IN_MEMORY, splits, extra_filter=extra_filter, description=description)
        return self._in_memory(meta, primary_key, event_time, dataframe_type)

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
        meta = self._meta(HOPSFS, [], start_time, end_time, extra_filter, data_format, seed, description)
        return self._materialise(meta)

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
        splits = split_spec(self, 2, test_size, None, (train_start, train_end), test=(test_start, test_end))
        meta = self._meta(HOPSFS, splits, None, None, extra_filter, data_format, seed, description)
        return self._materialise(meta)

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
        splits = split_spec(
            self,
            3,
            test_size,
            validation_size,
            (train_start, train_end),
            (validation_start, validation_end),
            (test_start, test_end),
        )
        meta = self._meta(HOPSFS, splits, None, None, extra_filter, data_format, seed, description)
        return self._materialise(meta)

    def _get(self, version: Any, n_splits: int, primary_key: bool, event_time: bool, dataframe_type: Any):
        """A saved version read back: a materialised one from its files, an in-memory one by running its
        query and splits again (``FeatureViewEngine._get_training_data`` with a version)."""
        check_dataframe_type(dataframe_type)
        datasets = self._datasets()
        meta = datasets.meta(version, n_splits)
        frames = datasets.read(version, meta) if meta["type"] == HOPSFS else compute_splits(self, meta)
        self.update_last_accessed_training_dataset(version)
        return self._outputs(meta, frames, primary_key, event_time, dataframe_type)

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
        return self._get(training_dataset_version, 0, primary_key, event_time, dataframe_type)

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
        return self._get(training_dataset_version, 2, primary_key, event_time, dataframe_type)

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
        return self._get(training_dataset_version, 3, primary_key, event_time, dataframe_type)

    def delete_training_dataset(self, training_dataset_version: int) -> None:
        self._datasets().delete(training_dataset_version)
        if self._last_accessed_training_dataset == training_dataset_version:
            self.update_last_accessed_training_dataset(None)

    def delete_all_training_datasets(self) -> None:
        self._datasets().delete()
        if self._last_accessed_training_dataset is not None:
            self.update_last_accessed_training_dataset(None)

    def get_training_datasets(self) -> list[TrainingDataset]:
        """Every version, in memory or materialised, oldest first."""
        return self._datasets().listing()


def reject_unknown_kwargs(kwargs: dict[str, Any], method: str) -> None:
    """``hsfs.feature_view.FeatureView._reject_unknown_kwargs``: ``**kwargs`` exists only for the
    deprecated ``primary_keys`` spelling; anything else is refused with the SDK's message."""
    unexpected = sorted(k for k in kwargs if k != "primary_keys")
    if unexpected:
        more = "" if len(unexpected) == 1 else f" (and {len(unexpected) - 1} more)"
        raise TypeError(f"{method}() got an unexpected keyword argument {unexpected[0]!r}{more}.")


# The methods are FeatureView's, the mixin only keeps them in their own module: errors name FeatureView
for _method in vars(TrainingDataMixin).values():
    if callable(_method) and not isinstance(_method, type):
        _method.__qualname__ = _method.__qualname__.replace("TrainingDataMixin.", "FeatureView.")

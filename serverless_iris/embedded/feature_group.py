"""A versioned table of features (``hsfs.feature_group.FeatureGroup``): insert, read, select.

Every write is one DuckDB transaction and set-based SQL over the registered DataFrame: no per-row
Python, nothing half-written.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serverless_iris.embedded import db
from serverless_iris.embedded.feature import Feature, Filter, Logic
from serverless_iris.embedded.query import Query
from serverless_iris.embedded.util import (
    _DUCKDB_TO_OFFLINE,
    _EVENT_TIME_TYPES,
    _JOB_WRITE_OPTIONS,
    _OFFLINE_TYPES,
    _REPORT_VALIDATION_OPTIONS,
    GROUPS_TABLE,
    FeatureStoreException,
    _autofix,
    _check_options,
    _ensure_tables,
    _load_spec,
    _next_version,
    _q,
    _require_defaults,
    _save_spec,
    _table,
)
from serverless_iris.paths import kill_point


class FeatureGroup:
    """A versioned table of features (``hsfs.feature_group.FeatureGroup``).

    The metadata is saved by the first ``insert``, which also fixes the schema, as in the SDK
    (``hsfs.core.feature_group_engine.FeatureGroupEngine._insert``).
    """

    def __init__(
        self,
        store: Path,
        name: str,
        version: int | None,
        description: str | None = "",
        primary_key: list[str] | None = None,
        event_time: str | None = None,
        partition_key: list[str] | None = None,
        foreign_key: list[str] | None = None,
        online_enabled: bool | None = False,
        time_travel_format: str | None = None,
        features: list[tuple[str, str]] | None = None,
        saved: bool = False,
    ) -> None:
        self._store = Path(store)
        self._name = name
        self._version = version
        self._description = description or ""
        self._primary_key = [_autofix(k) for k in primary_key or []]
        self._event_time = _autofix(event_time) if event_time else None
        self._partition_key = [_autofix(k) for k in partition_key or []]
        self._foreign_key = [_autofix(k) for k in foreign_key or []]
        self._online_enabled = bool(online_enabled)
        self._time_travel_format = time_travel_format
        self._set_features(features or [])
        self._saved = saved

    def _set_features(self, features: list[tuple[str, str]]) -> None:
        self._features = [Feature(n, t, primary=n in self._primary_key) for n, t in features]

    def _spec(self) -> dict:
        return {
            "description": self._description,
            "primary_key": self._primary_key,
            "event_time": self._event_time,
            "partition_key": self._partition_key,
            "foreign_key": self._foreign_key,
            "online_enabled": self._online_enabled,
            "time_travel_format": self._time_travel_format,
            "features": [[f.name, f.type] for f in self._features],
        }

    @classmethod
    def _from_spec(cls, store: Path, name: str, version: int, spec: dict) -> FeatureGroup:
        return cls(store, name, version, **spec, saved=True)

    # -- properties (hsfs names) --
    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> int | None:
        return self._version

    @property
    def description(self) -> str:
        return self._description

    @property
    def primary_key(self) -> list[str]:
        return list(self._primary_key)

    @property
    def event_time(self) -> str | None:
        return self._event_time

    @property
    def partition_key(self) -> list[str]:
        return list(self._partition_key)

    @property
    def online_enabled(self) -> bool:
        return self._online_enabled

    @property
    def features(self) -> list[Feature]:
        return list(self._features)

    @property
    def schema(self) -> list[Feature]:
        return list(self._features)

    def __repr__(self) -> str:
        return f"FeatureGroup({self._name!r}, {self._version!r})"

    def __getitem__(self, name: str) -> Feature:
        if not isinstance(name, str):
            raise TypeError(f"Expected type `str`, got `{type(name)}`. Features are accessible by name.")
        for feature in self.__dict__.get("_features", []):
            if feature.name == name:
                return feature
        raise KeyError(f"'FeatureGroup' object has no feature called '{name}'.")

    def __getattr__(self, name: str) -> Feature:
        """``fg.sepal_length`` is the feature of that name, as in hsfs."""
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(
                f"'FeatureGroup' object has no attribute '{name}'. If you are trying to access a "
                "feature, fall back on using the `get_feature` method."
            ) from err

    # -- reading --
    def get_feature(self, name: str) -> Feature | None:
        try:
            return self[name]
        except KeyError:
            return None

    def select_all(
        self,
        include_primary_key: bool = True,
        include_foreign_key: bool = True,
        include_partition_key: bool = True,
        include_event_time: bool = True,
    ) -> Query:
        removed = [] if include_event_time or not self._event_time else [self._event_time]
        removed += [] if include_primary_key else self._primary_key
        removed += [] if include_foreign_key else self._foreign_key
        removed += [] if include_partition_key else self._partition_key
        return self.select_except(removed)

    def select_except(self, features: list[str | Feature] | None = None) -> Query:
        """All features but ``features`` (e.g. ``select_except(["event_time"])`` keeps a view's X numeric)."""
        dropped = {f.name if isinstance(f, Feature) else _autofix(f) for f in features or []}
        return Query(self, [f for f in self._features if f.name not in dropped])

    def select(self, features: list[str | Feature]) -> Query:
        chosen = []
        for item in features:
            name = item.name if isinstance(item, Feature) else _autofix(item)
            if self.get_feature(name) is None:
                raise FeatureStoreException(
                    f"Feature {name!r} is not in feature group {self._name!r}; it has "
                    f"{[f.name for f in self._features]}."
                )
            chosen.append(self[name])
        return Query(self, chosen)

    def filter(self, f: Filter | Logic) -> Query:
        return self.select_all().filter(f)

    def read(
        self,
        wallclock_time: str | int | datetime | date | None = None,
        online: bool = False,
        dataframe_type: str = "default",
        read_options: dict | None = None,
        start_time: str | int | datetime | date | None = None,
        end_time: str | int | datetime | date | None = None,
    ) -> Any:
        """All rows (``hsfs.feature_group.FeatureGroup.read``); ``[start_time, end_time)`` on event time."""
        _require_defaults(FeatureGroup.read, wallclock_time=wallclock_time)
        if (start_time is not None or end_time is not None) and self._event_time is None:
            raise FeatureStoreException(
                "Cannot filter by start_time/end_time: no event_time column is defined for this feature "
                "group. Set event_time when creating the feature group to enable time-based filtering."
            )
        return self.select_all().read(online, dataframe_type, read_options, start_time, end_time)

    def show(self, n: int, online: bool = False) -> pd.DataFrame:
        return self.select_all().show(n, online)

    # -- writing --
    def insert(
        self,
        features: pd.DataFrame,
        overwrite: bool = False,
        operation: str = "upsert",
        storage: str | None = None,
        write_options: dict[str, Any] | None = None,
        validation_options: dict[str, Any] | None = None,
        wait: bool = False,
    ) -> tuple[None, None]:
        """Write ``features`` in one transaction; returns ``(job, validation_report)`` = ``(None, None)``.

        ``operation="upsert"`` (the SDK default) keeps exactly one row per primary key + event time
        (+ partition key, the merge key of ``hsfs.core.delta_engine.DeltaEngine._generate_merge_query``):
        the last occurrence wins, duplicates inside ``features`` included. ``operation="insert"``
        appends, as the SDK's append mode does. ``overwrite=True`` first removes all rows.
        """
        if operation not in ("insert", "upsert"):
            raise FeatureStoreException(f"operation must be 'insert' or 'upsert', got {operation!r}.")
        if storage is not None and str(storage).lower() not in ("offline", "online"):
            raise FeatureStoreException(
                f"Invalid storage: {storage}. Use 'offline', 'online', or leave it unset."
            )
        if storage is not None and str(storage).lower() == "online":
            raise NotImplementedError(
                "The embedded backend has no online store; use storage=None or 'offline'."
            )
        _check_options("write_options", write_options, _JOB_WRITE_OPTIONS)
        _check_options("validation_options", validation_options, _REPORT_VALIDATION_OPTIONS)
        frame = _normalise_frame(features)
        with db.transaction(self._store) as con:
            _ensure_tables(con)
            con.register("incoming", frame)
            self._save_or_check(con, _describe(con, "incoming"))
            _write(con, frame, self, overwrite, operation)
        self._saved = True
        return None, None

    def _save_or_check(self, con: Any, incoming: list[tuple[str, str | None, str]]) -> None:
        """Create the group from the frame, or check the frame against the stored schema.

        The stored metadata is re-read inside the write transaction, so an object created before
        another run saved the group adopts what that run saved.
        """
        if self._version is None:
            self._version = _next_version(con, GROUPS_TABLE, self._name)
        stored = _load_spec(con, GROUPS_TABLE, self._name, self._version)
        if stored is None:
            self._create(con, incoming)
            return
        if not self._saved:
            self._check_same_keys(stored)
        _verify_schema(stored["features"], incoming)
        self._adopt(stored)

    def _create(self, con: Any, incoming: list[tuple[str, str | None, str]]) -> None:
        columns = {name: offline for name, offline, _ in incoming}
        # hsfs.core.schema_validation.DataFrameValidator._validate_schema
        for pk in self._primary_key + self._partition_key:
            if pk not in columns:
                raise ValueError(f"Primary key column {pk} is missing in input dataframe")
        for name, offline, raw in incoming:
            if offline is None:
                raise FeatureStoreException(
                    f"Feature '{name}': dtype '{raw}' not supported; use one of {sorted(_OFFLINE_TYPES)}."
                )
        if self._event_time is not None and columns.get(self._event_time) not in _EVENT_TIME_TYPES:
            raise FeatureStoreException(
                f"event_time column {self._event_time!r} must be one of {list(_EVENT_TIME_TYPES)}, "
                f"got {columns.get(self._event_time, 'no such column')!r}."
            )
        self._set_features([(name, offline) for name, offline, _ in incoming])
        ddl = ", ".join(f"{_q(f.name)} {_OFFLINE_TYPES[f.type]}" for f in self._features)
        con.execute(f"CREATE TABLE {_table(self._name, self._version)} ({ddl})")
        _save_spec(con, GROUPS_TABLE, self._name, self._version, self._spec())

    def _check_same_keys(self, stored: dict) -> None:
        """An unsaved object meeting a group another run created: adopt it if the keys agree."""
        mine = self._spec()
        for key in ("primary_key", "event_time", "partition_key"):
            if stored[key] != mine[key]:
                raise FeatureStoreException(
                    f"Feature group {self._name!r} version {self._version} already exists with "
                    f"{key}={stored[key]!r}, not {mine[key]!r}."
                )

    def _adopt(self, spec: dict) -> None:
        fresh = FeatureGroup._from_spec(self._store, self._name, self._version, spec)
        self.__dict__.update(fresh.__dict__)


def _normalise_frame(features: Any) -> pd.DataFrame:
    """A shallow copy with hsfs column names and zone-free UTC timestamps at microseconds.

    Mirrors ``hsfs.engine.python.Engine._convert_to_default_dataframe``; the caller's frame is
    never changed.
    """
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"features must be a pandas DataFrame, got {type(features).__name__}.")
    frame = features.copy(deep=False)
    frame.columns = [_autofix(c) for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise FeatureStoreException(f"Column names {duplicated} occur more than once after lower-casing.")
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert(None)
        if frame[column].dtype == np.dtype("datetime64[ns]"):
            # stored at microseconds; truncate here so pandas and DuckDB see the same key values
            frame[column] = frame[column].astype("datetime64[us]")
    return frame


def _describe(con: Any, relation: str) -> list[tuple[str, str | None, str]]:
    """``(name, offline type or None, DuckDB type)`` of each column of a registered frame."""
    out = []
    for name, raw, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall():
        if raw.startswith("TIMESTAMP"):
            offline = "timestamp"
        elif raw.startswith("ENUM"):
            offline = "string"
        else:
            offline = _DUCKDB_TO_OFFLINE.get(raw)
        out.append((name, offline, raw))
    return out


def _verify_schema(stored: list[list[str]], incoming: list[tuple[str, str | None, str]]) -> None:
    """Message and rules of ``hsfs.core.feature_group_base_engine._verify_schema_compatibility``.

    An all-null column (DuckDB type ``NULL``) fits any type.
    """
    given = {name: (offline or raw.strip('"').lower()) for name, offline, raw in incoming}
    errors = []
    for name, expected in stored:
        if name not in given:
            errors.append(f"{name} (type: '{expected}') is missing from input dataframe.")
            continue
        actual = given.pop(name)
        if actual not in (expected, "null"):
            errors.append(
                f"{name} (expected type: '{expected}', derived from input: '{actual}') has the wrong type."
            )
    errors += [f"{name} (type: '{kind}') does not exist in feature group." for name, kind in given.items()]
    if errors:
        raise FeatureStoreException(
            "Features are not compatible with Feature Group schema: "
            + "".join("\n - " + e for e in errors)
            + "\nNote that feature (or column) names are case insensitive and spaces are automatically "
            "replaced with underscores."
        )


def _write(con: Any, frame: pd.DataFrame, fg: FeatureGroup, overwrite: bool, operation: str) -> None:
    """Set-based upsert: dedupe the frame (last wins), delete the rows with its keys, insert it.

    In-frame duplicates are detected from a hash per row (cheap); only a frame that has some pays
    for an exact pandas ``duplicated``. The delete is limited to the frame's event-time range, so
    DuckDB's zone maps skip the row groups of older data: a daily one-row insert costs the same
    into 150 rows as into 10 million.
    """
    table = _table(fg.name, fg.version)
    keys = [k for k in dict.fromkeys([*fg.primary_key, fg.event_time, *fg.partition_key]) if k]
    casts = ", ".join(f"CAST({_q(f.name)} AS {_OFFLINE_TYPES[f.type]}) AS {_q(f.name)}" for f in fg.features)
    source = f"(SELECT {casts} FROM incoming)"
    columns = ", ".join(_q(f.name) for f in fg.features)
    et = fg.event_time
    nulls = " OR ".join(f"{_q(k)} IS NULL" for k in keys) or "FALSE"
    bounds = f"min({_q(et)}), max({_q(et)})" if et else "NULL, NULL"
    rows, null_keys, lo, hi = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {nulls}), {bounds} FROM {source}"
    ).fetchone()
    if null_keys:
        raise FeatureStoreException(
            f"{null_keys} row(s) have a null in a key column {keys}; primary key and event time must be set."
        )
    if overwrite:
        con.execute(f"DELETE FROM {table}")
    upsert = operation == "upsert" and bool(keys) and rows > 0
    if upsert:
        hashes = con.execute(f"SELECT hash({', '.join(_q(k) for k in keys)}) AS h FROM {source}").fetchnumpy()
        ordered = np.sort(hashes["h"])  # sorting beats a hash table here: ~4x faster than is_unique
        if (ordered[1:] == ordered[:-1]).any():
            con.register("incoming", frame[~frame.duplicated(subset=keys, keep="last")])
    if upsert and not overwrite:
        match = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in keys)
        window = f" AND t.{_q(et)} BETWEEN ? AND ?" if et else ""
        params = [lo, hi] if et else []
        con.execute(f"DELETE FROM {table} AS t USING {source} AS s WHERE {match}{window}", params)
    con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {source}")
    kill_point("insert")  # tests only: every row is written, nothing is committed yet


# --------------------------------------------------------------------------- feature views

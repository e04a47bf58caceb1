"""A versioned table of features (``hsfs.feature_group.FeatureGroup``): insert, read, select.

Every write is one DuckDB transaction and set-based SQL over the registered DataFrame: no per-row
Python, nothing half-written.
"""

from __future__ import annotations

import re
import warnings
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from serverless_iris.embedded import db
from serverless_iris.embedded.feature import Feature, Filter, Logic
from serverless_iris.embedded.query import Query
from serverless_iris.embedded.sdk_gaps import missing_sdk_attribute
from serverless_iris.embedded.util import (
    EVENT_TIME_TYPES,
    GROUPS_TABLE,
    JOB_WRITE_OPTIONS,
    OFFLINE_TYPES,
    REPORT_VALIDATION_OPTIONS,
    SDK_FEATURE_GROUP_ATTRIBUTES,
    FeatureGroupWarning,
    FeatureStoreException,
    autofix,
    check_options,
    ensure_tables,
    group_table,
    load_spec,
    next_version,
    offline_type,
    quote,
    require_defaults,
    save_spec,
)
from serverless_iris.embedded.validation import ExpectationSuiteMixin
from serverless_iris.paths import kill_point

_FORMATS = ("DELTA", "HUDI")


class FeatureGroup(ExpectationSuiteMixin):
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
        self._primary_key = [autofix(k) for k in primary_key or []]
        self._event_time = autofix(event_time) if event_time else None
        self._partition_key = [autofix(k) for k in partition_key or []]
        self._foreign_key = [autofix(k) for k in foreign_key or []]
        self._online_enabled = bool(online_enabled)
        self._time_travel_format = _resolve_format(time_travel_format)
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

    columns = features  # hsfs: the same list under both names

    @property
    def time_travel_format(self) -> str:
        return self._time_travel_format

    @property
    def schema(self) -> list[Feature]:
        return list(self._features)

    def __repr__(self) -> str:
        return f"FeatureGroup({self._name!r}, {self._version!r})"

    def __getitem__(self, name: str) -> Feature:
        if not isinstance(name, str):
            raise TypeError(  # hsfs.feature_group.FeatureGroup.__getitem__'s message
                f"Expected type `str`, got `{type(name)}`. "
                "Features and transformations are accessible by name."
            )
        for feature in self.__dict__.get("_features", []):
            if feature.name == name:
                return feature
        raise KeyError(f"'FeatureGroup' object has no feature or transformation called '{name}'.")

    def __getattr__(self, name: str) -> Feature:
        """``fg.sepal_length`` is the feature of that name, as in hsfs; an attribute the SDK's class has
        wins over a feature of the same name there, so here it is refused rather than shadowed."""
        if name in SDK_FEATURE_GROUP_ATTRIBUTES:
            raise missing_sdk_attribute(self, name)
        try:
            return self[name]
        except KeyError:
            raise missing_sdk_attribute(self, name) from None

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
        dropped = {f.name if isinstance(f, Feature) else autofix(f) for f in features or []}
        return Query(self, [f for f in self._features if f.name not in dropped])

    def select(self, features: list[str | Feature]) -> Query:
        chosen = []
        for item in features:
            name = item.name if isinstance(item, Feature) else autofix(item)
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
        require_defaults(FeatureGroup.read, wallclock_time=wallclock_time)
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
    ) -> tuple[None, Any]:
        """Write ``features`` in one transaction; returns ``(job, validation_report)``: no job, and Great
        Expectations' own validation result when an expectation suite is attached.

        As ``FeatureGroupEngine._insert`` does, the first insert saves the group (and the suite given at
        its creation) before validating, so a failed STRICT suite refuses the rows but leaves the group.

        Rows follow the group's ``time_travel_format`` (DELTA unless the group declares HUDI), see
        :func:`_write`. ``overwrite=True`` first removes all rows.
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
        check_options("write_options", write_options, JOB_WRITE_OPTIONS)
        check_options("validation_options", validation_options, REPORT_VALIDATION_OPTIONS)
        frame = _normalise_frame(features, self._time_travel_format == "DELTA")
        incoming = _to_arrow(frame)
        if self._time_travel_format == "HUDI" and operation == "upsert":
            incoming = _to_arrow(_last_per_key(frame, self))
        with db.transaction(self._store) as con:
            ensure_tables(con)
            con.register("incoming", incoming)
            created = self._save_or_check(con, _describe(incoming.schema))
            self._save_pending_suite(con)
            report = self._validate_insert(con, frame, validation_options)
            if report is None or report.ingestion_result != "REJECTED":
                _write(con, self, overwrite, operation, created)
        self._saved = True
        self.__dict__.pop("_pending_suite", None)
        self._refuse_rejected(report)
        return None, report.to_ge_type() if report is not None else None

    def _save_or_check(self, con: Any, incoming: list[tuple[str, str | None, str]]) -> bool:
        """Create the group from the frame (``True``), or check the frame against the stored schema.

        The stored metadata is re-read inside the write transaction, so an object created before
        another run saved the group adopts what that run saved.
        """
        if self._version is None:
            self._version = next_version(con, GROUPS_TABLE, self._name)
        stored = load_spec(con, GROUPS_TABLE, self._name, self._version)
        if stored is None:
            self._create(con, incoming)
            return True
        if not self._saved:
            self._check_same_keys(stored)
        _verify_schema(stored["features"], incoming)
        self._adopt(stored)
        return False

    def _create(self, con: Any, incoming: list[tuple[str, str | None, str]]) -> None:
        columns = {name: offline for name, offline, _ in incoming}
        # hsfs.core.schema_validation.DataFrameValidator._validate_schema
        for pk in self._primary_key + self._partition_key:
            if pk not in columns:
                raise ValueError(f"Primary key column {pk} is missing in input dataframe")
        for name, offline, raw in incoming:
            if offline is None:
                raise FeatureStoreException(
                    f"Feature '{name}': dtype '{raw}' not supported; use one of {sorted(OFFLINE_TYPES)}."
                )
        if self._event_time is not None and columns.get(self._event_time) not in EVENT_TIME_TYPES:
            raise FeatureStoreException(
                f"event_time column {self._event_time!r} must be one of {list(EVENT_TIME_TYPES)}, "
                f"got {columns.get(self._event_time, 'no such column')!r}."
            )
        self._set_features([(name, offline) for name, offline, _ in incoming])
        ddl = ", ".join(f"{quote(f.name)} {OFFLINE_TYPES[f.type]}" for f in self._features)
        con.execute(f"CREATE TABLE {group_table(self._name, self._version)} ({ddl})")
        save_spec(con, GROUPS_TABLE, self._name, self._version, self._spec())

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


def _resolve_format(time_travel_format: str | None) -> str:
    """DELTA unless the group declares a format (``hsfs.feature_store.FeatureStore.create_feature_group``)."""
    fmt = (time_travel_format or "DELTA").upper()
    if fmt not in _FORMATS:
        raise NotImplementedError(
            f"time_travel_format={time_travel_format!r} is not supported by the embedded backend; use one of "
            f"{list(_FORMATS)} or leave it unset (DELTA)."
        )
    return fmt


def _normalise_frame(features: Any, delta: bool) -> pd.DataFrame:
    """A shallow copy with hsfs column names and zone-free UTC timestamps at microseconds.

    Mirrors ``hsfs.engine.python.Engine._convert_to_default_dataframe`` (its warnings included) and, for
    DELTA, the precision warning of ``hsfs.core.delta_engine.DeltaEngine._prepare_df_for_delta``; the
    caller's frame is never changed.
    """
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"features must be a pandas DataFrame, got {type(features).__name__}.")
    names = [str(c) for c in features.columns]
    upper = [c for c in names if re.search("[A-Z]", c)]
    spaced = [c for c in names if " " in c]
    if upper:
        warnings.warn(
            f"The ingested dataframe contains upper case letters in feature names: `{upper}`. "
            "Feature names are sanitized to lower case in the feature store.",
            FeatureGroupWarning,
            stacklevel=3,
        )
    if spaced:
        warnings.warn(
            f"The ingested dataframe contains feature names with spaces: `{spaced}`. "
            "Feature names are sanitized to use underscore '_' in the feature store.",
            FeatureGroupWarning,
            stacklevel=3,
        )
    frame = features.copy(deep=False)
    frame.columns = [autofix(c) for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise FeatureStoreException(f"Column names {duplicated} occur more than once after lower-casing.")
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert(None)
        # DeltaEngine._prepare_df_for_delta's casts (DuckDB has no float16; the store keeps microseconds,
        # and truncating here lets pandas and DuckDB see the same key values), warned as it warns
        if frame[column].dtype == "float16":
            cast = "float32", f"Casting float16 column '{column}' to float32 for Delta Lake compatibility."
        elif pd.api.types.is_datetime64_ns_dtype(frame[column].dtype):
            cast = (
                "datetime64[us]",
                f"Casting timestamp column '{column}' from 'ns' to 'us' will lose precision.",
            )
        else:
            continue
        if delta:
            warnings.warn(cast[1], UserWarning, stacklevel=3)
        frame[column] = frame[column].astype(cast[0])
    return frame


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow, as the SDK converts it before anything is written
    (``hsfs.engine.python.Engine._parse_schema_feature_group``: ``pa.Schema.from_pandas``): a column of
    mixed types raises Arrow's own error, a column of ``datetime.date`` objects becomes a date."""
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def _last_per_key(frame: pd.DataFrame, fg: FeatureGroup) -> pd.DataFrame:
    """HUDI upserts keep the last row per primary key + event time (+ partition key)."""
    keys = [k for k in _merge_keys(fg) if k in frame.columns]  # a missing key is reported later
    return frame[~frame.duplicated(subset=keys, keep="last")] if keys else frame


def _merge_keys(fg: FeatureGroup) -> list[str]:
    """Primary key, event time and partition key: ``DeltaEngine._generate_merge_query``'s match columns."""
    return [k for k in dict.fromkeys([*fg.primary_key, fg.event_time, *fg.partition_key]) if k]


def _describe(schema: pa.Schema) -> list[tuple[str, str | None, str]]:
    """``(name, offline type or None, Arrow type)`` of each column of an incoming frame."""
    return [(field.name, offline_type(field.type), str(field.type)) for field in schema]


def _verify_schema(stored: list[list[str]], incoming: list[tuple[str, str | None, str]]) -> None:
    """Message and rules of ``hsfs.core.feature_group_base_engine._verify_schema_compatibility``.

    An all-null column (Arrow type ``null``) fits any type.
    """
    given = {name: offline or raw for name, offline, raw in incoming}
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


def _write(con: Any, fg: FeatureGroup, overwrite: bool, operation: str, created: bool) -> None:
    """Write the registered ``incoming`` rows as the SDK's Python engine does for the group's format.

    DELTA (``hsfs.core.delta_engine.DeltaEngine._write_delta_rs_dataset``): the first write, an
    ``operation="insert"`` and an ``overwrite=True`` (``FeatureGroupEngine._insert``: the content is
    deleted, then "bulk_insert") write every row, repeated keys included; a later upsert is a merge on
    the :func:`_merge_keys` (see :func:`_merge`). HUDI: an upsert keeps the frame's last row per key
    and replaces the stored rows with those keys (the caller deduplicated ``incoming``).
    """
    table = group_table(fg.name, fg.version)
    keys = _merge_keys(fg)
    casts = ", ".join(
        f"CAST({quote(f.name)} AS {OFFLINE_TYPES[f.type]}) AS {quote(f.name)}" for f in fg.features
    )
    source = f"(SELECT {casts} FROM incoming)"
    columns = ", ".join(quote(f.name) for f in fg.features)
    et = fg.event_time
    nulls = " OR ".join(f"{quote(k)} IS NULL" for k in keys) or "FALSE"
    bounds = f"min({quote(et)}), max({quote(et)})" if et else "NULL, NULL"
    rows, null_keys, lo, hi = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {nulls}), {bounds} FROM {source}"
    ).fetchone()
    if null_keys:
        raise FeatureStoreException(
            f"{null_keys} row(s) have a null in a key column {keys}; primary key and event time must be set."
        )
    if overwrite:
        con.execute(f"DELETE FROM {table}")
    upsert = operation == "upsert" and not overwrite and not (created and fg.time_travel_format == "DELTA")
    if upsert and not keys and fg.time_travel_format == "DELTA":
        # delta-rs gets an empty merge predicate and fails with "sql parser error: Expected: an
        # expression, found: EOF" before writing anything.
        raise FeatureStoreException(
            f"Cannot upsert into feature group {fg.name!r}: it has neither primary key nor event time, so "
            "the Delta merge has no condition (on Hopsworks delta-rs fails with 'sql parser error: "
            "Expected: an expression, found: EOF'). Use operation='insert' to append, or overwrite=True to "
            "replace."
        )
    if upsert and keys and rows > 0:
        match = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in keys)
        # only stored rows in the frame's event-time range can match: DuckDB's zone maps skip the rest,
        # so a daily one-row upsert does not cost more as the table grows (benchmarks/: store)
        window = f" AND t.{quote(et)} BETWEEN ? AND ?" if et else ""
        params = [lo, hi] if et else []
        if fg.time_travel_format == "DELTA":
            _merge(con, table, source, columns, keys, window, params)
            kill_point("insert")  # tests only: every row is written, nothing is committed yet
            return
        con.execute(f"DELETE FROM {table} AS t USING {source} AS s WHERE {match}{window}", params)
    con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {source}")
    kill_point("insert")  # tests only: every row is written, nothing is committed yet


def _merge(
    con: Any, table: str, source: str, columns: str, keys: list[str], window: str, params: list
) -> None:
    """delta-rs ``merge(...).when_matched_update_all().when_not_matched_insert_all()``.

    Every stored row a source row matches becomes that source row (a source row matching two stored
    rows is kept twice, two source rows matching one stored row both are kept), and every unmatched
    source row is inserted, repeated keys included; keys never match on a null.
    """
    match = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in keys)
    stored = f"(SELECT {', '.join(quote(k) for k in keys)} FROM {table} AS t WHERE TRUE{window})"
    con.execute(
        f"CREATE TEMP TABLE merge_rows AS SELECT s.* FROM {source} AS s LEFT JOIN {stored} AS t ON {match}",
        params,
    )
    con.execute(f"DELETE FROM {table} AS t USING {source} AS s WHERE {match}{window}", params)
    con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM merge_rows")
    con.execute("DROP TABLE merge_rows")


# --------------------------------------------------------------------------- feature views

"""The embedded feature store: the Hopsworks feature-store API on the store's one DuckDB file.

Notebooks call the same methods with the same parameters as on Hopsworks (``hsfs`` 5.x), so one
notebook runs on either backend. Where the SDK's behaviour is subtle, the comment names the
``hsfs`` function it follows. Parameters the SDK has but this backend cannot honour are accepted
at their SDK default only; any other value is refused rather than silently ignored.

Storage: feature group ``<name>`` version ``<v>`` is the table ``fg_<name>_<v>``; feature-group and
feature-view metadata live in ``fs_feature_groups`` / ``fs_feature_views`` (JSON specs), so a view
created in one process is found by the next. Every write is one DuckDB transaction and set-based
SQL over the registered DataFrame: no per-row Python, nothing half-written.

Timestamps are stored as UTC without a zone (``TIMESTAMP``, microseconds) and read back as naive
``datetime64`` holding UTC, as the SDK does: an insert converts zone-aware columns to UTC and
drops the zone (``hsfs.engine.python.Engine._convert_to_default_dataframe``); a naive value, in
a frame or as a ``start_time``/``end_time``, is taken to be UTC (``hsfs.util
._convert_event_time_to_timestamp``). A naive-UTC frame therefore round-trips unchanged.
"""

from __future__ import annotations

import inspect
import json
import re
import warnings
from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from serverless_iris import db

GROUPS_TABLE = "fs_feature_groups"
VIEWS_TABLE = "fs_feature_views"
PROJECT_NAME = "local"
STORE_NAME = f"{PROJECT_NAME}_featurestore"
DEFAULT_VERSION = 1
_NAME_RE = re.compile(r"^[a-z0-9_]+$")
_OFFLINE_TYPES = {  # hsfs offline (Hive) type -> DuckDB storage type
    "int": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "binary": "BLOB",
}
# DuckDB's view of a pandas column -> the offline type hsfs derives for the same pandas dtype
# (hopsworks_common.core.type_systems.PYARROW_HOPSWORKS_DTYPE_MAPPING).
_DUCKDB_TO_OFFLINE = {
    "TINYINT": "int",
    "SMALLINT": "int",
    "INTEGER": "int",
    "UTINYINT": "int",
    "USMALLINT": "int",
    "UINTEGER": "bigint",
    "BIGINT": "bigint",
    "FLOAT": "float",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "VARCHAR": "string",
    "DATE": "date",
    "BLOB": "binary",
}
_EVENT_TIME_TYPES = ("timestamp", "date")
_DATAFRAME_TYPES = ("default", "pandas", "numpy", "python")
# write/validation options that only steer Hopsworks jobs; an embedded insert is synchronous and
# has no expectation suite, so these change nothing here.
_JOB_WRITE_OPTIONS = {
    "wait_for_job",
    "wait_for_online_ingestion",
    "start_offline_materialization",
    "start_offline_backfill",
}
_REPORT_VALIDATION_OPTIONS = {"run_validation", "save_report", "fetch_expectation_suite"}


class FeatureStoreException(Exception):
    """The embedded counterpart of ``hopsworks.client.exceptions.FeatureStoreException``."""


class VersionWarning(Warning):
    """Mirrors ``hsfs.util.VersionWarning``: a version was defaulted."""


# ---------------------------------------------------------------------------- small helpers


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _table(name: str, version: int) -> str:
    return _q(f"fg_{name}_{version}")


def _autofix(name: Any) -> str:
    """Feature names are lower case with underscores for spaces (``hsfs.util._autofix_feature_name``)."""
    return str(name).lower().replace(" ", "_")


def _check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise FeatureStoreException(
            f"{kind} name {name!r} is not valid: use lower-case letters, digits and underscores."
        )
    return name


def _check_version(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise FeatureStoreException(f"version must be a positive integer, got {version!r}.")
    return int(version)


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if default is None:
        return isinstance(value, (list, tuple, dict)) and not value
    return isinstance(value, (bool, int, float, str)) and type(value) is type(default) and value == default


def _require_defaults(method: Callable, **given: Any) -> None:
    """Refuse a non-default value for an SDK parameter accepted here only for signature parity."""
    params = inspect.signature(method).parameters
    for name, value in given.items():
        default = params[name].default
        if not _is_default(value, default):
            raise NotImplementedError(
                f"{method.__qualname__}({name}=...) is not supported by the embedded backend: leave it "
                f"at the SDK default {default!r}, or run on Hopsworks (set HOPSWORKS_API_KEY)."
            )


def _check_options(what: str, options: dict | None, harmless: set[str]) -> None:
    unknown = sorted(set(options or {}) - harmless)
    if unknown:
        raise NotImplementedError(
            f"{what} {unknown} not supported by the embedded backend; allowed: {sorted(harmless)}."
        )


def _utc(value: Any) -> pd.Timestamp | None:
    """A start/end time as a naive UTC timestamp (``hsfs.util._convert_event_time_to_timestamp``).

    Falsy values mean "no bound"; naive values are UTC; an ``int`` of up to 10 digits is epoch
    seconds, longer ones epoch milliseconds.
    """
    if value is None or (isinstance(value, (str, int)) and not value):
        return None
    if isinstance(value, bool):
        raise ValueError("Given event time should be in `datetime`, `date`, `str` or `int` type")
    if isinstance(value, (int, np.integer)):
        unit = "s" if len(str(int(value))) <= 10 else "ms"
        return pd.Timestamp(int(value), unit=unit)
    if isinstance(value, (str, datetime, date)):
        stamp = pd.Timestamp(value)
        return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
    raise ValueError("Given event time should be in `datetime`, `date`, `str` or `int` type")


def _check_dataframe_type(dataframe_type: Any) -> str:
    """Checked before reading, as ``hsfs.engine.python.Engine._validate_dataframe_type`` does."""
    if not isinstance(dataframe_type, str) or dataframe_type.lower() not in _DATAFRAME_TYPES:
        raise FeatureStoreException(
            f"dataframe_type : {dataframe_type} not supported. Possible values are "
            + ", ".join(f'"{t}"' for t in _DATAFRAME_TYPES)
        )
    return dataframe_type.lower()


def _as_dataframe_type(df: pd.DataFrame, dataframe_type: str) -> Any:
    """Mirrors ``hsfs.engine.python.Engine._return_dataframe_type`` for the types available here."""
    kind = _check_dataframe_type(dataframe_type)
    if kind == "numpy":
        return df.values
    if kind == "python":
        return df.values.tolist()
    return df


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


# ------------------------------------------------------------------------- metadata tables


def _ensure_tables(con: Any) -> None:
    for table in (GROUPS_TABLE, VIEWS_TABLE):
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (name VARCHAR NOT NULL, version INTEGER NOT NULL, "
            "spec VARCHAR NOT NULL, created TIMESTAMP NOT NULL, PRIMARY KEY (name, version))"
        )


def _load_spec(con: Any, table: str, name: str, version: int) -> dict | None:
    """The saved spec, or ``None``; a store nothing was written to yet has no metadata tables."""
    try:
        row = con.execute(
            f"SELECT spec FROM {table} WHERE name = ? AND version = ?", [name, version]
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return json.loads(row[0]) if row else None


def _next_version(con: Any, table: str, name: str) -> int:
    sql = f"SELECT coalesce(max(version), 0) + 1 FROM {table} WHERE name = ?"
    return con.execute(sql, [name]).fetchone()[0]


def _save_spec(con: Any, table: str, name: str, version: int, spec: dict) -> None:
    created = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", [name, version, json.dumps(spec), created])


# --------------------------------------------------------------------- features and filters


class Feature:
    """A feature-group column; comparing it builds a :class:`Filter` (``hsfs.feature.Feature``)."""

    def __init__(
        self, name: str, type: str | None = None, description: str | None = None, primary: bool = False
    ) -> None:
        self._name = name
        self._description = description
        self._type = type
        self._primary = primary

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str | None:
        return self._type

    @property
    def description(self) -> str | None:
        return self._description

    @property
    def primary(self) -> bool:
        return self._primary

    def _filter_value(self, value: Any) -> Any:
        # hsfs.feature.Feature._get_filter_value: a timestamp bound is cut to whole UTC seconds.
        if self._type != "timestamp":
            return value
        stamp = _utc(value)
        if stamp is None:
            raise ValueError(f"A filter on timestamp feature {self._name!r} needs a time, got {value!r}.")
        return stamp.floor("s").strftime("%Y-%m-%d %H:%M:%S")

    def __lt__(self, other: Any) -> Filter:
        return Filter(self, Filter.LT, self._filter_value(other))

    def __le__(self, other: Any) -> Filter:
        return Filter(self, Filter.LE, self._filter_value(other))

    def __eq__(self, other: Any) -> Filter:  # type: ignore[override]
        return Filter(self, Filter.EQ, self._filter_value(other))

    def __ne__(self, other: Any) -> Filter:  # type: ignore[override]
        return Filter(self, Filter.NE, self._filter_value(other))

    def __ge__(self, other: Any) -> Filter:
        return Filter(self, Filter.GE, self._filter_value(other))

    def __gt__(self, other: Any) -> Filter:
        return Filter(self, Filter.GT, self._filter_value(other))

    def __hash__(self) -> int:
        return hash(self._name)

    def isin(self, other: Any) -> Filter:
        """SQL ``IN``; the SDK keeps the values as JSON (``hsfs.feature.Feature.isin``)."""
        return Filter(self, Filter.IN, json.dumps(other, default=_json_value))

    def like(self, other: Any) -> Filter:
        return Filter(self, Filter.LK, other)

    def __repr__(self) -> str:
        return f"Feature({self._name!r}, {self._type!r}, primary={self._primary})"


class Filter:
    """One condition on one feature, combinable with ``&``/``|`` (``hsfs.constructor.filter.Filter``)."""

    GE = "GREATER_THAN_OR_EQUAL"
    GT = "GREATER_THAN"
    NE = "NOT_EQUALS"
    EQ = "EQUALS"
    LE = "LESS_THAN_OR_EQUAL"
    LT = "LESS_THAN"
    IN = "IN"
    LK = "LIKE"
    _SQL = {GE: ">=", GT: ">", NE: "<>", EQ: "=", LE: "<=", LT: "<"}

    def __init__(self, feature: Feature, condition: str, value: Any) -> None:
        self._feature = feature
        self._condition = condition
        self._value = value

    @property
    def feature(self) -> Feature:
        return self._feature

    @property
    def condition(self) -> str:
        return self._condition

    @property
    def value(self) -> Any:
        return self._value

    def __and__(self, other: Filter | Logic) -> Logic:
        return Logic(Logic.AND, self, _checked(other, "&"))

    def __or__(self, other: Filter | Logic) -> Logic:
        return Logic(Logic.OR, self, _checked(other, "|"))

    def __repr__(self) -> str:
        return f"Filter({self._feature!r}, {self._condition!r}, {self._value!r})"

    def _sql(self, params: list[Any]) -> str:
        column = _q(self._feature.name)
        cast = _OFFLINE_TYPES.get(self._feature.type or "")
        placeholder = f"CAST(? AS {cast})" if cast else "?"
        if self._condition == Filter.IN:
            values = json.loads(self._value) if isinstance(self._value, str) else self._value
            values = values if isinstance(values, list) else [values]
            params.extend(values)
            return f"{column} IN ({', '.join([placeholder] * len(values))})" if values else "FALSE"
        params.append(self._value)
        if self._condition == Filter.LK:
            return f"{column} LIKE ?"
        return f"{column} {Filter._SQL[self._condition]} {placeholder}"

    def _to_dict(self) -> dict:
        value = _json_value(self._value)
        return {"feature": self._feature.name, "condition": self._condition, "value": value}


class Logic:
    """``AND``/``OR`` of filters (``hsfs.constructor.filter.Logic``); ``SINGLE`` wraps one filter."""

    AND = "AND"
    OR = "OR"
    SINGLE = "SINGLE"

    def __init__(self, type: str, left: Filter | Logic, right: Filter | Logic | None = None) -> None:
        self._type = type
        self._left = left
        self._right = right

    @property
    def type(self) -> str:
        return self._type

    def get_left_filter_or_logic(self) -> Filter | Logic:
        return self._left

    def get_right_filter_or_logic(self) -> Filter | Logic | None:
        return self._right

    def __and__(self, other: Filter | Logic) -> Logic:
        return Logic(Logic.AND, self, _checked(other, "&"))

    def __or__(self, other: Filter | Logic) -> Logic:
        return Logic(Logic.OR, self, _checked(other, "|"))

    def __repr__(self) -> str:
        return f"Logic({self._type!r}, {self._left!r}, {self._right!r})"

    def _sql(self, params: list[Any]) -> str:
        left = self._left._sql(params)
        if self._type == Logic.SINGLE:
            return left
        return f"({left} {self._type} {self._right._sql(params)})"

    def _to_dict(self) -> dict:
        return {
            "type": self._type,
            "left": self._left._to_dict(),
            "right": self._right._to_dict() if self._right is not None else None,
        }


def _checked(other: Any, operator: str) -> Filter | Logic:
    if not isinstance(other, (Filter, Logic)):
        raise TypeError(f"Operator `{operator}` expected type `Filter` or `Logic`, got `{type(other)}`")
    return other


def _filter_from_dict(data: dict | None, features: dict[str, Feature]) -> Filter | Logic | None:
    if data is None:
        return None
    if "condition" in data:
        return Filter(features[data["feature"]], data["condition"], data["value"])
    return Logic(
        data["type"], _filter_from_dict(data["left"], features), _filter_from_dict(data["right"], features)
    )


def _and(left: Filter | Logic | None, right: Filter | Logic | None) -> Filter | Logic | None:
    if left is None or right is None:
        return left if right is None else right
    return left & right


def _time_filter(feature: Feature, start: Any, end: Any) -> Filter | Logic | None:
    """``[start, end)`` on the event time, as ``hsfs.util._build_time_filter`` builds it."""
    lower = feature >= start if start is not None else None
    upper = feature < end if end is not None else None
    return _and(lower, upper)


# --------------------------------------------------------------------------------- queries


class Query:
    """Selected features of one feature group plus a filter (``hsfs.constructor.query.Query``)."""

    def __init__(
        self, feature_group: FeatureGroup, features: list[Feature], filter: Filter | Logic | None = None
    ) -> None:
        self._feature_group = feature_group
        self._features = list(features)
        self._filter = filter

    @property
    def features(self) -> list[Feature]:
        return list(self._features)

    def __repr__(self) -> str:
        names = [f.name for f in self._features]
        return f"Query({self._feature_group.name} v{self._feature_group.version}, {names}, {self._filter!r})"

    def filter(self, f: Filter | Logic) -> Query:
        """Narrow this query in place and return it, as ``hsfs.constructor.query.Query.filter`` does."""
        self._filter = _and(self._filter, _checked(f, "filter"))
        return self

    def read(
        self,
        online: bool = False,
        dataframe_type: str = "default",
        read_options: dict[str, Any] | None = None,
        start_time: str | int | date | datetime | None = None,
        end_time: str | int | date | datetime | None = None,
    ) -> Any:
        """All rows matching the query; ``start_time`` inclusive, ``end_time`` exclusive on the event time.

        Unlike the SDK (whose ``_read_with_time_filter`` narrows the query itself), a time window
        here applies to this read only.
        """
        _require_defaults(Query.read, online=online, read_options=read_options)
        _check_dataframe_type(dataframe_type)
        fg, window = self._feature_group, None
        if start_time is not None or end_time is not None:
            if fg.event_time is None:
                raise FeatureStoreException(
                    "Cannot filter by start_time/end_time: no event_time column is defined for the left "
                    "feature group. Set event_time when creating the feature group to enable time-based "
                    "filtering."
                )
            window = _time_filter(fg[fg.event_time], start_time, end_time)
        columns = [(f.name, f.name) for f in self._features]
        return _as_dataframe_type(self._read(columns, window), dataframe_type)

    def show(self, n: int, online: bool = False) -> pd.DataFrame:
        """The first ``n`` rows (the SDK's Python engine returns a DataFrame ``head(n)``)."""
        _require_defaults(Query.show, online=online)
        return self._read([(f.name, f.name) for f in self._features], None, limit=n)

    def _read(
        self, columns: list[tuple[str, str]], extra: Filter | Logic | None, limit: int | None = None
    ) -> pd.DataFrame:
        fg = self._feature_group
        if not fg._saved:
            raise FeatureStoreException(
                f"Feature group {fg.name!r} has no data in the store yet: insert a DataFrame first."
            )
        params: list[Any] = []
        select = ", ".join(f"{_q(c)} AS {_q(a)}" if c != a else _q(c) for c, a in columns)
        sql = f"SELECT {select} FROM {_table(fg.name, fg.version)}"
        where = _and(self._filter, extra)
        if where is not None:
            sql += f" WHERE {where._sql(params)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with db.connect(fg._store) as con:
            return con.execute(sql, params).df()

    def _to_dict(self) -> dict:
        return {
            "feature_group": self._feature_group.name,
            "version": self._feature_group.version,
            "features": [f.name for f in self._features],
            "filter": self._filter._to_dict() if self._filter is not None else None,
        }


# -------------------------------------------------------------------------- feature groups


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


# --------------------------------------------------------------------------- feature views


class FeatureView:
    """A saved query plus label columns (``hsfs.feature_view.FeatureView``)."""

    def __init__(
        self, name: str, version: int, query: Query, labels: list[str], description: str | None = ""
    ) -> None:
        self._name = name
        self._version = version
        self._query = query
        self._labels = list(labels)
        self._description = description or ""

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> int:
        return self._version

    @property
    def description(self) -> str:
        return self._description

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    @property
    def query(self) -> Query:
        return self._query

    @property
    def features(self) -> list[Feature]:
        return self._query.features

    def __repr__(self) -> str:
        return f"FeatureView({self._name!r}, {self._version!r})"

    def _columns(self, with_label: bool, primary_key: bool, event_time: bool) -> list[tuple[str, str]]:
        """The columns a read returns: the query's features (primary-key and event-time columns the
        query selects are features and stay), labels only for training, and the keys the query does
        not select only when asked for, under their fully qualified names.

        Follows ``hsfs.core.feature_view_engine.FeatureViewEngine._get_primary_keys_from_query`` /
        ``_get_eventtimes_from_query`` and ``_drop_helper_columns`` (which drops a key column only when
        it is not a feature of the view).
        """
        fg = self._query._feature_group
        selected = [f.name for f in self._query.features]
        columns = [(n, n) for n in selected if with_label or n not in self._labels]
        helpers = (fg.primary_key if primary_key else []) + ([fg.event_time] if event_time else [])
        for name in helpers:
            if name and name not in selected:
                # hopsworks_common.util._generate_fully_qualified_feature_name
                columns.append((name, f"{PROJECT_NAME}_{fg.name}_{fg.version}_{name}"))
        return columns

    def _window(self, start_time: Any, end_time: Any) -> Filter | Logic | None:
        """``[start, end)`` on the event time at millisecond precision, as the SDK sends a batch query's
        bounds (``FeatureViewEngine._get_batch_query`` -> ``_convert_event_time_to_timestamp``)."""
        start, end = _utc(start_time), _utc(end_time)
        if start is None and end is None:
            return None
        fg = self._query._feature_group
        if fg.event_time is None:
            raise ValueError(
                "Cannot generate dataset(s) from the given start/end time because event time column is "
                "not available in the left feature groups. A start/end time should not be provided as "
                "parameters."
            )
        feature = fg[fg.event_time]
        lower = Filter(feature, Filter.GE, start.floor("ms").to_pydatetime()) if start is not None else None
        upper = Filter(feature, Filter.LT, end.floor("ms").to_pydatetime()) if end is not None else None
        return _and(lower, upper)

    def _split_labels(self, df: pd.DataFrame, dataframe_type: str) -> tuple[Any, Any]:
        """``hsfs.engine.python.Engine._split_labels``: ``(features, labels or None)``."""
        if not self._labels:
            return _as_dataframe_type(df, dataframe_type), None
        return (
            _as_dataframe_type(df.drop(columns=self._labels), dataframe_type),
            _as_dataframe_type(df[self._labels], dataframe_type),
        )

    def get_batch_data(
        self,
        start_time: str | int | datetime | date | None = None,
        end_time: str | int | datetime | date | None = None,
        read_options: dict[str, Any] | None = None,
        spine: Any = None,
        primary_key: bool | None = None,
        event_time: bool | None = None,
        inference_helper_columns: bool = False,
        dataframe_type: str = "default",
    ) -> Any:
        """Features without labels; ``start_time`` inclusive, ``end_time`` exclusive on the event time.

        ``inference_helper_columns`` is accepted because the embedded views define none.
        """
        _require_defaults(FeatureView.get_batch_data, read_options=read_options, spine=spine)
        _check_dataframe_type(dataframe_type)
        columns = self._columns(False, bool(primary_key), bool(event_time))
        df = self._query._read(columns, self._window(start_time, end_time))
        return _as_dataframe_type(df, dataframe_type)

    def training_data(
        self,
        start_time: str | int | datetime | date | None = None,
        end_time: str | int | datetime | date | None = None,
        description: str | None = "",
        extra_filter: Filter | Logic | None = None,
        statistics_config: Any = None,
        read_options: dict[Any, Any] | None = None,
        spine: Any = None,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str | None = "default",
    ) -> tuple[Any, Any]:
        """``X, y`` over ``[start_time, end_time)``; ``y`` is None for a view without labels.

        ``description`` and ``statistics_config`` describe a Hopsworks training dataset and have no
        effect here; the embedded views define no training helper columns.
        """
        _require_defaults(FeatureView.training_data, read_options=read_options, spine=spine)
        _check_dataframe_type(dataframe_type)
        columns = self._columns(True, primary_key, event_time)
        df = self._query._read(columns, _and(self._window(start_time, end_time), extra_filter))
        return self._split_labels(df, dataframe_type)

    def train_test_split(
        self,
        test_size: float | None = None,
        train_start: str | int | datetime | date | None = "",
        train_end: str | int | datetime | date | None = "",
        test_start: str | int | datetime | date | None = "",
        test_end: str | int | datetime | date | None = "",
        description: str | None = "",
        extra_filter: Filter | Logic | None = None,
        statistics_config: Any = None,
        read_options: dict[Any, Any] | None = None,
        spine: Any = None,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str | None = "default",
    ) -> tuple[Any, Any, Any, Any]:
        """``X_train, X_test, y_train, y_test``: by event time when ``train_end``/``test_start`` is
        given, else a random ``test_size`` split.

        Split sizes follow ``hsfs.engine.python.Engine._random_split``: the train split gets
        ``int(n * (1 - test_size))`` rows, the test split the rest; time splits follow
        ``hsfs.training_dataset.TrainingDataset._set_time_splits``.
        """
        _require_defaults(FeatureView.train_test_split, read_options=read_options, spine=spine)
        _check_dataframe_type(dataframe_type)
        # hsfs.feature_view.FeatureView._validate_train_test_split
        if not ((test_size and 0 < test_size < 1) or (train_end or test_start)):
            raise ValueError(
                "Invalid split input. You should specify either `test_size` or (`train_end` or "
                "`test_start`). `test_size` should be between 0 and 1 if specified."
            )
        columns = self._columns(True, primary_key, event_time)
        if train_end or test_start:
            train = self._query._read(
                columns, _and(self._window(train_start, train_end or test_start), extra_filter)
            )
            test = self._query._read(
                columns, _and(self._window(test_start or train_end, test_end), extra_filter)
            )
        else:
            df = self._query._read(columns, extra_filter)
            in_test = np.ones(len(df), dtype=bool)
            in_test[: int(len(df) * (1 - test_size))] = False
            np.random.default_rng().shuffle(in_test)
            train, test = df[~in_test], df[in_test]
        x_train, y_train = self._split_labels(train, dataframe_type)
        x_test, y_test = self._split_labels(test, dataframe_type)
        return x_train, x_test, y_train, y_test

    def _to_dict(self) -> dict:
        return {"description": self._description, "labels": self._labels, "query": self._query._to_dict()}


# --------------------------------------------------------------------------- feature store


class FeatureStore:
    """The embedded counterpart of ``hsfs.feature_store.FeatureStore`` (one per store folder)."""

    def __init__(self, store: Path, name: str | None = None) -> None:
        if name not in (None, STORE_NAME):
            raise FeatureStoreException(
                f"The embedded backend has one feature store, {STORE_NAME!r}; got name={name!r}."
            )
        self._store = Path(store)

    @property
    def name(self) -> str:
        return STORE_NAME

    def __repr__(self) -> str:
        return f"FeatureStore({STORE_NAME!r}, store={str(self._store)!r})"

    def _exists(self) -> bool:
        """Whether anything was ever written here (a read need not create the database file)."""
        return db.db_path(self._store).exists()

    def _group(self, name: str, version: int) -> FeatureGroup | None:
        if not self._exists():
            return None
        with db.connect(self._store) as con:
            spec = _load_spec(con, GROUPS_TABLE, name, version)
        return FeatureGroup._from_spec(self._store, name, version, spec) if spec else None

    def get_feature_group(self, name: str, version: int = None) -> FeatureGroup | None:
        """The saved group, or ``None``; no version warns and means 1 (as in the SDK)."""
        if version is None:
            warnings.warn(
                f"No version provided for getting feature group `{name}`, defaulting to `{DEFAULT_VERSION}`.",
                VersionWarning,
                stacklevel=2,
            )
            version = DEFAULT_VERSION
        return self._group(_check_name("Feature group", name), _check_version(version))

    def get_or_create_feature_group(
        self,
        name: str,
        version: int,
        description: str | None = "",
        online_enabled: bool | None = False,
        time_travel_format: str | None = None,
        partition_key: list[str] | None = None,
        primary_key: list[str] | None = None,
        foreign_key: list[str] | None = None,
        embedding_index: Any = None,
        hudi_precombine_key: str | None = None,
        features: list[Feature] | None = None,
        statistics_config: Any = None,
        expectation_suite: Any = None,
        event_time: str | None = None,
    ) -> FeatureGroup:
        """The saved group of that name and version, else a new one saved by its first ``insert``.

        ``statistics_config`` is accepted and has no effect: the embedded store computes no statistics.
        """
        _require_defaults(
            FeatureStore.get_or_create_feature_group,
            embedding_index=embedding_index,
            hudi_precombine_key=hudi_precombine_key,
            features=features,
            expectation_suite=expectation_suite,
        )
        _check_name("Feature group", name)
        existing = self._group(name, _check_version(version))
        if existing is not None:
            return existing
        return FeatureGroup(
            self._store,
            name,
            version,
            description,
            primary_key,
            event_time,
            partition_key,
            foreign_key,
            online_enabled,
            time_travel_format,
        )

    def create_feature_group(
        self,
        name: str,
        version: int | None = None,
        description: str = "",
        online_enabled: bool = False,
        time_travel_format: str | None = None,
        partition_key: list[str] | None = None,
        primary_key: list[str] | None = None,
        foreign_key: list[str] | None = None,
        embedding_index: Any = None,
        hudi_precombine_key: str | None = None,
        features: list[Feature] | None = None,
        statistics_config: Any = None,
        event_time: str | None = None,
    ) -> FeatureGroup:
        """A new group, saved by its first ``insert``; no version means the next free one."""
        _require_defaults(
            FeatureStore.create_feature_group,
            embedding_index=embedding_index,
            hudi_precombine_key=hudi_precombine_key,
            features=features,
        )
        _check_name("Feature group", name)
        if version is not None and self._group(name, _check_version(version)) is not None:
            raise FeatureStoreException(f"Feature group {name!r} version {version} already exists.")
        return FeatureGroup(
            self._store,
            name,
            version,
            description,
            primary_key,
            event_time,
            partition_key,
            foreign_key,
            online_enabled,
            time_travel_format,
        )

    def _view(self, con: Any, name: str, version: int) -> FeatureView | None:
        spec = _load_spec(con, VIEWS_TABLE, name, version)
        if spec is None:
            return None
        q = spec["query"]
        group = _load_spec(con, GROUPS_TABLE, q["feature_group"], q["version"])
        fg = FeatureGroup._from_spec(self._store, q["feature_group"], q["version"], group)
        by_name = {f.name: f for f in fg.features}
        query = Query(fg, [by_name[n] for n in q["features"]], _filter_from_dict(q["filter"], by_name))
        return FeatureView(name, version, query, spec["labels"], spec["description"])

    def get_feature_view(self, name: str, version: int = None) -> FeatureView | None:
        """The saved view, or ``None``; no version warns and means 1 (as in the SDK)."""
        if version is None:
            warnings.warn(
                f"No version provided for getting feature view `{name}`, defaulting to `{DEFAULT_VERSION}`.",
                VersionWarning,
                stacklevel=2,
            )
            version = DEFAULT_VERSION
        name, version = _check_name("Feature view", name), _check_version(version)
        if not self._exists():
            return None
        with db.connect(self._store) as con:
            return self._view(con, name, version)

    def get_or_create_feature_view(
        self,
        name: str,
        query: Query,
        version: int,
        description: str | None = "",
        labels: list[str] | None = None,
    ) -> FeatureView:
        """The saved view of that name and version (its stored query wins, as in the SDK), else a new one."""
        return self._save_view(name, query, _check_version(version), description, labels, existing_ok=True)

    def create_feature_view(
        self,
        name: str,
        query: Query,
        version: int | None = None,
        description: str | None = "",
        labels: list[str] | None = None,
    ) -> FeatureView:
        """A new view; no version means the next free one, an existing version is an error."""
        version = None if version is None else _check_version(version)
        return self._save_view(name, query, version, description, labels, existing_ok=False)

    def _save_view(
        self,
        name: str,
        query: Query,
        version: int | None,
        description: str | None,
        labels: Iterable[str] | None,
        existing_ok: bool,
    ) -> FeatureView:
        _check_name("Feature view", name)
        with db.transaction(self._store) as con:
            _ensure_tables(con)
            if version is None:
                version = _next_version(con, VIEWS_TABLE, name)
            existing = self._view(con, name, version)
            if existing is not None:
                if existing_ok:
                    return existing
                raise FeatureStoreException(f"Feature view {name!r} version {version} already exists.")
            view = FeatureView(name, version, _saved_query(query), _labels_in(query, labels), description)
            _save_spec(con, VIEWS_TABLE, name, version, view._to_dict())
        return view


def _saved_query(query: Any) -> Query:
    if not isinstance(query, Query):
        raise TypeError(f"query must be a Query (e.g. fg.select_all()), got {type(query).__name__}.")
    if not query._feature_group._saved:
        raise FeatureStoreException(
            f"Feature group {query._feature_group.name!r} is not saved yet: insert data before "
            "creating a feature view on it."
        )
    return query


def _labels_in(query: Query, labels: Iterable[str] | None) -> list[str]:
    labels = [_autofix(label) for label in labels or []]
    selected = [f.name for f in query.features]
    missing = [label for label in labels if label not in selected]
    if missing:
        raise FeatureStoreException(f"Labels {missing} are not selected by the query; it selects {selected}.")
    return labels

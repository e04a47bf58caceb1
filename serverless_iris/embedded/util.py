"""What the embedded feature store's modules share: storage constants, the SDK's exceptions and
warnings, and the argument checks and conversions of ``hsfs.util`` / ``hopsworks_common.util``.

Feature group ``<name>`` version ``<v>`` is the table ``fg_<name>_<v>``; feature-group and feature-view
metadata live in ``fs_feature_groups`` / ``fs_feature_views`` (JSON specs), so a view created in one
process is found by the next.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

import duckdb
import numpy as np
import pandas as pd

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

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
import pyarrow as pa

GROUPS_TABLE = "fs_feature_groups"
VIEWS_TABLE = "fs_feature_views"
PROJECT_NAME = "local"
STORE_NAME = f"{PROJECT_NAME}_featurestore"
DEFAULT_VERSION = 1
_NAME_RE = re.compile(r"[a-z0-9_]+")
OFFLINE_TYPES = {  # hsfs offline (Hive) type -> DuckDB storage type
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
# Arrow type of a frame's column -> the offline type hsfs derives for it
# (hopsworks_common.core.type_systems.PYARROW_HOPSWORKS_DTYPE_MAPPING, the types the embedded store keeps).
_ARROW_TO_OFFLINE = {
    **dict.fromkeys([pa.uint8(), pa.uint16(), pa.int8(), pa.int16(), pa.int32()], "int"),
    **dict.fromkeys([pa.uint32(), pa.int64()], "bigint"),
    **dict.fromkeys([pa.float16(), pa.float32()], "float"),
    pa.float64(): "double",
    pa.bool_(): "boolean",
    **dict.fromkeys([pa.string(), pa.large_string()], "string"),
    **dict.fromkeys([pa.date32(), pa.date64()], "date"),
    **dict.fromkeys([pa.binary(), pa.large_binary()], "binary"),
}
EVENT_TIME_TYPES = ("timestamp", "date", "bigint")  # hsfs.feature_store.FeatureStore.create_feature_group
# hopsworks_common.util._check_timestamp_format_from_date_string: the time strings the SDK accepts, after
# removing "/", "-", " ", ":" and ".".
_TIME_FORMATS = (
    (re.compile(r"^[0-9]{8}$"), "%Y%m%d"),
    (re.compile(r"^[0-9]{10}$"), "%Y%m%d%H"),
    (re.compile(r"^[0-9]{12}$"), "%Y%m%d%H%M"),
    (re.compile(r"^[0-9]{14}$"), "%Y%m%d%H%M%S"),
    (re.compile(r"^[0-9]{17}$"), "%Y%m%d%H%M%S%f"),
    (re.compile(r"^[0-9]{8}T[0-9]{6}([0-9]{6}|[0-9]{3})?Z$"), "ISO"),
)
_DATAFRAME_TYPES = ("default", "pandas", "numpy", "python")
# write/validation options that only steer Hopsworks jobs; an embedded insert is synchronous and
# has no expectation suite, so these change nothing here.
JOB_WRITE_OPTIONS = {
    "wait_for_job",
    "wait_for_online_ingestion",
    "start_offline_materialization",
    "start_offline_backfill",
}
REPORT_VALIDATION_OPTIONS = {"run_validation", "save_report", "fetch_expectation_suite"}
# Every public attribute of hsfs.feature_group.FeatureGroup (5.2.1): on Hopsworks each of these wins over
# a feature of the same name, so the embedded ``fg.<name>`` must never return a feature for one of them.
SDK_FEATURE_GROUP_ATTRIBUTES = frozenset(
    """CACHED_FEATURE_GROUP ENTITY_TYPE NOT_FOUND_ERROR_CODE STREAM_FEATURE_GROUP add_keywords add_tag
    append_features as_of avro_schema bucket_index check_deprecated clustered_by column_names columns
    commit_delete_record commit_details compute_statistics create_alert create_feature_monitoring
    create_scheduled_statistics created creator data_source delete delete_expectation_suite delete_keyword
    delete_tag delta_checkpoint delta_cleanup_metadata delta_compact delta_optimize delta_vacuum deprecated
    describe_layout description disable_clustering disable_ttl embedding_index enable_ttl event_time
    execute_odts expectation_suite feature_store feature_store_id feature_store_name features filter
    finalize_multi_part_insert find_neighbors from_response_json get_alert get_alerts get_all_statistics
    get_all_validation_reports get_clustering_columns get_complex_features get_data_source
    get_data_source_provenance get_expectation_suite get_feature get_feature_monitoring_configs
    get_feature_monitoring_history get_fg_name get_generated_feature_groups get_generated_feature_views
    get_keywords get_keywords_metadata get_latest_online_ingestion get_latest_validation_report
    get_online_ingestion get_parent_feature_groups get_partition_spec get_partition_specs
    get_restricted_access get_sort_order get_statistics get_statistics_by_commit_window get_storage_connector
    get_storage_connector_provenance get_tag get_tag_metadata get_tags get_tags_metadata
    get_validation_history grant_restricted_access hudi_precombine_key id insert insert_stream json location
    materialization_job missing_mandatory_tags multi_part_insert name notification_topic_name
    offline_backfill_every_hr online_config online_enabled online_partition_columns optimize parents
    partition_key partitioned_by prepare_spark_location primary_key read read_changes read_primary_keys
    remove_rows revoke_restricted_access save save_expectation_suite save_validation_report schema select
    select_all select_except select_features set_keywords share shared_with show sink_enabled sink_job
    sink_job_conf sort_order statistics statistics_config storage_connector stream subject time_travel_format
    to_dict topic_name transformation_functions ttl ttl_enabled unshare update_clustering update_deprecated
    update_description update_feature_description update_features update_from_response_json
    update_notification_topic_name update_partition_spec update_statistics_config update_topic_name validate
    version visualize_transformations zorder_by""".split()
)


class FeatureStoreException(Exception):
    """The embedded counterpart of ``hopsworks.client.exceptions.FeatureStoreException``."""


class VersionWarning(Warning):
    """Mirrors ``hsfs.util.VersionWarning``: a version was defaulted."""


class FeatureGroupWarning(Warning):
    """Mirrors ``hopsworks_common.util.FeatureGroupWarning``: a frame's column names were sanitised."""


# ---------------------------------------------------------------------------- small helpers


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def group_table(name: str, version: int) -> str:
    return quote(f"fg_{name}_{version}")


def autofix(name: Any) -> str:
    """Feature names are lower case with underscores for spaces (``hsfs.util._autofix_feature_name``)."""
    return str(name).lower().replace(" ", "_")


def check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise FeatureStoreException(
            f"{kind} name {name!r} is not valid: use lower-case letters, digits and underscores."
        )
    return name


def check_version(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise FeatureStoreException(f"version must be a positive integer, got {version!r}.")
    return int(version)


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if default is None:
        return isinstance(value, (list, tuple, dict)) and not value
    return isinstance(value, (bool, int, float, str)) and type(value) is type(default) and value == default


def require_defaults(method: Callable, **given: Any) -> None:
    """Refuse a non-default value for an SDK parameter accepted here only for signature parity."""
    params = inspect.signature(method).parameters
    for name, value in given.items():
        default = params[name].default
        if not _is_default(value, default):
            raise NotImplementedError(
                f"{method.__qualname__}({name}=...) is not supported by the embedded backend: leave it "
                f"at the SDK default {default!r}, or run on Hopsworks (set HOPSWORKS_API_KEY)."
            )


def check_options(what: str, options: dict | None, harmless: set[str]) -> None:
    unknown = sorted(set(options or {}) - harmless)
    if unknown:
        raise NotImplementedError(
            f"{what} {unknown} not supported by the embedded backend; allowed: {sorted(harmless)}."
        )


def _timestamp_from_string(text: str) -> int:
    """Epoch milliseconds of a time string (``hopsworks_common.util._get_timestamp_from_date_string``)."""
    normalised = text.replace("/", "").replace("-", "").replace(" ", "").replace(":", "").replace(".", "")
    kind = next((kind for pattern, kind in _TIME_FORMATS if pattern.match(normalised)), None)
    if kind is None:
        raise ValueError("Unable to identify format of the provided date value : " + text)
    try:
        parsed = datetime.fromisoformat(text[:-1]) if kind == "ISO" else datetime.strptime(normalised, kind)
    except ValueError as err:
        raise ValueError(
            "Unable to parse the normalized input date value : " + normalised + " with format " + kind
        ) from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(float(parsed.timestamp()) * 1000)


def epoch_ms(value: Any) -> int | None:
    """A start/end time as epoch milliseconds (``hopsworks_common.util._convert_event_time_to_timestamp``).

    Falsy values mean "no bound"; naive values are UTC; strings only in the SDK's formats; an ``int``
    of up to 10 digits is epoch seconds, a longer one epoch milliseconds.
    """
    if not value:
        return None
    if isinstance(value, str):
        return _timestamp_from_string(value)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return int(aware.timestamp() * 1000)
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp() * 1000)
    if isinstance(value, int):
        return value * 1000 if len(str(value)) <= 10 else value
    raise ValueError("Given event time should be in `datetime`, `date`, `str` or `int` type")


def naive_utc(value: Any) -> pd.Timestamp | None:
    """A start/end time as a naive UTC timestamp at millisecond precision (see :func:`epoch_ms`)."""
    ms = epoch_ms(value)
    return None if ms is None else pd.Timestamp(ms, unit="ms")


def now_ms() -> int:
    """Now in epoch milliseconds (``hsfs.core.feature_view_engine.FeatureViewEngine._get_end_time``)."""
    return int(float(datetime.now().timestamp()) * 1000)


def offline_type(arrow_type: pa.DataType) -> str | None:
    """The offline type hsfs derives for an Arrow column type, ``None`` when the embedded store has none
    (``hopsworks_common.core.type_systems._convert_pandas_dtype_to_offline_type``)."""
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_dictionary(arrow_type):  # a pandas category of strings
        value, index = arrow_type.value_type, arrow_type.index_type
        strings = pa.types.is_string(value) or pa.types.is_large_string(value)
        return "string" if strings and _ARROW_TO_OFFLINE.get(index) in ("int", "bigint") else None
    return _ARROW_TO_OFFLINE.get(arrow_type)


def check_dataframe_type(dataframe_type: Any) -> str:
    """Checked before reading, as ``hsfs.engine.python.Engine._validate_dataframe_type`` does."""
    if not isinstance(dataframe_type, str) or dataframe_type.lower() not in _DATAFRAME_TYPES:
        raise FeatureStoreException(
            f"dataframe_type : {dataframe_type} not supported. Possible values are "
            + ", ".join(f'"{t}"' for t in _DATAFRAME_TYPES)
        )
    return dataframe_type.lower()


def as_dataframe_type(df: pd.DataFrame, dataframe_type: str) -> Any:
    """Mirrors ``hsfs.engine.python.Engine._return_dataframe_type`` for the types available here."""
    kind = check_dataframe_type(dataframe_type)
    if kind == "numpy":
        return df.values
    if kind == "python":
        return df.values.tolist()
    return df


def json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


# ------------------------------------------------------------------------- metadata tables


def ensure_tables(con: Any) -> None:
    for table in (GROUPS_TABLE, VIEWS_TABLE):
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (name VARCHAR NOT NULL, version INTEGER NOT NULL, "
            "spec VARCHAR NOT NULL, created TIMESTAMP NOT NULL, PRIMARY KEY (name, version))"
        )


def load_spec(con: Any, table: str, name: str, version: int) -> dict | None:
    """The saved spec, or ``None``; a store nothing was written to yet has no metadata tables."""
    try:
        row = con.execute(
            f"SELECT spec FROM {table} WHERE name = ? AND version = ?", [name, version]
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return json.loads(row[0]) if row else None


def next_version(con: Any, table: str, name: str) -> int:
    sql = f"SELECT coalesce(max(version), 0) + 1 FROM {table} WHERE name = ?"
    return con.execute(sql, [name]).fetchone()[0]


def save_spec(con: Any, table: str, name: str, version: int, spec: dict) -> None:
    created = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", [name, version, json.dumps(spec), created])


# --------------------------------------------------------------------- features and filters

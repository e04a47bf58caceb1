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

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from serverless_iris.embedded import db
from serverless_iris.embedded.feature import Feature, filter_from_dict
from serverless_iris.embedded.feature_group import FeatureGroup
from serverless_iris.embedded.feature_view import FeatureView
from serverless_iris.embedded.query import Query
from serverless_iris.embedded.sdk_gaps import SdkGaps
from serverless_iris.embedded.util import (
    DEFAULT_VERSION,
    GROUPS_TABLE,
    STORE_NAME,
    VIEWS_TABLE,
    FeatureStoreException,
    VersionWarning,
    autofix,
    check_name,
    check_version,
    ensure_tables,
    load_spec,
    next_version,
    require_defaults,
    save_spec,
)


class FeatureStore(SdkGaps):
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
            spec = load_spec(con, GROUPS_TABLE, name, version)
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
        return self._group(check_name("Feature group", name), check_version(version))

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
        require_defaults(
            FeatureStore.get_or_create_feature_group,
            embedding_index=embedding_index,
            hudi_precombine_key=hudi_precombine_key,
            features=features,
        )
        check_name("Feature group", name)
        existing = self._group(name, check_version(version))
        if existing is not None:
            return existing
        return _with_suite(
            expectation_suite,
            FeatureGroup(
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
            ),
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
        stream: bool = False,
        expectation_suite: Any = None,
    ) -> FeatureGroup:
        """A new group, saved by its first ``insert``; no version means the next free one."""
        require_defaults(
            FeatureStore.create_feature_group,
            embedding_index=embedding_index,
            hudi_precombine_key=hudi_precombine_key,
            features=features,
        )
        check_name("Feature group", name)
        if version is not None and self._group(name, check_version(version)) is not None:
            raise FeatureStoreException(f"Feature group {name!r} version {version} already exists.")
        return _with_suite(
            expectation_suite,
            FeatureGroup(
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
            ),
        )

    def _view(self, con: Any, name: str, version: int) -> FeatureView | None:
        spec = load_spec(con, VIEWS_TABLE, name, version)
        if spec is None:
            return None
        q = spec["query"]
        group = load_spec(con, GROUPS_TABLE, q["feature_group"], q["version"])
        fg = FeatureGroup._from_spec(self._store, q["feature_group"], q["version"], group)
        by_name = {f.name: f for f in fg.features}
        query = Query(fg, [by_name[n] for n in q["features"]], filter_from_dict(q["filter"], by_name))
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
        name, version = check_name("Feature view", name), check_version(version)
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
        return self._save_view(name, query, check_version(version), description, labels, existing_ok=True)

    def create_feature_view(
        self,
        name: str,
        query: Query,
        version: int | None = None,
        description: str | None = "",
        labels: list[str] | None = None,
    ) -> FeatureView:
        """A new view; no version means the next free one, an existing version is an error."""
        version = None if version is None else check_version(version)
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
        check_name("Feature view", name)
        with db.transaction(self._store) as con:
            ensure_tables(con)
            if version is None:
                version = next_version(con, VIEWS_TABLE, name)
            existing = self._view(con, name, version)
            if existing is not None:
                if existing_ok:
                    return existing
                raise FeatureStoreException(f"Feature view {name!r} version {version} already exists.")
            view = FeatureView(name, version, _saved_query(query), _labels_in(query, labels), description)
            save_spec(con, VIEWS_TABLE, name, version, view._to_dict())
        return view


def _with_suite(expectation_suite: Any, fg: FeatureGroup) -> FeatureGroup:
    """A new group with the suite it was created with, saved along with it (``hsfs`` FeatureGroup init)."""
    if expectation_suite is not None:
        fg.save_expectation_suite(expectation_suite)
    return fg


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
    labels = [autofix(label) for label in labels or []]
    selected = [f.name for f in query.features]
    missing = [label for label in labels if label not in selected]
    if missing:
        raise FeatureStoreException(f"Labels {missing} are not selected by the query; it selects {selected}.")
    return labels

"""A saved query plus labels (``hsfs.feature_view.FeatureView``): batch data, training data, splits."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pandas as pd

from serverless_iris.embedded import db
from serverless_iris.embedded.feature import (
    EventTimeBound,
    Filter,
    Logic,
    TrainingDatasetFeature,
    and_filters,
)
from serverless_iris.embedded.query import Query
from serverless_iris.embedded.sdk_gaps import SdkGaps
from serverless_iris.embedded.training_dataset import (
    TEST,
    TRAIN,
    TrainingDataMixin,
    random_splits,
    split_frame,
)
from serverless_iris.embedded.util import (
    PROJECT_NAME,
    as_dataframe_type,
    check_dataframe_type,
    epoch_ms,
    now_ms,
    require_defaults,
)

TRAINING_DATASETS_TABLE = "fs_training_datasets"
# hsfs.core.feature_view_engine.FeatureViewEngine._get_start_time: "minimum start time is 1 second"
_FIRST_TRAINING_MS = 1000


class FeatureView(TrainingDataMixin, SdkGaps):
    """A saved query plus label columns (``hsfs.feature_view.FeatureView``)."""

    def __init__(
        self, name: str, version: int, query: Query, labels: list[str], description: str | None = ""
    ) -> None:
        self._name = name
        self._version = version
        self._query = query
        self._labels = list(labels)
        self._description = description or ""
        self._last_accessed_training_dataset: int | None = None

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
    def features(self) -> list[TrainingDatasetFeature]:
        """The view's features with their label flag, as ``hsfs.feature_view.FeatureView.features``."""
        return [
            TrainingDatasetFeature(f.name, f.type, i, f.name in self._labels)
            for i, f in enumerate(self._query.features)
        ]

    def get_last_accessed_training_dataset(self) -> int | None:
        """The training dataset version the last ``training_data``/``train_test_split`` created here."""
        return self._last_accessed_training_dataset

    def get_training_dataset_schema(
        self, training_dataset_version: int | None = None
    ) -> list[TrainingDatasetFeature]:
        """The features of a training dataset: without transformation functions, the view's features."""
        return self.features

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

    def _window(self, start: int | None, end: int | None) -> Filter | Logic | None:
        """``[start, end)`` in epoch milliseconds on the event time, as the SDK sends a batch query's
        bounds (``FeatureViewEngine._get_batch_query`` -> ``_convert_event_time_to_timestamp``)."""
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
        lower = EventTimeBound(feature, Filter.GE, start) if start is not None else None
        upper = EventTimeBound(feature, Filter.LT, end) if end is not None else None
        return and_filters(lower, upper)

    def _training_bounds(self, start: int | None, end: int | None) -> tuple[int | None, int | None]:
        """A training read of a view with an event time is bounded: no start means 1 s after the epoch,
        no end means now (``hsfs.core.feature_view_engine.FeatureViewEngine._set_event_time``)."""
        if self._query._feature_group.event_time is None:
            return start, end
        return start or _FIRST_TRAINING_MS, end or now_ms()

    def _new_training_dataset(self) -> None:
        """Record a new training dataset version, as each in-memory ``training_data``/split call creates
        one on Hopsworks (``FeatureViewEngine._create_training_data_metadata``); ``Model.save`` reads it."""
        with db.transaction(self._query._feature_group._store) as con:
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {TRAINING_DATASETS_TABLE} (feature_view VARCHAR NOT NULL, "
                "view_version INTEGER NOT NULL, version INTEGER NOT NULL, created TIMESTAMP NOT NULL, "
                "PRIMARY KEY (feature_view, view_version, version))"
            )
            key = [self._name, self._version]
            (version,) = con.execute(
                f"SELECT coalesce(max(version), 0) + 1 FROM {TRAINING_DATASETS_TABLE} "
                "WHERE feature_view = ? AND view_version = ?",
                key,
            ).fetchone()
            created = datetime.now(timezone.utc).replace(tzinfo=None)
            con.execute(
                f"INSERT INTO {TRAINING_DATASETS_TABLE} VALUES (?, ?, ?, ?)", [*key, version, created]
            )
        self._last_accessed_training_dataset = version

    def _split_labels(self, df: pd.DataFrame, dataframe_type: str) -> tuple[Any, Any]:
        """``hsfs.engine.python.Engine._split_labels``: ``(features, labels or None)``."""
        if not self._labels:
            return as_dataframe_type(df, dataframe_type), None
        return (
            as_dataframe_type(df.drop(columns=self._labels), dataframe_type),
            as_dataframe_type(df[self._labels], dataframe_type),
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
        **kwargs: Any,
    ) -> Any:
        """Features without labels; ``start_time`` inclusive, ``end_time`` exclusive on the event time.

        ``inference_helper_columns`` is accepted because the embedded views define none; the deprecated
        ``primary_keys=`` spelling is honoured as in the SDK.
        """
        require_defaults(FeatureView.get_batch_data, read_options=read_options, spine=spine)
        _reject_unknown_kwargs(kwargs, "get_batch_data")
        check_dataframe_type(dataframe_type)
        columns = self._columns(False, bool(kwargs.get("primary_keys", primary_key)), bool(event_time))
        df = self._query._read(columns, self._window(epoch_ms(start_time), epoch_ms(end_time)))
        return as_dataframe_type(df, dataframe_type)

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
        **kwargs: Any,
    ) -> tuple[Any, Any]:
        """``X, y`` over ``[start_time, end_time)``, bounded at now; ``y`` is None for a view without labels.

        ``description`` and ``statistics_config`` describe a Hopsworks training dataset and have no
        effect here; the embedded views define no training helper columns.
        """
        require_defaults(FeatureView.training_data, read_options=read_options, spine=spine)
        _reject_unknown_kwargs(kwargs, "training_data")
        check_dataframe_type(dataframe_type)
        columns = self._columns(True, kwargs.get("primary_keys") or primary_key, event_time)
        window = self._window(*self._training_bounds(epoch_ms(start_time), epoch_ms(end_time)))
        df = self._query._read(columns, and_filters(window, extra_filter))
        self._new_training_dataset()
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
        **kwargs: Any,
    ) -> tuple[Any, Any, Any, Any]:
        """``X_train, X_test, y_train, y_test``: by event time when ``train_end``/``test_start`` is
        given, else a random ``test_size`` split.

        Split sizes follow ``hsfs.engine.python.Engine._random_split``: the train split gets
        ``int(n * (1 - test_size))`` rows, the test split the rest; time splits follow
        ``hsfs.training_dataset.TrainingDataset._set_time_splits``.
        """
        require_defaults(FeatureView.train_test_split, read_options=read_options, spine=spine)
        _reject_unknown_kwargs(kwargs, "train_test_split")
        check_dataframe_type(dataframe_type)
        # hsfs.feature_view.FeatureView._validate_train_test_split
        if not ((test_size and 0 < test_size < 1) or (train_end or test_start)):
            raise ValueError(
                "Invalid split input. You should specify either `test_size` or (`train_end` or "
                "`test_start`). `test_size` should be between 0 and 1 if specified."
            )
        columns = self._columns(True, kwargs.get("primary_keys") or primary_key, event_time)
        train_start, train_end = epoch_ms(train_start), epoch_ms(train_end)
        test_start, test_end = epoch_ms(test_start), epoch_ms(test_end)
        if train_end or test_start:
            first, now = self._training_bounds(None, None)
            train_window = self._window(train_start or first, train_end or test_start)
            test_window = self._window(test_start or train_end, test_end or now)
            train = self._query._read(columns, and_filters(train_window, extra_filter))
            test = self._query._read(columns, and_filters(test_window, extra_filter))
        else:
            parts = split_frame(self._query._read(columns, extra_filter), random_splits(test_size), None)
            train, test = parts[TRAIN], parts[TEST]
        self._new_training_dataset()
        x_train, y_train = self._split_labels(train, dataframe_type)
        x_test, y_test = self._split_labels(test, dataframe_type)
        return x_train, x_test, y_train, y_test

    def _to_dict(self) -> dict:
        return {"description": self._description, "labels": self._labels, "query": self._query._to_dict()}


def _reject_unknown_kwargs(kwargs: dict[str, Any], method: str) -> None:
    """``hsfs.feature_view.FeatureView._reject_unknown_kwargs``: ``**kwargs`` exists only for the
    deprecated ``primary_keys`` spelling; anything else is refused with the SDK's message."""
    unexpected = sorted(k for k in kwargs if k != "primary_keys")
    if unexpected:
        more = "" if len(unexpected) == 1 else f" (and {len(unexpected) - 1} more)"
        raise TypeError(f"{method}() got an unexpected keyword argument {unexpected[0]!r}{more}.")


# --------------------------------------------------------------------------- feature store

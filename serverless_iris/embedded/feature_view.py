"""A saved query plus labels (``hsfs.feature_view.FeatureView``): batch data, training data, splits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from serverless_iris.embedded.feature import Feature, Filter, Logic, _and
from serverless_iris.embedded.query import Query
from serverless_iris.embedded.sdk_gaps import SdkGaps
from serverless_iris.embedded.training_dataset import TrainingDataMixin
from serverless_iris.embedded.util import (
    PROJECT_NAME,
    _as_dataframe_type,
    _check_dataframe_type,
    _require_defaults,
    _utc,
)


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

"""A saved query plus labels (``hsfs.feature_view.FeatureView``): batch data, training data, splits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

from serverless_iris.embedded.feature import (
    EventTimeBound,
    Filter,
    Logic,
    TrainingDatasetFeature,
    and_filters,
)
from serverless_iris.embedded.query import Query
from serverless_iris.embedded.sdk_gaps import SdkGaps
from serverless_iris.embedded.training_dataset import TrainingDataMixin, reject_unknown_kwargs
from serverless_iris.embedded.util import (
    PROJECT_NAME,
    as_dataframe_type,
    check_dataframe_type,
    epoch_ms,
    require_defaults,
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

    def _event_time_column(self) -> str:
        """The event time of the view's feature group; a time bound on a group without one is refused."""
        event_time = self._query._feature_group.event_time
        if event_time is None:
            raise ValueError(
                "Cannot generate dataset(s) from the given start/end time because event time column is "
                "not available in the left feature groups. A start/end time should not be provided as "
                "parameters."
            )
        return event_time

    def _window(self, start: int | None, end: int | None) -> Filter | Logic | None:
        """``[start, end)`` in epoch milliseconds on the event time, as the SDK sends a batch query's
        bounds (``FeatureViewEngine._get_batch_query`` -> ``_convert_event_time_to_timestamp``)."""
        if start is None and end is None:
            return None
        feature = self._query._feature_group[self._event_time_column()]
        lower = EventTimeBound(feature, Filter.GE, start) if start is not None else None
        upper = EventTimeBound(feature, Filter.LT, end) if end is not None else None
        return and_filters(lower, upper)

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
        reject_unknown_kwargs(kwargs, "get_batch_data")
        check_dataframe_type(dataframe_type)
        columns = self._columns(False, bool(kwargs.get("primary_keys", primary_key)), bool(event_time))
        df = self._query._read(columns, self._window(epoch_ms(start_time), epoch_ms(end_time)))
        return as_dataframe_type(df, dataframe_type)

    def _to_dict(self) -> dict:
        return {"description": self._description, "labels": self._labels, "query": self._query._to_dict()}


# --------------------------------------------------------------------------- feature store

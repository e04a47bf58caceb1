"""A selection of a feature group's features with an optional filter (``hsfs.constructor.query.Query``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from serverless_iris.embedded import db
from serverless_iris.embedded.feature import Feature, Filter, Logic, and_filters, checked_operand, time_filter
from serverless_iris.embedded.util import (
    FeatureStoreException,
    as_dataframe_type,
    check_dataframe_type,
    group_table,
    quote,
    require_defaults,
)

if TYPE_CHECKING:
    from serverless_iris.embedded.feature_group import FeatureGroup


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
        self._filter = and_filters(self._filter, checked_operand(f, "filter"))
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

        As ``hsfs.constructor.query.Query._read_with_time_filter`` does, a time window narrows this query
        itself: it stays on the query for later reads.
        """
        require_defaults(Query.read, online=online, read_options=read_options)
        check_dataframe_type(dataframe_type)
        fg = self._feature_group
        if start_time is not None or end_time is not None:
            if fg.event_time is None:
                raise FeatureStoreException(
                    "Cannot filter by start_time/end_time: no event_time column is defined for the left "
                    "feature group. Set event_time when creating the feature group to enable time-based "
                    "filtering."
                )
            self.filter(time_filter(fg[fg.event_time], start_time, end_time))
        columns = [(f.name, f.name) for f in self._features]
        return as_dataframe_type(self._read(columns, None), dataframe_type)

    def show(self, n: int, online: bool = False) -> pd.DataFrame:
        """The first ``n`` rows (the SDK's Python engine returns a DataFrame ``head(n)``)."""
        require_defaults(Query.show, online=online)
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
        select = ", ".join(f"{quote(c)} AS {quote(a)}" if c != a else quote(c) for c, a in columns)
        sql = f"SELECT {select} FROM {group_table(fg.name, fg.version)}"
        where = and_filters(self._filter, extra)
        if where is not None:
            sql += f" WHERE {where._sql(params)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with db.connect(fg._store) as con:
            # The SDK's Python engine reads the query service's Arrow stream with ``read_pandas()``
            # (``hsfs.core.arrow_flight_client.ArrowFlightClient._get_dataset``): Arrow's pandas defaults,
            # so an int column with nulls is float64, a bool one object, a date column datetime.date.
            return con.sql(sql, params=params).to_arrow_table().to_pandas()

    def _to_dict(self) -> dict:
        return {
            "feature_group": self._feature_group.name,
            "version": self._feature_group.version,
            "features": [f.name for f in self._features],
            "filter": self._filter._to_dict() if self._filter is not None else None,
        }


# -------------------------------------------------------------------------- feature groups

"""Features and the filters built from them (``hsfs.feature.Feature``, ``hsfs.constructor.filter``)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from serverless_iris.embedded.util import OFFLINE_TYPES, json_value, naive_utc, quote


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
        stamp = naive_utc(value)
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
        return Filter(self, Filter.IN, json.dumps(other, default=json_value))

    def like(self, other: Any) -> Filter:
        return Filter(self, Filter.LK, other)

    def __repr__(self) -> str:
        return f"Feature({self._name!r}, {self._type!r}, primary={self._primary})"


class TrainingDatasetFeature(Feature):
    """A feature of a view as ``fv.features`` lists it: name, offline type, position and whether it is a
    label (``hsfs.training_dataset_feature.TrainingDatasetFeature``)."""

    def __init__(self, name: str, type: str | None, index: int, label: bool = False) -> None:
        super().__init__(name, type)
        self._index = index
        self._label = label

    @property
    def index(self) -> int:
        return self._index

    @property
    def label(self) -> bool:
        return self._label

    def to_dict(self) -> dict:
        """The keys of ``TrainingDatasetFeature.to_dict`` that the embedded store knows."""
        return {"name": self._name, "type": self._type, "index": self._index, "label": self._label}

    def __repr__(self) -> str:
        return f"TrainingDatasetFeature({self._name!r}, {self._type!r}, label={self._label})"


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
        return Logic(Logic.AND, self, checked_operand(other, "&"))

    def __or__(self, other: Filter | Logic) -> Logic:
        return Logic(Logic.OR, self, checked_operand(other, "|"))

    def __repr__(self) -> str:
        return f"Filter({self._feature!r}, {self._condition!r}, {self._value!r})"

    def _sql(self, params: list[Any]) -> str:
        column = quote(self._feature.name)
        cast = OFFLINE_TYPES.get(self._feature.type or "")
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
        value = json_value(self._value)
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
        return Logic(Logic.AND, self, checked_operand(other, "&"))

    def __or__(self, other: Filter | Logic) -> Logic:
        return Logic(Logic.OR, self, checked_operand(other, "|"))

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


class EventTimeBound(Filter):
    """One end of a feature view's time window, its value in epoch milliseconds.

    A ``bigint`` event time is compared the way ``hsfs.engine.python.Engine._time_series_split`` compares
    it: each value goes through ``hopsworks_common.util._convert_event_time_to_timestamp``, so up to 10
    digits are epoch seconds and longer values epoch milliseconds. Dates and timestamps are compared as
    timestamps (a date is its midnight UTC). Never saved: windows are not part of a view's query.
    """

    def _sql(self, params: list[Any]) -> str:
        column = quote(self._feature.name)
        op = Filter._SQL[self._condition]
        if self._feature.type == "bigint":
            params.append(self._value)
            digits = f"length(CAST({column} AS VARCHAR))"
            return f"(CASE WHEN {digits} <= 10 THEN {column} * 1000 ELSE {column} END) {op} ?"
        params.append(pd.Timestamp(self._value, unit="ms").to_pydatetime())
        if self._feature.type == "date":
            column = f"CAST({column} AS TIMESTAMP)"
        return f"{column} {op} CAST(? AS TIMESTAMP)"


def checked_operand(other: Any, operator: str) -> Filter | Logic:
    if not isinstance(other, (Filter, Logic)):
        raise TypeError(f"Operator `{operator}` expected type `Filter` or `Logic`, got `{type(other)}`")
    return other


def filter_from_dict(data: dict | None, features: dict[str, Feature]) -> Filter | Logic | None:
    if data is None:
        return None
    if "condition" in data:
        return Filter(features[data["feature"]], data["condition"], data["value"])
    return Logic(
        data["type"], filter_from_dict(data["left"], features), filter_from_dict(data["right"], features)
    )


def and_filters(left: Filter | Logic | None, right: Filter | Logic | None) -> Filter | Logic | None:
    if left is None or right is None:
        return left if right is None else right
    return left & right


def time_filter(feature: Feature, start: Any, end: Any) -> Filter | Logic | None:
    """``[start, end)`` on the event time, as ``hsfs.util._build_time_filter`` builds it."""
    lower = feature >= start if start is not None else None
    upper = feature < end if end is not None else None
    return and_filters(lower, upper)


# --------------------------------------------------------------------------------- queries

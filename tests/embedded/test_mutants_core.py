"""Features, filters, queries and the shared checks (``embedded.feature``, ``query``, ``util``,
``feature_group``): promises mutation testing found no test for (README, Development)."""

from __future__ import annotations

import operator
import warnings
from datetime import date
from pathlib import Path

import hsfs.feature
import numpy as np
import pandas as pd
import pytest

from serverless_iris.embedded.feature import Feature, Filter, Logic
from serverless_iris.embedded.feature_store import FeatureStore

FRAME = pd.DataFrame(
    {
        "k": [1, 2, 3],
        "x": np.array([0.1, 0.2, 0.3], dtype="float32"),
        "s": ["10", "a%", "5"],
        "d": [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)],
    }
)
COMPARISONS = [operator.lt, operator.le, operator.eq, operator.ne, operator.ge, operator.gt]


@pytest.fixture
def fs(tmp_path: Path) -> FeatureStore:
    store = FeatureStore(tmp_path / "store")
    store.create_feature_group(name="g", version=1, primary_key=["k"]).insert(FRAME)
    return store


@pytest.fixture
def group(fs: FeatureStore):
    return fs.get_feature_group("g", version=1)


def _keys(frame: pd.DataFrame) -> list[int]:
    return sorted(int(k) for k in frame["k"])


@pytest.mark.parametrize("compare", [*COMPARISONS, Feature.like, Feature.isin])
@pytest.mark.parametrize(
    ("kind", "value"), [("bigint", 2), ("string", "a%"), ("timestamp", "2024-01-02 03:04")]
)
def test_each_comparison_builds_the_sdks_filter_on_its_feature(compare, kind: str, value) -> None:
    """Differential: condition and value as ``hsfs.feature.Feature``'s operators build them."""
    if compare is Feature.isin:
        value = [value]
    ours, theirs = Feature("f", kind), hsfs.feature.Feature("f", type=kind)
    built = compare(ours, value)
    sdk = (
        getattr(hsfs.feature.Feature, compare.__name__, None)
        if compare in (Feature.like, Feature.isin)
        else None
    )
    expected = (sdk or compare)(theirs, value)
    assert built.feature is ours
    assert (built.condition, built.value) == (expected._condition, expected._value)


def test_a_timestamp_bound_is_cut_to_seconds_without_pandas_warnings() -> None:
    """``hsfs.feature.Feature._get_filter_value``: whole UTC seconds; a deprecated pandas alias warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        built = Feature("t", "timestamp") >= pd.Timestamp("2024-01-02 03:04:05.987")
    assert built.value == "2024-01-02 03:04:05"


def test_a_timestamp_filter_without_a_time_names_the_feature_and_value() -> None:
    with pytest.raises(ValueError) as caught:
        Feature("t", "timestamp").__lt__(0)
    assert str(caught.value) == "A filter on timestamp feature 't' needs a time, got 0."


@pytest.mark.parametrize(
    ("build", "keys"),
    [
        (lambda g: g.x == 0.1, [1]),  # compared as FLOAT, the column's type, not as a DOUBLE 0.1
        (lambda g: g.x <= 0.2, [1, 2]),
        (lambda g: g.s == 5, [3]),  # a number against a string feature is compared as text
        (lambda g: g.s.like("a%"), [2]),
        (lambda g: g.k.isin([]), []),
        (lambda g: g.k.isin(2), [2]),
        (lambda g: g.k.isin([np.int64(1), 3]), [1, 3]),
        (lambda g: g.d.isin([date(2024, 1, 2)]), [2]),
        (lambda g: Filter(g.k, Filter.IN, [1, 3]), [1, 3]),  # a filter built with a list, not JSON
        (lambda g: (g.k == 1) | (g.k == 3), [1, 3]),
        (lambda g: ((g.k == 1) | (g.k == 2)) | (g.k == 3), [1, 2, 3]),
        (lambda g: ((g.k == 1) | (g.k == 2)) & (g.k >= 2), [2]),
    ],
)
def test_filters_select_their_rows(group, build, keys: list[int]) -> None:
    assert _keys(group.filter(build(group)).read()) == keys


@pytest.mark.parametrize("combine", [operator.and_, operator.or_])
@pytest.mark.parametrize("left", [lambda g: g.k == 1, lambda g: (g.k == 1) & (g.k == 2)])
def test_combining_with_a_non_filter_is_the_sdks_type_error(group, combine, left) -> None:
    symbol = "&" if combine is operator.and_ else "|"
    with pytest.raises(TypeError) as caught:
        combine(left(group), 1)
    assert str(caught.value) == f"Operator `{symbol}` expected type `Filter` or `Logic`, got `<class 'int'>`"


def test_features_of_different_names_stay_apart_in_a_set(group) -> None:
    """``__eq__`` builds a (truthy) filter, so only the hash keeps features apart, as hsfs' name hash does."""
    assert len({group.k, group.x, group.k}) == 2
    assert hash(group.k) == hash(Feature("k"))


def test_a_saved_view_reads_back_its_nested_filter(fs: FeatureStore, group) -> None:
    """The filter is saved as JSON with the view and rebuilt by the next process's store."""
    query = group.select_all().filter(((group.k == 1) | (group.s.like("5"))) & (group.x < 0.35))
    fs.create_feature_view(name="v", version=1, query=query)
    again = FeatureStore(fs._store).get_feature_view("v", version=1)
    saved = again.query._filter
    assert isinstance(saved, Logic) and saved.type == Logic.AND
    left = saved.get_left_filter_or_logic()
    assert (left.type, left.get_right_filter_or_logic().condition) == (Logic.OR, Filter.LK)
    assert again.query._to_dict() == query._to_dict()
    assert _keys(again.get_batch_data()) == [1, 3]


def test_a_view_lists_its_features_with_index_and_label(fs: FeatureStore, group) -> None:
    view = fs.create_feature_view(name="v", version=1, query=group.select(["k", "s"]), labels=["s"])
    listed = [(f.name, f.type, f.index, f.label) for f in view.features]
    assert listed == [("k", "bigint", 0, False), ("s", "string", 1, True)]
    assert [f.to_dict() for f in view.features] == [
        {"name": "k", "type": "bigint", "index": 0, "label": False},
        {"name": "s", "type": "string", "index": 1, "label": True},
    ]
    assert repr(view.features[1]) == "TrainingDatasetFeature('s', 'string', label=True)"


def test_a_query_prints_its_group_features_and_filter(group) -> None:
    query = group.select(["k", "x"]).filter(group.k == 1)
    assert repr(query) == (
        "Query(g v1, ['k', 'x'], Filter(Feature('k', 'bigint', primary=True), 'EQUALS', 1))"
    )

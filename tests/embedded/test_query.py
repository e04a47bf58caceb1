"""Features, filters and queries (``embedded.feature``, ``query``), the checks and conversions they share
(``util``), a group's features and pickling (``feature_group``) and the project (``project``): each
comparison builds the SDK's filter, each filter selects the rows DuckDB should return."""

from __future__ import annotations

import copy
import operator
import os
import pickle
import time
import warnings
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import hsfs.feature
import numpy as np
import pandas as pd
import pytest
from hopsworks_common.util import _convert_event_time_to_timestamp

from serverless_iris.embedded import db
from serverless_iris.embedded.feature import Feature, Filter, Logic, TrainingDatasetFeature
from serverless_iris.embedded.feature_store import FeatureStore
from serverless_iris.embedded.project import LocalProject
from serverless_iris.embedded.util import FeatureStoreException, epoch_ms

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
def fs(fs: FeatureStore) -> FeatureStore:
    """The shared empty store with the group ``g`` holding ``FRAME``."""
    fs.create_feature_group(name="g", version=1, primary_key=["k"]).insert(FRAME)
    return fs


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


def test_the_project_hands_out_the_stores_dataset_api_and_model_serving(tmp_path: Path) -> None:
    project = LocalProject(tmp_path / "store")
    assert repr(project.get_dataset_api()) == f"DatasetApi(store={str(tmp_path / 'store')!r})"
    assert repr(project.get_model_serving()) == f"ModelServing(store={str(tmp_path / 'store')!r})"


def test_a_filter_on_an_untyped_feature_compares_the_value_as_given(group) -> None:
    """A ``Feature`` built by hand has no type: its value is bound without a cast."""
    assert _keys(group.filter(Feature("k") == 2).read()) == [2]


def test_a_single_filter_logic_is_saved_and_read_back(fs: FeatureStore, group) -> None:
    fs.create_feature_view(
        name="v", version=1, query=group.select_all().filter(Logic(Logic.SINGLE, group.k == 2))
    )
    again = FeatureStore(fs._store).get_feature_view("v", version=1)
    assert again.query._filter.get_right_filter_or_logic() is None
    assert _keys(again.get_batch_data()) == [2]


def test_a_training_dataset_feature_is_no_label_unless_told() -> None:
    """``hsfs.training_dataset_feature.TrainingDatasetFeature``'s ``label`` defaults to False."""
    assert TrainingDatasetFeature("x", "int", 0).label is False


def test_training_data_ends_now(fs: FeatureStore) -> None:
    """No end time means now (``FeatureViewEngine._get_end_time``): a row three days ahead is left out."""
    now = pd.Timestamp.now(tz="UTC").tz_convert(None).floor("s")
    times = [now - pd.Timedelta(days=3), now + pd.Timedelta(days=3)]
    timed = fs.create_feature_group(name="timed", version=1, primary_key=["k"], event_time="t")
    timed.insert(pd.DataFrame({"k": [1, 2], "t": times, "y": [0, 1]}))
    view = fs.create_feature_view(name="timed", version=1, query=timed.select_all(), labels=["y"])
    x, _ = view.training_data()
    assert x["k"].tolist() == [1]


@pytest.fixture
def new_york() -> Iterator[None]:
    """The process's local time zone set to UTC-5, so a naive time read as local time is hours off."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.parametrize("text", ["2024-01-03", "2024-01-03 10:11:12", "2024-01-03T10:11:12Z"])
def test_a_time_string_is_utc_whatever_the_local_zone(new_york: None, text: str) -> None:
    """Differential: ``hopsworks_common.util._get_timestamp_from_date_string`` reads a zone-free time as
    UTC."""
    expected = pd.Timestamp(text.rstrip("Z"), tz="UTC").value // 10**6
    assert epoch_ms(text) == _convert_event_time_to_timestamp(text) == expected


def test_a_hudi_upsert_without_keys_keeps_every_row(fs: FeatureStore) -> None:
    """Nothing to deduplicate on: repeated rows are all written."""
    plain = fs.create_feature_group(name="plain", version=1, time_travel_format="HUDI")
    plain.insert(pd.DataFrame({"a": [1, 1], "b": [2, 2]}))
    plain.insert(pd.DataFrame({"a": [1], "b": [2]}))
    assert len(plain.read()) == 3


def test_an_unknown_attribute_is_pythons_attribute_error(group) -> None:
    with pytest.raises(AttributeError) as caught:
        group.no_such_feature  # noqa: B018
    assert str(caught.value) == "'FeatureGroup' object has no attribute 'no_such_feature'"


@pytest.mark.parametrize(
    ("key", "early", "saved", "stored", "mine"),
    [
        ("event_time", {"event_time": "t"}, {}, "None", "'t'"),
        ("partition_key", {"partition_key": ["s"]}, {}, "[]", "['s']"),
    ],
)
def test_an_object_meeting_a_group_saved_with_another_key_is_refused(
    fs: FeatureStore, key: str, early: dict, saved: dict, stored: str, mine: str
) -> None:
    frame = pd.DataFrame({"k": [1], "s": ["a"], "t": [pd.Timestamp("2024-01-01")]})
    first = fs.get_or_create_feature_group(name="other", version=1, primary_key=["k"], **early)
    fs.get_or_create_feature_group(name="other", version=1, primary_key=["k"], **saved).insert(frame)
    with pytest.raises(FeatureStoreException) as caught:
        first.insert(frame)
    assert (
        str(caught.value)
        == f"Feature group 'other' version 1 already exists with {key}={stored}, not {mine}."
    )


def test_select_takes_features_or_names_and_refuses_an_unknown_one(group) -> None:
    assert [f.name for f in group.select([group.x, "K"]).features] == ["x", "k"]
    with pytest.raises(FeatureStoreException) as caught:
        group.select(["k", "nope"])
    assert str(caught.value) == "Feature 'nope' is not in feature group 'g'; it has ['k', 'x', 's', 'd']."


def test_show_returns_the_first_rows(group) -> None:
    assert len(group.show(2)) == 2
    with pytest.raises(NotImplementedError):
        group.show(2, online=True)


ZONE_FREE = [
    datetime(2024, 1, 3, 10, 11, 12, 123456),
    date(2024, 1, 3),
    pd.Timestamp("2024-01-03 10:11:12.123"),
    "2024-01-03",
    "2024-01-03 10:11:12",
    "2024-01-03T10:11:12Z",
]


@pytest.mark.parametrize("value", ZONE_FREE, ids=repr)
def test_a_zone_free_time_is_utc_whatever_the_local_zone(new_york: None, value) -> None:
    """Differential: ``hopsworks_common.util._convert_event_time_to_timestamp`` reads a zone-free time
    (a naive datetime or Timestamp, a date, a string) as UTC."""
    expected = pd.Timestamp(str(value).rstrip("Z"), tz="UTC").value // 10**6
    assert epoch_ms(value) == _convert_event_time_to_timestamp(value) == expected


def test_a_timestamp_with_nanoseconds_warns_as_the_sdk_warns() -> None:
    """Both go through ``Timestamp.to_pydatetime``, which says it drops the nanoseconds."""
    value = pd.Timestamp("2024-01-03 10:11:12.123456789")
    with warnings.catch_warnings(record=True) as sdk:
        warnings.simplefilter("always")
        expected = _convert_event_time_to_timestamp(value)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        assert epoch_ms(value) == expected
    assert [str(w.message) for w in ours] == [str(w.message) for w in sdk] != []


def test_a_training_dataset_is_recorded_at_utc(new_york: None, fs: FeatureStore, group) -> None:
    """Like every ``created`` column of the store's metadata (``fs_feature_groups``), in UTC."""
    view = fs.create_feature_view(name="v", version=1, query=group.select_all())
    view.training_data()
    with db.connect(fs._store) as con:
        recorded, group_saved = (
            con.execute(f"SELECT max(created) FROM {table}").fetchone()[0]
            for table in ("fs_training_datasets", "fs_feature_groups")
        )
    assert abs(recorded - group_saved) < timedelta(hours=1)  # the local zone is 5 hours off


def test_a_feature_by_a_key_that_is_no_name_is_the_sdks_type_error(group) -> None:
    with pytest.raises(TypeError) as caught:
        group[1]
    assert str(caught.value) == (
        "Expected type `str`, got `<class 'int'>`. Features and transformations are accessible by name."
    )


def test_a_group_survives_copy_and_pickle(group) -> None:
    """``copy`` and ``pickle`` look up attributes on an object whose ``__init__`` has not run."""
    for clone in (copy.copy(group), copy.deepcopy(group), pickle.loads(pickle.dumps(group))):
        assert [f.name for f in clone.features] == ["k", "x", "s", "d"]
        assert _keys(clone.read()) == [1, 2, 3]


def test_a_missing_feature_by_name_is_the_sdks_key_error(group) -> None:
    with pytest.raises(KeyError) as caught:
        group["nope"]
    assert caught.value.args == ("'FeatureGroup' object has no feature or transformation called 'nope'.",)

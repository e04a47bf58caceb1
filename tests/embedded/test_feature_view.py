"""Feature-view reads: helper columns only when asked for, every bound and filter of a time split
reaching its read, the split's refusals, options the stand-in refuses, and the frame type of a view
without labels."""

from __future__ import annotations

import hsfs.feature_view
import numpy as np
import pandas as pd
import pytest

from serverless_iris.embedded.feature_store import FeatureStore

DAY = [pd.Timestamp("2024-01-01") + pd.Timedelta(days=i) for i in range(7)]  # row k has time DAY[k]
HELPERS = ["local_g_1_k", "local_g_1_t"]  # hsfs' fully qualified names of keys the view does not select


@pytest.fixture
def fs(fs: FeatureStore) -> FeatureStore:
    """The shared empty store with the group ``g``: row ``k`` at ``DAY[k]``."""
    group = fs.create_feature_group(name="g", version=1, primary_key=["k"], event_time="t")
    group.insert(pd.DataFrame({"k": range(1, 7), "t": DAY[1:], "f": [10 * k for k in range(1, 7)], "y": 0}))
    return fs


@pytest.fixture
def view(fs: FeatureStore):
    group = fs.get_feature_group("g", version=1)
    return fs.create_feature_view(name="v", version=1, query=group.select(["f", "y"]), labels=["y"])


def _keys(frame: pd.DataFrame) -> list[int]:
    return sorted(int(f) // 10 for f in frame["f"])


def test_helper_columns_come_only_when_asked_for(view) -> None:
    x, y = view.training_data()
    x_train, x_test, _, _ = view.train_test_split(test_size=0.5)
    assert [list(f.columns) for f in (x, y, x_train, x_test, view.get_batch_data())] == [["f"], ["y"]] + [
        ["f"]
    ] * 3

    asked = {"primary_key": True, "event_time": True}
    x, _ = view.training_data(**asked)
    x_train, _, _, _ = view.train_test_split(test_size=0.5, **asked)
    for frame in (x, x_train, view.get_batch_data(**asked)):
        assert list(frame.columns) == ["f", *HELPERS]


def test_every_bound_and_filter_of_a_time_split_reaches_its_read(view) -> None:
    group = view.query._feature_group
    x_train, x_test, _, _ = view.train_test_split(train_start=DAY[2], train_end=DAY[4], test_end=DAY[6])
    assert (_keys(x_train), _keys(x_test)) == ([2, 3], [4, 5])

    not_2_or_5 = (group["f"] != 20) & (group["f"] != 50)
    x_train, x_test, _, _ = view.train_test_split(test_start=DAY[3], extra_filter=not_2_or_5)
    assert (_keys(x_train), _keys(x_test)) == ([1], [3, 4, 6])

    x, _ = view.training_data(start_time=DAY[2], end_time=DAY[5], extra_filter=group["f"] != 30)
    assert _keys(x) == [2, 4]


def test_a_random_split_reads_through_the_extra_filter(view) -> None:
    group = view.query._feature_group
    x_train, x_test, y_train, y_test = view.train_test_split(test_size=0.5, extra_filter=group["f"] > 20)
    assert (len(x_train), len(x_test), len(y_train), len(y_test)) == (2, 2, 2, 2)
    assert sorted(_keys(x_train) + _keys(x_test)) == [3, 4, 5, 6]


@pytest.mark.parametrize("test_size", [None, 0, 1, 1.5, -0.5])
def test_a_split_without_a_valid_size_or_time_is_refused(view, test_size) -> None:
    with pytest.raises(ValueError) as caught:
        view.train_test_split(test_size=test_size)
    assert str(caught.value) == (
        "Invalid split input. You should specify either `test_size` or (`train_end` or `test_start`). "
        "`test_size` should be between 0 and 1 if specified."
    )


@pytest.mark.parametrize("method", ["get_batch_data", "training_data", "train_test_split"])
@pytest.mark.parametrize(
    "option", [{"read_options": {"use_hive": True}}, {"spine": pd.DataFrame({"k": [1]})}]
)
def test_options_the_stand_in_cannot_honour_are_refused(view, method: str, option: dict) -> None:
    (name,) = option
    extra = {"test_size": 0.5} if method == "train_test_split" else {}
    with pytest.raises(
        NotImplementedError, match=rf"^FeatureView\.{method}\({name}=\.\.\.\) is not supported"
    ):
        getattr(view, method)(**option, **extra)


def test_a_view_without_labels_returns_features_of_the_asked_type_and_no_labels(fs: FeatureStore) -> None:
    group = fs.get_feature_group("g", version=1)
    plain = fs.create_feature_view(name="p", version=1, query=group.select(["f"]))

    x, y = plain.training_data(dataframe_type="numpy")

    assert y is None and isinstance(x, np.ndarray)
    assert sorted(x[:, 0].tolist()) == [10, 20, 30, 40, 50, 60]


@pytest.mark.parametrize("method", ["get_batch_data", "training_data", "train_test_split"])
@pytest.mark.parametrize("unknown", [{"a": 1}, {"b": 1, "a": 2, "c": 3}])
def test_unknown_keywords_are_refused_as_the_sdk_refuses_them(view, method: str, unknown: dict) -> None:
    """Differential: ``hsfs.feature_view.FeatureView._reject_unknown_kwargs``."""
    with pytest.raises(TypeError) as sdk:
        hsfs.feature_view.FeatureView._reject_unknown_kwargs(unknown, method)
    with pytest.raises(TypeError) as caught:
        getattr(view, method)(**unknown)
    assert str(caught.value) == str(sdk.value)


def test_a_time_window_on_a_view_without_event_time_is_the_sdks_error(fs: FeatureStore) -> None:
    """``hsfs.core.feature_view_engine.FeatureViewEngine.get_batch_data``'s message."""
    plain = fs.create_feature_group(name="plain", version=1, primary_key=["k"])
    plain.insert(pd.DataFrame({"k": [1]}))
    view = fs.create_feature_view(name="plain", version=1, query=plain.select_all())
    with pytest.raises(ValueError) as caught:
        view.get_batch_data(end_time=DAY[3])
    assert str(caught.value) == (
        "Cannot generate dataset(s) from the given start/end time because event time column is not "
        "available in the left feature groups. A start/end time should not be provided as parameters."
    )


def test_an_end_time_alone_bounds_batch_data(view) -> None:
    assert _keys(view.get_batch_data(end_time=DAY[3])) == [1, 2]
    assert _keys(view.get_batch_data(start_time=DAY[5])) == [5, 6]


def test_a_date_event_time_window_compares_dates_as_midnight(fs: FeatureStore) -> None:
    days = fs.create_feature_group(name="days", version=1, primary_key=["k"], event_time="d")
    days.insert(pd.DataFrame({"k": [1, 2, 3], "d": [t.date() for t in DAY[1:4]], "f": [10, 20, 30]}))
    view = fs.create_feature_view(name="days", version=1, query=days.select(["f"]))
    assert _keys(view.get_batch_data(start_time=DAY[2], end_time=DAY[3] + pd.Timedelta(hours=1))) == [2, 3]

"""The backfill rule the feature notebook and the runner share (serverless_iris.helpers.backfill)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from serverless_iris.embedded.project import LocalProject
from serverless_iris.helpers.backfill import (
    backfill_mode,
    check_backfill_parameters,
    holds_backfill,
    holds_only_backfill,
)
from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME


def never_asked() -> bool:
    raise AssertionError("the store was asked although the parameters decide")


@pytest.mark.parametrize(
    ("backfill", "iris_csv", "holds", "expected"),
    [
        (True, None, never_asked, True),
        (False, None, never_asked, False),
        (1, None, never_asked, True),  # the parameters cell allows BACKFILL in (None, True, False): 1 == True
        (None, "my.csv", never_asked, True),  # a file named to load is loaded
        (True, "my.csv", never_asked, True),
        (None, None, lambda: False, True),  # nothing backfilled yet
        (None, None, lambda: True, False),  # backfilled: add flowers
    ],
)
def test_backfill_mode(backfill: object, iris_csv: str | None, holds, expected: bool) -> None:
    assert backfill_mode(backfill, iris_csv, holds) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize("backfill", ["yes", 2, "True", [True]])
def test_a_backfill_value_outside_none_true_false_is_refused_naming_the_allowed_ones(
    backfill: object,
) -> None:
    with pytest.raises(ValueError, match=r"BACKFILL must be None \(automatic\), True or False, not "):
        check_backfill_parameters(backfill, None)


def test_a_csv_with_backfill_false_is_refused_saying_what_to_change() -> None:
    with pytest.raises(ValueError) as caught:
        backfill_mode(False, "my.csv", never_asked)
    assert str(caught.value) == (
        "IRIS_CSV (my.csv) is loaded by a backfill, which BACKFILL=False turns off: "
        "leave BACKFILL None or set it True"
    )


def flowers(event_time: dt.datetime, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sepal_length": [5.0 + i / 10 for i in range(n)],
            "sepal_width": 3.0,
            "petal_length": 1.5,
            "petal_width": 0.2,
            "variety": "Setosa",
            "event_time": pd.Timestamp(event_time),
        }
    )


def test_what_the_store_holds_is_read_from_the_backfills_event_time(tmp_path: Path) -> None:
    fs = LocalProject(tmp_path / "store").get_feature_store()
    assert not holds_backfill(None) and not holds_only_backfill(None)  # no group yet
    group = fs.get_or_create_feature_group(
        name="iris", version=1, primary_key=["sepal_length"], event_time="event_time"
    )
    group.insert(flowers(BACKFILL_EVENT_TIME, 3))
    assert holds_backfill(group) and holds_only_backfill(group)
    group.insert(
        flowers(BACKFILL_EVENT_TIME + dt.timedelta(seconds=1), 1)
    )  # one second later: a daily flower
    assert holds_backfill(group) and not holds_only_backfill(group)
    daily_only = fs.get_or_create_feature_group(
        name="iris", version=2, primary_key=["sepal_length"], event_time="event_time"
    )
    daily_only.insert(flowers(dt.datetime(2026, 12, 7, tzinfo=dt.timezone.utc), 2))
    assert not holds_backfill(daily_only) and not holds_only_backfill(daily_only)

"""Backfill or add flowers: the feature notebook's mode, one rule for the notebook and the runner.

Backfilled flowers all carry one fixed event time (:data:`~.flowers.BACKFILL_EVENT_TIME`), so reading
that one instant tells whether a group holds the backfill, and reading after it whether it holds anything
else. The notebook asks before it writes; the runner asks after a first backfill, to add today's flower.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME

_ONE_SECOND = dt.timedelta(seconds=1)


def check_backfill_parameters(backfill: object, iris_csv: object) -> None:
    """Refuse values of ``BACKFILL`` and ``IRIS_CSV`` that contradict each other or are not allowed."""
    if backfill not in (None, True, False):  # 1 and 0 pass, as the parameters cell's allowed values say
        raise ValueError(f"BACKFILL must be None (automatic), True or False, not {backfill!r}")
    if iris_csv and backfill is False:
        raise ValueError(
            f"IRIS_CSV ({iris_csv}) is loaded by a backfill, which BACKFILL=False turns off: "
            "leave BACKFILL None or set it True"
        )


def backfill_mode(backfill: bool | None, iris_csv: object, holds_backfill: Callable[[], bool]) -> bool:
    """Whether the feature notebook backfills: as ``BACKFILL`` says; when it is None, when ``IRIS_CSV``
    names a file to load or when the group holds no backfill yet (``holds_backfill`` asks the store,
    only when needed)."""
    check_backfill_parameters(backfill, iris_csv)
    if backfill is not None:
        return bool(backfill)
    return bool(iris_csv) or not holds_backfill()


def holds_backfill(group: Any) -> bool:
    """Whether feature group ``group`` (None when it does not exist) holds backfilled flowers."""
    if group is None:
        return False
    return len(group.read(start_time=BACKFILL_EVENT_TIME, end_time=BACKFILL_EVENT_TIME + _ONE_SECOND)) > 0


def holds_only_backfill(group: Any) -> bool:
    """Whether ``group`` exists and holds no flower after the backfill's event time (a first run)."""
    if group is None:
        return False
    return len(group.read(start_time=BACKFILL_EVENT_TIME + _ONE_SECOND)) == 0

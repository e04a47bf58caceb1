"""Backfill or add flowers: the feature notebook's mode, one rule for the notebook and the runner.

Backfilled flowers all carry one fixed event time (:data:`~.flowers.BACKFILL_EVENT_TIME`), so reading
that one instant tells whether a group holds the backfill, and reading after it whether it holds anything
else. The notebook asks before it writes; the runner asks after a first backfill, to add today's flower.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME, FEATURES
from serverless_iris.helpers.wording import plural

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


def backfill_note(group: Any, rows: Any) -> str | None:
    """What a backfill of ``rows`` (a DataFrame) adds beside the backfill ``group`` already holds, said
    when it is not nothing: a flower is known by its four measurements (and the backfill's event time),
    so a row whose measurements were edited is a new flower, added beside the stored one it was edited
    from, and a row whose variety alone changed replaces the stored variety."""
    if group is None:
        return None
    stored = group.read(start_time=BACKFILL_EVENT_TIME, end_time=BACKFILL_EVENT_TIME + _ONE_SECOND)
    if len(stored) == 0:
        return None
    key = list(FEATURES)
    known = dict(zip(stored[key].itertuples(index=False, name=None), stored["variety"], strict=True))
    keys = list(rows[key].itertuples(index=False, name=None))
    new = sum(k not in known for k in keys)
    relabelled = sum(k in known and known[k] != v for k, v in zip(keys, rows["variety"], strict=True))
    if not new and not relabelled:
        return None
    said = []
    if new:
        said.append(
            f"{plural(new, 'row')} {'matches' if new == 1 else 'match'} no stored flower, added beside the "
            f"{plural(len(stored), 'stored flower')}: a flower is known by its four measurements, so a row "
            "whose measurements were edited is a new flower, and the one it was edited from stays"
        )
    if relabelled:
        verb = "changes" if relabelled == 1 else "change"
        said.append(f"{plural(relabelled, 'row')} {verb} the variety of a stored flower, replacing it")
    return "; ".join(said)

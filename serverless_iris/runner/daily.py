"""What a run adds to its own plan as it goes: three pure decisions, which the run loop applies.

Each decision takes what the store or the last dashboard said and returns the notebooks to add and why
(None: add nothing). The run loop asks the questions (:mod:`.store_questions`, ``dashboard.json``),
applies the answer and says the reason on the console and in ``run.json``.

- After a backfill that left the store holding only the backfill (a first run), the feature notebook
  runs again to add today's flower, so the dashboard's first "today" is today.
- ``--daily`` trains before inference when no model is registered yet.
- ``--daily`` retrains and predicts again when the inference it just ran raised the accuracy alert and
  asked to retrain (see :func:`serverless_iris.helpers.dashboard_files.alert` for when it asks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from serverless_iris.runner.plan import MODEL_NAME


@dataclass(frozen=True)
class Addition:
    """Notebooks a run adds to its plan, where, and why."""

    notebooks: tuple[str, ...]  # pipeline names, in the order they run
    where: Literal["next", "before inference", "end"]  # next: right after the notebook that just ran
    reason: str  # why, as run.json records it
    action: str  # what the run does about it
    record: Literal["trained", "retrained"] | None = None  # the run.json field that keeps ``reason``

    @property
    def line(self) -> str:
        """The console line that says it."""
        return f"{self.reason}: {self.action}"


def todays_flower(only_backfilled: bool | None) -> Addition | None:
    """After the feature notebook: add today's flower when the store holds only the backfill.

    ``only_backfilled`` is None when the store could not tell; then nothing is added.
    """
    if only_backfilled is not True:
        return None
    return Addition(("feature",), "next", "the store holds only the backfill", "adding today's flower")


def train_first(versions: list[int] | None) -> Addition | None:
    """``--daily``, before inference: train when the registry holds no version of the model.

    ``versions`` is None when the registry could not tell (no network, a busy store): the run does not
    train, and inference reports the actual problem.
    """
    if versions != []:
        return None
    return Addition(
        ("training",),
        "before inference",
        f"no model '{MODEL_NAME}' was registered yet",
        "training one before inference",
        "trained",
    )


def retrain_on_alert(dashboard: Mapping[str, Any] | None, trained_this_run: bool) -> Addition | None:
    """``--daily``, after inference: train, then predict again, when the dashboard this inference wrote
    (None when it wrote none) raises the alert and asks to retrain. Never twice in one run."""
    if trained_this_run or dashboard is None:
        return None
    raised = dashboard.get("alert")
    if not isinstance(raised, Mapping) or not (raised.get("below") and raised.get("retrain")):
        return None
    message = raised.get("message")
    if isinstance(message, str) and message:
        reason = message[0].lower() + message[1:].rstrip(".")
    else:
        reason = "the accuracy alert was raised"
    return Addition(
        ("training", "inference"),
        "end",
        reason,
        "training a new model, then predicting again with it",
        "retrained",
    )

"""The run's own decisions (serverless_iris.runner.daily), called directly: what is added, where and why."""

from __future__ import annotations

import pytest

from serverless_iris.runner import daily


@pytest.mark.parametrize(("answer", "added"), [(True, True), (False, False), (None, False)])
def test_todays_flower_is_added_only_when_the_store_says_it_holds_only_the_backfill(
    answer: bool | None, added: bool
) -> None:
    addition = daily.todays_flower(answer)
    if not added:
        assert addition is None
        return
    assert addition is not None
    assert (addition.notebooks, addition.where, addition.record) == (("feature",), "next", None)
    assert addition.line == "the store holds only the backfill: adding today's flower"


@pytest.mark.parametrize(("versions", "added"), [([], True), ([1], False), ([1, 2], False), (None, False)])
def test_training_comes_first_only_when_the_registry_answered_that_it_holds_no_model(
    versions: list[int] | None, added: bool
) -> None:
    addition = daily.train_first(versions)
    if not added:
        assert addition is None  # None: the registry could not tell, so inference reports the problem
        return
    assert addition is not None
    assert (addition.notebooks, addition.where, addition.record) == (
        ("training",),
        "before inference",
        "trained",
    )
    assert addition.reason == "no model 'iris' was registered yet"
    assert addition.line == "no model 'iris' was registered yet: training one before inference"


def alert(**fields: object) -> dict[str, object]:
    return {
        "alert": {
            "below": True,
            "retrain": True,
            "message": "Rolling accuracy 42.9% fell below 80%.",
            **fields,
        }
    }


def test_an_alert_that_asks_to_retrain_adds_training_then_inference_at_the_end() -> None:
    addition = daily.retrain_on_alert(alert(), trained_this_run=False)
    assert addition is not None
    assert (addition.notebooks, addition.where, addition.record) == (
        ("training", "inference"),
        "end",
        "retrained",
    )
    assert addition.reason == "rolling accuracy 42.9% fell below 80%"  # lower-cased, no full stop
    assert addition.line == (
        "rolling accuracy 42.9% fell below 80%: training a new model, then predicting again with it"
    )


@pytest.mark.parametrize(
    ("dashboard", "trained"),
    [
        (None, False),  # this inference wrote no dashboard
        ({}, False),  # a dashboard without an alert
        ({"alert": "raised"}, False),  # not an alert record
        (alert(below=False), False),  # accuracy at or above the threshold
        (alert(retrain=False), False),  # RETRAIN_ON_ALERT=false, or the rule holds it
        (alert(), True),  # this run trained already: never twice
    ],
)
def test_no_retraining_without_a_fresh_alert_that_asks_for_it(dashboard: dict | None, trained: bool) -> None:
    assert daily.retrain_on_alert(dashboard, trained_this_run=trained) is None


@pytest.mark.parametrize("message", [None, "", 7])
def test_an_alert_without_a_message_still_says_why(message: object) -> None:
    addition = daily.retrain_on_alert(alert(message=message), trained_this_run=False)
    assert addition is not None and addition.reason == "the accuracy alert was raised"

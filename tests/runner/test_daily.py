"""The run's own decisions (serverless_iris.runner.daily): called directly, what is added, where and why;
then in a run, what the run does when the store cannot answer."""

from __future__ import annotations

import subprocess

import pytest
from support import FIXTURES, REPO, Workspace

from serverless_iris.embedded.db import DB_FILE
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


DAILY = ("--daily", "--notebooks", str(FIXTURES / "ok"), "-q")


def _names(workspace: Workspace) -> list[str]:
    (record,) = workspace.runs()
    return [entry["name"] for entry in record["notebooks"]]


def test_daily_does_not_train_when_the_registry_cannot_be_read(workspace: Workspace) -> None:
    """Planted bug: ``if not versions:`` in ``daily.train_first`` (unknown taken as empty). The
    control, the same run on a readable empty store that does train, is test_runner.py's
    ``test_daily_trains_first_when_no_model_is_registered``.

    The store's database is not a DuckDB file, so ``ModelVersions`` answers None; the fixture notebooks
    never open the store, so the run itself succeeds without training.
    """
    workspace.store.mkdir(parents=True)
    (workspace.store / DB_FILE).write_bytes(b"not a duckdb file\n" * 64)

    done = workspace.run_here(*DAILY)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "training" not in done.stdout
    assert _names(workspace) == ["feature", "inference"]
    (record,) = workspace.runs()
    assert record["retrained"] is None
    # the run records the commit of the checkout it ran from (read here with another git command)
    head = subprocess.run(
        ["git", "log", "-1", "--format=%H"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert record["git_commit"] == head.stdout.strip() and len(record["git_commit"]) == 40

"""The dashboard's files: their folder and names, the shape of ``dashboard.json``, and the alert's rule.

The batch-inference notebook writes these files (through :mod:`serverless_iris.helpers.dashboard`); the runner
and its index page read them only through this module. It imports nothing heavy, so the runner can.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from serverless_iris.files import read_json
from serverless_iris.helpers.wording import plural
from serverless_iris.paths import DASHBOARD_ENV, OUTPUTS_DIR

DASHBOARD_FOLDER = "dashboard"  # the dashboard folder's name inside an outputs folder
DASHBOARD_JSON = "dashboard.json"  # :class:`Dashboard`
KNN_MODEL_JSON = (
    "knn_model.json"  # the model in use, as ``serverless_iris.helpers.tryit.export_knn`` exports it
)
PREDICTED_PICTURE = "latest_iris.png"  # today's flower as the model predicted it
ACTUAL_PICTURE = "actual_iris.png"  # today's flower as it was labelled
RECENT_TABLE = "df_recent.png"  # the newest predictions against their labels
CONFUSION_MATRIX = "confusion_matrix.png"  # every recorded prediction against its label
ACCURACY_PLOT = "accuracy.png"  # cumulative and rolling accuracy over time
TRAINING_CONFUSION_MATRIX = "training_confusion_matrix.png"  # the newest training run's test set
TRAINED_JSON = "trained_model.json"  # :class:`ModelCard` of the model the training notebook registered last
FLOWER_PICTURES = "flowers"  # subfolder: the variety pictures the Try-it form shows

ROLLING_WINDOWS = (7, 30)  # the dashboard's rolling accuracy: over the last 7 and 30 predictions
ALERT_WINDOW = 7  # the alert watches the rolling accuracy over the last 7 predictions
ALERT_THRESHOLD = 0.8  # the inference notebook's default ACCURACY_THRESHOLD


class ModelCard(TypedDict, total=False):
    name: str
    version: int
    metrics: dict[str, float]
    created: str | None  # ISO-8601 UTC
    training_run: str | None  # the runner's run id that trained the model; None when trained by hand
    parameters: dict[str, Any]  # the training notebook's N_NEIGHBORS, TEST_SIZE, SEED
    chosen: str  # why this model predicts (helpers.model_in_use); only the model in use has it
    test_flowers: int  # the held-out flowers its accuracy was measured on; only the model just trained


class Today(TypedDict):
    event_time: str | None
    predicted: str
    actual: str
    features: dict[str, float]


class Prediction(TypedDict):
    event_time: str | None
    predicted: str
    label: str
    model_version: int


class Alert(TypedDict):
    below: bool  # the rolling accuracy over the last ALERT_WINDOW predictions is below the threshold
    threshold: float
    window: int  # predictions the accuracy was taken over (fewer while there are fewer)
    accuracy: float
    retrain: bool  # runner.py --daily retrains (then predicts again)
    retrain_held: bool  # below, retraining on, but held: too few predictions, or a newer model unjudged
    message: str | None


class Dashboard(TypedDict):
    """What ``dashboard.json`` holds."""

    generated_at: str
    model: ModelCard
    today: Today
    recent: list[Prediction]  # newest first, at most 30
    history_accuracy: float
    n_predictions: int
    rolling_accuracy: dict[str, float]  # by window, as a string: "7", "30"
    variety_counts: dict[str, dict[str, int]]  # variety -> {"predicted": n, "actual": n}
    alert: Alert


def dashboard_folder(dashboard_dir: Path | str | None = None) -> Path:
    """The dashboard folder (created): ``dashboard_dir``, else ``IRIS_DASHBOARD_DIR``, else outputs/dashboard.

    The environment variable lets tests and scripts run the notebooks on their defaults without
    touching the repository's own dashboard.
    """
    folder = Path(dashboard_dir or os.environ.get(DASHBOARD_ENV) or OUTPUTS_DIR / DASHBOARD_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def alert(
    accuracy: float,
    threshold: float,
    predictions: int,
    retrain: bool = True,
    newer_model_unjudged: bool = False,
) -> Alert:
    """The accuracy alert and the retrain rule.

    ``accuracy`` is the share of the last ``ALERT_WINDOW`` of ``predictions`` (or of all of them when there
    are fewer) that were right; the alert is raised below ``threshold`` (a share, 0 to 1). ``retrain``
    (the notebook's ``RETRAIN_ON_ALERT``) asks ``runner.py --daily`` to retrain on the alert, which it does
    only over a full window (one or two unlucky predictions are no reason to retrain), and at most once
    per window: not while the newest registered model is younger than the window's oldest prediction
    (``newer_model_unjudged``), because that model has not been judged on flowers of its own yet;
    otherwise a bad week would retrain every day until the wrong predictions left the window.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise ValueError(f"the accuracy threshold is a share from 0 to 1 (0.8 for 80%), got {threshold!r}")
    window = min(ALERT_WINDOW, predictions)
    below = accuracy < threshold
    full = predictions >= ALERT_WINDOW
    return {
        "below": bool(below),
        "threshold": float(threshold),
        "window": window,
        "accuracy": float(accuracy),
        "retrain": bool(retrain and full and not newer_model_unjudged),
        "retrain_held": bool(retrain and below and (newer_model_unjudged or not full)),
        "message": f"Rolling accuracy {percent(accuracy)} over the last {plural(window, 'prediction')} "
        f"fell below the threshold {percent(threshold)}."
        if below
        else None,
    }


def describe_model(card: Mapping[str, Any]) -> str:
    """``model iris v6 (accuracy 96.7%, N_NEIGHBORS=2)``, as the console says it."""
    accuracy = (card.get("metrics") or {}).get("accuracy")
    shown = [f"accuracy {percent(accuracy)}" if accuracy is not None else "accuracy not recorded"]
    shown += [f"{name}={value}" for name, value in (card.get("parameters") or {}).items()]
    return f"model {card.get('name', 'iris')} v{card.get('version', '?')} ({', '.join(shown)})"


def percent(share: float) -> str:
    """A share as a percentage with up to three significant digits: ``42.9%``, ``80%``, ``100%``."""
    return f"{100 * share:.3g}%"


def read_dashboard(folder: Path) -> dict[str, Any] | None:
    """The :class:`Dashboard` in ``folder``; None when the inference notebook has written none (or it is
    unreadable). Older files may lack fields, so readers use ``.get``."""
    return read_json(Path(folder) / DASHBOARD_JSON)


def read_knn_model(folder: Path) -> dict[str, Any] | None:
    """The exported model the Try-it form predicts with; None when there is none."""
    return read_json(Path(folder) / KNN_MODEL_JSON)


def read_trained(folder: Path) -> dict[str, Any] | None:
    """The :class:`ModelCard` the training notebook wrote beside its confusion matrix; None when none."""
    return read_json(Path(folder) / TRAINED_JSON)


def training_run(folder: Path) -> str | None:
    """The run that trained the model the dashboard uses (its provenance), when recorded."""
    model = (read_dashboard(folder) or {}).get("model")
    return (model.get("training_run") or None) if isinstance(model, Mapping) else None

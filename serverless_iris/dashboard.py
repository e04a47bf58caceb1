"""The dashboard the notebooks draw: its folder, plots, recent-predictions table and ``dashboard.json``.

The training and batch-inference notebooks import this module; the feature notebook does not. Its
heavy imports (matplotlib, seaborn, scikit-learn) are at the top on purpose: the
runner warms a notebook's kernel by importing what the notebook imports at top level, so these
modules are loaded ahead of the notebook's turn (see ``serverless_iris.runner.kernels``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from serverless_iris.flowers import FEATURES, VARIETIES, newest_first, utc
from serverless_iris.paths import OUTPUTS_DIR

DASHBOARD_ENV = "IRIS_DASHBOARD_DIR"
ROLLING_WINDOWS = (7, 30)  # the dashboard's rolling accuracy: over the last 7 and 30 predictions
ALERT_WINDOW = 7  # the alert watches the rolling accuracy over the last 7 predictions
ALERT_THRESHOLD = 0.8  # the inference notebook's default ACCURACY_THRESHOLD


def dashboard_folder(dashboard_dir: Path | str | None = None) -> Path:
    """The dashboard folder (created): ``dashboard_dir``, else ``IRIS_DASHBOARD_DIR``, else outputs/dashboard.

    The environment variable lets tests and scripts run the notebooks on their defaults without
    touching the repository's own dashboard.
    """
    folder = Path(dashboard_dir or os.environ.get(DASHBOARD_ENV) or OUTPUTS_DIR / "dashboard")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def plot_confusion_matrix(y_true: Any, y_pred: Any, title: str) -> Figure:
    """The course's confusion-matrix heatmap, always 3×3: the three varieties are fixed labels."""
    counts = confusion_matrix(list(y_true), list(y_pred), labels=list(VARIETIES))
    table = pd.DataFrame(counts, [f"True {v}" for v in VARIETIES], [f"Pred {v}" for v in VARIETIES])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    sns.heatmap(table, annot=True, fmt="d", cmap="Blues", cbar=False, linewidths=0.5, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_accuracy_over_time(history: pd.DataFrame) -> Figure:
    """Cumulative and rolling (last 7) accuracy of the recorded predictions, by prediction time."""
    ordered = newest_first(history, "prediction_time", "flower_time").iloc[::-1]
    when = utc(ordered["prediction_time"]).dt.tz_convert(None)
    correct = (ordered["predicted"] == ordered["label"]).astype(float).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(when, correct.expanding().mean(), marker="o", label="all predictions so far")
    ax.plot(when, correct.rolling(7, min_periods=1).mean(), linestyle="--", label="last 7 predictions")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("accuracy")
    ax.set_xlabel("prediction time (UTC)")
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_title(f"Accuracy over time ({len(ordered)} predictions)")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def recent_predictions(history: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """The newest ``rows`` predictions as the dashboard's table shows them, numbered from 1."""
    recent = newest_first(history, "prediction_time", "flower_time").head(rows)
    table = recent[["flower_time", "predicted", "label", "model_version"]].assign(
        flower_time=utc(recent["flower_time"]).dt.strftime("%Y-%m-%d %H:%M:%S"),
        correct=(recent["predicted"] == recent["label"]).map({True: "yes", False: "no"}),
    )
    table.index = range(1, len(table) + 1)
    return table


def dashboard_summary(
    model: Any,
    history: pd.DataFrame,
    threshold: float = ALERT_THRESHOLD,
    retrain: bool = True,
    training_run: str | None = None,
    newest_model_created: Any = None,
) -> dict[str, Any]:
    """The content of ``dashboard.json``: model card, today's flower, recent predictions and monitoring.

    Monitoring: the accuracy over the last 7 and 30 predictions by the flowers' event time (over all of
    them when there are fewer), predicted against actual counts per variety, and the alert, raised when
    the accuracy over the last 7 falls below ``threshold`` (a share, 0 to 1). ``retrain`` tells
    ``runner.py --daily`` to retrain when the alert is raised over a full window (one or two unlucky
    predictions are no reason to retrain), and at most once per window: not while the
    newest registered model (``newest_model_created``, any time type) is younger than the oldest
    prediction of the window, because that model has not been judged on flowers of its own yet;
    otherwise a bad week would retrain every day until the wrong predictions left the window.
    ``training_run`` is the run that trained ``model`` (from its provenance), None when unknown.
    """
    if history.empty:
        raise ValueError("no predictions recorded yet: the dashboard needs at least one")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise ValueError(f"the accuracy threshold is a share from 0 to 1 (0.8 for 80%), got {threshold!r}")
    ordered = newest_first(history, "flower_time")
    correct = ordered["predicted"] == ordered["label"]
    today = ordered.iloc[0]
    rolling = {str(n): float(correct.head(n).mean()) for n in ROLLING_WINDOWS}
    window = min(ALERT_WINDOW, len(ordered))
    accuracy = rolling[str(ALERT_WINDOW)]
    below = accuracy < threshold
    judged_from = utc(ordered["prediction_time"].head(ALERT_WINDOW)).min()
    newest = _iso(newest_model_created)
    unjudged = newest is not None and pd.Timestamp(newest) >= judged_from
    full = len(ordered) >= ALERT_WINDOW
    return {
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "model": {
            "name": model.name,
            "version": int(model.version),
            "metrics": {k: float(v) for k, v in (model.training_metrics or {}).items()},
            "created": _iso(model.created),
            "training_run": training_run,
        },
        "today": {
            "event_time": _iso(today["flower_time"]),
            "predicted": str(today["predicted"]),
            "actual": str(today["label"]),
            "features": {name: float(today[name]) for name in FEATURES},
        },
        "recent": [
            {
                "event_time": _iso(row["flower_time"]),
                "predicted": str(row["predicted"]),
                "label": str(row["label"]),
                "model_version": int(row["model_version"]),
            }
            for _, row in ordered.head(30).iterrows()
        ],
        "history_accuracy": float(correct.mean()),
        "n_predictions": len(ordered),
        "rolling_accuracy": rolling,
        "variety_counts": {
            variety: {
                "predicted": int((ordered["predicted"] == variety).sum()),
                "actual": int((ordered["label"] == variety).sum()),
            }
            for variety in VARIETIES
        },
        "alert": {
            "below": bool(below),
            "threshold": float(threshold),
            "window": window,
            "accuracy": accuracy,
            "retrain": bool(retrain and full and not unjudged),
            # why an alert does not retrain: too few predictions yet, or a newer model awaits its own window
            "retrain_held": bool(retrain and below and (unjudged or not full)),
            "message": f"Rolling accuracy {percent(accuracy)} over the last {window} prediction"
            f"{'s' if window != 1 else ''} fell below the threshold {percent(threshold)}."
            if below
            else None,
        },
    }


def percent(share: float) -> str:
    """A share as a percentage with up to three significant digits: ``42.9%``, ``80%``, ``100%``."""
    return f"{100 * share:.3g}%"


def _iso(value: Any) -> str | None:
    """An ISO-8601 UTC string for the time types backends return (epoch ms, datetime, string, None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        stamp = pd.Timestamp(value, unit="ms", tz="UTC")
    else:
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat()

"""The dashboard the notebooks draw: accuracy plot, recent-predictions table, what ``dashboard.json`` holds.

The files' folder, names, shape and the retrain rule are :mod:`serverless_iris.helpers.dashboard_files`'s
(re-exported here for the notebooks). The batch-inference notebook imports this module; its heavy imports
(matplotlib, pandas) are at the top on purpose: the runner warms a notebook's kernel by importing what the
notebook imports at top level, so these modules are loaded ahead of the notebook's turn (see
``serverless_iris.runner.kernels.kernel``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from serverless_iris.helpers.dashboard_files import (
    ALERT_THRESHOLD,
    ALERT_WINDOW,
    ROLLING_WINDOWS,
    Dashboard,
    ModelCard,
    alert,
    dashboard_folder,
    describe_model,
    percent,
)
from serverless_iris.helpers.flowers import FEATURES, VARIETIES, newest_first, utc
from serverless_iris.helpers.model_in_use import NEWEST
from serverless_iris.helpers.provenance import read_provenance
from serverless_iris.helpers.wording import plural

MIN_TIME_SPAN = pd.Timedelta(minutes=15)  # the accuracy chart's time axis spans at least this
# The dashboard's charts are shown about 310 px wide on a phone: drawn about 400 px wide (4 in at 100
# dpi) with 12 to 13-point text, their labels read 10 to 11 px there (matplotlib's 6.4 in and 10 points
# gave about 6 px).
PHONE_STYLE = {
    "figure.figsize": (4.0, 3.2),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "font.size": 13,
    "axes.titlesize": 13,
    "axes.labelsize": 13,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 11,
}

__all__ = [
    "dashboard_folder",
    "dashboard_summary",
    "legible_on_a_phone",
    "describe_model",
    "model_card",
    "percent",
    "plot_accuracy_over_time",
    "recent_predictions",
]


def legible_on_a_phone() -> None:
    """Draw the charts that follow at a size whose labels a phone shows legibly (:data:`PHONE_STYLE`)."""
    plt.rcParams.update(PHONE_STYLE)


def plot_accuracy_over_time(history: pd.DataFrame) -> Figure:
    """Cumulative and rolling (over the alert's window) accuracy of the predictions, by prediction time."""
    ordered = newest_first(history, "prediction_time", "flower_time").iloc[::-1]
    when = utc(ordered["prediction_time"]).dt.tz_convert(None)
    correct = (ordered["predicted"] == ordered["label"]).astype(float).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(4.4, 3.2))
    ax.plot(when, correct.expanding().mean(), marker="o", label="all predictions so far")
    window = correct.rolling(ALERT_WINDOW, min_periods=1).mean()
    ax.plot(when, window, linestyle="--", label=f"last {ALERT_WINDOW} predictions")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("accuracy")
    ax.set_xlabel("prediction time (UTC)", loc="left")  # the date stands at the right end
    _time_axis(ax, when)
    ax.set_title(f"Accuracy over time ({plural(len(ordered), 'prediction')})")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _time_axis(ax: Any, when: pd.Series) -> None:
    """Dates on the x axis that read well however close the points are: at least ``MIN_TIME_SPAN``
    around them (one point alone would otherwise get an axis of years, and points seconds apart ticks
    like "30 40 50 19:57"), so close points read as times of day with the date once beside the axis."""
    first, last = when.min(), when.max()
    if last - first < MIN_TIME_SPAN:
        middle = first + (last - first) / 2
        ax.set_xlim(middle - MIN_TIME_SPAN / 2, middle + MIN_TIME_SPAN / 2)
    locator = AutoDateLocator(minticks=3, maxticks=6)  # few enough to stay apart at the phone's text size
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def recent_predictions(history: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """The newest ``rows`` predictions as the dashboard's table shows them, numbered from 1.

    Short columns (the flower's month, day and time; ``v3`` for the model), so that the picture, shown
    at a phone's width, keeps its text legible: a table's text scales with its width."""
    recent = newest_first(history, "prediction_time", "flower_time").head(rows)
    table = pd.DataFrame(
        {
            "flower (UTC)": utc(recent["flower_time"]).dt.strftime("%m-%d %H:%M"),
            "predicted": recent["predicted"],
            "actual": recent["label"],
            "model": [f"v{int(version)}" for version in recent["model_version"]],
            "right": (recent["predicted"] == recent["label"]).map({True: "yes", False: "no"}),
        }
    )
    table.index = range(1, len(table) + 1)
    return table


def model_card(
    model: Any, parameters: dict[str, Any], training_run: str | None, chosen: str | None = None
) -> ModelCard:
    """What the console, the dashboard and run.json say of a registered ``model``: version, metrics,
    the training notebook's ``parameters``, the run that trained it, and why it predicts (``chosen``,
    :mod:`~serverless_iris.helpers.model_in_use`; None for a model just trained)."""
    card: ModelCard = {
        "name": model.name,
        "version": int(model.version),
        "metrics": {k: float(v) for k, v in (model.training_metrics or {}).items()},
        "created": _iso(model.created),
        "training_run": training_run,
        "parameters": dict(parameters),
    }
    if chosen is not None:
        card["chosen"] = chosen
    return card


def card_of_download(model: Any, model_dir: str, estimator: Any, chosen: str) -> ModelCard:
    """:func:`model_card` of a downloaded model: its run and parameters from the ``provenance.json`` the
    training notebook saved with it; a model registered without one shows the estimator's neighbours."""
    provenance = read_provenance(model_dir) or {}
    parameters = provenance.get("parameters") or {"N_NEIGHBORS": int(estimator.n_neighbors)}
    return model_card(model, parameters, provenance.get("run_id"), chosen)


def dashboard_summary(
    model: Any,
    history: pd.DataFrame,
    threshold: float = ALERT_THRESHOLD,
    retrain: bool = True,
    training_run: str | None = None,
    newest_model_created: Any = None,
    card: ModelCard | None = None,
) -> Dashboard:
    """The content of ``dashboard.json``: model card, today's flower, recent predictions and monitoring.

    Monitoring: the accuracy over the last 7 and 30 predictions by the flowers' event time (over all of
    them when there are fewer), predicted against actual counts per variety, and the alert with its
    retrain rule (:func:`~.dashboard_files.alert`; ``retrain`` is ``RETRAIN_ON_ALERT``, and
    the newest registered model, created ``newest_model_created`` (any time type), is unjudged while it
    is younger than the oldest prediction of the alert's window). ``training_run`` is the run that
    trained ``model`` (from its provenance), None when unknown. ``card`` is the model's
    :func:`model_card` (built from ``model`` and ``training_run`` when not given); a model pinned by
    ``MODEL_VERSION`` is never retrained on an alert: a new model would not be used.
    """
    if history.empty:
        raise ValueError("no predictions recorded yet: the dashboard needs at least one")
    ordered = newest_first(history, "flower_time")
    correct = ordered["predicted"] == ordered["label"]
    today = ordered.iloc[0]
    rolling = {str(n): float(correct.head(n).mean()) for n in ROLLING_WINDOWS}
    judged_from = utc(ordered["prediction_time"].head(ALERT_WINDOW)).min()
    newest = _iso(newest_model_created)
    unjudged = newest is not None and pd.Timestamp(newest) >= judged_from
    card = card or model_card(model, {}, training_run)
    retrain = retrain and card.get("chosen", NEWEST) == NEWEST
    return {
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "model": card,
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
        "variety_counts": _variety_counts(ordered),
        "alert": alert(rolling[str(ALERT_WINDOW)], threshold, len(ordered), retrain, unjudged),
    }


def _variety_counts(predictions: pd.DataFrame) -> dict[str, dict[str, int]]:
    """How often each variety was predicted, and how often it was the label."""
    return {
        variety: {
            "predicted": int((predictions["predicted"] == variety).sum()),
            "actual": int((predictions["label"] == variety).sum()),
        }
        for variety in VARIETIES
    }


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

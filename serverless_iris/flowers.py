"""The iris data and the small helpers the three notebooks share.

Fisher's measurements come from scikit-learn's bundled copy (no network); synthetic flowers follow
the course's per-species ranges; flower pictures and plots are drawn here so the notebooks read
like the course and show one call per step. ``python -m serverless_iris.flowers`` rewrites
``assets/iris.csv`` and the three flower pictures.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_iris.backend import REPO_ROOT

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

VARIETIES = ("Setosa", "Versicolor", "Virginica")
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
COLUMNS = (*FEATURES, "variety")
BACKFILL_EVENT_TIME = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
ASSETS_DIR = REPO_ROOT / "assets"
IRIS_CSV = ASSETS_DIR / "iris.csv"
DASHBOARD_ENV = "IRIS_DASHBOARD_DIR"
ROLLING_WINDOWS = (7, 30)  # the dashboard's rolling accuracy: over the last 7 and 30 predictions
ALERT_WINDOW = 7  # the alert watches the rolling accuracy over the last 7 predictions
ALERT_THRESHOLD = 0.8  # the inference notebook's default ACCURACY_THRESHOLD

# The course's uniform ranges (cm) per species as (min, max); the course passed some of them
# reversed (e.g. Versicolor's petal length 3.1..5.5 as max 3.1, min 5.5), fixed here.
SPECIES_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "Setosa": {
        "sepal_length": (4.5, 6.0),
        "sepal_width": (2.3, 4.5),
        "petal_length": (1.2, 2.0),
        "petal_width": (0.3, 0.7),
    },
    "Versicolor": {
        "sepal_length": (4.5, 7.5),
        "sepal_width": (2.1, 3.5),
        "petal_length": (3.1, 5.5),
        "petal_width": (1.0, 1.8),
    },
    "Virginica": {
        "sepal_length": (5.5, 8.0),
        "sepal_width": (2.2, 3.8),
        "petal_length": (4.5, 7.0),
        "petal_width": (1.4, 2.5),
    },
}

# Flower colours: (sepal, petal). Iris sepals are the large "falls", petals the upright "standards".
_COLOURS = {
    "Setosa": ("#5b4fbf", "#a89be6"),
    "Versicolor": ("#7a3fa8", "#c79be0"),
    "Virginica": ("#3d2a8c", "#8f7fe0"),
}


# --- data -----------------------------------------------------------------------------------------


def load_iris_frame() -> pd.DataFrame:
    """Fisher's 150 flowers from scikit-learn's bundled copy, in the course's column layout."""
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame
    iris = frame.iloc[:, :4].set_axis(list(FEATURES), axis=1).astype("float64")
    iris["variety"] = [VARIETIES[i] for i in frame["target"]]
    return iris


def write_iris_csv(path: Path | str = IRIS_CSV) -> Path:
    """Write the dataset the feature pipeline backfills from (one row repeats a primary key)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    load_iris_frame().to_csv(path, index=False, float_format="%.1f")
    return path


def get_random_iris_flower(
    rng: np.random.Generator | int | None = None, event_time: dt.datetime | None = None
) -> pd.DataFrame:
    """One synthetic flower (a one-row frame): a random species, then uniform measurements in its ranges.

    ``rng`` is a numpy Generator or a seed, for reproducible flowers; ``event_time`` defaults to now.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(rng)
    variety = VARIETIES[int(rng.integers(len(VARIETIES)))]
    ranges = SPECIES_RANGES[variety]
    row: dict[str, Any] = {name: [float(rng.uniform(*ranges[name]))] for name in FEATURES}
    row["variety"] = [variety]
    row["event_time"] = [pd.Timestamp(event_time or _now())]
    return pd.DataFrame(row)


def get_random_iris_flowers(n: int, seed: int | None = None) -> pd.DataFrame:
    """``n`` synthetic flowers, each with its own (strictly increasing) creation time."""
    import numpy as np
    import pandas as pd

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of flowers must be a whole number >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    flowers, last = [], None
    for _ in range(n):
        made = _now()
        if last is not None and made <= last:  # clocks are coarse: keep "today's flower" unique
            made = last + dt.timedelta(microseconds=1)
        flowers.append(get_random_iris_flower(rng, made))
        last = made
    return pd.concat(flowers, ignore_index=True)


def newest_first(df: pd.DataFrame, *time_columns: str) -> pd.DataFrame:
    """Rows by ``time_columns``, newest first; ties broken by the measurements so the order is defined."""
    order = [*time_columns, *FEATURES]
    ascending = [False] * len(time_columns) + [True] * len(FEATURES)
    return df.sort_values(order, ascending=ascending).reset_index(drop=True)


def utc(values: pd.Series) -> pd.Series:
    """Timestamps as tz-aware UTC, whichever way a backend returns them (naive means UTC)."""
    import pandas as pd

    values = pd.to_datetime(values)
    return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def dashboard_folder(dashboard_dir: Path | str | None = None) -> Path:
    """The dashboard folder (created): ``dashboard_dir``, else ``IRIS_DASHBOARD_DIR``, else outputs/dashboard.

    The environment variable lets tests and scripts run the notebooks on their defaults without
    touching the repository's own dashboard.
    """
    folder = Path(dashboard_dir or os.environ.get(DASHBOARD_ENV) or REPO_ROOT / "outputs" / "dashboard")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- pictures -------------------------------------------------------------------------------------


def flower_picture(variety: str) -> Path:
    """The shipped picture of ``variety`` (``assets/<Variety>.png``)."""
    if variety not in VARIETIES:
        raise ValueError(f"unknown variety {variety!r}; allowed: {', '.join(VARIETIES)}")
    return ASSETS_DIR / f"{variety}.png"


def draw_flower(variety: str, path: Path | str) -> Path:
    """Draw ``variety`` as three sepals and three petals sized by the species' mean measurements."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Ellipse

    if variety not in VARIETIES:
        raise ValueError(f"unknown variety {variety!r}; allowed: {', '.join(VARIETIES)}")
    iris = load_iris_frame()
    mean = iris[iris["variety"] == variety][list(FEATURES)].mean()
    sepal_colour, petal_colour = _COLOURS[variety]

    fig = Figure(figsize=(4, 4), dpi=100)
    ax = fig.add_axes((0, 0, 1, 0.9))
    ax.set_xlim(-7.5, 7.5)
    ax.set_ylim(-7.5, 7.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.plot([0, 0], [-7.5, 0], color="#3c7a3c", linewidth=6, zorder=0)  # stem
    for k, (length, width, colour, start) in enumerate(
        [
            (mean["sepal_length"], mean["sepal_width"], sepal_colour, 90.0),
            (mean["petal_length"], mean["petal_width"], petal_colour, 30.0),
        ]
    ):
        for degrees in (start, start + 120, start + 240):
            centre = (
                length / 2 * math.cos(math.radians(degrees)),
                length / 2 * math.sin(math.radians(degrees)),
            )
            ax.add_patch(
                Ellipse(
                    centre,
                    width=length,
                    height=width,
                    angle=degrees,
                    facecolor=colour,
                    edgecolor="#2a2050",
                    linewidth=1.2,
                    zorder=1 + k,
                )
            )
    ax.add_patch(Circle((0, 0), 0.45, facecolor="#f2c230", edgecolor="#8a6d00", zorder=3))
    fig.suptitle(
        f"{variety}\nsepal {mean['sepal_length']:.1f}×{mean['sepal_width']:.1f} cm, "
        f"petal {mean['petal_length']:.1f}×{mean['petal_width']:.1f} cm",
        fontsize=10,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, facecolor="white")
    return path


# --- notebook plots and dashboard -----------------------------------------------------------------


def plot_confusion_matrix(y_true: Any, y_pred: Any, title: str) -> Figure:
    """The course's confusion-matrix heatmap, always 3×3: the three varieties are fixed labels."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns
    from sklearn.metrics import confusion_matrix

    counts = confusion_matrix(list(y_true), list(y_pred), labels=list(VARIETIES))
    table = pd.DataFrame(counts, [f"True {v}" for v in VARIETIES], [f"Pred {v}" for v in VARIETIES])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    sns.heatmap(table, annot=True, fmt="d", cmap="Blues", cbar=False, linewidths=0.5, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_accuracy_over_time(history: pd.DataFrame) -> Figure:
    """Cumulative and rolling (last 7) accuracy of the recorded predictions, by prediction time."""
    import matplotlib.pyplot as plt
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

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


def export_recent_table(history: pd.DataFrame, path: Path | str, rows: int = 5) -> pd.DataFrame:
    """Save the newest ``rows`` predictions as a PNG table (matplotlib converter: no browser needed)."""
    import dataframe_image as dfi

    recent = newest_first(history, "prediction_time", "flower_time").head(rows)
    table = recent[["flower_time", "predicted", "label", "model_version"]].assign(
        flower_time=utc(recent["flower_time"]).dt.strftime("%Y-%m-%d %H:%M:%S"),
        correct=(recent["predicted"] == recent["label"]).map({True: "yes", False: "no"}),
    )
    table.index = range(1, len(table) + 1)
    dfi.export(table, str(path), table_conversion="matplotlib")
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
    import pandas as pd

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
        "generated_at": _now().isoformat(),
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
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        stamp = pd.Timestamp(value, unit="ms", tz="UTC")
    else:
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat()


def main(assets: Path = ASSETS_DIR) -> None:
    """Rewrite ``iris.csv`` and the three flower pictures in ``assets``."""
    written = [write_iris_csv(assets / IRIS_CSV.name)]
    written += [draw_flower(variety, assets / flower_picture(variety).name) for variety in VARIETIES]
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

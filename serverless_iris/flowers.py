"""The iris data and the small helpers the three notebooks share.

Fisher's measurements come from scikit-learn's bundled copy (no network); synthetic flowers follow
the course's per-species ranges; the flower pictures are drawn here. The dashboard's plots live in
``serverless_iris.dashboard``, so the feature notebook, which imports this module, stays light.
``python -m serverless_iris.flowers`` rewrites ``assets/iris.csv`` and the three flower pictures.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_iris.paths import REPO_ROOT

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    import numpy as np
    import pandas as pd

VARIETIES = ("Setosa", "Versicolor", "Virginica")
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
COLUMNS = (*FEATURES, "variety")
BACKFILL_EVENT_TIME = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
ASSETS_DIR = REPO_ROOT / "assets"
IRIS_CSV = ASSETS_DIR / "iris.csv"

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

    check_flower_count(n)
    rng = np.random.default_rng(seed)
    flowers, last = [], None
    for _ in range(n):
        made = _now()
        if last is not None and made <= last:  # clocks are coarse: keep "today's flower" unique
            made = last + dt.timedelta(microseconds=1)
        flowers.append(get_random_iris_flower(rng, made))
        last = made
    return pd.concat(flowers, ignore_index=True)


def check_flower_count(n: object) -> None:
    """Refuse a flower count that is not a whole number >= 1 (papermill passes parameters untyped)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of flowers must be a whole number >= 1, got {n!r}")


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


def main(assets: Path = ASSETS_DIR) -> None:
    """Rewrite ``iris.csv`` and the three flower pictures in ``assets``."""
    written = [write_iris_csv(assets / IRIS_CSV.name)]
    written += [draw_flower(variety, assets / flower_picture(variety).name) for variety in VARIETIES]
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

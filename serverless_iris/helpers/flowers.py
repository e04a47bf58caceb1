"""The iris data and the small helpers the three notebooks share.

Fisher's measurements come from scikit-learn's bundled copy (no network); synthetic flowers follow
the course's per-species ranges; each variety has a shipped picture (``assets/<Variety>.png``, drawn by
``assets/make_assets.py``). The dashboard's plots live in ``helpers.dashboard``, so the feature
notebook, which imports this module, stays light.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_iris.paths import ASSETS_DIR

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    import numpy as np
    import pandas as pd

VARIETIES = ("Setosa", "Versicolor", "Virginica")
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
BACKFILL_EVENT_TIME = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
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

# --- data -----------------------------------------------------------------------------------------


def load_iris_frame() -> pd.DataFrame:
    """Fisher's 150 flowers from scikit-learn's bundled copy, in the course's column layout."""
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame
    iris = frame.iloc[:, :4].set_axis(list(FEATURES), axis=1).astype("float64")
    iris["variety"] = [VARIETIES[i] for i in frame["target"]]
    return iris


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
    # microseconds, the feature store's precision: hsfs warns when it casts a nanosecond column down
    row["event_time"] = pd.Series([pd.Timestamp(event_time or _now())]).dt.as_unit("us")
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

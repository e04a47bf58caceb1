"""Rewrite the shipped assets: ``assets/iris.csv`` and the three flower pictures ``assets/<Variety>.png``.

    python assets/make_assets.py          # into assets/
    python assets/make_assets.py DIR      # into DIR

The CSV is Fisher's data from scikit-learn's bundled copy (``helpers.flowers.load_iris_frame``);
each picture draws three sepals and three petals sized by the variety's mean measurements.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # serverless_iris, installed or not
from serverless_iris.helpers.flowers import FEATURES, IRIS_CSV, VARIETIES, flower_picture, load_iris_frame  # noqa: E402
from serverless_iris.paths import ASSETS_DIR  # noqa: E402

# Flower colours: (sepal, petal). Iris sepals are the large "falls", petals the upright "standards".
COLOURS = {
    "Setosa": ("#5b4fbf", "#a89be6"),
    "Versicolor": ("#7a3fa8", "#c79be0"),
    "Virginica": ("#3d2a8c", "#8f7fe0"),
}


def write_iris_csv(path: Path | str = IRIS_CSV) -> Path:
    """Write the dataset the feature pipeline backfills from (one row repeats a primary key)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    load_iris_frame().to_csv(path, index=False, float_format="%.1f")
    return path


def draw_flower(variety: str, path: Path | str) -> Path:
    """Draw ``variety`` as three sepals and three petals shaped by the species' mean measurements, titled
    with its name and no sizes: the picture stands for the variety, not for any one measured flower."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Ellipse

    if variety not in VARIETIES:
        raise ValueError(f"unknown variety {variety!r}; allowed: {', '.join(VARIETIES)}")
    iris = load_iris_frame()
    mean = iris[iris["variety"] == variety][list(FEATURES)].mean()
    sepal_colour, petal_colour = COLOURS[variety]

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
    # the variety's name only: pages show this picture beside a measured flower's sizes, which differ
    fig.suptitle(variety, fontsize=12)
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
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ASSETS_DIR)

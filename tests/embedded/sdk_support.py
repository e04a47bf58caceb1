"""What the embedded store's tests share: the installed SDK's objects, and a small flower view."""

from __future__ import annotations

import random
import warnings
from typing import Any

import pandas as pd

from serverless_iris.embedded.project import LocalProject


def sdk(dotted: str) -> Any:
    """``module.name`` of the installed Hopsworks SDK, imported without its import-time warnings."""
    module, _, name = dotted.rpartition(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(__import__(module, fromlist=[name]), name)


def flowers(n: int) -> pd.DataFrame:
    """``n`` flowers with an id, a sepal length and a variety, the same every call."""
    rng = random.Random(7)
    return pd.DataFrame(
        {
            "id": range(n),
            "sepal_length": [round(rng.uniform(4.5, 8), 2) for _ in range(n)],
            "variety": [rng.choice(["Setosa", "Versicolor", "Virginica"]) for _ in range(n)],
        }
    )


def view(project: LocalProject, n: int = 50) -> Any:
    """Feature view ``flowers`` v1 over ``n`` of :func:`flowers`, labelled by variety."""
    fs = project.get_feature_store()
    fg = fs.get_or_create_feature_group(name="flowers", version=1, primary_key=["id"])
    fg.insert(flowers(n))
    return fs.get_or_create_feature_view(name="flowers", version=1, query=fg.select_all(), labels=["variety"])

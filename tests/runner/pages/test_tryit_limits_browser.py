"""The dashboard's Try-it form accepts exactly the measurements the data contract accepts: a 99 cm sepal
gets a message naming the allowed range instead of a prediction, and so does 0 cm."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from browser import chromium_page
from playwright.sync_api import Browser
from sklearn.neighbors import KNeighborsClassifier

from serverless_iris.helpers import flowers
from serverless_iris.helpers.contract import LIMITS_CM, IrisDataError, validate_iris
from serverless_iris.helpers.flowers import FEATURES, VARIETIES
from serverless_iris.helpers.tryit import export_knn
from serverless_iris.runner.pages.index import try_it_html

pytestmark = pytest.mark.browser

TYPICAL = {"sepal_length": "5.1", "sepal_width": "3.5", "petal_length": "1.4", "petal_width": "0.2"}


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Try-it fragment the dashboard embeds, in a bare page, with the model trained on Fisher's data."""
    folder = tmp_path_factory.mktemp("tryit-limits")
    iris = flowers.load_iris_frame()
    model = KNeighborsClassifier(n_neighbors=3).fit(iris[list(FEATURES)], iris["variety"])
    pictures = {variety: flowers.flower_picture(variety).as_uri() for variety in VARIETIES}
    page = folder / "index.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Try it</title></head>'
        f"<body>{try_it_html(json.loads(json.dumps(export_knn(model))), pictures)}</body></html>",
        encoding="utf-8",
    )
    return page


def contract_accepts(name: str, value: float) -> bool:
    row = pd.DataFrame([{**{k: float(v) for k, v in TYPICAL.items()}, name: value, "variety": "Setosa"}])
    try:
        validate_iris(row.assign(event_time=pd.Timestamp(flowers.BACKFILL_EVENT_TIME)))
    except IrisDataError:
        return False
    return True


def test_a_99_cm_sepal_is_refused_with_the_allowed_range(page_file: Path, chromium: Browser) -> None:
    with chromium_page(chromium) as session:
        session.open(page_file)
        page = session.page
        for name, value in TYPICAL.items():
            page.fill(f"input[name={name}]", value)
        assert page.get_attribute("#prediction", "data-variety") == "Setosa"
        page.fill("input[name=sepal_length]", "99")
        assert page.inner_text("#prediction") == (
            "Sepal length must be more than 0 cm and at most 15 cm (got 99 cm)."
        )
        assert page.get_attribute("#prediction", "data-state") == "error"
        assert page.get_attribute("#prediction", "data-variety") is None
        assert page.locator("#prediction img").count() == 0  # no picture of a variety it did not predict
        session.assert_clean()


@pytest.mark.parametrize("name", FEATURES)
def test_the_form_accepts_exactly_what_the_contract_accepts(
    name: str, page_file: Path, chromium: Browser
) -> None:
    limit = LIMITS_CM[name]
    values = [0.0, 0.05, 0.1, limit, round(limit + 0.1, 1), 99.0]
    with chromium_page(chromium) as session:
        session.open(page_file)
        page = session.page
        for other, value in TYPICAL.items():
            page.fill(f"input[name={other}]", value)
        for value in values:
            page.fill(f"input[name={name}]", f"{value:g}")
            predicted = page.get_attribute("#prediction", "data-state") == "ok"
            assert predicted == contract_accepts(name, value), (name, value, page.inner_text("#prediction"))
            if not predicted:
                assert f"at most {limit:g} cm (got {value:g} cm)" in page.inner_text("#prediction")
        session.assert_clean()

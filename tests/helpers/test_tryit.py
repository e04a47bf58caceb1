"""The dashboard's "Try it" form predicts in the page exactly as ``model.predict`` does, ties included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import BrowserPage, chromium_browser, chromium_page
from PIL import Image
from playwright.sync_api import Browser
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from serverless_iris.helpers.flowers import FEATURES, VARIETIES
from serverless_iris.helpers.tryit import export_knn
from serverless_iris.runner.pages.index import try_it_html

COLOURS = {"Setosa": (120, 90, 200), "Versicolor": (60, 120, 220), "Virginica": (200, 60, 140)}
# Drives the real form: type each value into its input (an `input` event, as a keystroke sends),
# then read what #prediction shows.
FILL_FORM_JS = """rows => rows.map(row => {
  const form = document.querySelector("#try-it form");
  for (const [name, value] of Object.entries(row)) {
    const input = form.elements.namedItem(name);
    input.value = value;
    input.dispatchEvent(new Event("input", {bubbles: true}));
  }
  const out = document.getElementById("prediction");
  return [out.dataset.variety ?? null, out.textContent];
})"""


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    """scikit-learn's 150 flowers minus the one duplicate: the 149 rows the feature group holds."""
    bunch = load_iris(as_frame=True)
    frame = bunch.data.set_axis(list(FEATURES), axis=1)
    frame["variety"] = [bunch.target_names[t].capitalize() for t in bunch.target]
    return frame.drop_duplicates(subset=list(FEATURES)).reset_index(drop=True)


def _training_rows(iris: pd.DataFrame, split: str) -> pd.DataFrame:
    if split == "all-149":
        return iris
    train, _ = train_test_split(iris, train_size=0.8, stratify=iris["variety"], random_state=7)
    return train


def _fit(rows: pd.DataFrame, **params: object) -> KNeighborsClassifier:
    return KNeighborsClassifier(**params).fit(rows[list(FEATURES)], rows["variety"])


def _write_page(tmp_path: Path, model: KNeighborsClassifier) -> Path:
    """The fragment in a bare page next to small PNG pictures, as the dashboard folder would hold them."""
    (tmp_path / "img").mkdir()
    pictures = {}
    for variety in VARIETIES:
        Image.new("RGB", (48, 32), COLOURS[variety]).save(tmp_path / "img" / f"{variety}.png")
        pictures[variety] = f"img/{variety}.png"
    model_json = json.loads(json.dumps(export_knn(model)))
    page = tmp_path / "index.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Try it</title></head>'
        f"<body>{try_it_html(model_json, pictures)}</body></html>",
        encoding="utf-8",
    )
    return page


def _one_decimal_inputs(
    rows: pd.DataFrame, iris: pd.DataFrame, rng: np.random.Generator, n: int
) -> np.ndarray:
    """0.1 cm values: a quarter exact training flowers, half nudged by up to 0.2 cm, a quarter anywhere."""
    points = rows[list(FEATURES)].to_numpy()
    exact = points[rng.choice(len(points), n // 4)]
    nudged = points[rng.choice(len(points), n // 2)] + rng.integers(-2, 3, size=(n // 2, len(FEATURES))) / 10
    low = np.rint(iris[list(FEATURES)].min().to_numpy() * 10)
    high = np.rint(iris[list(FEATURES)].max().to_numpy() * 10)
    grid = rng.integers(low, high, size=(n - n // 4 - n // 2, len(FEATURES)), endpoint=True) / 10
    return np.round(np.vstack([exact, np.maximum(nudged, 0.1), grid]), 1)


def _other_inputs(rows: pd.DataFrame, iris: pd.DataFrame, rng: np.random.Generator, n: int) -> np.ndarray:
    """Half midpoints of two training flowers (equidistant on paper), half anywhere near the iris ranges."""
    points = rows[list(FEATURES)].to_numpy()
    pairs = rng.choice(len(points), size=(n // 2, 2))
    midpoints = np.round((points[pairs[:, 0]] + points[pairs[:, 1]]) / 2, 2)
    low, high = iris[list(FEATURES)].min().to_numpy(), iris[list(FEATURES)].max().to_numpy()
    spread = high - low
    anywhere = rng.uniform(
        np.maximum(low - spread / 10, 0), high + spread / 10, size=(n - n // 2, len(FEATURES))
    )
    return np.vstack([midpoints, anywhere])


def _ties(model: KNeighborsClassifier, one_decimal: np.ndarray) -> int:
    """How many inputs have their k-th and (k+1)-th nearest training flowers equally far on paper."""
    tenths = np.rint(one_decimal * 10).astype(int)[:, None, :] - np.rint(model._fit_X * 10).astype(int)[None]
    squared = np.sort((tenths**2).sum(axis=2), axis=1)
    return int((squared[:, model.n_neighbors - 1] == squared[:, model.n_neighbors]).sum())


def _form_row(values: np.ndarray) -> dict[str, str]:
    """What a visitor types: each measurement as the shortest text that reads back as the same float."""
    return {name: repr(float(value)) for name, value in zip(FEATURES, values, strict=True)}


def _frame(inputs: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(inputs, columns=list(FEATURES))


def _mismatches(inputs: np.ndarray, expected: np.ndarray, got: list) -> list[str]:
    return [
        f"{list(x)}: sklearn {e!r}, page {g!r}"
        for x, e, g in zip(inputs, expected, got, strict=True)
        if e != g
    ]


def _assert_same_neighbours(session: BrowserPage, model: KNeighborsClassifier, inputs: np.ndarray) -> None:
    """The page's k-d tree query returns scikit-learn's neighbours, in scikit-learn's order."""
    got = session.page.evaluate("rows => rows.map(x => irisTryIt.kneighbors(x).indices)", inputs.tolist())
    expected = model.kneighbors(_frame(inputs), return_distance=False).tolist()
    wrong = [
        f"{list(x)}: sklearn {e}, page {g}" for x, e, g in zip(inputs, expected, got, strict=True) if e != g
    ]
    assert not wrong, f"{len(wrong)} of {len(inputs)} neighbour lists differ:\n" + "\n".join(wrong[:20])


def _wait_for_picture(session: BrowserPage) -> int:
    session.page.wait_for_function("() => document.querySelector('#prediction img')?.complete")
    return session.page.evaluate("() => document.querySelector('#prediction img').naturalWidth")


@pytest.mark.browser
@pytest.mark.parametrize("split", ["all-149", "split-80"])
def test_form_predicts_like_sklearn_on_200_inputs(
    tmp_path: Path, iris: pd.DataFrame, split: str, chromium: Browser
) -> None:
    rows = _training_rows(iris, split)
    model = _fit(rows, n_neighbors=2)
    assert model._fit_method == "kd_tree"
    rng = np.random.default_rng(2024)
    one_decimal = _one_decimal_inputs(rows, iris, rng, 100)
    inputs = np.vstack([one_decimal, _other_inputs(rows, iris, rng, 100)])
    # The sample exercises ties: flowers whose 2nd and 3rd nearest training flowers are equally far.
    assert _ties(model, one_decimal) >= 5
    expected = model.predict(_frame(inputs))

    with chromium_page(chromium) as session:
        session.open(_write_page(tmp_path, model))
        form_rows = [_form_row(x) for x in inputs]
        shown = session.page.evaluate(FILL_FORM_JS, form_rows)
        assert not _mismatches(inputs, expected, [variety for variety, _ in shown])
        assert all(variety in text for variety, text in shown)
        _assert_same_neighbours(session, model, inputs)

        # A few through real typing, as a visitor would.
        typed = []
        for row in form_rows[::10]:
            for name, value in row.items():
                session.page.fill(f"#try-it input[name={name}]", value)
            typed.append(session.page.get_attribute("#prediction", "data-variety"))
        assert not _mismatches(inputs[::10], expected[::10], typed)

        # Each variety's picture loads once predicted.
        for variety in VARIETIES:
            flower = inputs[expected == variety][0]
            session.page.evaluate(FILL_FORM_JS, [_form_row(flower)])
            assert session.page.get_attribute("#prediction", "data-variety") == variety
            assert _wait_for_picture(session) > 0
        session.page.screenshot(path=tmp_path / "try-it.png", full_page=True)
        session.assert_clean()
    assert Image.open(tmp_path / "try-it.png").width == 1280


@pytest.mark.browser
@pytest.mark.parametrize(
    ("split", "params"),
    [
        ("all-149", {"n_neighbors": 2}),
        ("split-80", {"n_neighbors": 2}),
        # k > 15 takes scikit-learn's introsort path and k >= 8 numpy's 8-way pairwise sum.
        ("split-80", {"n_neighbors": 20, "weights": "distance"}),
        ("all-149", {"n_neighbors": 5, "weights": "distance"}),
    ],
)
def test_page_replays_the_kd_tree_query_neighbour_for_neighbour(
    tmp_path: Path, iris: pd.DataFrame, split: str, params: dict, chromium: Browser
) -> None:
    rows = _training_rows(iris, split)
    model = _fit(rows, **params)
    rng = np.random.default_rng(99)
    inputs = np.vstack(
        [
            rows[list(FEATURES)].to_numpy(),
            _one_decimal_inputs(rows, iris, rng, 1000),
            _other_inputs(rows, iris, rng, 1000),
        ]
    )
    expected = model.predict(_frame(inputs))

    with chromium_page(chromium) as session:
        session.open(_write_page(tmp_path, model))
        _assert_same_neighbours(session, model, inputs)
        got = session.page.evaluate("rows => rows.map(x => irisTryIt.predict(x))", inputs.tolist())
        session.assert_clean()
    assert not _mismatches(inputs, expected, got)


@pytest.mark.browser
def test_bad_input_shows_a_message_not_an_error(
    tmp_path: Path, iris: pd.DataFrame, chromium: Browser
) -> None:
    model = _fit(iris, n_neighbors=2)
    with chromium_page(chromium, width=390, height=844) as session:
        session.open(_write_page(tmp_path, model))
        page = session.page
        assert page.get_attribute("#prediction", "data-state") == "ok"

        page.fill("input[name=sepal_length]", "")
        assert page.inner_text("#prediction") == "Enter the sepal length in cm."
        page.fill("input[name=sepal_length]", "-1")
        assert page.inner_text("#prediction") == (
            "Sepal length must be more than 0 cm and at most 15 cm (got -1 cm)."
        )
        page.fill("input[name=sepal_length]", "")
        page.locator("input[name=sepal_length]").press_sequentially("1e")  # a number field's value is "" then
        assert page.inner_text("#prediction") == "Sepal length must be a number."
        assert page.get_attribute("#prediction", "data-state") == "error"
        assert page.get_attribute("#prediction", "data-variety") is None
        page.screenshot(path=tmp_path / "try-it-phone.png", full_page=True)

        for name, value in zip(FEATURES, ("5.1", "3.5", "1.4", "0.2"), strict=True):
            page.fill(f"input[name={name}]", value)
        assert page.get_attribute("#prediction", "data-variety") == "Setosa"
        assert _wait_for_picture(session) > 0
        # Nothing overflows a phone-width screen.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        session.assert_clean()
    assert Image.open(tmp_path / "try-it-phone.png").width == 390


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"algorithm": "brute"}, "algorithm='brute'"),
        ({"algorithm": "ball_tree"}, "algorithm='ball_tree'"),
        ({"metric": "manhattan"}, "metric='manhattan'"),
        ({"weights": lambda d: d}, "weights=<function"),
    ],
)
def test_export_refuses_models_the_page_cannot_replay(iris: pd.DataFrame, params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        export_knn(_fit(iris, **params))


def test_export_refuses_other_features_and_estimators(iris: pd.DataFrame) -> None:
    renamed = iris.rename(columns={"petal_width": "petal_w"})
    model = KNeighborsClassifier().fit(renamed.drop(columns="variety"), renamed["variety"])
    with pytest.raises(ValueError, match="needs the features"):
        export_knn(model)
    with pytest.raises(TypeError, match="KNeighborsClassifier"):
        export_knn(object())


def test_fragment_needs_a_picture_per_variety(iris: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"missing: \['Virginica'\]"):
        try_it_html(export_knn(_fit(iris)), {"Setosa": "s.png", "Versicolor": "v.png"})


def test_missing_chromium_fails_instead_of_skipping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("browser.CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.fail.Exception, match="install it with `apt-get install chromium`"):
        with chromium_browser():
            pass

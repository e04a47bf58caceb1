"""What a new user reads next to the numbers: flower pictures with no sizes of their own, counts that agree
with their nouns, an accuracy chart whose time axis reads well for one point or points seconds apart,
contract errors that name the file's line, and a load that says which repeated rows it dropped."""

from __future__ import annotations

import re
from pathlib import Path

import dataframe_image as dfi
import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image
from support import load_make_assets

from serverless_iris.helpers import dashboard, flowers
from serverless_iris.helpers.contract import IrisDataError, load_summary, read_iris_csv, validate_iris
from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME, FEATURES, VARIETIES
from serverless_iris.helpers.wording import plural

make_assets = load_make_assets()

matplotlib.use("Agg")


def _texts_drawn(monkeypatch: pytest.MonkeyPatch, variety: str, path: Path) -> list[str]:
    """Every text of the figure ``draw_flower`` saves (title, labels, annotations)."""
    seen: list[str] = []
    save = Figure.savefig

    def recording(fig: Figure, *args: object, **kwargs: object) -> None:
        seen.extend(text.get_text() for text in fig.findobj(matplotlib.text.Text))
        save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    make_assets.draw_flower(variety, path)
    return [text for text in seen if text]


@pytest.mark.parametrize("variety", VARIETIES)
def test_flower_pictures_name_the_variety_and_no_sizes(
    variety: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = _texts_drawn(monkeypatch, variety, tmp_path / f"{variety}.png")
    assert texts == [variety]
    assert not any(re.search(r"\d|cm", text) for text in texts)


@pytest.mark.parametrize("variety", VARIETIES)
def test_shipped_pictures_are_what_the_generator_draws_now(variety: str, tmp_path: Path) -> None:
    """The committed ``assets/<Variety>.png`` were redrawn: a picture still captioned with sizes differs
    from a fresh drawing by well over a thousand pixels in its title band."""
    fresh = make_assets.draw_flower(variety, tmp_path / f"{variety}.png")
    shipped, drawn = (
        np.asarray(Image.open(p).convert("RGB"), dtype=int) for p in (flowers.flower_picture(variety), fresh)
    )
    assert shipped.shape == drawn.shape
    differing = int((np.abs(shipped - drawn).sum(axis=2) > 60).sum())
    assert differing < 100, f"{differing} pixels differ from a fresh drawing"


@pytest.mark.parametrize(("count", "said"), [(0, "0 predictions"), (1, "1 prediction"), (2, "2 predictions")])
def test_counts_agree_with_their_noun(count: int, said: str) -> None:
    assert plural(count, "prediction") == said


def _history(times: list[str]) -> pd.DataFrame:
    stamps = pd.to_datetime(times, utc=True)
    return pd.DataFrame(
        {
            "prediction_time": stamps,
            "flower_time": stamps,
            "predicted": ["Setosa"] * len(times),
            "label": ["Setosa"] * len(times),
            **{name: [1.0] * len(times) for name in FEATURES},
        }
    )


def _axis(times: list[str]) -> tuple[str, list[str], str, tuple[float, float]]:
    fig = dashboard.plot_accuracy_over_time(_history(times))
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = [label.get_text() for label in ax.get_xticklabels()]
    return ax.get_title(), ticks, ax.xaxis.get_offset_text().get_text(), ax.get_xlim()


@pytest.mark.parametrize(
    "times",
    [
        ["2026-11-30T19:57:03"],  # a first run: one prediction
        ["2026-11-30T19:56:31", "2026-11-30T19:56:52", "2026-11-30T19:57:19"],  # runs seconds apart
    ],
    ids=["one-point", "seconds-apart"],
)
def test_accuracy_chart_reads_as_times_of_one_day_for_close_points(times: list[str]) -> None:
    title, ticks, offset, (left, right) = _axis(times)
    assert title == f"Accuracy over time ({plural(len(times), 'prediction')})"
    assert len(ticks) >= 3 and all(re.fullmatch(r"\d\d:\d\d", tick) for tick in ticks), ticks
    assert offset == "2026-Nov-30"  # the date, once
    span = pd.Timedelta(days=right - left)
    assert (
        dashboard.MIN_TIME_SPAN - pd.Timedelta(milliseconds=1) <= span < pd.Timedelta(hours=1)
    )  # float days
    points = matplotlib.dates.date2num(pd.to_datetime(times))
    assert left < points.min() and points.max() < right


def test_accuracy_chart_of_a_month_keeps_its_dates() -> None:
    title, ticks, _, _ = _axis([f"2026-11-{day:02d}T06:17:00" for day in range(1, 31)])
    assert title == "Accuracy over time (30 predictions)"
    assert "Nov" in ticks and not any(":" in tick for tick in ticks)


def _csv(tmp_path: Path, edit: dict[tuple[int, str], str]) -> Path:
    frame = flowers.load_iris_frame().astype(object)
    for (row, column), value in edit.items():
        frame.loc[row, column] = value
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)
    return path


def _load(source: Path | str) -> pd.DataFrame:
    return validate_iris(
        read_iris_csv(source).assign(event_time=pd.Timestamp(BACKFILL_EVENT_TIME)), source=str(source)
    )


def test_contract_error_names_the_line_where_the_file_holds_the_bad_value(tmp_path: Path) -> None:
    path = _csv(tmp_path, {(9, "sepal_width"): "abc", (120, "variety"): "Rose"})
    with pytest.raises(IrisDataError) as error:
        _load(path)
    message = str(error.value)
    lines = path.read_text().splitlines()
    named = dict(re.findall(r"line (\d+) \('([^']*)'\)", message))
    assert named == {"11": "abc", "122": "Rose"}, message
    for number, value in named.items():
        assert value in lines[int(number) - 1].split(","), (number, lines[int(number) - 1])
    assert "row " not in message


def test_a_frame_not_read_from_a_file_keeps_its_row_labels() -> None:
    frame = flowers.load_iris_frame().head(3).assign(event_time=pd.Timestamp(BACKFILL_EVENT_TIME))
    frame.loc[1, "variety"] = "Rose"
    with pytest.raises(IrisDataError, match=r"row 1 \('Rose'\)"):
        validate_iris(frame, source="the synthetic flowers")


def test_loading_the_shipped_csv_says_the_repeated_row_was_dropped() -> None:
    source = str(flowers.IRIS_CSV)
    loaded = _load(source)
    said = load_summary(loaded, source)
    assert len(loaded) == 150 and len(loaded.drop_duplicates()) == 149
    expected = "(150 rows read; dropped 1 repeated row: line 144 repeats line 103)"
    assert said == f"149 valid flowers from {source} {expected}"
    lines = flowers.IRIS_CSV.read_text().splitlines()
    assert lines[143] == lines[102]  # lines 144 and 103 of the file


def test_a_load_without_repeats_says_only_how_many_flowers() -> None:
    frame = flowers.get_random_iris_flowers(3, seed=1)
    assert load_summary(frame, "the synthetic flowers") == "3 valid flowers from the synthetic flowers"
    assert load_summary(frame.head(1), "the synthetic flowers") == "1 valid flower from the synthetic flowers"


PHONE_FIGURE_PX = 310  # a dashboard figure's width on a 375 px phone (the page's card padding aside)


def _px_on_a_phone(figure: Figure, path: Path, points: float) -> float:
    """How tall ``points`` of text in ``figure``, saved to ``path``, are shown on a phone."""
    figure.savefig(path)
    width = Image.open(path).size[0]
    return points * figure.dpi / 72 * min(1, PHONE_FIGURE_PX / width)


def test_the_dashboards_chart_labels_are_legible_on_a_phone(tmp_path: Path) -> None:
    import seaborn as sns

    history = _history([f"2026-11-30 19:5{i}" for i in range(5)])
    with matplotlib.rc_context():
        dashboard.legible_on_a_phone()
        accuracy = dashboard.plot_accuracy_over_time(history)
        ticks = accuracy.axes[0].get_xticklabels()[0].get_fontsize()
        assert _px_on_a_phone(accuracy, tmp_path / "accuracy.png", ticks) >= 10
        matrix = pd.DataFrame(
            np.eye(3, dtype=int), [f"True {v}" for v in VARIETIES], [f"Pred {v}" for v in VARIETIES]
        )
        heatmap = sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues")  # as the notebooks draw it
        labels = heatmap.get_yticklabels()[0].get_fontsize()
        assert _px_on_a_phone(heatmap.get_figure(), tmp_path / "matrix.png", labels) >= 10
        table = tmp_path / "recent.png"  # as the notebook exports it: dataframe_image's 14 points at 100 dpi
        recent = dashboard.recent_predictions(history.assign(model_version=12, predicted="Versicolor"))
        dfi.export(recent, str(table), table_conversion="matplotlib")
        assert 14 * 100 / 72 * min(1, PHONE_FIGURE_PX / Image.open(table).size[0]) >= 10
    assert matplotlib.rcParams["font.size"] == 10  # matplotlib's own default again

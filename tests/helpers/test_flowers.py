"""The iris data, synthetic flowers, flower pictures (and ``assets/make_assets.py``), and the notebooks'
plot and dashboard helpers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import dataframe_image as dfi
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from support import load_make_assets

from serverless_iris.helpers import dashboard, dashboard_files, flowers, model_in_use
from serverless_iris.helpers.contract import validate_iris
from serverless_iris.helpers.flowers import FEATURES, SPECIES_RANGES, VARIETIES
from serverless_iris.paths import DASHBOARD_ENV

make_assets = load_make_assets()


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.verify()  # a valid PNG, not just a file with the right name
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"), dtype=float)


def assert_not_blank(path: Path) -> None:
    assert pixels(path).std() > 10, f"{path} looks blank"


def test_iris_frame_is_fishers_data_in_the_course_layout() -> None:
    iris = flowers.load_iris_frame()
    assert list(iris.columns) == [*FEATURES, "variety"]
    assert len(iris) == 150
    assert iris["variety"].value_counts().to_dict() == dict.fromkeys(VARIETIES, 50)
    assert all(iris[name].dtype == "float64" for name in FEATURES)
    assert len(iris.drop_duplicates(subset=list(FEATURES))) == 149  # one flower was measured twice


def test_shipped_csv_is_what_the_script_writes(tmp_path: Path) -> None:
    written = make_assets.write_iris_csv(tmp_path / "iris.csv")
    assert written.read_text() == flowers.IRIS_CSV.read_text()
    assert written.read_text().splitlines()[:2] == [
        "sepal_length,sepal_width,petal_length,petal_width,variety",
        "5.1,3.5,1.4,0.2,Setosa",
    ]
    pd.testing.assert_frame_equal(pd.read_csv(written), flowers.load_iris_frame())


def test_main_rewrites_the_csv_and_the_three_pictures(tmp_path: Path) -> None:
    make_assets.main(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "Setosa.png",
        "Versicolor.png",
        "Virginica.png",
        "iris.csv",
    ]
    for variety in VARIETIES:
        assert_not_blank(tmp_path / f"{variety}.png")


def test_species_ranges_are_ordered_min_max() -> None:
    assert set(SPECIES_RANGES) == set(VARIETIES)
    for ranges in SPECIES_RANGES.values():
        assert set(ranges) == set(FEATURES)
        assert all(0 < low < high for low, high in ranges.values())
    # the course passed Versicolor's petal length reversed (3.1, 5.5 as max, min)
    assert SPECIES_RANGES["Versicolor"]["petal_length"] == (3.1, 5.5)


def test_random_flower_is_reproducible_and_within_its_species_ranges() -> None:
    when = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
    first = flowers.get_random_iris_flower(7, event_time=when)
    pd.testing.assert_frame_equal(first, flowers.get_random_iris_flower(7, event_time=when))
    assert list(first.columns) == [*FEATURES, "variety", "event_time"]
    assert first.loc[0, "event_time"] == pd.Timestamp(when)
    rng = np.random.default_rng(0)
    many = pd.concat([flowers.get_random_iris_flower(rng, when) for _ in range(300)], ignore_index=True)
    assert set(many["variety"]) == set(VARIETIES)
    for variety, group in many.groupby("variety"):
        for name, (low, high) in SPECIES_RANGES[variety].items():
            assert group[name].between(low, high).all(), (variety, name)
    validate_iris(many)


def test_random_flowers_have_distinct_increasing_times_and_meet_the_contract() -> None:
    batch = flowers.get_random_iris_flowers(5, seed=3)
    assert len(batch) == 5
    assert batch["event_time"].is_monotonic_increasing and batch["event_time"].is_unique
    assert batch["event_time"].dt.tz is not None
    age = pd.Timestamp.now(tz="UTC") - batch["event_time"].max()
    assert pd.Timedelta(0) <= age < pd.Timedelta(minutes=5)  # made now, not at some fixed time
    again = flowers.get_random_iris_flowers(5, seed=3)
    pd.testing.assert_frame_equal(batch.drop(columns="event_time"), again.drop(columns="event_time"))
    validate_iris(batch)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_random_flowers_refuse_a_bad_count(n: object) -> None:
    with pytest.raises(ValueError, match="whole number >= 1"):
        flowers.get_random_iris_flowers(n)  # type: ignore[arg-type]


def test_flower_pictures_are_drawn_to_the_species_sizes(tmp_path: Path) -> None:
    """Petals (the light colour) grow from Setosa to Versicolor to Virginica, as their mean sizes do."""
    petal_area = {}
    for variety in VARIETIES:
        path = make_assets.draw_flower(variety, tmp_path / f"{variety}.png")
        image = pixels(path)
        assert image.shape == (400, 400, 3)
        assert_not_blank(path)
        colour = make_assets.COLOURS[variety][1]  # "#rrggbb"
        petal = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
        petal_area[variety] = int((np.abs(image - petal).sum(axis=2) < 30).sum())
    assert petal_area["Setosa"] < petal_area["Versicolor"] < petal_area["Virginica"]
    assert petal_area["Virginica"] > 1.5 * petal_area["Versicolor"] > 3 * petal_area["Setosa"]


def test_shipped_pictures_exist_and_differ() -> None:
    images = {variety: pixels(flowers.flower_picture(variety)) for variety in VARIETIES}
    for variety in VARIETIES:
        assert_not_blank(flowers.flower_picture(variety))
    assert not np.array_equal(images["Setosa"], images["Versicolor"])
    assert not np.array_equal(images["Versicolor"], images["Virginica"])


def test_unknown_variety_has_no_picture(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Iris-setosa.*Setosa, Versicolor, Virginica"):
        flowers.flower_picture("Iris-setosa")
    with pytest.raises(ValueError, match="allowed"):
        make_assets.draw_flower("Rose", tmp_path / "rose.png")


def history(n: int) -> pd.DataFrame:
    """``n`` recorded predictions, one per day, every third one wrong."""
    start = pd.Timestamp("2025-01-01", tz="UTC")
    rows = []
    for i in range(n):
        label = VARIETIES[i % 3]
        rows.append(
            {
                **{name: 1.0 + i / 10 for name in FEATURES},
                "flower_time": start + pd.Timedelta(days=i),
                "predicted": label if i % 3 else "Virginica",
                "label": label,
                "model_version": 1 + i // 5,
                "prediction_time": start + pd.Timedelta(days=i, hours=1),
            }
        )
    return pd.DataFrame(rows)


def test_accuracy_plot_and_recent_table(tmp_path: Path) -> None:
    past = history(9)
    fig = dashboard.plot_accuracy_over_time(past.assign(flower_time=past["flower_time"].dt.tz_convert(None)))
    fig.savefig(tmp_path / "accuracy.png")
    assert_not_blank(tmp_path / "accuracy.png")
    cumulative = fig.axes[0].lines[0].get_ydata()
    assert cumulative[-1] == pytest.approx(past["predicted"].eq(past["label"]).mean())

    table = dashboard.recent_predictions(past)
    dfi.export(table, str(tmp_path / "recent.png"), table_conversion="matplotlib")  # as the notebook does
    assert_not_blank(tmp_path / "recent.png")
    assert list(table.index) == [1, 2, 3, 4, 5]
    assert list(table["flower (UTC)"]) == [f"01-{d:02d} 00:00" for d in (9, 8, 7, 6, 5)]
    assert list(table.columns) == ["flower (UTC)", "predicted", "actual", "model", "right"]
    assert table["model"].str.fullmatch(r"v\d+").all()


def test_newest_first_breaks_ties_by_the_measurements() -> None:
    same_time = pd.Timestamp("2020-01-01")
    frame = pd.DataFrame(
        [[5.0, 3.0, 1.5, 0.2, same_time], [4.3, 3.0, 1.1, 0.1, same_time], [4.3, 2.9, 1.4, 0.2, same_time]],
        columns=[*FEATURES, "event_time"],
    )
    for shuffled in (frame, frame.iloc[::-1], frame.iloc[[1, 2, 0]]):
        assert flowers.newest_first(shuffled, "event_time").iloc[0].tolist()[:4] == [4.3, 2.9, 1.4, 0.2]


def test_utc_accepts_naive_and_aware_times() -> None:
    naive = pd.Series(pd.to_datetime(["2020-01-01 12:00"]))
    aware = pd.Series(pd.to_datetime(["2020-01-01 13:00+01:00"]))
    assert (
        flowers.utc(naive).iloc[0] == flowers.utc(aware).iloc[0] == pd.Timestamp("2020-01-01 12:00", tz="UTC")
    )


def test_dashboard_summary_follows_the_shared_contract() -> None:
    model = SimpleNamespace(
        name="iris", version=3, training_metrics={"accuracy": 0.9, "f1_macro": 0.8}, created=1_700_000_000_000
    )
    summary = dashboard.dashboard_summary(model, history(40), training_run="20261127T093000Z-abc123")
    assert set(summary) == {
        "generated_at", "model", "today", "recent", "history_accuracy", "n_predictions",
        "rolling_accuracy", "variety_counts", "alert",
    }  # fmt: skip
    assert summary["model"] == {
        "name": "iris",
        "version": 3,
        "metrics": {"accuracy": 0.9, "f1_macro": 0.8},
        "created": "2023-11-14T22:13:20+00:00",
        "training_run": "20261127T093000Z-abc123",
        "parameters": {},
    }
    assert summary["today"]["event_time"] == "2025-02-09T00:00:00+00:00"
    assert summary["today"]["actual"] == VARIETIES[39 % 3]
    assert set(summary["today"]["features"]) == set(FEATURES)
    assert len(summary["recent"]) == 30
    assert summary["recent"][0]["event_time"] > summary["recent"][-1]["event_time"]
    assert summary["n_predictions"] == 40
    assert summary["history_accuracy"] == pytest.approx(history(40).eval("predicted == label").mean())


MODEL = SimpleNamespace(name="iris", version=1, training_metrics={"accuracy": 1.0}, created=None)


def predictions(outcomes: str) -> pd.DataFrame:
    """One prediction a day, oldest first: ``y`` right, ``n`` wrong (a Setosa taken for a Virginica)."""
    frame = history(len(outcomes))
    wrong = [c == "n" for c in outcomes]
    return frame.assign(
        label=["Setosa" if w else label for w, label in zip(wrong, frame["label"], strict=True)],
        predicted=["Virginica" if w else label for w, label in zip(wrong, frame["label"], strict=True)],
    )


def test_rolling_accuracy_counts_the_newest_flowers_by_event_time() -> None:
    outcomes = "y" * 25 + "n" * 3 + "y" * 2 + "n" * 3 + "y" * 2  # 35 predictions, oldest first
    shuffled = predictions(outcomes).sample(frac=1, random_state=3)  # the group's row order means nothing
    summary = dashboard.dashboard_summary(MODEL, shuffled)
    assert summary["rolling_accuracy"] == {"7": pytest.approx(4 / 7), "30": pytest.approx(24 / 30)}
    assert summary["history_accuracy"] == pytest.approx(29 / 35)
    assert summary["n_predictions"] == 35


def test_rolling_accuracy_over_fewer_predictions_is_over_what_there_is() -> None:
    summary = dashboard.dashboard_summary(MODEL, predictions("yny"), threshold=0.5)
    assert summary["rolling_accuracy"] == {"7": pytest.approx(2 / 3), "30": pytest.approx(2 / 3)}
    assert summary["alert"] == {
        "below": False,
        "threshold": 0.5,
        "window": 3,
        "accuracy": pytest.approx(2 / 3),
        "retrain": False,  # too few predictions to judge the model by
        "retrain_held": False,
        "message": None,
    }


def test_variety_counts_set_predictions_against_labels() -> None:
    # labels S S V S Ve V; predicted V V V S Ve V (the first two wrong)
    summary = dashboard.dashboard_summary(MODEL, predictions("nnyyyy"))
    assert summary["variety_counts"] == {
        "Setosa": {"predicted": 1, "actual": 3},
        "Versicolor": {"predicted": 1, "actual": 1},
        "Virginica": {"predicted": 4, "actual": 2},
    }


@pytest.mark.parametrize(
    ("outcomes", "threshold", "below"),
    [
        ("y" * 10 + "nnn" + "y" * 4, 0.8, True),  # 4 of the last 7: 57.1%
        ("n" * 10 + "y" * 6 + "n", 0.8, False),  # 6 of 7 (85.7%): the older failures are out of the window
        ("y" * 10 + "nn" + "y" * 5, 5 / 7, False),  # exactly at the threshold is not below it
        ("n", 0.0, False),  # a threshold of 0 never alerts
    ],
)
def test_alert_when_the_last_7_fall_below_the_threshold(outcomes: str, threshold: float, below: bool) -> None:
    alert = dashboard.dashboard_summary(MODEL, predictions(outcomes), threshold=threshold, retrain=False)[
        "alert"
    ]
    assert alert["below"] is below
    assert alert["threshold"] == threshold and alert["retrain"] is False
    if below:
        assert (
            alert["message"]
            == "Rolling accuracy 57.1% over the last 7 predictions fell below the threshold 80%."
        )
    else:
        assert alert["message"] is None


@pytest.mark.parametrize(
    ("newest_model_created", "retrain"),
    [
        (None, True),  # the registry's newest model is unknown: the alert decides
        (pd.Timestamp("2025-01-11 00:59", tz="UTC"), True),  # older than the window's oldest prediction
        (pd.Timestamp("2025-01-11 01:00", tz="UTC"), False),  # registered as the window began: not judged
        (int(pd.Timestamp("2025-01-15", tz="UTC").timestamp() * 1000), False),  # epoch ms, as the SDK gives
    ],
)
def test_an_alert_retrains_at_most_once_per_window(newest_model_created: object, retrain: bool) -> None:
    """The window of the last 7 predictions starts on day 11 at 01:00; a model newer than that waits."""
    alert = dashboard.dashboard_summary(
        MODEL, predictions("y" * 10 + "nnn" + "y" * 4), newest_model_created=newest_model_created
    )["alert"]
    assert alert["below"] is True
    assert alert["retrain"] is retrain and alert["retrain_held"] is not retrain


def test_an_alert_on_a_model_pinned_by_model_version_does_not_retrain() -> None:
    """Retraining registers a newer model, which a pinned MODEL_VERSION would not use."""
    outcomes = predictions("y" * 10 + "nnn" + "y" * 4)
    for chosen, retrain in ((model_in_use.NEWEST, True), (model_in_use.pinned(1), False)):
        card = dashboard.model_card(MODEL, {"N_NEIGHBORS": 2}, None, chosen)
        summary = dashboard.dashboard_summary(MODEL, outcomes, card=card)
        assert summary["alert"]["below"] is True and summary["alert"]["retrain"] is retrain
        assert summary["model"]["chosen"] == chosen and summary["model"]["parameters"] == {"N_NEIGHBORS": 2}


def test_an_alert_over_fewer_than_7_predictions_does_not_retrain() -> None:
    alert = dashboard.dashboard_summary(MODEL, predictions("ynnnnn"))["alert"]
    assert alert["below"] is True and alert["window"] == 6
    assert alert["retrain"] is False and alert["retrain_held"] is True


def test_alert_message_names_a_single_prediction() -> None:
    alert = dashboard.dashboard_summary(MODEL, predictions("n"), threshold=0.9)["alert"]
    assert alert["message"] == "Rolling accuracy 0% over the last 1 prediction fell below the threshold 90%."


@pytest.mark.parametrize("threshold", [80, -0.1, 1.5, float("nan"), "0.8", True])
def test_threshold_must_be_a_share(threshold: object) -> None:
    with pytest.raises(ValueError, match="share from 0 to 1"):
        dashboard.dashboard_summary(MODEL, predictions("y"), threshold=threshold)  # type: ignore[arg-type]


def test_summary_is_plain_json() -> None:
    summary = dashboard.dashboard_summary(MODEL, predictions("ynyn"))
    assert json.loads(json.dumps(summary)) == summary
    assert summary["model"]["training_run"] is None  # unknown: the model was trained by hand


def test_dashboard_folder_prefers_the_parameter_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DASHBOARD_ENV, str(tmp_path / "from-env"))
    assert dashboard.dashboard_folder(tmp_path / "given") == tmp_path / "given"
    assert dashboard.dashboard_folder(None) == tmp_path / "from-env"
    assert (tmp_path / "given").is_dir() and (tmp_path / "from-env").is_dir()
    monkeypatch.delenv(DASHBOARD_ENV)
    monkeypatch.setattr(dashboard_files, "OUTPUTS_DIR", tmp_path / "outputs")  # not the real repository
    assert dashboard.dashboard_folder(None) == tmp_path / "outputs" / "dashboard"

"""Embedded-store promises a deliberate bug once slipped past: each test here fails on that bug.

- ``Model.download()`` hands out a verified copy, never the registry's own folder;
- the next feature group / feature view version is the highest saved one plus one, not the count plus one;
- an integer ``start_time``/``end_time`` is epoch seconds up to 10 digits, else epoch milliseconds.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hopsworks_common.util import _convert_event_time_to_timestamp

from serverless_iris.embedded.feature_store import FeatureStore
from serverless_iris.embedded.model_registry import ModelRegistry
from serverless_iris.embedded.util import naive_utc

MEASURES = ["a", "b"]


@pytest.fixture
def fs(tmp_path: Path) -> FeatureStore:
    return FeatureStore(tmp_path / "store")


def _rows(times: list[pd.Timestamp]) -> pd.DataFrame:
    return pd.DataFrame({"a": [float(i) for i in range(len(times))], "b": 1.0, "event_time": times})


def _group(fs: FeatureStore, version: int | None):
    return fs.create_feature_group(name="g", version=version, primary_key=["a"], event_time="event_time")


# --- download: a copy, not the registry's folder -----------------------------------------------------


def test_download_returns_a_copy_outside_the_store_that_the_caller_may_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planted bug: ``return str(source)`` (the version folder) instead of the verified copy."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    source = tmp_path / "model"
    source.mkdir()
    (source / "model.bin").write_bytes(b"weights")
    registry = ModelRegistry(tmp_path / "store")
    model = registry.python.create_model("iris").save(str(source))

    for downloaded in (Path(model.download()), Path(model.download(str(tmp_path / "into")))):
        assert not downloaded.resolve().is_relative_to((tmp_path / "store").resolve()), downloaded
        (downloaded / "model.bin").write_bytes(b"changed by a notebook")
        (downloaded / "extra.txt").write_text("added by a notebook")

    again = Path(registry.get_model("iris", 1).download())  # the registry's files are untouched
    assert sorted(p.name for p in again.iterdir()) == ["model.bin"]
    assert (again / "model.bin").read_bytes() == b"weights"
    assert (Path(model.version_path) / "model.bin").read_bytes() == b"weights"


# --- version numbering: highest + 1 ------------------------------------------------------------------


def test_the_next_feature_group_version_follows_the_highest_not_the_count(fs: FeatureStore) -> None:
    """Planted bug: ``count(*) + 1`` in ``util.next_version``: with 1 and 3 saved it gives 3 and appends."""
    for version in (1, 3):
        _group(fs, version).insert(_rows([pd.Timestamp("2024-01-01")]))

    created = _group(fs, None)
    created.insert(_rows([pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-02")]))

    assert created.version == 4
    assert [len(fs.get_feature_group("g", version=v).read()) for v in (1, 3, 4)] == [1, 1, 2]


def test_the_next_feature_view_version_follows_the_highest_not_the_count(fs: FeatureStore) -> None:
    group = _group(fs, 1)
    group.insert(_rows([pd.Timestamp("2024-01-01")]))
    for version in (1, 3):
        fs.create_feature_view(name="v", version=version, query=group.select(["a"]))

    created = fs.create_feature_view(name="v", query=group.select(["a", "b"]))

    assert created.version == 4
    assert [list(fs.get_feature_view("v", version=v).get_batch_data().columns) for v in (1, 3, 4)] == [
        ["a"],
        ["a"],
        ["a", "b"],
    ]


# --- integer epoch bounds ----------------------------------------------------------------------------

SECONDS = 1_704_067_200  # 2024-01-01T00:00:00Z, 10 digits
MILLIS = 1_704_153_600_000  # 2024-01-02T00:00:00Z, 13 digits


@pytest.mark.parametrize("value", [SECONDS, MILLIS, 86_400, 9_999_999_999, 10_000_000_000, 1])
def test_integer_times_are_read_in_the_sdks_unit(value: int) -> None:
    """Differential: the SDK's ``hopsworks_common.util._convert_event_time_to_timestamp`` gives epoch ms."""
    assert naive_utc(value) == pd.Timestamp(_convert_event_time_to_timestamp(value), unit="ms")


def test_integer_start_and_end_times_select_the_right_days(fs: FeatureStore) -> None:
    """Seconds and milliseconds bound the same window: a bug reading either in the other unit selects
    everything (ms read as s lies far in the future) or nothing (s read as ms lies in 1970)."""
    group = _group(fs, 1)
    days = [pd.Timestamp("2023-12-31"), pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    group.insert(_rows(days))

    window = group.read(start_time=SECONDS, end_time=MILLIS)
    view = fs.create_feature_view(name="w", version=1, query=group.select_all())
    batch = view.get_batch_data(start_time=SECONDS, end_time=MILLIS, event_time=True)

    for frame in (window, batch):
        assert list(frame["event_time"]) == [pd.Timestamp("2024-01-01")]

"""Differential tests of the API surface: what the SDK's objects answer, the embedded ones answer too.

Rows 6, 7, 10, 11 and 12 of issue 12: model provenance from a feature view (``hsml.model.Model.save`` run
with its registry call stubbed out), attributes winning over features, deprecated spellings, cached model
downloads and time filters that stay on a query.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from serverless_iris.embedded.feature_store import FeatureStore
from serverless_iris.embedded.model_registry import ModelRegistry, ProvenanceWarning
from serverless_iris.embedded.util import SDK_FEATURE_GROUP_ATTRIBUTES

MEASUREMENTS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Model downloads are cached under the temporary folder: keep it inside the test's own folder."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path / "tmp"


def flowers(n: int, start: str = "2024-01-01") -> pd.DataFrame:
    frame = pd.DataFrame({m: [float(i) + k / 10 for i in range(n)] for k, m in enumerate(MEASUREMENTS)})
    frame["variety"] = ["Setosa", "Versicolor", "Virginica"] * (n // 3) + ["Setosa"] * (n % 3)
    frame["event_time"] = pd.date_range(start, periods=n, freq="D", unit="us")
    return frame


def iris_view(fs: FeatureStore) -> Any:
    group = fs.create_feature_group("iris", version=1, primary_key=MEASUREMENTS, event_time="event_time")
    group.insert(flowers(12))
    return fs.create_feature_view("iris", group.select_all(), version=1, labels=["variety"])


def model_folder(tmp_path: Path) -> str:
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "model.pkl").write_bytes(b"weights")
    return str(folder)


# ------------------------------------------------------------------ row 6: model provenance


def sdk_saved(view: Any, **kwargs: Any) -> Any:
    """``hsml.model.Model.save`` up to the registry call, which is replaced by returning the model."""
    from hsml.model import Model as SdkModel

    model = SdkModel(id=None, name="iris", feature_view=view, **kwargs)
    model._model_engine._save = lambda model_instance, **_: model_instance
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        model.save("unused")
    return model, sorted(str(w.message) for w in seen if w.category.__name__ == "ProvenanceWarning")


def test_a_model_saved_with_a_feature_view_gets_its_training_dataset_and_schema(
    fs: FeatureStore, tmp_path: Path
) -> None:
    """Row 6: the view's last training dataset version, and the schema of that dataset."""
    view = iris_view(fs)
    view.training_data()
    view.train_test_split(test_size=0.25)
    sdk, sdk_warnings = sdk_saved(view)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ModelRegistry(fs._store).python.create_model("iris", feature_view=view).save(model_folder(tmp_path))

    saved = ModelRegistry(fs._store).get_model("iris", 1)
    assert saved.training_dataset_version == sdk._training_dataset_version == 2
    assert saved.model_schema == sdk._model_schema.to_dict()
    assert saved.model_schema["output_schema"] == {"columnar_schema": [{"name": "variety", "type": "string"}]}
    assert [str(w.message) for w in seen if w.category is ProvenanceWarning] == sdk_warnings == []


def test_provenance_that_cannot_be_completed_warns_like_the_sdk(fs: FeatureStore, tmp_path: Path) -> None:
    """Row 6: a view never read for training has no training dataset version, so no schema either."""
    view = iris_view(fs)
    _, sdk_warnings = sdk_saved(view)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ModelRegistry(fs._store).python.create_model("iris", feature_view=view).save(model_folder(tmp_path))

    assert sorted(str(w.message) for w in seen if w.category is ProvenanceWarning) == sdk_warnings
    assert len(sdk_warnings) == 2
    saved = ModelRegistry(fs._store).get_model("iris", 1)
    assert (saved.training_dataset_version, saved.model_schema) == (None, None)


def test_training_dataset_versions_count_up_across_processes(fs: FeatureStore) -> None:
    """Row 6: each training read creates the next training dataset version of the view, as on Hopsworks."""
    iris_view(fs)
    first = fs.get_feature_view("iris", version=1)
    first.training_data()
    second = fs.get_feature_view("iris", version=1)
    assert second.get_last_accessed_training_dataset() is None

    second.training_data()

    assert (first.get_last_accessed_training_dataset(), second.get_last_accessed_training_dataset()) == (1, 2)


# ---------------------------------------------------------- row 7: attributes win over features


def test_the_embedded_list_of_sdk_attributes_is_the_sdks() -> None:
    """Row 7: every public attribute of ``hsfs.feature_group.FeatureGroup`` wins over a feature there."""
    from hsfs.feature_group import FeatureGroup as SdkFeatureGroup

    assert SDK_FEATURE_GROUP_ATTRIBUTES == {n for n in dir(SdkFeatureGroup) if not n.startswith("_")}


def test_a_column_named_like_an_attribute_never_shadows_it(fs: FeatureStore) -> None:
    """Row 7: ``fg.version``/``fg.columns`` are the attributes, ``fg.id`` is refused, not the column."""
    data = pd.DataFrame({"id": [1], "version": [7], "columns": ["c"], "location": ["x"], "size": [3]})
    group = fs.create_feature_group("named", version=1, primary_key=["id"])
    group.insert(data)

    assert group.version == 1
    assert [f.name for f in group.columns] == list(data.columns)
    with pytest.raises(
        NotImplementedError, match=r"FeatureGroup\.id \(hsfs\.feature_group\.FeatureGroup\.id\)"
    ):
        _ = group.id
    with pytest.raises(NotImplementedError, match="FeatureGroup.location"):
        _ = group.location
    assert group.size.name == "size", "a name the SDK does not use is still the feature"
    assert (group["id"].name, group.get_feature("version").name) == ("id", "version")


# ----------------------------------------------------------------- row 10: deprecated spellings


def test_primary_keys_is_the_deprecated_spelling_of_primary_key(fs: FeatureStore) -> None:
    """Row 10: ``kwargs.get("primary_keys", ...)`` in ``FeatureView.get_batch_data``/``training_data``."""
    group = fs.create_feature_group("k", version=1, primary_key=["id"], event_time="event_time")
    group.insert(flowers(6).assign(id=range(6)))
    view = fs.create_feature_view("k", group.select_except(["id"]), version=1, labels=["variety"])
    key = "local_k_1_id"

    assert key in view.get_batch_data(primary_keys=True).columns
    assert key in view.training_data(primary_keys=True)[0].columns
    assert key in view.train_test_split(test_size=0.5, primary_keys=True)[0].columns
    assert key not in view.get_batch_data().columns


@pytest.mark.parametrize("method", ["get_batch_data", "training_data", "train_test_split"])
def test_an_unknown_keyword_is_refused_with_the_sdks_message(fs: FeatureStore, method: str) -> None:
    """Row 10: ``hsfs.feature_view.FeatureView._reject_unknown_kwargs``."""
    from hsfs.feature_view import FeatureView as SdkFeatureView

    with pytest.raises(TypeError) as sdk:
        SdkFeatureView._reject_unknown_kwargs({"colour": 1, "size": 2}, method)
    view = iris_view(fs)

    with pytest.raises(TypeError) as ours:
        getattr(view, method)(colour=1, size=2)

    assert str(ours.value) == str(sdk.value)


def test_view_features_carry_the_label_flag(fs: FeatureStore) -> None:
    """Row 10: ``fv.features`` are training dataset features with ``label``."""
    view = iris_view(fs)

    assert [(f.name, f.label) for f in view.features] == [(m, False) for m in MEASUREMENTS] + [
        ("variety", True),
        ("event_time", False),
    ]
    assert [f.type for f in view.features][-2:] == ["string", "timestamp"]


def test_get_best_model_takes_the_backends_sort_orders(tmp_path: Path) -> None:
    """Row 10: ``ModelApi._get_models`` maps max/min to desc/asc and passes "asc"/"desc" on as given."""
    registry = ModelRegistry(tmp_path / "store")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvenanceWarning)
        for accuracy in (0.7, 0.9, 0.8):
            registry.python.create_model("iris", metrics={"accuracy": accuracy}).save(model_folder(tmp_path))

    best = {d: registry.get_best_model("iris", "accuracy", d).version for d in ("max", "desc", "min", "asc")}

    assert best == {"max": 2, "desc": 2, "min": 1, "asc": 1}


# ------------------------------------------------------------------- row 11: cached downloads


def test_downloading_twice_returns_the_same_cached_folder(tmp_path: Path, private_tempdir: Path) -> None:
    """Row 11: ``ModelEngine._download`` reuses ``<tmp>/hopsworks/models/<project>/<name>/<version>/<id>``."""
    registry = ModelRegistry(tmp_path / "store")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvenanceWarning)
        registry.python.create_model("iris").save(model_folder(tmp_path))
    model = registry.get_model("iris", 1)

    first = model.download()
    second = registry.get_model("iris", 1).download()

    assert first == second
    assert Path(first).parent == private_tempdir / "hopsworks" / "models" / "local" / "iris" / "1"
    assert sorted(os.listdir(private_tempdir)) == ["hopsworks"], "no other temporary folder is left"
    Path(first, "model.pkl").write_bytes(b"changed in the cache")
    assert Path(model.download(), "model.pkl").read_bytes() == b"weights", "a changed cache is rebuilt"


def test_a_recreated_version_gets_a_new_cache_folder(tmp_path: Path) -> None:
    """Row 11: the cache is keyed by the model's id, so a deleted and re-saved version is downloaded anew."""
    registry = ModelRegistry(tmp_path / "store")
    folder = model_folder(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvenanceWarning)
        registry.python.create_model("iris").save(folder)
        old = registry.get_model("iris", 1).download()
        registry.get_model("iris", 1).delete()
        Path(folder, "model.pkl").write_bytes(b"retrained")
        registry.python.create_model("iris").save(folder)

    new = registry.get_model("iris", 1).download()

    assert new != old and not Path(old).exists()
    assert Path(new, "model.pkl").read_bytes() == b"retrained"


def test_another_stores_model_of_the_same_name_and_version_keeps_its_cache_folder(
    tmp_path: Path, private_tempdir: Path
) -> None:
    """Every local store is the project ``local``: the cache folder's id names the store, so one store's
    download neither reuses nor prunes the folder another store's model (say a retrained v1 in another
    checkout) is being read from."""
    registries = [ModelRegistry(tmp_path / name) for name in ("store-a", "store-b")]
    folder = model_folder(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvenanceWarning)
        for registry, weights in zip(registries, (b"a", b"b"), strict=True):
            Path(folder, "model.pkl").write_bytes(weights)
            registry.python.create_model("iris").save(folder)

    a, b = (registry.get_model("iris", 1).download() for registry in registries)

    assert a != b and Path(a).parent == Path(b).parent
    assert Path(a, "model.pkl").read_bytes() == b"a" and Path(b, "model.pkl").read_bytes() == b"b"


# ------------------------------------------------------------ row 12: filters stay on the query


def test_a_time_window_read_narrows_the_query_itself(fs: FeatureStore) -> None:
    """Row 12: ``Query._read_with_time_filter`` calls ``self.filter(...)``: later reads keep the window."""
    group = fs.create_feature_group("iris", version=1, primary_key=MEASUREMENTS, event_time="event_time")
    group.insert(flowers(10))
    query = group.select_all()

    windowed = query.read(start_time="2024-01-06")
    later = query.read()

    assert len(windowed) == len(later) == 5
    assert len(group.read()) == 10, "fg.read builds a new query each time"

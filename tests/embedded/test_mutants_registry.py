"""Registry promises mutation testing found no test for (README, Development): how its objects print,
refusals before a save, the stored feature-view reference, and input examples as hsml converts them."""

from __future__ import annotations

import json
import linecache
import os
import tempfile
import time
import warnings
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hopsworks_common.util import _input_example_to_json as sdk_input_example_to_json
from hopsworks_common.util import _validate_metrics as sdk_validate_metrics
from hopsworks_common.util import _validate_model_name as sdk_validate_model_name

from serverless_iris.embedded import model_registry
from serverless_iris.embedded.feature_store import FeatureStore
from serverless_iris.embedded.model_registry import ModelRegistry, ModelRegistryException


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelRegistry:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return ModelRegistry(tmp_path / "store")


def _save(registry: ModelRegistry, tmp_path: Path, **metadata):
    (tmp_path / "m").mkdir(exist_ok=True)
    (tmp_path / "m" / "model.bin").write_bytes(b"w")
    return registry.python.create_model("iris", **metadata).save(str(tmp_path / "m"))


def test_the_registry_its_signatures_models_and_the_store_print_what_they_are(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    assert repr(registry) == f"ModelRegistry(store: {store!r})"
    assert repr(registry.sklearn) == "<sklearn model signature>"
    assert repr(FeatureStore(tmp_path / "store")) == f"FeatureStore('local_featurestore', store={store!r})"
    assert repr(_save(registry, tmp_path)) == "Model(name: 'iris', version: 1)"


@pytest.mark.parametrize("action", ["delete", "download"])
def test_an_unsaved_model_refuses_by_name(registry: ModelRegistry, action: str) -> None:
    with pytest.raises(ModelRegistryException) as caught:
        getattr(registry.python.create_model("iris"), action)()
    assert str(caught.value) == f"model 'iris' is not saved yet; save() it before {action}"


def _view(name: str, version: int) -> SimpleNamespace:
    """A stand-in feature view with no training dataset read yet (the model's schema stays unknown)."""
    return SimpleNamespace(name=name, version=version, get_last_accessed_training_dataset=lambda: None)


def test_the_feature_view_a_model_was_trained_on_is_stored_by_name_and_version(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    model = _save(registry, tmp_path, feature_view=_view("iris", 3))

    stored = registry.get_model("iris", model.version)._metadata.feature_view
    assert json.loads(stored) == {"name": "iris", "version": 3}
    with pytest.raises(TypeError) as caught:
        registry.python.create_model("iris", feature_view="iris")
    assert str(caught.value) == (
        "feature_view must be a feature view (with a name and a version), got <class 'str'>"
    )


EXAMPLES = {
    "frame": pd.DataFrame({"a": [1.5, 2.5], "b": [3, 4]}),
    "series": pd.Series([1.0, 2.0]),
    "array": np.array([[1, 2], [3, 4]]),
    "one-element array": np.array([7]),
    "list": [1, 2],
    "dict": {"a": 1},
}


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_an_input_example_is_stored_as_the_sdk_converts_it(
    registry: ModelRegistry, tmp_path: Path, kind: str
) -> None:
    """Differential: ``hopsworks_common.util._input_example_to_json``."""
    example = EXAMPLES[kind]
    model = _save(registry, tmp_path, input_example=example)

    assert registry.get_model("iris", model.version).input_example == sdk_input_example_to_json(example)


@pytest.mark.parametrize(
    "empty",
    [pd.DataFrame(), pd.Series(dtype=float), np.array([]), []],
    ids=["frame", "series", "array", "list"],
)
def test_an_empty_input_example_is_refused_with_the_sdks_message(registry: ModelRegistry, empty) -> None:
    with pytest.raises(ValueError) as sdk:
        sdk_input_example_to_json(empty)
    with pytest.raises(ValueError) as caught:
        registry.python.create_model("iris", input_example=empty)
    assert str(caught.value) == str(sdk.value) == f"input_example of type {type(empty)} can not be empty"


def test_an_input_example_of_another_type_is_refused(registry: ModelRegistry) -> None:
    with pytest.raises(TypeError) as caught:
        registry.python.create_model("iris", input_example=(1, 2))
    assert str(caught.value) == (
        "<class 'tuple'> is not a supported input example type; "
        "use a pandas DataFrame or Series, a numpy array, a list or a dict"
    )


def test_numpy_values_and_times_in_an_example_are_written_as_hsml_writes_them(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    example = {"n": np.int64(3), "x": np.float32(0.5), "a": np.array([1, 2]), "t": datetime(2024, 1, 2, 3)}
    model = _save(registry, tmp_path, input_example=example)

    assert registry.get_model("iris", model.version).input_example == {
        "n": 3,
        "x": 0.5,
        "a": [1, 2],
        "t": "2024-01-02T03:00:00",
    }
    with pytest.raises(TypeError) as caught:
        registry.python.create_model("iris", input_example={"o": object()})
    assert str(caught.value) == "cannot store dict as JSON: Object of type object is not JSON serializable"


def test_a_schema_of_another_type_is_refused_naming_its_type(registry: ModelRegistry) -> None:
    with pytest.raises(TypeError) as caught:
        registry.python.create_model("iris", model_schema=[1])
    assert str(caught.value) == (
        "model_schema of type <class 'list'> is not supported; use hsml.schema.Schema, "
        "hsml.model_schema.ModelSchema or a dict"
    )


def test_stored_json_has_sorted_keys_as_hsml_writes_it(registry: ModelRegistry, tmp_path: Path) -> None:
    """hsml's ``ModelSchema.json`` and ``util.NumpyEncoder`` users dump with ``sort_keys=True``."""
    model = _save(
        registry, tmp_path, model_schema={"b": {"z": 1, "y": 2}, "a": 0}, input_example={"q": 1, "p": 2}
    )
    again = registry.get_model("iris", model.version)
    assert list(again.model_schema) == ["a", "b"] and list(again.model_schema["b"]) == ["y", "z"]
    assert list(again.input_example) == ["p", "q"]


def test_a_delete_that_fails_half_way_deletes_nothing(
    registry: ModelRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two DELETEs of ``Model.delete`` are one transaction: when the second fails, the file checksums
    the first removed come back, and the model still downloads verified."""
    model = _save(registry, tmp_path)

    class FailingSecondDelete:
        def __init__(self, con) -> None:
            self._con = con

        def execute(self, sql: str, *args):
            if sql.startswith("DELETE FROM models"):
                raise RuntimeError("planted failure")
            return self._con.execute(sql, *args)

    def failing(opener):
        @contextmanager
        def open_failing(store, *args, **kwargs):
            with opener(store, *args, **kwargs) as con:
                yield FailingSecondDelete(con)

        return open_failing

    monkeypatch.setattr(model_registry, "transaction", failing(model_registry.transaction))
    monkeypatch.setattr(model_registry, "connect", failing(model_registry.connect))
    with pytest.raises(RuntimeError, match="planted failure"):
        model.delete()
    monkeypatch.undo()

    again = registry.get_model("iris", model.version)
    assert (Path(again.download()) / "model.bin").read_bytes() == b"w"


@pytest.mark.parametrize("metrics", [[("a", 1)], {1: 0.5}, {"a": "high"}])
def test_bad_metrics_are_refused_with_the_sdks_message(registry: ModelRegistry, metrics) -> None:
    """Differential: ``hopsworks_common.util._validate_metrics``."""
    with pytest.raises((TypeError, ValueError)) as sdk:
        sdk_validate_metrics(metrics)
    with pytest.raises(type(sdk.value)) as caught:
        registry.python.create_model("iris", metrics=metrics)
    assert str(caught.value) == str(sdk.value)


@pytest.mark.parametrize("version", ["2", 1.5, 0, True])
def test_a_version_that_is_no_positive_integer_is_refused(registry: ModelRegistry, version) -> None:
    for call in (
        lambda: registry.get_model("iris", version),
        lambda: registry.python.create_model("iris", version=version),
    ):
        with pytest.raises(ValueError) as caught:
            call()
        assert str(caught.value) == f"version must be a positive integer, got {version!r}"


def test_no_version_warns_at_the_callers_line(registry: ModelRegistry) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert registry.get_model("iris") is None
    (warning,) = caught
    assert warning.filename != model_registry.__file__
    assert str(warning.message) == "No version provided for getting model `iris`, defaulting to `1`."


def test_a_second_download_says_it_uses_the_cached_files(
    registry: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = _save(registry, tmp_path)
    first = model.download()
    capsys.readouterr()
    assert model.download() == first
    assert capsys.readouterr().out == f"Using cached model files at '{first}'.\n"


def test_a_download_into_an_existing_folder_adds_the_files(registry: ModelRegistry, tmp_path: Path) -> None:
    model = _save(registry, tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    assert model.download(str(tmp_path / "out")) == str(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.bin", "notes.txt"]


def test_a_failed_verification_names_every_problem_and_leaves_no_copy(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    model = _save(registry, tmp_path)
    version = Path(model.version_path)
    (version / "model.bin").unlink()
    (version / "extra.txt").write_text("x")
    with pytest.raises(model_registry.ModelIntegrityError) as caught:
        model.download()
    assert str(caught.value) == (
        f"model 'iris' version 1 in {version} failed verification and was not loaded: model.bin: missing; "
        "extra.txt: not part of the saved model. Delete this version (Model.delete()) and save it again."
    )
    assert list(tmp_path.glob("serverless-iris-model-*")) == []  # the fixture's temporary folder


@pytest.mark.parametrize("metadata", [{}, {"feature_view": _view("iris", 3)}], ids=["no view", "no dataset"])
def test_provenance_warnings_point_at_the_save_not_at_the_registry(
    registry: ModelRegistry, tmp_path: Path, metadata: dict
) -> None:
    """Each points at the line that called ``save`` (under mutmut's trampoline: ``save``'s own call)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _save(registry, tmp_path, **metadata)
    assert [type(w.message).__name__ for w in caught] == ["ProvenanceWarning"] * (1 + len(metadata))
    for warning in caught:
        assert not linecache.getline(warning.filename, warning.lineno).strip().startswith("warnings.warn(")


def test_a_bad_model_name_is_refused_with_the_sdks_message(registry: ModelRegistry) -> None:
    with pytest.raises(Exception) as sdk:
        sdk_validate_model_name("iris model")
    with pytest.raises(ModelRegistryException) as caught:
        registry.python.create_model("iris model")
    assert str(caught.value) == str(sdk.value)


def test_a_save_failing_after_its_files_are_in_place_leaves_nothing_and_raises_its_error(
    registry: ModelRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert = model_registry.Model._insert

    def planted(*args, **kwargs) -> None:
        insert(*args, **kwargs)  # the rows are written, the transaction is not committed yet
        raise RuntimeError("planted failure")

    monkeypatch.setattr(model_registry.Model, "_insert", planted)
    with pytest.raises(RuntimeError, match="planted failure"):
        _save(registry, tmp_path)
    monkeypatch.undo()

    assert registry.get_models("iris") == []
    assert not (tmp_path / "store" / "models" / "iris" / "1").exists()
    assert _save(registry, tmp_path).version == 1


def test_provenance_reads_the_schema_of_the_training_dataset_the_view_last_made(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    asked = []
    view = SimpleNamespace(
        name="iris",
        version=1,
        get_last_accessed_training_dataset=lambda: 4,
        get_training_dataset_schema=lambda version: asked.append(version) or [],
    )
    model = _save(registry, tmp_path, feature_view=view)
    assert asked == [4] and registry.get_model("iris", model.version).training_dataset_version == 4


def test_a_save_says_where_the_model_is_and_when_it_was_created(
    registry: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    before = time.time_ns() // 1_000_000
    model = _save(registry, tmp_path)
    after = time.time_ns() // 1_000_000
    assert capsys.readouterr().out == f"Model created, explore it at {model.version_path}\n"
    assert before <= model.created <= after
    assert registry.get_model("iris", model.version).created == model.created


def test_saving_an_existing_version_is_the_sdks_refusal(registry: ModelRegistry, tmp_path: Path) -> None:
    _save(registry, tmp_path, version=1)
    refusal = "Model with name iris and version 1 already exists, please select another version."
    with pytest.raises(ModelRegistryException) as caught:
        _save(registry, tmp_path, version=1)
    assert str(caught.value) == refusal
    with pytest.raises(ModelRegistryException) as caught:  # a model read back, saved again
        registry.get_model("iris", 1).save(str(tmp_path / "m"))
    assert str(caught.value) == refusal


def test_each_file_is_recorded_with_its_size(registry: ModelRegistry, tmp_path: Path) -> None:
    """Sizes over the 1 MiB copy chunk are summed over every chunk."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "big.bin").write_bytes(b"x" * (3 << 19))
    model = _save(registry, tmp_path)
    with model_registry.connect(tmp_path / "store") as con:
        sizes = dict(con.execute("SELECT path, size FROM model_files").fetchall())
    assert sizes == {"big.bin": 3 << 19, "model.bin": 1}
    assert model.version == 1


def test_a_save_makes_its_folders_durable_and_offers_its_kill_point(
    registry: ModelRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every folder a new entry appears in is fsynced (POSIX), and the crash tests' ``model-save`` point
    comes when the files are in their version folder."""
    opened, points = [], []
    real_open = os.open

    def recording_open(path, flags, *args, **kwargs):
        if flags == os.O_RDONLY:
            opened.append(Path(path))
        return real_open(path, flags, *args, **kwargs)

    def point(name: str) -> None:
        points.append(
            (name, sorted(p.name for p in (tmp_path / "store" / "models" / "iris" / "1").iterdir()))
        )

    monkeypatch.setattr(model_registry.os, "open", recording_open)
    monkeypatch.setattr(model_registry, "kill_point", point)
    (tmp_path / "m" / "sub").mkdir(parents=True)
    (tmp_path / "m" / "sub" / "deep.bin").write_bytes(b"d")
    _save(registry, tmp_path)
    monkeypatch.undo()

    models = tmp_path / "store" / "models"
    assert points == [("model-save", ["model.bin", "sub"])]
    if os.name == "posix":
        assert {models / ".staging", models / "iris"} <= set(opened)
        staged = [p.relative_to(models / ".staging") for p in opened if p.is_relative_to(models / ".staging")]
        assert sorted(len(p.parts) for p in staged) == [0, 1, 2]  # .staging, its <uuid>, <uuid>/sub

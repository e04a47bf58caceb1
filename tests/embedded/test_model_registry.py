"""The embedded model registry: versions, metadata round trips, checksums, killed saves, concurrent savers."""

from __future__ import annotations

import json
import linecache
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
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
from serverless_iris.embedded.model_registry import (
    STAGING_DIR,
    ModelIntegrityError,
    ModelRegistry,
    ModelRegistryException,
    VersionWarning,
)
from serverless_iris.paths import REPO_ROOT

CHILD_ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads go to fresh temporary folders: keep them inside the test's own folder."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def mr(store: Path) -> ModelRegistry:
    return ModelRegistry(store)


def make_folder(path: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(content)
    return path


def read_folder(path: Path | str) -> dict[str, bytes]:
    root = Path(path)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def staging_leftovers(store: Path) -> list[Path]:
    staging = store / "models" / STAGING_DIR
    return list(staging.rglob("*")) if staging.exists() else []


def test_repeated_saves_get_versions_1_2_3(mr: ModelRegistry, store: Path, tmp_path: Path) -> None:
    versions = []
    for i in range(3):
        folder = make_folder(
            tmp_path / f"model{i}", {"model.bin": f"weights {i}".encode(), "sub/x.txt": b"x"}
        )
        versions.append(mr.python.create_model("iris", metrics={"accuracy": 0.5}).save(str(folder)).version)

    assert versions == [1, 2, 3]
    assert [m.version for m in mr.get_models("iris")] == [1, 2, 3]
    for i in range(3):
        assert read_folder(store / "models" / "iris" / str(i + 1)) == {
            "model.bin": f"weights {i}".encode(),
            "sub/x.txt": b"x",
        }
    assert staging_leftovers(store) == []


def test_a_single_file_can_be_saved(mr: ModelRegistry, tmp_path: Path) -> None:
    path = make_folder(tmp_path / "m", {"model.pkl": b"pickle"}) / "model.pkl"

    model = mr.sklearn.create_model("iris").save(str(path))

    assert read_folder(model.download()) == {"model.pkl": b"pickle"}


def test_saving_an_existing_version_is_refused_and_changes_nothing(
    mr: ModelRegistry, store: Path, tmp_path: Path
) -> None:
    first = make_folder(tmp_path / "first", {"model.bin": b"first"})
    second = make_folder(tmp_path / "second", {"model.bin": b"second", "extra.bin": b"more"})
    mr.python.create_model("iris", metrics={"accuracy": 0.9}).save(str(first))

    with pytest.raises(ModelRegistryException, match="Model with name iris and version 1 already exists"):
        mr.python.create_model("iris", version=1, metrics={"accuracy": 0.1}).save(str(second))

    [kept] = mr.get_models("iris")
    assert (kept.version, kept.training_metrics) == (1, {"accuracy": 0.9})
    assert read_folder(kept.download()) == {"model.bin": b"first"}
    assert read_folder(store / "models" / "iris" / "1") == {"model.bin": b"first"}
    assert staging_leftovers(store) == []


def test_an_explicit_new_version_is_used(mr: ModelRegistry, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m", {"model.bin": b"w"})

    assert mr.python.create_model("iris", version=5).save(str(folder)).version == 5
    assert mr.python.create_model("iris").save(str(folder)).version == 6


def test_best_model_by_metric_in_both_directions(mr: ModelRegistry, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m", {"model.bin": b"w"})
    for metrics in ({"accuracy": 0.8, "loss": 0.3}, {"accuracy": 0.95, "loss": 0.2}, {"accuracy": 0.9}):
        mr.python.create_model("iris", metrics=metrics).save(str(folder))

    assert mr.get_best_model("iris", "accuracy", "max").version == 2
    assert mr.get_best_model("iris", "accuracy", "min").version == 1
    assert mr.get_best_model("iris", "accuracy", "MAX").version == 2
    assert mr.get_best_model("iris", "loss", "min").version == 2  # version 3 has no loss: skipped
    assert mr.get_best_model("iris", "f1", "max") is None
    assert mr.get_best_model("other", "accuracy", "max") is None
    with pytest.raises(ValueError, match="direction 'up' is not supported; use one of: max, min"):
        mr.get_best_model("iris", "accuracy", "up")


def test_best_model_ties_go_to_the_newest_version(mr: ModelRegistry, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m", {"model.bin": b"w"})
    for _ in range(2):
        mr.python.create_model("iris", metrics={"accuracy": 1.0}).save(str(folder))

    assert mr.get_best_model("iris", "accuracy", "max").version == 2
    assert mr.get_best_model("iris", "accuracy", "min").version == 2


def test_missing_models_are_none(mr: ModelRegistry, tmp_path: Path) -> None:
    assert mr.get_model("iris", 1) is None
    assert mr.get_models("iris") == []
    mr.python.create_model("iris").save(str(make_folder(tmp_path / "m", {"model.bin": b"w"})))

    assert mr.get_model("iris", 2) is None
    assert mr.get_model("other", 1) is None
    assert mr.get_model("iris", 1).version == 1


def test_get_model_without_version_warns_and_returns_version_1_like_hsml(
    mr: ModelRegistry, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path / "m", {"model.bin": b"w"})
    for _ in range(2):
        mr.python.create_model("iris").save(str(folder))

    with pytest.warns(
        VersionWarning, match="No version provided for getting model `iris`, defaulting to `1`"
    ):
        model = mr.get_model("iris")

    assert model.version == 1


@pytest.mark.parametrize(
    ("example", "stored"),
    [
        (pd.DataFrame({"sepal_length": [5.1, 6.0], "variety": ["Setosa", "Virginica"]}), [5.1, "Setosa"]),
        (pd.Series([5.1, 3.5]), [5.1, 3.5]),
        (np.array([[5.1, 3.5], [6.0, 2.2]]), [[5.1, 3.5], [6.0, 2.2]]),
        ([5.1, 3.5, 1.4, 0.2], [5.1, 3.5, 1.4, 0.2]),
        ({"sepal_length": 5.1}, {"sepal_length": 5.1}),
    ],
)
def test_metadata_round_trips_through_a_fresh_registry(
    store: Path, tmp_path: Path, example: object, stored: object
) -> None:
    schema = {"input_schema": {"columnar_schema": [{"name": "sepal_length", "type": "float64"}]}}
    view = SimpleNamespace(name="iris", version=1)
    model = ModelRegistry(store).sklearn.create_model(
        "iris",
        metrics={"accuracy": 1, "f1_macro": np.float64(0.97)},
        description="KNN on iris",
        input_example=example,
        model_schema=schema,
        feature_view=view,
        training_dataset_version=1,
    )
    assert model.input_example is None and model.created is None  # as hsml: read from the registry
    model.save(str(make_folder(tmp_path / "m", {"model.bin": b"w"})))

    loaded = ModelRegistry(store).get_model("iris", 1)

    assert loaded.training_metrics == {"accuracy": 1.0, "f1_macro": 0.97}
    assert loaded.input_example == stored == model.input_example
    assert loaded.model_schema == schema
    assert loaded.description == "KNN on iris"
    assert loaded.framework == "SKLEARN"
    assert loaded.training_dataset_version == 1
    assert loaded.created == model.created and isinstance(loaded.created, int)
    assert loaded.id == "iris_1"
    assert loaded.version_path == str(store / "models" / "iris" / "1")


def test_defaults_mirror_hsml(mr: ModelRegistry, tmp_path: Path) -> None:
    model = mr.python.create_model("iris").save(str(make_folder(tmp_path / "m", {"model.bin": b"w"})))

    loaded = mr.get_model("iris", 1)
    assert loaded.description == "A collection of models for iris"
    assert (loaded.training_metrics, loaded.input_example, loaded.model_schema) == (None, None, None)
    assert loaded.framework == model.framework == "PYTHON"
    assert repr(loaded) == "Model(name: 'iris', version: 1)"


def test_hopsworks_schema_classes_are_accepted(mr: ModelRegistry, tmp_path: Path) -> None:
    from hsml.model_schema import ModelSchema
    from hsml.schema import Schema

    X = pd.DataFrame({"sepal_length": [5.1], "petal_width": [0.2]})
    y = pd.DataFrame({"variety": ["Setosa"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ModelSchema is deprecated in hopsworks 5.x: every call warns
        model_schema = ModelSchema(input_schema=Schema(X), output_schema=Schema(y))
        expected = model_schema.to_dict()
    folder = make_folder(tmp_path / "m", {"model.bin": b"w"})

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the registry itself warns about nothing
        mr.python.create_model("iris", model_schema=model_schema).save(str(folder))
        mr.python.create_model("iris", model_schema=Schema(X)).save(str(folder))

    assert mr.get_model("iris", 1).model_schema == expected
    assert (
        mr.get_model("iris", 1).model_schema["input_schema"]["columnar_schema"][0]["name"] == "sepal_length"
    )
    assert mr.get_model("iris", 2).model_schema == Schema(X).to_dict()


def test_importing_the_registry_emits_no_warnings() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import serverless_iris.embedded.model_registry"],
        env=CHILD_ENV,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "iris-model"}, ModelRegistryException, "Invalid model name 'iris-model'"),
        ({"metrics": {"accuracy": "high"}}, ValueError, "high is not a number"),
        ({"metrics": [0.9]}, TypeError, "expected a dict"),
        ({"input_example": pd.DataFrame()}, ValueError, "can not be empty"),
        ({"input_example": 42}, TypeError, "is not a supported input example type"),
        (
            {"model_schema": "schema"},
            TypeError,
            "use hsml.schema.Schema, hsml.model_schema.ModelSchema or a dict",
        ),
        ({"feature_view": "iris"}, TypeError, "feature_view must be a feature view"),
        ({"version": 0}, ValueError, "version must be a positive integer, got 0"),
    ],
)
def test_bad_metadata_is_refused_and_nothing_is_written(
    mr: ModelRegistry, store: Path, kwargs: dict, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        mr.python.create_model(**{"name": "iris", **kwargs})

    assert not store.exists()


def test_a_missing_or_empty_model_path_is_refused(mr: ModelRegistry, store: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="Could not find path .*nowhere"):
        mr.python.create_model("iris").save(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no files"):
        mr.python.create_model("iris").save(str(tmp_path / "empty"))

    assert mr.get_models("iris") == []
    assert not (store / "models").exists()


def test_download_returns_a_folder_from_which_the_knn_loads_and_predicts(
    mr: ModelRegistry, tmp_path: Path
) -> None:
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.neighbors import KNeighborsClassifier

    X, y = load_iris(return_X_y=True, as_frame=True)
    knn = KNeighborsClassifier(n_neighbors=2).fit(X, y)
    folder = tmp_path / "iris_model"
    folder.mkdir()
    joblib.dump(knn, folder / "iris_model.pkl")
    (folder / "confusion_matrix.png").write_bytes(b"\x89PNG fake")
    mr.sklearn.create_model("iris", metrics={"accuracy": 1.0}, input_example=X.sample()).save(str(folder))

    downloaded = mr.get_model("iris", 1).download()
    into = mr.get_model("iris", 1).download(str(tmp_path / "here"))

    # hsml's cache layout: .../hopsworks/models/<project>/<name>/<version>/<id>
    assert isinstance(downloaded, str) and Path(downloaded).parts[-6:-1] == (
        "hopsworks",
        "models",
        "local",
        "iris",
        "1",
    )
    assert into == str(tmp_path / "here")
    for path in (downloaded, into):
        assert sorted(os.listdir(path)) == ["confusion_matrix.png", "iris_model.pkl"]
        loaded = joblib.load(os.path.join(path, "iris_model.pkl"))
        assert (loaded.predict(X) == knn.predict(X)).all()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda v: (v / "iris_model.pkl").write_bytes(b"evil"), "iris_model.pkl: changed since it was saved"),
        (lambda v: (v / "iris_model.pkl").unlink(), "iris_model.pkl: missing"),
        (lambda v: (v / "backdoor.py").write_text("x"), "backdoor.py: not part of the saved model"),
    ],
    ids=["changed", "missing", "extra"],
)
def test_tampered_files_are_detected_on_download(
    mr: ModelRegistry, store: Path, tmp_path: Path, tamper, message: str
) -> None:
    folder = make_folder(tmp_path / "m", {"iris_model.pkl": b"weights", "confusion_matrix.png": b"png"})
    model = mr.sklearn.create_model("iris").save(str(folder))
    tamper(store / "models" / "iris" / "1")

    with pytest.raises(ModelIntegrityError, match=rf"model 'iris' version 1 .*{message}"):
        model.download()
    with pytest.raises(ModelIntegrityError, match=message):
        model.download(str(tmp_path / "target"))

    assert not (tmp_path / "target").exists()


def test_delete_removes_the_version_and_its_files(mr: ModelRegistry, store: Path, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m", {"model.bin": b"w"})
    for _ in range(2):
        mr.python.create_model("iris").save(str(folder))

    mr.get_model("iris", 2).delete()

    assert [m.version for m in mr.get_models("iris")] == [1]
    assert not (store / "models" / "iris" / "2").exists()
    assert mr.python.create_model("iris").save(str(folder)).version == 2  # hsml: next after the highest
    with pytest.raises(ModelRegistryException, match="not saved yet"):
        mr.python.create_model("iris").download()


# A child that saves a large model and stops dead at a chosen point of the save, announcing it first.
KILLED_SAVE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import serverless_iris.embedded.model_registry as registry

    store, folder, marker, stop_at = sys.argv[1:5]
    real = getattr(registry, stop_at)
    calls = []

    def stop_here(*args):
        result = real(*args)
        calls.append(args)
        # mid-copy: after a few files; after publishing: once the folder is renamed into models/iris
        if (stop_at == "_copy_file" and len(calls) == 5) or (
            stop_at == "_fsync_dir" and Path(args[0]).name == "iris"
        ):
            Path(marker).write_text("stopped")
            time.sleep(600)
        return result

    setattr(registry, stop_at, stop_here)
    registry.ModelRegistry(Path(store)).python.create_model("iris", metrics={"accuracy": 0.5}).save(folder)
    """
)


@pytest.mark.parametrize("stop_at", ["_copy_file", "_fsync_dir"], ids=["mid-copy", "renamed-not-committed"])
def test_a_save_killed_half_way_leaves_the_registry_consistent(
    mr: ModelRegistry, store: Path, tmp_path: Path, stop_at: str
) -> None:
    v1 = make_folder(tmp_path / "v1", {"model.bin": b"version one"})
    mr.python.create_model("iris", metrics={"accuracy": 0.9}).save(str(v1))
    big = make_folder(tmp_path / "big", {f"part{i:02}.bin": os.urandom(256 * 1024) for i in range(40)})
    marker = tmp_path / "stopped"

    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(store), str(big), str(marker), stop_at], env=CHILD_ENV
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the saving child never reached {stop_at} (exit code {child.poll()})"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    half_saved = store / "models" / "iris" / "2"
    if stop_at == "_copy_file":  # it died with some files copied into staging
        assert len(staging_leftovers(store)) > 5 and not half_saved.exists()
    else:  # it died with the version folder renamed into place, its row not committed
        assert read_folder(half_saved) == read_folder(big)

    assert [m.version for m in mr.get_models("iris")] == [1]
    assert mr.get_model("iris", 2) is None
    assert mr.get_best_model("iris", "accuracy", "min").version == 1
    assert read_folder(mr.get_model("iris", 1).download()) == {"model.bin": b"version one"}

    v2 = make_folder(tmp_path / "v2", {"model.bin": b"version two"})
    assert mr.python.create_model("iris").save(str(v2)).version == 2
    assert read_folder(mr.get_model("iris", 2).download()) == {"model.bin": b"version two"}
    assert read_folder(half_saved) == {"model.bin": b"version two"}
    assert staging_leftovers(store) == []


CONCURRENT_SAVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from serverless_iris.embedded.model_registry import ModelRegistry

    store, work, writer, go = sys.argv[1:5]
    while not Path(go).exists():
        time.sleep(0.01)
    for i in range(3):
        folder = Path(work) / f"{writer}-{i}"
        folder.mkdir(parents=True)
        (folder / "who.txt").write_text(f"{writer}-{i}")
        ModelRegistry(Path(store)).python.create_model("iris").save(str(folder))
    """
)


def test_two_processes_saving_at_once_get_distinct_versions(
    mr: ModelRegistry, store: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_SAVER, str(store), str(tmp_path / "work"), writer, str(go)],
            env=CHILD_ENV,
        )
        for writer in ("a", "b")
    ]
    go.touch()
    assert [child.wait() for child in children] == [0, 0]

    models = mr.get_models("iris")
    assert [m.version for m in models] == [1, 2, 3, 4, 5, 6]
    saved = sorted(read_folder(m.download())["who.txt"].decode() for m in models)
    assert saved == ["a-0", "a-1", "a-2", "b-0", "b-1", "b-2"]


# --------------------------------------------------------------------- model downloads are copies


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


# ----- how registry objects print, refusals before a save, stored view references, input examples


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

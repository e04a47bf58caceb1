"""The model registry's clean-up removes only what the registry itself was writing or deleting: a store
whose database was deleted or restored from an older copy keeps every model folder; a model folder with
links to folders is refused rather than saved with files missing."""

from __future__ import annotations

import errno
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest

from serverless_iris.embedded import model_registry
from serverless_iris.embedded.db import DB_FILE
from serverless_iris.embedded.model_registry import (
    PENDING_SUFFIX,
    STAGING_DIR,
    ModelRegistry,
    ModelRegistryException,
    UnregisteredModelWarning,
)


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads go to fresh temporary folders: keep them inside the test's own folder."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))


def model_folder(path: Path, content: bytes) -> str:
    path.mkdir(parents=True)
    (path / "model.bin").write_bytes(content)
    return str(path)


def save(store: Path, folder: str, version: int | None = None):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Model schema cannot")
        return ModelRegistry(store).python.create_model("iris", version=version).save(folder)


def files(store: Path) -> dict[str, bytes]:
    models = store / "models"
    return {str(p.relative_to(models)): p.read_bytes() for p in sorted(models.rglob("*")) if p.is_file()}


def test_a_save_after_the_database_was_deleted_keeps_every_model_folder(tmp_path: Path) -> None:
    store = tmp_path / "store"
    save(store, model_folder(tmp_path / "one", b"one"))
    save(store, model_folder(tmp_path / "two", b"two"))
    (store / DB_FILE).unlink()
    with pytest.warns(
        UnregisteredModelWarning, match=r"iris/1 holds model files that have no entry"
    ) as caught:
        new = save(store, model_folder(tmp_path / "three", b"three"))
    assert [str(w.message).split(" holds")[0] for w in caught] == [
        str(store / "models" / "iris" / "1"),
        str(store / "models" / "iris" / "2"),
    ]
    assert new.version == 3  # the next version on disk, not 1: nothing is overwritten
    assert files(store) == {
        "iris/1/model.bin": b"one",
        "iris/2/model.bin": b"two",
        "iris/3/model.bin": b"three",
    }
    assert [m.version for m in ModelRegistry(store).get_models("iris")] == [3]


def test_a_save_after_the_database_was_restored_from_an_older_copy_keeps_the_newer_models(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    save(store, model_folder(tmp_path / "one", b"one"))
    shutil.copy(store / DB_FILE, tmp_path / "backup.duckdb")
    save(store, model_folder(tmp_path / "two", b"two"))
    shutil.copy(tmp_path / "backup.duckdb", store / DB_FILE)
    with pytest.warns(UnregisteredModelWarning, match="restored from an older copy"):
        assert save(store, model_folder(tmp_path / "three", b"three")).version == 3
    assert files(store) == {
        "iris/1/model.bin": b"one",
        "iris/2/model.bin": b"two",
        "iris/3/model.bin": b"three",
    }
    registry = ModelRegistry(store)
    assert [m.version for m in registry.get_models("iris")] == [1, 3]
    assert (Path(registry.get_model("iris", 1).download()) / "model.bin").read_bytes() == b"one"


def test_saving_a_version_whose_folder_lost_its_row_is_refused_and_keeps_the_files(tmp_path: Path) -> None:
    store = tmp_path / "store"
    save(store, model_folder(tmp_path / "one", b"one"))
    (store / DB_FILE).unlink()
    with pytest.raises(ModelRegistryException, match=r"version 1 has files in .*iris/1 but no entry"):
        save(store, model_folder(tmp_path / "again", b"again"), version=1)
    assert files(store) == {"iris/1/model.bin": b"one"}
    assert ModelRegistry(store).get_models("iris") == []


def test_a_delete_removes_its_own_folder_and_leaves_unregistered_ones(tmp_path: Path) -> None:
    store = tmp_path / "store"
    save(store, model_folder(tmp_path / "one", b"one"))
    shutil.copy(store / DB_FILE, tmp_path / "backup.duckdb")
    save(store, model_folder(tmp_path / "two", b"two"))
    shutil.copy(tmp_path / "backup.duckdb", store / DB_FILE)  # version 2 is now unregistered
    ModelRegistry(store).get_model("iris", 1).delete()
    assert files(store) == {"iris/2/model.bin": b"two"}
    assert not (store / "models" / STAGING_DIR).exists()


def test_a_pending_marker_left_by_a_killed_delete_finishes_that_delete_only(tmp_path: Path) -> None:
    store = tmp_path / "store"
    save(store, model_folder(tmp_path / "one", b"one"))
    save(store, model_folder(tmp_path / "two", b"two"))
    (store / DB_FILE).unlink()
    save(store, model_folder(tmp_path / "other", b"other"))  # version 3, registered; 1 and 2 are not
    (store / "models" / STAGING_DIR).mkdir(exist_ok=True)
    (store / "models" / STAGING_DIR / f"dead{PENDING_SUFFIX}").write_text("iris/1")  # a kill mid-delete of 1
    (store / "models" / STAGING_DIR / f"done{PENDING_SUFFIX}").write_text("iris/3")  # it has its row
    with pytest.warns(UnregisteredModelWarning, match="iris/2 holds"):
        save(store, model_folder(tmp_path / "four", b"four"))
    assert files(store) == {
        "iris/2/model.bin": b"two",
        "iris/3/model.bin": b"other",
        "iris/4/model.bin": b"four",
    }


def test_saving_a_model_folder_with_a_linked_subfolder_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    outside = tmp_path / "weights"
    outside.mkdir()
    (outside / "layer.bin").write_bytes(b"w")
    folder = Path(model_folder(tmp_path / "model", b"m"))
    (folder / "weights").symlink_to(outside)
    with pytest.raises(
        ValueError, match=r"holds links to folders \(weights\).*would be missing from the model"
    ):
        save(store, str(folder))
    assert not (store / "models" / "iris").exists()


def test_saving_a_model_folder_with_a_link_loop_is_refused(tmp_path: Path) -> None:
    folder = Path(model_folder(tmp_path / "model", b"m"))
    (folder / "sub").mkdir()
    (folder / "sub" / "loop").symlink_to(folder)
    with pytest.raises(ValueError, match=r"links to folders \(sub/loop\)"):
        save(tmp_path / "store", str(folder))


def test_a_linked_model_file_is_saved_with_its_content(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (tmp_path / "real.bin").write_bytes(b"real")
    folder = Path(model_folder(tmp_path / "model", b"m"))
    (folder / "extra.bin").symlink_to(tmp_path / "real.bin")
    save(store, str(folder))
    assert files(store) == {"iris/1/extra.bin": b"real", "iris/1/model.bin": b"m"}
    assert not (store / "models" / "iris" / "1" / "extra.bin").is_symlink()


def test_a_save_that_runs_out_of_disk_half_way_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    save(store, model_folder(tmp_path / "one", b"one"))
    folder = Path(model_folder(tmp_path / "big", b"first"))
    (folder / "second.bin").write_bytes(b"second")
    real_copy, copied = model_registry._copy_file, []

    def copy_until_full(source: Path, target: Path) -> tuple[int, str]:
        if copied:
            raise OSError(errno.ENOSPC, "No space left on device")
        copied.append(source)
        return real_copy(source, target)

    monkeypatch.setattr(model_registry, "_copy_file", copy_until_full)
    with pytest.raises(OSError, match="No space left"):
        save(store, str(folder))
    assert copied  # it failed half-way, not before the first file
    assert files(store) == {"iris/1/model.bin": b"one"}
    assert not any((store / "models" / STAGING_DIR).iterdir())
    assert [m.version for m in ModelRegistry(store).get_models("iris")] == [1]

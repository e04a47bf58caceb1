"""The dataset API (``project.get_dataset_api()``) at its edges: what it refuses, and that it never acts
outside the store or leaves a partial copy behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from serverless_iris.embedded.dataset_api import DatasetException
from serverless_iris.embedded.project import LocalProject


@pytest.fixture
def project(tmp_path: Path) -> LocalProject:
    """A project whose Resources hold one file and whose training datasets hold one materialised file."""
    project = LocalProject(tmp_path / "store")
    resources = project.store / "datasets" / "Resources"
    resources.mkdir(parents=True)
    (resources / "notes.txt").write_text("notes")
    training = project.store / "datasets" / "local_Training_Datasets"
    training.mkdir()
    (training / "flowers_1_1.csv").write_text("a,b\n1,2\n")
    return project


def everything(store: Path) -> dict[str, bytes | None]:
    """Every entry under the store with its bytes (None for a folder or link): a snapshot to compare."""
    return {
        str(p.relative_to(store)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        for p in sorted(store.rglob("*"))
    }


ROOTS = ["/", "", ".", "//", "/Projects/local", "/Projects/local/", "Projects/local"]


@pytest.mark.parametrize("root", ROOTS)
def test_removing_the_project_root_is_refused_and_deletes_nothing(project: LocalProject, root: str) -> None:
    before = everything(project.store)
    with pytest.raises(DatasetException, match="is the project's root.*cannot be removed"):
        project.get_dataset_api().remove(root)
    with pytest.raises(DatasetException, match="is the project's root"):
        project.get_dataset_api().rm(root)
    assert everything(project.store) == before


@pytest.mark.parametrize("dataset", ["Resources", "/Resources", "Models", "/Projects/local/Models", "Logs"])
def test_removing_a_top_level_dataset_is_refused(project: LocalProject, dataset: str) -> None:
    (project.store / "models" / "iris" / "1").mkdir(parents=True)
    before = everything(project.store)
    with pytest.raises(DatasetException, match="is a top-level dataset; it cannot be removed"):
        project.get_dataset_api().remove(dataset)
    assert everything(project.store) == before


@pytest.mark.parametrize("dataset", ["Resources", "/Projects/local/Resources", "Models"])
def test_moving_a_top_level_dataset_is_refused(project: LocalProject, dataset: str) -> None:
    before = everything(project.store)
    with pytest.raises(DatasetException, match="is a top-level dataset; it cannot be moved"):
        project.get_dataset_api().move(dataset, "Logs/elsewhere")
    assert everything(project.store) == before


def test_moving_the_project_root_is_refused(project: LocalProject) -> None:
    before = everything(project.store)
    with pytest.raises(DatasetException, match="is the project's root.*cannot be moved"):
        project.get_dataset_api().move("/", "Resources/all")
    assert everything(project.store) == before


def test_copying_a_folder_into_itself_is_refused(project: LocalProject) -> None:
    api = project.get_dataset_api()
    api.mkdir("Resources/docs")
    before = everything(project.store)
    with pytest.raises(DatasetException, match="Resources/docs cannot be copied to Resources/docs/again"):
        api.copy("Resources/docs", "Resources/docs/again")
    with pytest.raises(DatasetException, match="inside itself"):
        api.copy("/", "Resources/everything")
    with pytest.raises(DatasetException, match="Resources/docs cannot be moved to Resources/docs/deeper"):
        api.move("Resources/docs", "Resources/docs/deeper")
    assert everything(project.store) == before


def test_overwriting_the_root_or_a_dataset_by_a_copy_is_refused(project: LocalProject) -> None:
    api = project.get_dataset_api()
    before = everything(project.store)
    with pytest.raises(DatasetException, match="overwrite=True not supported on a top-level dataset"):
        api.copy("Resources/notes.txt", "Logs", overwrite=True)
    with pytest.raises(DatasetException, match="is the project's root.*cannot be overwritten"):
        api.copy("Resources/notes.txt", "/", overwrite=True)
    assert everything(project.store) == before


@pytest.mark.parametrize("path", ["Resources/../../outside", "../outside", "/Projects/local/../../outside"])
def test_a_path_with_dot_dot_is_refused_everywhere(project: LocalProject, tmp_path: Path, path: str) -> None:
    api = project.get_dataset_api()
    before = everything(project.store)
    for call in (
        lambda: api.mkdir(path),
        lambda: api.remove(path),
        lambda: api.exists(path),
        lambda: api.copy("Resources/notes.txt", path),
        lambda: api.move("Resources/notes.txt", path),
        lambda: api.download(path, str(tmp_path)),
        lambda: api.upload(str(project.store / "datasets" / "Resources" / "notes.txt"), path),
    ):
        with pytest.raises(DatasetException, match="leaves the project"):
            call()
    assert everything(project.store) == before
    assert not (tmp_path / "outside").exists()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the store, with a file, that a link in the store points to."""
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "secret.txt").write_text("secret")
    return folder


def test_a_link_out_of_the_store_is_neither_read_written_nor_followed(
    project: LocalProject, outside: Path, tmp_path: Path
) -> None:
    api = project.get_dataset_api()
    (project.store / "datasets" / "Resources" / "escape").symlink_to(outside)
    for call in (
        lambda: api.download("Resources/escape/secret.txt", str(tmp_path / "copy.txt")),
        lambda: api.remove("Resources/escape/secret.txt"),
        lambda: api.mkdir("Resources/escape/new"),
        lambda: api.copy("Resources/notes.txt", "Resources/escape/notes.txt"),
        lambda: api.move("Resources/notes.txt", "Resources/escape/notes.txt"),
        lambda: api.upload(str(outside / "secret.txt"), "Resources/escape"),
        lambda: api.list("Resources/escape"),
        lambda: api.copy("Resources/escape", "Logs/copied"),
    ):
        with pytest.raises(DatasetException, match="'Resources/escape.*leads outside the project"):
            call()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret"
    assert not (tmp_path / "copy.txt").exists()
    assert (project.store / "datasets" / "Resources" / "notes.txt").read_text() == "notes"
    assert not (project.store / "datasets" / "Logs").exists()


def test_removing_a_link_removes_the_link_not_its_target(project: LocalProject, outside: Path) -> None:
    api = project.get_dataset_api()
    (project.store / "datasets" / "Resources" / "escape").symlink_to(outside)
    assert api.exists("Resources/escape")
    api.remove("Resources/escape")
    assert not (project.store / "datasets" / "Resources" / "escape").is_symlink()
    assert (outside / "secret.txt").read_text() == "secret"


def test_a_linked_top_level_dataset_is_refused(project: LocalProject, outside: Path) -> None:
    (project.store / "datasets" / "Jupyter").symlink_to(outside)
    with pytest.raises(DatasetException, match="leads outside the project"):
        project.get_dataset_api().remove("Jupyter/secret.txt")
    assert (outside / "secret.txt").exists()


def test_copying_a_folder_holding_a_link_copies_the_link_not_what_it_points_to(
    project: LocalProject, outside: Path
) -> None:
    api = project.get_dataset_api()
    api.mkdir("Resources/docs")
    (project.store / "datasets" / "Resources" / "docs" / "escape").symlink_to(outside)
    api.copy("Resources/docs", "Logs/docs")
    copied = project.store / "datasets" / "Logs" / "docs" / "escape"
    assert copied.is_symlink() and os.readlink(copied) == str(outside)
    with pytest.raises(DatasetException, match="leads outside the project"):
        api.download("Logs/docs/escape/secret.txt", str(outside / "again.txt"))


def test_uploading_a_folder_with_a_link_loop_copies_it_once_and_says_what_it_skipped(
    project: LocalProject, tmp_path: Path
) -> None:
    folder = tmp_path / "upload"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "data.txt").write_text("data")
    (folder / "sub" / "loop").symlink_to(folder)
    skipped = r"links to folders are not followed, so these arrived empty: sub/loop"
    with pytest.warns(UserWarning, match=skipped):
        assert project.get_dataset_api().upload(str(folder), "Resources") == "Resources/upload"
    uploaded = project.store / "datasets" / "Resources" / "upload"
    assert sorted(str(p.relative_to(uploaded)) for p in uploaded.rglob("*")) == [
        "sub",
        "sub/data.txt",
        "sub/loop",
    ]
    assert not (uploaded / "sub" / "loop").is_symlink() and not any((uploaded / "sub" / "loop").iterdir())


def test_a_failed_upload_leaves_no_partial_copy_and_keeps_what_it_would_replace(
    project: LocalProject, tmp_path: Path
) -> None:
    api = project.get_dataset_api()
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "b.txt").symlink_to(tmp_path / "missing")  # a dangling link: its copy fails half-way
    api.mkdir("Resources/upload")
    (project.store / "datasets" / "Resources" / "upload" / "old.txt").write_text("old")
    before = everything(project.store)
    with pytest.raises(FileNotFoundError):
        api.upload(str(folder), "Resources", overwrite=True)
    assert everything(project.store) == before


def test_uploading_a_folder_that_holds_the_store_does_not_copy_its_own_copy(project: LocalProject) -> None:
    api = project.get_dataset_api()
    api.upload(str(project.store / "datasets"), "Resources")
    uploaded = project.store / "datasets" / "Resources" / "datasets"
    assert (uploaded / "Resources" / "notes.txt").read_text() == "notes"
    assert not (uploaded / "Resources" / "datasets").exists()


def test_an_upload_refused_for_an_existing_destination_copies_nothing(
    project: LocalProject, tmp_path: Path
) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("new")
    before = everything(project.store)
    with pytest.raises(DatasetException, match="Resources/notes.txt already exists, set overwrite=True"):
        project.get_dataset_api().upload(str(source), "Resources")
    assert everything(project.store) == before


def test_an_absolute_upload_path_stays_inside_the_project(project: LocalProject, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("new")
    target = tmp_path / "elsewhere"
    assert project.get_dataset_api().upload(str(source), str(target)) == f"{target}/notes.txt"
    assert not target.exists()
    assert (project.store / "datasets" / target.relative_to("/") / "notes.txt").read_text() == "new"


@pytest.mark.parametrize("folder", [".", ".."])
def test_uploading_the_store_or_a_folder_holding_it_is_refused(project: LocalProject, folder: str) -> None:
    before = everything(project.store)
    with pytest.raises(DatasetException, match="holds the store itself"):
        project.get_dataset_api().upload(str(project.store / folder), "Resources")
    assert everything(project.store) == before


def test_a_path_with_a_nul_character_is_refused_with_a_dataset_error(project: LocalProject) -> None:
    with pytest.raises(DatasetException, match="holds a NUL character"):
        project.get_dataset_api().remove("Resources/notes.txt\0.png")
    assert (project.store / "datasets" / "Resources" / "notes.txt").exists()

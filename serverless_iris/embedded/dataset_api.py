"""The project's file system (``hopsworks_common.core.dataset_api.DatasetApi``) as folders in the store.

Hopsworks lays a project out as top-level datasets (``Resources``, ``Models``, ``Jupyter``, ``Logs``,
``DataValidation``, ``<project>_Training_Datasets``); here each is a folder under ``<store>/datasets``,
except ``Models``, which is the model registry's own folder, so ``Models/<name>/<version>`` lists what
``mr`` saved. Paths may be given relative (``Resources/images``), absolute (``/Resources``) or as
Hopsworks' full ``/Projects/<project>/...`` form; nothing outside the project is reachable: ``..`` is
refused, and so is a path that a symbolic link leads out of the store. The project's root and its
top-level datasets are neither removed nor moved. A copy, move or upload writes into a hidden folder of
the store first and renames the finished result into place, so a failure leaves no partial copy.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from serverless_iris.embedded.sdk_gaps import SdkGaps
from serverless_iris.embedded.util import PROJECT_NAME

DATASETS_DIR = "datasets"
INCOMING_DIR = ".incoming"  # under the store: copies in progress, renamed into place when complete
TOP_LEVEL = ("DataValidation", "Jupyter", "Logs", "Models", "Resources", f"{PROJECT_NAME}_Training_Datasets")


class DatasetException(Exception):
    """The embedded counterpart of ``hopsworks.client.exceptions.DatasetException``."""


class RestAPIError(Exception):
    """What the SDK raises when the backend refuses a path (here: a path that does not exist)."""


class DatasetApi(SdkGaps):
    """The embedded counterpart of ``hopsworks_common.core.dataset_api.DatasetApi``."""

    def __init__(self, store: Path) -> None:
        self._store = Path(store)

    def __repr__(self) -> str:
        return f"DatasetApi(store={str(self._store)!r})"

    def _local(self, path: str, follow: bool = True) -> Path:
        """The folder or file a project path names; refuses paths that leave the project.

        ``follow=False`` names a symbolic link itself (to remove it) rather than what it points to.
        """
        if "\0" in str(path):
            raise DatasetException(f"Path {path!r} holds a NUL character, which no file name can hold.")
        parts = [p for p in PurePosixPath(str(path).replace(os.sep, "/")).parts if p.strip("/")]
        if parts[:2] == ["Projects", PROJECT_NAME]:
            parts = parts[2:]
        if ".." in parts:
            raise DatasetException(f"Path {path!r} leaves the project; use a path inside it.")
        if parts[:1] == ["Models"]:
            base, parts = self._store / "models", parts[1:]
        else:
            base = self._store / DATASETS_DIR
        local = base.joinpath(*parts)
        reached = local.parent if not follow and local.is_symlink() else local
        if not reached.resolve().is_relative_to(base.resolve()):
            raise DatasetException(
                f"Path {path!r} leads outside the project through a symbolic link "
                f"(to {reached.resolve()}); the embedded store only acts inside {base}."
            )
        return local

    def _inode_path(self, local: Path) -> str:
        """The absolute path Hopsworks gives a file or folder (``/Projects/<project>/...``)."""
        models = self._store / "models"
        if local == models or models in local.parents:
            parts = ("Models", *local.relative_to(models).parts)
        else:
            parts = local.relative_to(self._store / DATASETS_DIR).parts
        return str(PurePosixPath("/Projects", PROJECT_NAME, *parts))

    def _existing(self, path: str) -> Path:
        local = self._local(path)
        if not self.exists(path):
            raise RestAPIError(f"Path {path!r} does not exist in project {PROJECT_NAME!r}.")
        return local

    def download(self, path: str, local_path: str | None = None, overwrite: bool | None = False) -> str:
        """Copy a file to ``local_path`` (default: the working directory); returns its absolute path.

        Local-path rules of ``DatasetApi.download``: relative paths are under the working directory, a
        folder receives the file under its own name, an existing file is an error unless ``overwrite``.
        """
        source = self._existing(path)
        if source.is_dir():
            raise DatasetException(f"{path} is a directory; download takes a file.")
        target = os.getcwd() if local_path is None else str(local_path)
        target = target if os.path.isabs(target) else os.path.join(os.getcwd(), target)
        if os.path.isdir(target):
            target = os.path.join(target, os.path.basename(str(path)))
        if overwrite:
            if os.path.isfile(target):
                os.remove(target)
            elif os.path.isdir(target):
                shutil.rmtree(target)
        elif os.path.exists(target):
            raise OSError(f"{target} already exists, set overwrite=True to overwrite it")
        shutil.copyfile(source, target)
        return target

    def upload(self, local_path: str, upload_path: str, overwrite: bool = False) -> str:
        """Copy a local file or folder into the folder ``upload_path``; returns ``upload_path/<name>``
        spelled as ``DatasetApi.upload`` spells it.

        The folder is created when missing. As ``DatasetApi.upload`` walks a folder (``os.walk``), a
        symbolic link to a folder is not followed: it arrives as an empty folder, with a warning naming it.
        A missing local file raises the SDK's ``FileNotFoundError`` before an existing destination is
        touched (the SDK removes it first).
        """
        source = Path(local_path)
        os.stat(source)  # FileNotFoundError: [Errno 2] No such file or directory: ..., as the SDK's getsize
        if source.is_dir() and source.resolve() in (self._store.resolve(), *self._store.resolve().parents):
            raise DatasetException(f"{local_path} holds the store itself; upload a folder inside it instead.")
        destination = f"{str(upload_path).rstrip('/')}/{source.name}"
        target = self._local(destination)
        replace = self._check_destination(destination, overwrite)
        skipped = []
        with self._incoming() as scratch:
            if source.is_dir():
                skipped = _copy_walked(source, scratch / source.name)
            else:
                shutil.copyfile(source, scratch / source.name)
            self._place(scratch / source.name, target, replace)
        if skipped:
            warnings.warn(
                f"upload of {local_path}: symbolic links to folders are not followed, so these arrived "
                f"empty: {', '.join(skipped)}",
                UserWarning,
                stacklevel=2,
            )
        return f"{upload_path}/{os.path.basename(local_path)}"

    def exists(self, path: str) -> bool:
        local = self._local(path, follow=False)
        return local.is_symlink() or local.exists() or self._is_top_level(local)

    def remove(self, path: str) -> None:
        """Remove a file or folder; a symbolic link is removed itself, never what it points to."""
        local = self._local(path, follow=False)
        if not self.exists(path):
            raise RestAPIError(f"Path {path!r} does not exist in project {PROJECT_NAME!r}.")
        self._refuse_protected(path, local, "removed")
        if local.is_symlink() or not local.is_dir():
            local.unlink()
        else:
            shutil.rmtree(local)

    def mkdir(self, path: str) -> str:
        """Create the folder (and its parents); returns its absolute path, as the backend answers."""
        local = self._local(path)
        local.mkdir(parents=True, exist_ok=True)
        return self._inode_path(local)

    def copy(self, source_path: str, destination_path: str, overwrite: bool = False) -> None:
        """Copy a file or folder inside the project; links inside a folder are copied as links."""
        source = self._existing(source_path)
        target = self._local(destination_path)
        replace = self._check_destination(destination_path, overwrite)  # the SDK's first answer
        _refuse_into_itself(source_path, source, destination_path, target, "copied")
        with self._incoming() as scratch:
            if source.is_dir():
                shutil.copytree(source, scratch / "copy", symlinks=True)
            else:
                shutil.copyfile(source, scratch / "copy")
            self._place(scratch / "copy", target, replace)

    def move(self, source_path: str, destination_path: str, overwrite: bool = False) -> None:
        source = self._local(source_path, follow=False)
        if not self.exists(source_path):
            raise RestAPIError(f"Path {source_path!r} does not exist in project {PROJECT_NAME!r}.")
        self._refuse_protected(source_path, source, "moved")
        target = self._local(destination_path)
        _refuse_into_itself(source_path, source, destination_path, target, "moved")
        replace = self._check_destination(destination_path, overwrite)
        self._place(source, target, replace)

    def list(self, path: str, offset: int = 0, limit: int = 1000) -> list[str]:
        """The entries of a folder by name, as ``DatasetApi.list`` gives them: each inode's absolute path
        without ``/Projects/<project>`` (``/Resources/images/x.png``); ``"/"`` lists the top-level
        datasets."""
        local = self._local(path)
        if local == self._store / DATASETS_DIR:
            return [f"/{name}" for name in TOP_LEVEL][offset : offset + limit]
        if not local.is_dir():
            self._existing(path)
            raise DatasetException(f"{path} is a file; list takes a directory.")
        names = sorted(entry.name for entry in local.iterdir() if not entry.name.startswith("."))
        prefix = f"/Projects/{PROJECT_NAME}"  # hopsworks_common.util._convert_to_project_rel_path
        paths = [self._inode_path(local / name).removeprefix(prefix) for name in names]
        return paths[offset : offset + limit]

    def path_exists(self, remote_path: str) -> bool:
        return self.exists(remote_path)

    def rm(self, remote_path: str) -> None:
        self.remove(remote_path)

    def _is_top_level(self, local: Path) -> bool:
        models = local == self._store / "models"
        return models or local.parent == self._store / DATASETS_DIR and local.name in TOP_LEVEL

    def _refuse_protected(self, path: str, local: Path, action: str) -> None:
        """The project's root and its top-level datasets stay where they are."""
        if local == self._store / DATASETS_DIR:
            raise DatasetException(
                f"{path!r} is the project's root (every dataset of project {PROJECT_NAME!r}); it cannot be "
                f"{action}. Name a file or folder inside a dataset, e.g. 'Resources/images'."
            )
        if local.parent == self._store / DATASETS_DIR or local == self._store / "models":
            raise DatasetException(f"{path} is a top-level dataset; it cannot be {action} here.")

    def _check_destination(self, destination: str, overwrite: bool) -> bool:
        """``DatasetApi.copy``/``move``/``upload``: whether an existing destination is to be replaced; refused
        without ``overwrite`` and for a top-level dataset. Nothing is removed yet."""
        if not self.exists(destination):
            return False
        if not overwrite:
            raise DatasetException(f"{destination} already exists, set overwrite=True to overwrite it")
        local = self._local(destination, follow=False)
        if local.parent == self._store / DATASETS_DIR:
            raise DatasetException("overwrite=True not supported on a top-level dataset")
        self._refuse_protected(destination, local, "overwritten")
        return True

    @contextmanager
    def _incoming(self) -> Iterator[Path]:
        """A scratch folder in the store (the same file system, so a rename moves its result into place);
        removed afterwards, whether the copy was placed or failed half-way."""
        scratch = self._store / INCOMING_DIR / uuid.uuid4().hex
        scratch.mkdir(parents=True)
        try:
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            with suppress(OSError):  # another copy in progress keeps it
                scratch.parent.rmdir()

    def _place(self, complete: Path, target: Path, replace: bool) -> None:
        """Rename a complete file or folder to ``target``, removing what it replaces just before."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if replace:
            if target.is_symlink() or not target.is_dir():
                target.unlink()
            else:
                shutil.rmtree(target)
        os.rename(complete, target)


def _refuse_into_itself(source_path: str, source: Path, destination: str, target: Path, action: str) -> None:
    if target == source or source in target.parents:
        raise DatasetException(f"{source_path} cannot be {action} to {destination}: that is inside itself.")


def _copy_walked(source: Path, target: Path) -> list[str]:
    """Copy the folder ``source`` as ``os.walk`` sees it (``DatasetApi.upload``): links to files are read,
    links to folders become empty folders and are returned, so a link loop cannot recurse."""
    skipped = []
    for root, folders, files in os.walk(source):
        here = target / Path(root).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in folders:
            if os.path.islink(os.path.join(root, name)):
                (here / name).mkdir()
                skipped.append(str(Path(root, name).relative_to(source)))
        for name in files:
            shutil.copyfile(os.path.join(root, name), here / name)
    return skipped

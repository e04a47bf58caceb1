"""The project's file system (``hopsworks_common.core.dataset_api.DatasetApi``) as folders in the store.

Hopsworks lays a project out as top-level datasets (``Resources``, ``Models``, ``Jupyter``, ``Logs``,
``DataValidation``, ``<project>_Training_Datasets``); here each is a folder under ``<store>/datasets``,
except ``Models``, which is the model registry's own folder, so ``Models/<name>/<version>`` lists what
``mr`` saved. Paths may be given relative (``Resources/images``), absolute (``/Resources``) or as
Hopsworks' full ``/Projects/<project>/...`` form; nothing outside the project is reachable.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from serverless_iris.embedded.sdk_gaps import SdkGaps
from serverless_iris.embedded.util import PROJECT_NAME

DATASETS_DIR = "datasets"
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

    def _local(self, path: str) -> Path:
        """The folder or file a project path names; refuses paths that leave the project."""
        parts = [p for p in PurePosixPath(str(path).replace(os.sep, "/")).parts if p.strip("/")]
        if parts[:2] == ["Projects", PROJECT_NAME]:
            parts = parts[2:]
        if ".." in parts:
            raise DatasetException(f"Path {path!r} leaves the project; use a path inside it.")
        if not parts:
            return self._store / DATASETS_DIR
        if parts[0] == "Models":
            return self._store.joinpath("models", *parts[1:])
        return self._store.joinpath(DATASETS_DIR, *parts)

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

        The folder is created when missing. A missing local file raises the SDK's ``FileNotFoundError``
        before an existing destination is removed (the SDK removes it first).
        """
        source = Path(local_path)
        os.stat(source)  # FileNotFoundError: [Errno 2] No such file or directory: ..., as the SDK's getsize
        destination = f"{upload_path}/{os.path.split(local_path)[1]}"
        self._clear(destination, overwrite)
        target = self._local(destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
        return f"{upload_path}/{os.path.basename(local_path)}"

    def exists(self, path: str) -> bool:
        local = self._local(path)
        return local.exists() or local.parent == self._store / DATASETS_DIR and local.name in TOP_LEVEL

    def remove(self, path: str) -> None:
        local = self._existing(path)
        if local.parent == self._store / DATASETS_DIR or local == self._store / "models":
            raise DatasetException(f"{path} is a top-level dataset; it cannot be removed here.")
        if local.is_dir():
            shutil.rmtree(local)
        elif local.exists():
            local.unlink()

    def mkdir(self, path: str) -> str:
        """Create the folder (and its parents); returns its absolute path, as the backend answers."""
        local = self._local(path)
        local.mkdir(parents=True, exist_ok=True)
        return self._inode_path(local)

    def copy(self, source_path: str, destination_path: str, overwrite: bool = False) -> None:
        source = self._existing(source_path)
        self._clear(destination_path, overwrite)
        target = self._local(destination_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)

    def move(self, source_path: str, destination_path: str, overwrite: bool = False) -> None:
        source = self._existing(source_path)
        self._clear(destination_path, overwrite)
        target = self._local(destination_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)

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

    def _clear(self, destination: str, overwrite: bool) -> None:
        """``DatasetApi.copy``/``move``/``upload``: an existing destination is removed or refused."""
        if self.exists(destination):
            if not overwrite:
                raise DatasetException(f"{destination} already exists, set overwrite=True to overwrite it")
            if self._local(destination).parent == self._store / DATASETS_DIR:
                raise DatasetException("overwrite=True not supported on a top-level dataset")
            self.remove(destination)

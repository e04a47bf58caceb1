"""The project's file system (``DatasetApi``) against the installed 5.2.1 SDK's own client code.

The SDK's ``DatasetApi`` runs here with its REST client replaced by a small stand-in for the backend
over a temporary folder: each answer is what Hopsworks sends (an inode's ``attributes.path`` is absolute,
``/Projects/<project>/...``, as ``hsml.engine.serving_engine`` notes), so the paths the SDK returns, the
local-path rules of ``download`` and the refusals of ``upload``/``copy`` are the SDK's code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sdk_support import sdk

from serverless_iris.embedded.project import LocalProject

TOP_LEVEL = ("DataValidation", "Jupyter", "Logs", "Models", "Resources", "local_Training_Datasets")


class Backend:
    """The dataset REST resource of a project called ``local`` over ``root``."""

    def __init__(self, root: Path) -> None:
        self._root, self._project_id, self._project_name = root, 1, "local"
        for name in TOP_LEVEL:
            (root / name).mkdir(parents=True, exist_ok=True)

    def local(self, path: str) -> Path:
        return self._root / str(path).removeprefix("/Projects/local").strip("/")

    def inode(self, local: Path) -> dict:
        path = "/Projects/local/" + str(local.relative_to(self._root))
        top = {"datasetType": "DATASET"} if local.parent == self._root else {}
        size = local.stat().st_size if local.is_file() else 0
        return {**top, "attributes": {"path": path, "size": size, "dir": local.is_dir()}}

    def _send_request(
        self, method: str, path_params: list, query_params=None, headers=None, stream=False, **_
    ):
        path = path_params[-1]
        local = self.local(path)
        action = (query_params or {}).get("action")
        if method == "GET" and "with_auth" in path_params:
            content = local.read_bytes()
            return contextlib.nullcontext(SimpleNamespace(iter_content=lambda chunk_size: [content]))
        if method == "GET":
            if not local.exists():
                raise sdk("hopsworks_common.client.exceptions.RestAPIError").__new__(
                    sdk("hopsworks_common.client.exceptions.RestAPIError")
                )
            return self.inode(local)
        if method == "POST" and action == "create":
            local.mkdir(parents=True, exist_ok=True)
            return self.inode(local)
        if method == "DELETE":
            shutil.rmtree(local) if local.is_dir() else local.unlink()
            return None
        raise AssertionError(f"unexpected request {method} {path_params} {query_params}")

    def upload_file(self, file_name: str, local_path: str, upload_path: str, *args: Any) -> None:
        """The flow upload: the file lands in the folder (made when missing, as the embedded one does)."""
        self.local(upload_path).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local_path, self.local(upload_path) / file_name)

    def listing(self, path: str, cls: Any, offset: int = 0, limit: int = 1000, **_: Any):
        local = self.local(path)
        entries = sorted(local.iterdir()) if path else [self._root / n for n in TOP_LEVEL]
        items = [SimpleNamespace(path=self.inode(e)["attributes"]["path"]) for e in entries][
            offset : offset + limit
        ]
        return len(items), items


@pytest.fixture
def sdk_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    backend = Backend(tmp_path / "hopsfs")
    monkeypatch.setattr("hopsworks_common.client._get_instance", lambda: backend)
    dataset_api = sdk("hopsworks_common.core.dataset_api.DatasetApi")
    monkeypatch.setattr(dataset_api, "_upload_file", backend.upload_file)
    monkeypatch.setattr(dataset_api, "_list_dataset_path", backend.listing)
    monkeypatch.setattr(dataset_api, "_assert_upload_allowed", lambda self, path: None)  # uploads allowed
    monkeypatch.setattr("hopsworks_common.core.dataset_api.tqdm", None)  # no progress bar
    yield dataset_api()


def both(project: LocalProject, sdk_api: Any, work: Path, call) -> tuple[Any, Any]:
    """``call`` on the embedded API and on the SDK's, each in a working directory of its own holding
    the same files: each result, or the exception's type and text, with the directory spelled ``WORK``."""
    outcomes = []
    for side, api in (("ours", project.get_dataset_api()), ("sdk", sdk_api)):
        os.chdir(work / side)
        try:
            outcome = call(api)
        except Exception as error:  # the comparison is of the errors too
            outcome = (type(error).__name__, str(error))
        outcomes.append(json.loads(json.dumps(outcome, default=repr).replace(str(work / side), "WORK")))
    return outcomes[0], outcomes[1]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two working directories (``ours``, ``sdk``) with a file and folders to upload."""
    monkeypatch.chdir(tmp_path)
    for side in ("ours", "sdk"):
        folder = tmp_path / "work" / side
        (folder / "model_dir").mkdir(parents=True)
        (folder / "Logs").mkdir()  # named like a top-level dataset
        (folder / "latest_iris.png").write_bytes(b"a flower")
        (folder / "model_dir" / "model.pkl").write_bytes(b"weights")
    return tmp_path / "work"


CALLS = {
    "upload a file": lambda api: api.upload("./latest_iris.png", "Resources/images"),
    "upload again": lambda api: api.upload("latest_iris.png", "Resources/images"),
    "upload over it": lambda api: api.upload("latest_iris.png", "Resources/images", overwrite=True),
    "upload into a path ending in /": lambda api: api.upload("latest_iris.png", "Resources/docs/"),
    "upload a folder": lambda api: api.upload("model_dir", "Resources"),
    "upload over a top-level dataset": lambda api: api.upload("Logs", "/", overwrite=True),
    "mkdir": lambda api: api.mkdir("Resources/deep/er"),
    "exists": lambda api: (api.exists("Resources/images/latest_iris.png"), api.exists("Resources/none")),
    "list": lambda api: api.list("Resources/images"),
    "list a folder": lambda api: api.list("/Resources/model_dir"),
    "list the project": lambda api: api.list("/"),
    "copy onto an existing file": lambda api: api.copy(
        "Resources/images/latest_iris.png", "Resources/images/latest_iris.png"
    ),
    "download": lambda api: Path(api.download("Resources/images/latest_iris.png", "out.png")).read_text(),
    "download again": lambda api: api.download("Resources/images/latest_iris.png", "out.png"),
    "download into a folder": lambda api: api.download("Resources/images/latest_iris.png", "model_dir"),
    "download over it": lambda api: api.download(
        "Resources/images/latest_iris.png", "out.png", overwrite=True
    ),
}


def test_the_dataset_api_answers_as_the_sdks_client(project: LocalProject, sdk_api: Any, work: Path) -> None:
    """One sequence of calls; each answer (path, listing, error) is compared as it comes."""
    for name, call in CALLS.items():
        ours, theirs = both(project, sdk_api, work, call)
        assert ours == theirs, name


def test_download_paths_are_the_sdks(project: LocalProject, sdk_api: Any, work: Path) -> None:
    """``DatasetApi.download``'s local-path rules: relative to the working directory, into a folder
    under the file's own name, refused over an existing file unless ``overwrite``."""
    both(project, sdk_api, work, lambda api: api.upload("latest_iris.png", "Resources/images"))
    downloads = [
        lambda api: api.download("Resources/images/latest_iris.png", "model_dir"),
        lambda api: api.download("Resources/images/latest_iris.png", "model_dir"),
        lambda api: api.download("Resources/images/latest_iris.png", "model_dir/", overwrite=True),
        lambda api: api.download("Resources/images/latest_iris.png"),
    ]
    answers = [both(project, sdk_api, work, call) for call in downloads]
    assert [ours for ours, _ in answers] == [theirs for _, theirs in answers]
    assert [ours for ours, _ in answers] == [
        "WORK/model_dir/latest_iris.png",
        ["OSError", "WORK/model_dir/latest_iris.png already exists, set overwrite=True to overwrite it"],
        "WORK/model_dir/latest_iris.png",
        ["OSError", "WORK/latest_iris.png already exists, set overwrite=True to overwrite it"],
    ]


def test_upload_of_a_missing_file_is_the_sdks_error_and_removes_nothing(
    project: LocalProject, work: Path
) -> None:
    """The SDK's ``os.path.getsize`` error; unlike the SDK (which removes an ``overwrite``d destination
    first), the destination stays."""
    os.chdir(work / "ours")
    api = project.get_dataset_api()
    api.upload("latest_iris.png", "Resources/images")
    with pytest.raises(FileNotFoundError) as ours:
        api.upload("missing.png", "Resources/images", overwrite=True)
    with pytest.raises(FileNotFoundError) as theirs:
        os.path.getsize("missing.png")  # what DatasetApi._upload_file calls first
    assert str(ours.value) == str(theirs.value)
    assert api.exists("Resources/images/latest_iris.png")


def test_paths_leaving_the_project_are_refused(project: LocalProject, work: Path) -> None:
    os.chdir(work / "ours")
    api = project.get_dataset_api()
    with pytest.raises(Exception, match="leaves the project"):
        api.upload("latest_iris.png", "Resources/../../outside")
    with pytest.raises(Exception, match="does not exist"):
        api.download("Resources/missing.txt", str(work))
    api.upload("latest_iris.png", "Resources/docs")
    api.copy("Resources/docs/latest_iris.png", "Logs/notes.txt")
    api.move("Logs/notes.txt", "/Projects/local/Logs/moved.txt")
    assert api.list("Logs") == ["/Logs/moved.txt"]
    api.remove("Resources/docs")
    assert not api.exists("Resources/docs/latest_iris.png")

"""Backend selection: the environment picks local or Hopsworks, and the Hopsworks key never leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from serverless_iris import backend, login
from serverless_iris.backend import BackendError, redact, selected_backend
from serverless_iris.embedded.feature_store import FeatureStore, FeatureStoreException
from serverless_iris.embedded.project import LocalProject
from serverless_iris.paths import REPO_ROOT, store_path

KEY = "hw-test-key-5f1c0ffee-never-print-me"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No backend variables from the outer shell, a fresh "printed once" memory, a temp store."""
    for name in (
        "IRIS_BACKEND",
        "HOPSWORKS_API_KEY",
        "HOPSWORKS_HOST",
        "HOPSWORKS_PORT",
        "HOPSWORKS_PROJECT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IRIS_STORE", str(tmp_path / "store"))
    monkeypatch.setattr(backend, "_announced", set())


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "local"),
        ({"HOPSWORKS_API_KEY": KEY}, "hopsworks"),
        ({"IRIS_BACKEND": "local", "HOPSWORKS_API_KEY": KEY}, "local"),
        ({"IRIS_BACKEND": " Hopsworks "}, "hopsworks"),
        ({"IRIS_BACKEND": ""}, "local"),
    ],
    ids=["default", "key set", "forced local over key", "forced hopsworks", "empty means unset"],
)
def test_selected_backend(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert selected_backend() == expected


def test_unknown_backend_names_the_allowed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRIS_BACKEND", "sqlite")
    with pytest.raises(BackendError, match="'sqlite'.*local, hopsworks"):
        login()


def test_store_path_is_iris_store_or_the_repo_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert store_path() == (tmp_path / "store").resolve()
    monkeypatch.delenv("IRIS_STORE")
    assert store_path() == REPO_ROOT / "store"


def test_local_login_prints_the_backend_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    first = login()
    second = login()

    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"backend: local (store: {tmp_path / 'store'})"]
    assert isinstance(first, LocalProject) and first.store == (tmp_path / "store").resolve()
    assert second.store == first.store


def test_local_project_hands_out_the_embedded_feature_store(tmp_path: Path) -> None:
    project = login()

    fs = project.get_feature_store()

    assert isinstance(fs, FeatureStore) and fs.name == "local_featurestore"
    with pytest.raises(FeatureStoreException, match="one feature store"):
        project.get_feature_store(name="someone_elses_featurestore")


def test_the_key_never_appears_in_output_or_repr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOPSWORKS_API_KEY", KEY)
    monkeypatch.setenv("IRIS_BACKEND", "local")

    project = login()
    print(project, repr(project), project.get_feature_store())

    captured = capsys.readouterr()
    assert KEY not in captured.out + captured.err
    assert redact(f"sent {KEY} twice: {KEY}") == "sent *** twice: ***"


def test_a_failed_hopsworks_login_does_not_echo_the_key(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # the SDK may look for a key file in the working directory
    monkeypatch.setenv("HOPSWORKS_API_KEY", KEY)
    monkeypatch.setenv("IRIS_BACKEND", "hopsworks")
    monkeypatch.setenv("HOPSWORKS_HOST", "127.0.0.1")
    monkeypatch.setenv("HOPSWORKS_PORT", "9")  # discard port: refused at once, no network needed

    with pytest.raises(BackendError) as error:
        login()

    captured = capfd.readouterr()  # file-descriptor level: catches the SDK's log handlers too
    assert str(error.value).startswith("Hopsworks login failed: ")
    assert KEY not in str(error.value) + repr(error.value) + captured.out + captured.err
    assert error.value.__cause__ is None and error.value.__suppress_context__

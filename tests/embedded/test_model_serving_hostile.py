"""Local deployments at their edges: names that would lead out of the store, a predictor that hangs while
loading, the Hopsworks key, and clients that send too much or stall."""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
import warnings
from pathlib import Path

import pytest

from serverless_iris.embedded.model_serving import MAX_BODY_BYTES, Deployment, ModelServingException
from serverless_iris.embedded.project import LocalProject
from serverless_iris.paths import PREDICTOR_START_ENV

ECHO = """
import os, sys

class Predict:
    def __init__(self):
        print("loading, key:", os.environ.get("HOPSWORKS_API_KEY"), flush=True)

    def predict(self, inputs):
        if inputs == [["leak"]]:
            raise RuntimeError("the key is " + str(os.environ.get("HOPSWORKS_API_KEY")))
        return [row[0] * 2 for row in inputs]
"""

HANGS = """
import time

class Predict:
    def __init__(self):
        print("loading forever", flush=True)
        time.sleep(3600)
"""

HANGS_DEAF = """
import signal, time

class Predict:
    def __init__(self):
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(3600)
"""


def deployed(project: LocalProject, tmp_path: Path, script: str, **deploy: object) -> Deployment:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text(script)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Model schema cannot")
        model = project.get_model_registry().python.create_model("echo").save(str(folder))
    return model.deploy(script_file=model.version_path + "/predictor.py", **deploy)


def alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def runtime(project: LocalProject, name: str) -> dict:
    return json.loads((project.store / "serving" / name / "runtime.json").read_text())


# ----------------------------------------------------------------------------------- names and paths


@pytest.mark.parametrize("name", ["../../dir", "../outside", "a/b", "/tmp", "echo\n", "", ".", "échos"])
def test_getting_a_deployment_by_a_name_no_deployment_can_have_is_refused(
    project: LocalProject, tmp_path: Path, name: str
) -> None:
    planted = tmp_path / "dir"
    planted.mkdir()
    (planted / "deployment.json").write_text(json.dumps({"name": "x", "script_file": "/bin/true"}))
    with pytest.raises(
        ModelServingException, match=r"Deployment name .* is not valid: use letters and digits"
    ):
        project.get_model_serving().get_deployment(name)
    assert (planted / "deployment.json").exists()


def test_a_deployment_name_from_the_environment_is_checked_too(
    project: LocalProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYMENT_NAME", "../../dir")
    with pytest.raises(ModelServingException, match="'../../dir' is not valid"):
        project.get_model_serving().get_deployment()
    monkeypatch.delenv("DEPLOYMENT_NAME")
    assert project.get_model_serving().get_deployment() is None
    assert project.get_model_serving().get_deployment("nosuchone") is None


def test_a_deployment_folder_linked_out_of_the_store_is_refused(
    project: LocalProject, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "deployment.json").write_text(json.dumps({"name": "evil", "script_file": "/bin/true"}))
    (project.store / "serving").mkdir(parents=True)
    (project.store / "serving" / "evil").symlink_to(outside)
    serving = project.get_model_serving()
    with pytest.raises(ModelServingException, match="'evil'.*is a symbolic link"):
        serving.get_deployment("evil")
    with pytest.raises(ModelServingException, match="is a symbolic link"):
        serving.get_deployments()
    assert (outside / "deployment.json").exists()
    (project.store / "serving" / "evil").unlink()


@pytest.mark.parametrize("name", ["../../dir", "echo\n", "a b"])
def test_deploying_under_a_name_that_is_a_path_is_refused(
    project: LocalProject, tmp_path: Path, name: str
) -> None:
    with pytest.raises(ModelServingException, match="is not valid: use letters and digits only"):
        deployed(project, tmp_path, ECHO, name=name)
    assert not (project.store / "serving").exists()
    assert not (tmp_path / "dir").exists()


# --------------------------------------------------------------------------------- a hanging start


def test_a_predictor_that_hangs_while_loading_is_killed_and_reported(
    project: LocalProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PREDICTOR_START_ENV, "1")
    deployment = deployed(project, tmp_path, HANGS)
    with pytest.raises(
        ModelServingException, match=r"not serving within 1 s \(IRIS_PREDICTOR_START_TIMEOUT\)"
    ):
        deployment.start()
    pid = runtime(project, deployment.name)["pid"]
    assert not alive(pid)
    assert deployment.get_state().status == "Failed"
    deployment.get_logs()


def test_a_predictor_that_ignores_its_alarm_and_sigterm_is_still_killed(
    project: LocalProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PREDICTOR_START_ENV, "1")
    deployment = deployed(project, tmp_path, HANGS_DEAF)
    with pytest.raises(ModelServingException, match="not serving within 1 s"):
        deployment.start()
    assert not alive(runtime(project, deployment.name)["pid"])
    assert deployment.get_state().status == "Failed"


def test_a_start_that_stops_waiting_leaves_a_starting_predictor_that_stop_ends(
    project: LocalProject, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    deployment = deployed(project, tmp_path, HANGS)
    deployment.start(await_running=0)
    assert "is still starting" in capsys.readouterr().out
    pid = runtime(project, deployment.name)["pid"]
    assert alive(pid)
    assert deployment.get_state().status == "Starting"
    assert not deployment.is_stopped()
    with pytest.raises(ModelServingException, match="not stopped"):
        deployment.delete()
    deployment.stop(await_stopped=5)
    assert "Deployment stopped" in capsys.readouterr().out
    assert not alive(pid)
    assert deployment.get_state().status == "Stopped"


def test_a_predictor_left_starting_is_ended_by_its_own_start_timeout(
    project: LocalProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PREDICTOR_START_ENV, "1")
    deployment = deployed(project, tmp_path, HANGS)
    deployment.start(await_running=0)
    pid = runtime(project, deployment.name)["pid"]
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    assert deployment.get_state().status == "Failed"


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan", "inf"])
def test_a_start_timeout_that_is_not_a_positive_number_is_refused_before_anything_starts(
    project: LocalProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    deployment = deployed(project, tmp_path, ECHO)
    monkeypatch.setenv(PREDICTOR_START_ENV, value)
    with pytest.raises(
        ModelServingException, match=f"IRIS_PREDICTOR_START_TIMEOUT='{value}' is not a positive"
    ):
        deployment.start()
    assert deployment.get_state().status == "Created"
    assert not (project.store / "serving" / deployment.name / "runtime.json").exists()


def test_a_stale_pid_from_another_boot_is_not_taken_for_the_predictor(
    project: LocalProject, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    deployment = deployed(project, tmp_path, ECHO)
    (project.store / "serving" / deployment.name / "runtime.json").write_text(
        json.dumps({"pid": os.getpid(), "port": 1})  # a live process that is not this predictor
    )
    assert deployment.get_state().status == "Failed"
    deployment.stop()
    assert "Deployment stopped" in capsys.readouterr().out  # and this test's process lives on


# ----------------------------------------------------------------------------------------- the key


def test_the_predictor_does_not_get_the_hopsworks_key(
    project: LocalProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    key = secrets.token_hex(16)
    monkeypatch.setenv("HOPSWORKS_API_KEY", key)
    deployment = deployed(project, tmp_path, ECHO)
    deployment.start()
    with pytest.raises(ModelServingException, match="the key is None"):
        deployment.predict(inputs=[["leak"]])
    deployment.get_logs(tail=50)
    assert "loading, key: None" in capsys.readouterr().out
    assert key not in (project.store / "serving" / deployment.name / "predictor.log").read_text()


def test_a_key_handed_to_the_predictor_is_redacted_from_its_log_logs_and_errors(
    project: LocalProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    key = secrets.token_hex(16)
    monkeypatch.setenv("HOPSWORKS_API_KEY", key)
    deployment = deployed(project, tmp_path, ECHO, env_vars={"HOPSWORKS_API_KEY": key})
    deployment.start()
    with pytest.raises(ModelServingException) as refused:
        deployment.predict(inputs=[["leak"]])
    assert "the key is ***" in str(refused.value) and key not in str(refused.value)
    deployment.get_logs(tail=50)
    deployment.describe()
    shown = capsys.readouterr().out
    assert "loading, key: ***" in shown and '"HOPSWORKS_API_KEY": "***"' in shown and key not in shown
    assert key not in (project.store / "serving" / deployment.name / "predictor.log").read_text()


# ------------------------------------------------------------------------------ hostile local clients


def raw_request(port: int, head: str, body: bytes = b"") -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(head.encode() + b"\r\n" + body)
    return client


def status_line(client: socket.socket) -> str:
    with client, client.makefile("rb") as answer:
        return answer.readline().decode().strip()


def test_a_huge_content_length_is_refused_with_413_without_reading_it(
    project: LocalProject, tmp_path: Path
) -> None:
    deployment = deployed(project, tmp_path, ECHO)
    deployment.start()
    port = runtime(project, deployment.name)["port"]
    path = f"/v1/models/{deployment.name}:predict"
    huge = raw_request(port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {10**12}\r\n")
    assert status_line(huge) == "HTTP/1.0 413 Request Entity Too Large"
    over = raw_request(port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n")
    assert status_line(over).split()[1] == "413"
    bad = raw_request(port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n")
    assert status_line(bad).split()[1] == "400"
    assert deployment.predict(inputs=[[2]]) == {"predictions": [4]}


def test_a_client_that_stalls_does_not_block_other_callers(project: LocalProject, tmp_path: Path) -> None:
    deployment = deployed(project, tmp_path, ECHO)
    deployment.start()
    port = runtime(project, deployment.name)["port"]
    path = f"/v1/models/{deployment.name}:predict"
    stalled = [
        raw_request(port, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n", b'{"instances"')
        for _ in range(3)
    ]
    silent = socket.create_connection(("127.0.0.1", port), timeout=10)  # sends nothing at all
    try:
        assert deployment.predict(inputs=[[3], [4]]) == {"predictions": [6, 8]}
    finally:
        for client in [*stalled, silent]:
            client.close()


def test_a_deployment_reached_through_a_relative_store_path_is_still_recognised(
    project: LocalProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deployed(project, tmp_path, ECHO)
    deployment.start()
    monkeypatch.chdir(tmp_path)
    again = LocalProject(Path("store")).get_model_serving().get_deployment(deployment.name)
    assert again.get_state().status == "Running"
    assert again.predict(inputs=[[5]]) == {"predictions": [10]}
    again.stop(await_stopped=5)
    assert deployment.get_state().status == "Stopped"

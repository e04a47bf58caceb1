"""Every wait on the Hopsworks path has a time limit: a host that accepts the connection and never answers
ends the login (and the runner's store question) with a clear error, not a hang.

The host is a local TCP server on 127.0.0.1 that accepts connections and never sends a byte; it stops by
itself after :data:`LIFETIME` seconds, so a missing limit fails the test instead of hanging it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import requests

from serverless_iris.backend import BackendError, login
from serverless_iris.runner.store_questions import StoreQuestion, model_versions

LIFETIME = 40.0  # seconds the silent server lives: far beyond the limits the tests set


@pytest.fixture
def silent_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[threading.Event]:
    """A server that accepts and never answers, with the Hopsworks variables pointing at it; the event is
    set when it hangs up at the end of its life (before that, whoever gave up did so on its own limit)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop, hung_up = threading.Event(), threading.Event()

    def serve() -> None:
        ends = time.monotonic() + LIFETIME
        while not stop.is_set() and time.monotonic() < ends:
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
        hung_up.set()
        for connection in held:
            connection.close()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    monkeypatch.setenv("SILENT_PORT", str(port))
    monkeypatch.chdir(tmp_path)  # the SDK may write a key file in the working directory
    for name, value in {
        "IRIS_BACKEND": "hopsworks",
        "HOPSWORKS_API_KEY": "silent-host-test-key-0123456789abcdef",
        "HOPSWORKS_HOST": "127.0.0.1",
        "HOPSWORKS_PORT": str(port),
        "HOPSWORKS_HOSTNAME_VERIFICATION": "false",
    }.items():
        monkeypatch.setenv(name, value)
    yield hung_up
    stop.set()
    thread.join(5)


def test_a_hopsworks_host_that_never_answers_ends_the_login_with_the_limit_named(
    silent_host: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IRIS_LOGIN_TIMEOUT", "1.5")

    with pytest.raises(BackendError) as failed:
        login()

    message = str(failed.value)
    assert message.startswith("Hopsworks login did not finish within 1.5 s (IRIS_LOGIN_TIMEOUT): ")
    assert "Hopsworks 127.0.0.1, project the key's default gave no answer in time" in message
    assert "set IRIS_BACKEND=local to run offline" in message
    assert not silent_host.is_set()  # the host was still holding the connection open


def test_a_hopsworks_call_after_login_that_gets_no_answer_ends_at_the_request_limit(
    silent_host: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After login the SDK's client sends without a timeout; the login gives its session one."""
    from hopsworks_common import client

    from serverless_iris import backend

    sdk_client = SimpleNamespace(_session=requests.Session())
    monkeypatch.setattr(client, "_client", sdk_client)
    backend._bound_requests(1.5)

    with pytest.raises(requests.exceptions.ReadTimeout):
        sdk_client._session.get(f"http://127.0.0.1:{os.environ['SILENT_PORT']}/hopsworks-api/api/project")
    assert not silent_host.is_set()


def test_the_runners_store_question_to_a_silent_host_gives_up_and_leaves_no_process(
    silent_host: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IRIS_LOGIN_TIMEOUT", str(LIFETIME * 2))  # the question's own limit must act
    monkeypatch.setenv("IRIS_STORE_QUESTION_TIMEOUT", "2")
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    question = StoreQuestion("hopsworks", model_versions)
    asked = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    answer = question.result()

    assert answer is None  # unknown: the run goes on as if nobody could tell
    assert not silent_host.is_set()  # the question gave up on its own limit, the host never hung up
    assert [child.is_running() for child in asked] == [False]  # the asking child was ended and reaped


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf"])
def test_a_time_limit_that_is_not_a_positive_number_is_refused_before_anything_runs(
    value: str, workspace
) -> None:  # type: ignore[no-untyped-def]
    done = workspace.call("--only", "feature", env={"IRIS_LOGIN_TIMEOUT": value})

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"runner.py: error: IRIS_LOGIN_TIMEOUT={value!r} is not a number of seconds; give a positive " in (
        done.stderr
    )
    assert not workspace.outputs.exists()

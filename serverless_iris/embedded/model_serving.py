"""Model deployments (``hsml.model_serving`` / ``hsml.deployment``) served from a local process.

A deployment is the folder ``<store>/serving/<name>/``: ``deployment.json`` (what ``model.deploy``
was given), ``artifacts/`` (a verified copy of the model's files), ``predictor.log`` and, while it
runs, ``runtime.json`` (the server's pid and port). ``start()`` runs the user's predictor script in
its own process (``python -m serverless_iris.embedded.model_serving <folder>``), so a predictor that
crashes cannot take the notebook down; that process loads the script's ``Predict`` class with
``MODEL_FILES_PATH`` (hsml's default predictor) and ``ARTIFACT_FILES_PATH`` (older predictor
scripts) naming the artifact folder, and answers KServe v1 requests
(``POST /v1/models/<name>:predict`` with ``{"instances": [...]}``, answer
``{"predictions": [...]}``) on the loopback address only. Any process with the same store reaches
a running deployment, as any notebook reaches a Hopsworks one.

The predictor process never gets ``HOPSWORKS_API_KEY``, and what it logs is redacted before it is shown.
It must be serving within ``IRIS_PREDICTOR_START_TIMEOUT`` seconds, or it is killed (an alarm inside the
process itself, so it holds also when nobody waits). Its server answers each request in a thread of its
own, refuses bodies over ``MAX_BODY_BYTES`` (413) and drops a client that stalls for
``REQUEST_TIMEOUT_S``, so one caller cannot block the others.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from serverless_iris.backend import KEY_ENV, redact
from serverless_iris.embedded.sdk_gaps import SdkGaps
from serverless_iris.paths import PREDICTOR_START_ENV, importable

SERVING_DIR = "serving"
SPEC_FILE = "deployment.json"
RUNTIME_FILE = "runtime.json"
LOG_FILE = "predictor.log"
ARTIFACTS_DIR = "artifacts"
# hopsworks_common.constants.PREDICTOR_STATE
CREATED, STARTING, RUNNING, STOPPED, FAILED = "Created", "Starting", "Running", "Stopped", "Failed"
NAME_PATTERN = re.compile(r"[a-zA-Z0-9]+")  # what a deployment's name (and so its folder) may hold
DEFAULT_START_TIMEOUT_S = 120.0
PREDICT_TIMEOUT_S = 300.0  # how long predict() waits for an answer
REQUEST_TIMEOUT_S = 30.0  # how long the predictor's server waits for a client's next bytes
MAX_BODY_BYTES = 16 * 1024 * 1024
_POLL_S = 0.05
_DYING_S = 5.0  # how long a predictor whose connection broke gets to finish exiting


class ModelServingException(Exception):
    """The embedded counterpart of ``hopsworks.client.exceptions.ModelServingException``."""


class PredictorState:
    """The embedded counterpart of ``hsml.predictor_state.PredictorState`` (only its status)."""

    def __init__(self, status: str) -> None:
        self._status = status

    @property
    def status(self) -> str:
        return self._status

    def describe(self) -> None:
        print(json.dumps({"status": self._status}, indent=4))

    def __repr__(self) -> str:
        return f"PredictorState(status: {self._status!r})"


class ModelServing(SdkGaps):
    """The embedded counterpart of ``hsml.model_serving.ModelServing``."""

    def __init__(self, store: Path) -> None:
        self._store = Path(store)

    def __repr__(self) -> str:
        return f"ModelServing(store={str(self._store)!r})"

    def get_deployment(self, name: str = None) -> Deployment | None:
        """The deployment of that name, or ``None`` (hsml 5.x); no name means ``DEPLOYMENT_NAME``.

        A name that no deployment can have (see ``deploy``) is refused, so no path leads out of the store.
        """
        if name is None:
            name = os.environ.get("DEPLOYMENT_NAME")
            if name is None:
                return None
        folder = _deployment_folder(self._store, check_deployment_name(name))
        return Deployment(folder) if (folder / SPEC_FILE).is_file() else None

    def get_deployments(self, model: Any = None, status: str = None) -> list[Deployment]:
        """Every deployment, or those of ``model`` (its name and version) and in ``status``."""
        root = self._store / SERVING_DIR
        names = sorted(spec.parent.name for spec in root.glob(f"*/{SPEC_FILE}"))
        found = [self.get_deployment(name) for name in names if NAME_PATTERN.fullmatch(name)]
        if model is not None:
            found = [d for d in found if (d.model_name, d.model_version) == (model.name, model.version)]
        if status is not None:
            found = [d for d in found if d.get_state().status.upper() == str(status).upper()]
        return found


class Deployment(SdkGaps):
    """The embedded counterpart of ``hsml.deployment.Deployment``: one predictor, no transformer."""

    def __init__(self, folder: Path) -> None:
        self._folder = Path(folder)
        self._spec = json.loads((self._folder / SPEC_FILE).read_text())

    def __repr__(self) -> str:
        return f"Deployment(name: {self.name!r})"

    @property
    def name(self) -> str:
        return self._spec["name"]

    @property
    def description(self) -> str | None:
        return self._spec["description"]

    @property
    def model_name(self) -> str:
        return self._spec["model_name"]

    @property
    def model_version(self) -> int:
        return self._spec["model_version"]

    @property
    def script_file(self) -> str:
        return self._spec["script_file"]

    @property
    def api_protocol(self) -> str:
        return "REST"

    def describe(self) -> None:
        """The deployment's spec and state; ``env_vars`` may hold the key, which is redacted."""
        print(redact(json.dumps({**self._spec, "status": self.get_state().status}, indent=4)))

    def get_state(self) -> PredictorState:
        """Starting until its process serves, then Running; Failed when that process died unasked; else
        Created/Stopped."""
        runtime = _read_json(self._folder / RUNTIME_FILE)
        if runtime is not None:
            if not self._alive(runtime["pid"]):
                return PredictorState(FAILED)
            return PredictorState(RUNNING if "port" in runtime else STARTING)
        if self._spec.get("failed"):
            return PredictorState(FAILED)
        return PredictorState(STOPPED if self._spec.get("started") else CREATED)

    def is_running(self, or_idle: bool = True, or_updating: bool = True) -> bool:
        return self.get_state().status == RUNNING

    def is_stopped(self, or_created: bool = True) -> bool:
        status = self.get_state().status
        return status in ((STOPPED, CREATED) if or_created else (STOPPED,))

    def start(self, await_running: int | None = 600) -> None:
        """Start the predictor process and wait (up to ``await_running`` s) until it serves.

        A predictor that is not serving within ``IRIS_PREDICTOR_START_TIMEOUT`` seconds is killed, and
        reported here when ``start`` is still waiting.
        """
        if self.is_running():
            print("Deployment is already running")
            return
        runtime = _read_json(self._folder / RUNTIME_FILE)
        process = None
        if runtime is not None and self._alive(runtime["pid"]):
            pid = runtime["pid"]  # another start() of this deployment is loading it
        else:
            process = self._spawn()
            pid = process.pid
        timeout = start_timeout()
        limit = time.monotonic() + timeout + _DYING_S  # past this the predictor is killed from here too
        wait_until = limit if await_running is None else min(limit, time.monotonic() + await_running)
        while "port" not in (_read_json(self._folder / RUNTIME_FILE) or {}):
            now = time.monotonic()
            ended = process.poll() is not None if process else not self._alive(pid)
            if ended or now > limit:
                self._kill(pid)
                self._set_spec(failed=True)
                code = process.wait() if process else None
                raise ModelServingException(self._start_failure(code, timeout, timed_out=now > limit))
            if now > wait_until:
                print(f"Deployment {self.name!r} is still starting; check get_state() later.")
                return
            time.sleep(_POLL_S)
        print("Start making predictions by using `.predict()`")

    def _spawn(self) -> subprocess.Popen:
        """Start the predictor process (its own session) without the Hopsworks key; record its pid."""
        (self._folder / RUNTIME_FILE).unlink(missing_ok=True)
        env = {name: value for name, value in os.environ.items() if name != KEY_ENV}
        env.update(self._spec["env_vars"] or {})
        env.update(MODEL_FILES_PATH=str(self._artifacts), ARTIFACT_FILES_PATH=str(self._artifacts))
        env.update(
            DEPLOYMENT_NAME=self.name, MODEL_NAME=self.model_name, MODEL_VERSION=str(self.model_version)
        )
        env = importable(env)  # the predictor imports this module by name
        with open(self._folder / LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(self._folder.resolve()), repr(start_timeout())],
                cwd=self._artifacts,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _create_json(self._folder / RUNTIME_FILE, {"pid": process.pid})
        self._set_spec(started=True, failed=False)
        return process

    def _start_failure(self, code: int | None, timeout: float, timed_out: bool) -> str:
        """Why the predictor is not serving: it timed out (its alarm, or killed from here), or it exited."""
        if timed_out or code == -signal.SIGALRM:
            why = (
                f"it was not serving within {timeout:g} s ({PREDICTOR_START_ENV}) and was stopped; check "
                "that its Predict class loads quickly (nothing waits on input or the network)"
            )
        else:
            why = "its predictor exited" + ("" if code is None else f" with code {code}")
        return f"Deployment {self.name!r} failed to start: {why}. Last log lines:\n{self._log_tail(20)}"

    def stop(self, await_stopped: int | None = 600) -> None:
        """Stop the predictor process, starting or serving (SIGTERM to its process group, then SIGKILL
        after ``await_stopped`` s)."""
        runtime = _read_json(self._folder / RUNTIME_FILE)
        if runtime is None:
            print("Deployment is already stopped")
            return
        self._kill(runtime["pid"], await_stopped if await_stopped is not None else 600)
        (self._folder / RUNTIME_FILE).unlink(missing_ok=True)
        print("Deployment stopped")

    def _kill(self, pid: int, grace: float = 0.0) -> None:
        """End the predictor's process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
        if not self._alive(pid):
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, _DYING_S)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while self._alive(pid) and time.monotonic() < deadline:
                time.sleep(_POLL_S)

    def _alive(self, pid: int) -> bool:
        """Whether ``pid`` is this deployment's live predictor (not a process that reused a stale pid)."""
        return _alive(pid) and _runs_folder(pid, self._folder)

    def predict(self, data: dict | None = None, inputs: list | dict | None = None) -> dict:
        """Send a KServe v1 request; ``{"predictions": [...]}`` as the predictor returned it."""
        payload = _inference_payload(data, inputs)
        runtime = _read_json(self._folder / RUNTIME_FILE)
        if runtime is None or "port" not in runtime or not self._alive(runtime["pid"]):
            raise ModelServingException(
                f"Deployment {self.name!r} is not running (state: {self.get_state().status}); start it "
                "with `.start()` before making predictions."
            )
        url = f"http://127.0.0.1:{runtime['port']}/v1/models/{self.name}:predict"
        request = urllib.request.Request(
            url,
            data=json.dumps(payload, default=_jsonable).encode(),
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=PREDICT_TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            error = json.loads(err.read())["error"]
            raise ModelServingException(redact(f"Prediction failed: {error}")) from None
        except TimeoutError:
            raise ModelServingException(
                f"Deployment {self.name!r} did not answer within {PREDICT_TIMEOUT_S:g} s; see get_logs()."
            ) from None
        except (urllib.error.URLError, ConnectionError) as err:
            _wait_dead(runtime["pid"], _DYING_S)
            raise ModelServingException(
                f"Deployment {self.name!r} did not answer ({err}); its predictor process may have died: see "
                f"get_logs() and get_state(). Last log lines:\n{self._log_tail(10)}"
            ) from None

    def delete(self, force: bool = False) -> None:
        if not force and not self.is_stopped():
            raise ModelServingException(
                "Deployment not stopped, please stop it first by using `.stop()` or check its status with "
                ".get_state()"
            )
        self.stop()
        shutil.rmtree(self._folder)
        print("Deployment deleted successfully")

    def get_logs(self, component: str = "predictor", tail: int = 10) -> None:
        """Print the predictor's last ``tail`` log lines (prints and returns ``None``, as hsml does)."""
        if component != "predictor":
            raise ValueError(
                f"component {component!r} is not available; the embedded deployments run 'predictor'."
            )
        print(self._log_tail(tail))

    @property
    def _artifacts(self) -> Path:
        return self._folder / ARTIFACTS_DIR

    def _log_tail(self, lines: int) -> str:
        """The log's last lines, the Hopsworks key redacted (a predictor given it through ``env_vars``)."""
        log = self._folder / LOG_FILE
        text = log.read_text(errors="replace") if log.exists() else ""
        return redact("\n".join(text.splitlines()[-lines:]))

    def _set_spec(self, **fields: Any) -> None:
        self._spec.update(fields)
        _write_json(self._folder / SPEC_FILE, self._spec)


class DeployMixin:
    """``hsml.model.Model.deploy``; mixed into the embedded model."""

    def deploy(
        self,
        name: str | None = None,
        description: str | None = None,
        artifact_version: str | None = None,
        serving_tool: str | None = None,
        script_file: str | None = None,
        config_file: str | None = None,
        resources: Any = None,
        inference_logger: Any = None,
        inference_batcher: Any = None,
        scaling_configuration: Any = None,
        transformer: Any = None,
        api_protocol: str | None = "REST",
        environment: str | None = None,
        env_vars: dict | None = None,
    ) -> Deployment:
        """Create the deployment (not started); an existing one of this name and model is returned.

        Resources, scaling, logging and batching configure Kubernetes and are accepted and ignored.
        """
        from serverless_iris.embedded.util import require_defaults

        require_defaults(
            DeployMixin.deploy, config_file=config_file, transformer=transformer, api_protocol=api_protocol
        )
        name = re.sub(r"[^a-zA-Z0-9]", "", self.name) if name is None else name  # _get_default_serving_name
        check_deployment_name(name)
        if self.version is None or self.created is None:
            raise ModelServingException(f"model {self.name!r} is not saved yet; save() it before deploy")
        folder = _deployment_folder(self._store, name)
        if (folder / SPEC_FILE).exists():
            return _existing(Deployment(folder), self)
        script = _script_path(self._store, script_file)
        folder.mkdir(parents=True)
        self.download(str(folder / ARTIFACTS_DIR))
        spec = {
            "name": name,
            "description": description,
            "model_name": self.name,
            "model_version": self.version,
            "script_file": str(script),
            "env_vars": env_vars,
            "started": False,
        }
        _write_json(folder / SPEC_FILE, spec)
        print(f"Deployment created, explore it at {folder}")
        print("Before making predictions, start the deployment by using `.start()`")
        return Deployment(folder)


def check_deployment_name(name: Any) -> str:
    """Letters and digits only (what Hopsworks allows): a name is a folder of the store, never a path."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ModelServingException(f"Deployment name {name!r} is not valid: use letters and digits only.")
    return name


def _deployment_folder(store: Path, name: str) -> Path:
    """``<store>/serving/<name>``, refused when a symbolic link leads it out of the store."""
    root = store / SERVING_DIR
    folder = root / name
    if folder.is_symlink() or not folder.resolve().is_relative_to(root.resolve()):
        raise ModelServingException(
            f"Deployment {name!r}: {folder} is a symbolic link; the embedded store only acts inside {root}."
        )
    return folder


def start_timeout() -> float:
    """Seconds a predictor gets to load and serve: ``IRIS_PREDICTOR_START_TIMEOUT`` or 120."""
    text = os.environ.get(PREDICTOR_START_ENV, "")
    try:
        seconds = float(text) if text else DEFAULT_START_TIMEOUT_S
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise ModelServingException(f"{PREDICTOR_START_ENV}={text!r} is not a positive number of seconds.")
    return seconds


def _existing(deployment: Deployment, model: Any) -> Deployment:
    """``ServingEngine._create`` on a duplicate name: the same model's deployment, or an error."""
    if (deployment.model_name, deployment.model_version) != (model.name, model.version):
        raise ModelServingException(
            f"Deployment with the same name ({deployment.name}) already exists, but it is serving a "
            "different model version. Please, choose a different name."
        )
    print("Deployment with the same name already exists. Getting existing deployment...")
    print("To create a new deployment choose a different name.")
    return deployment


def _script_path(store: Path, script_file: str | None) -> Path:
    """The predictor script: a local file, or a project path (``Resources/...``, ``Models/...``)."""
    if script_file is None:
        raise NotImplementedError(
            "Model.deploy(script_file=None) would use Hopsworks' default predictor, which the embedded "
            "backend does not have: pass script_file, a Python file defining class Predict."
        )
    local = Path(script_file)
    if not local.is_file():
        from serverless_iris.embedded.dataset_api import DatasetApi

        local = DatasetApi(store)._local(str(script_file))
    if not local.is_file():
        raise ModelServingException(f"Predictor script {script_file} not found (locally or in the project).")
    return local.resolve()


def _inference_payload(data: Any, inputs: Any) -> dict:
    """``ServingEngine._validate_inference_payload`` and ``_parse_inference_inputs`` (REST), same messages."""
    if data is not None and inputs is not None:
        raise ModelServingException("Inference data and inputs parameters cannot be provided together.")
    if data is not None:
        _check_data(data)
        return data
    _check_inputs(inputs)
    if isinstance(inputs, dict):
        return {"instances": [inputs]}
    if not isinstance(inputs, list):
        return {"instances": [[inputs]]}
    if any(not isinstance(row, (list, dict)) for row in inputs):
        return {"instances": [inputs]}
    return {"instances": inputs}


def _check_data(data: Any) -> None:
    """``ServingEngine._validate_inference_data`` for REST."""
    if not isinstance(data, dict):
        raise ModelServingException(
            "Inference data must be a dictionary. Otherwise, use the `inputs` parameter."
        )
    if "instances" not in data and "inputs" not in data:
        raise ModelServingException("Inference data is missing 'instances' key.")
    rows = data["instances"] if "instances" in data else data["inputs"]
    if not isinstance(rows, list):
        raise ModelServingException("Instances field should contain a 2-dim list.")
    if len(rows) == 0:
        raise ModelServingException("Inference data cannot contain an empty list.")
    first = rows[0]
    if isinstance(first, list) and len(first) == 0:
        raise ModelServingException("Inference data cannot contain an empty list.")
    if isinstance(first, dict) and len(first) == 0:
        raise ModelServingException("Inference data cannot contain an empty object.")
    if not isinstance(first, (list, dict)):
        raise ModelServingException("Instances field should contain a list of lists or a list of objects.")


def _check_inputs(inputs: Any, recursive_call: bool = False) -> None:
    """``ServingEngine._validate_inference_inputs`` for REST."""
    if isinstance(inputs, list):
        if len(inputs) == 0:
            raise ModelServingException("Inference inputs cannot be an empty list.")
        _check_inputs(inputs[0], recursive_call=True)
    elif not isinstance(inputs, dict) and not recursive_call:
        raise ModelServingException(
            "Inference inputs type is not valid. Supported types are dictionary and list."
        )


def _jsonable(value: Any) -> Any:
    if callable(getattr(value, "tolist", None)):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie child counts as dead)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _runs_folder(pid: int, folder: Path) -> bool:
    """Whether ``pid``'s command line names the deployment folder, as ``start`` gives it (absolute), where
    ``/proc`` tells; elsewhere assumed."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return not Path("/proc/self").exists()
    return os.fsencode(str(folder.resolve())) in command


def _wait_dead(pid: int, seconds: float) -> None:
    """Wait (bounded) for a process seen failing to be gone, so ``get_state()`` then says Failed."""
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(_POLL_S)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_json(path: Path, value: dict) -> None:
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(value, indent=1))
    os.replace(temporary, path)


def _create_json(path: Path, value: dict) -> None:
    """Write ``path`` unless it exists (the predictor may already have written its port there)."""
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(value, indent=1))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


# ------------------------------------------------------------------ the predictor process


def _load_predictor(script: Path) -> Any:
    spec = importlib.util.spec_from_file_location("predictor_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "Predict"):
        raise ModelServingException(
            f"{script} defines no class Predict (the Hopsworks predictor convention)."
        )
    return module.Predict()


def _handler(name: str, predictor: Any) -> type[BaseHTTPRequestHandler]:
    one_at_a_time = threading.Lock()  # requests are read in parallel; the user's predictor runs serially

    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S  # a client that stalls this long is dropped

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            if self.path != f"/v1/models/{name}:predict":
                return self._answer(404, {"error": f"no such endpoint {self.path}"})
            length = self.headers.get("content-length", "0")
            if not length.isdigit():
                return self._answer(400, {"error": f"Content-Length {length!r} is not a number of bytes"})
            if int(length) > MAX_BODY_BYTES:
                return self._answer(
                    413, {"error": f"request body of {length} bytes is over the limit of {MAX_BODY_BYTES}"}
                )
            try:
                raw = self.rfile.read(int(length))
            except TimeoutError:
                return self._answer(408, {"error": f"no request body within {REQUEST_TIMEOUT_S:g} s"})
            try:
                body = json.loads(raw)
                rows = body["instances"] if "instances" in body else body["inputs"]
                with one_at_a_time:
                    answer = {"predictions": predictor.predict(rows)}
                self._answer(200, json.loads(json.dumps(answer, default=_jsonable)))
            except Exception as exc:  # the predictor's error goes back to the caller, the server lives on
                self._answer(500, {"error": f"{type(exc).__name__}: {exc}"})

        def _answer(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if code >= 400 and code != 500:
                self.send_header("connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


class _Redacting:
    """A text stream that writes through :func:`redact`: a predictor handed the key in ``env_vars``
    cannot print it into its log."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(redact(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _serve(folder: Path, timeout: float) -> None:
    """Load the predictor (killed by an alarm if that takes ``timeout`` s), then answer requests on a free
    loopback port until SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the kernel ends the process, whatever the script does
    signal.alarm(math.ceil(timeout))
    sys.stdout, sys.stderr = _Redacting(sys.stdout), _Redacting(sys.stderr)
    spec = json.loads((folder / SPEC_FILE).read_text())
    predictor = _load_predictor(Path(spec["script_file"]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(spec["name"], predictor))
    signal.alarm(0)
    _write_json(folder / RUNTIME_FILE, {"pid": os.getpid(), "port": server.server_address[1]})
    print(f"Predictor {spec['name']} serving on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), float(sys.argv[2]))

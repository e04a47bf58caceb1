"""Questions the runner asks the store before deciding a run's steps: is a model registered (``--daily``
trains first when not), does the iris feature group exist yet (a first run adds today's flower too)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from serverless_iris.runner.plan import MODEL_NAME


class StoreQuestion:
    """A JSON answer about the store, asked without holding up the run.

    ``expression`` is Python over ``project`` (the backend's project). Local backend: the embedded
    store answers in milliseconds, in this process. Hopsworks: logging in takes seconds and prints, so a
    child process asks and only its last line of output is read. The answer is None when it cannot be
    told (no network, a busy store).
    """

    def __init__(self, backend: str, expression: str) -> None:
        self._answer: Any = None
        self._child: subprocess.Popen[str] | None = None
        if backend != "local":
            login = "import json, serverless_iris\nproject = serverless_iris.login()\n"
            code = f"{login}print(json.dumps({expression}))"
            self._child = subprocess.Popen(
                [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            return
        from serverless_iris.backend import local_project

        try:
            self._answer = eval(expression, {"project": local_project()})  # our own constant expression
        except Exception:  # unknown: see the class docstring
            self._answer = None

    def answered(self) -> bool:
        return self._child is None or self._child.poll() is not None

    def result(self, timeout: float = 300) -> Any:
        """The answer (waiting for the child up to ``timeout`` s); None when unknown."""
        if self._child is not None:
            child, self._child = self._child, None
            try:
                output, _ = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
                return None
            last = output.strip().splitlines()[-1:] if child.returncode == 0 else []
            try:
                self._answer = json.loads(last[0]) if last else None
            except ValueError:
                self._answer = None
        return self._answer


class ModelVersions(StoreQuestion):
    """The registered versions of model ``iris``, oldest first."""

    def __init__(self, backend: str) -> None:
        models = f"project.get_model_registry().get_models({MODEL_NAME!r}) or []"
        super().__init__(backend, f"sorted(int(m.version) for m in {models})")


class FeatureGroupMissing(StoreQuestion):
    """Whether feature group ``iris`` of ``version`` does not exist yet: the store holds no flower."""

    def __init__(self, backend: str, version: int) -> None:
        super().__init__(
            backend, f"project.get_feature_store().get_feature_group('iris', version={version!r}) is None"
        )

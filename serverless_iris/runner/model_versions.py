"""Which versions of model ``iris`` are registered: what ``--daily`` asks before it decides to train."""

from __future__ import annotations

import json
import subprocess
import sys

from serverless_iris.runner.plan import MODEL_NAME


class ModelVersions:
    """The registered versions of model ``iris``, asked without holding up the run.

    Local backend: the embedded registry answers in milliseconds. Hopsworks: logging in takes seconds
    and prints, so a child process asks (for --daily, while the feature notebook runs) and only its
    last line of output is read. The answer is None when it cannot be told (no network, a busy store).
    """

    _CODE = (
        "import json, serverless_iris\n"
        f"models = serverless_iris.login().get_model_registry().get_models({MODEL_NAME!r}) or []\n"
        "print(json.dumps([int(m.version) for m in models]))"
    )

    def __init__(self, backend: str) -> None:
        self._answer: list[int] | None = None
        self._child: subprocess.Popen[str] | None = None
        if backend != "local":
            self._child = subprocess.Popen(
                [sys.executable, "-c", self._CODE],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            return
        from serverless_iris.backend import local_project

        try:
            models = local_project().get_model_registry().get_models(MODEL_NAME)
            self._answer = sorted(int(m.version) for m in models)
        except Exception:  # unknown: see the class docstring
            self._answer = None

    def answered(self) -> bool:
        return self._child is None or self._child.poll() is not None

    def result(self, timeout: float = 300) -> list[int] | None:
        """The versions, oldest first (waiting for the child up to ``timeout`` s); None when unknown."""
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
                self._answer = sorted(int(v) for v in json.loads(last[0])) if last else None
            except (ValueError, TypeError):
                self._answer = None
        return self._answer

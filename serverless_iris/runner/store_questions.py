"""Questions the runner asks the store while a run goes: is a model registered (``--daily`` trains first
when not), and does the store hold only the backfill (then today's flower is added)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from serverless_iris.paths import QUESTION_TIMEOUT_ENV, timeout
from serverless_iris.runner.plan import MODEL_NAME


def model_versions(project: Any) -> list[int]:
    """The registered versions of model ``iris``, oldest first."""
    return sorted(int(m.version) for m in project.get_model_registry().get_models(MODEL_NAME) or [])


def only_backfilled(project: Any, version: int) -> bool:
    """Whether feature group ``iris`` exists and holds only the backfill (the rule the notebook uses)."""
    from serverless_iris.helpers.backfill import holds_only_backfill

    return holds_only_backfill(project.get_feature_store().get_feature_group("iris", version=version))


def warm_up(backend: str) -> None:
    """Import what asking the embedded store takes (pandas, DuckDB, its feature store), opening nothing."""
    if backend == "local":
        from serverless_iris.backend import local_project

        local_project().get_feature_store()


class StoreQuestion:
    """``question(project, *args)`` (a function of this module, JSON answer), asked without holding up
    the run.

    Local backend: the embedded store answers in milliseconds, in this process. Hopsworks: logging in
    takes seconds and prints, so a child process asks and only its last line of output is read. The
    answer is None when it cannot be told (no network, a busy store).
    """

    def __init__(self, backend: str, question: Any, *args: Any) -> None:
        self._answer: Any = None
        self._child: subprocess.Popen[str] | None = None
        if backend != "local":
            code = (
                f"import json, serverless_iris\nfrom {__name__} import {question.__name__} as ask\n"
                f"print(json.dumps(ask(serverless_iris.login(), *{args!r})))"
            )
            self._child = subprocess.Popen(
                [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            return
        from serverless_iris.backend import local_project

        try:
            self._answer = question(local_project(), *args)
        except Exception:  # unknown: see the class docstring
            self._answer = None

    def answered(self) -> bool:
        return self._child is None or self._child.poll() is not None

    def result(self) -> Any:
        """The answer, waiting for the child up to ``IRIS_STORE_QUESTION_TIMEOUT`` seconds; None when
        unknown (then the child is killed)."""
        if self._child is not None:
            wait = timeout(QUESTION_TIMEOUT_ENV)
            child, self._child = self._child, None
            try:
                output, _ = child.communicate(timeout=wait)
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

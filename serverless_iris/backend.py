"""Backend selection: real Hopsworks when a key is set, else the embedded DuckDB store.

``IRIS_BACKEND=local|hopsworks`` forces a choice. The Hopsworks key is read by the SDK from
the environment; it never passes through a notebook parameter, and it is scrubbed from any
error this module re-raises.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from serverless_iris.paths import BACKEND_ENV, store_path

BACKENDS = ("local", "hopsworks")
KEY_ENV = "HOPSWORKS_API_KEY"
HOST_ENV, PROJECT_ENV = "HOPSWORKS_HOST", "HOPSWORKS_PROJECT"
SAAS_HOST = "eu-west.cloud.hopsworks.ai"  # hopsworks.login()'s host when HOPSWORKS_HOST is unset (5.2.1)

_announced: set[str] = set()


class BackendError(RuntimeError):
    """The backend could not be chosen or reached."""


def selected_backend() -> str:
    """``IRIS_BACKEND`` when set, else ``hopsworks`` if ``HOPSWORKS_API_KEY`` is set, else ``local``."""
    chosen = os.environ.get(BACKEND_ENV, "").strip().lower()
    if chosen:
        if chosen not in BACKENDS:
            raise BackendError(
                f"{BACKEND_ENV}={chosen!r} is not a backend; use one of: {', '.join(BACKENDS)}"
            )
        return chosen
    return "hopsworks" if os.environ.get(KEY_ENV) else "local"


def describe_store(store: Path) -> str:
    try:
        return str(store.relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(store)


def store_record(backend: str) -> dict[str, str | None]:
    """Which store a run uses, for run.json and the dashboard: the embedded store's folder, or the
    Hopsworks host and project ``hopsworks.login()`` reads from the environment (never the key)."""
    if backend == "local":
        return {"backend": backend, "path": str(store_path())}
    return {
        "backend": backend,
        "host": os.environ.get(HOST_ENV) or SAAS_HOST,
        "project": os.environ.get(PROJECT_ENV) or None,  # None: the key's default project
    }


def describe_store_record(record: dict[str, str | None]) -> str:
    """``local store /path`` or ``Hopsworks host/project``, as the console and the dashboard say it."""
    if record.get("backend") == "local":
        return f"local store {record.get('path')}"
    project = record.get("project") or "the key's default"
    return f"Hopsworks {record.get('host')}, project {project}"


def redact(text: str) -> str:
    """Remove the Hopsworks key from ``text`` (errors from the SDK may echo what it sent)."""
    key = os.environ.get(KEY_ENV)
    return text.replace(key, "***") if key else text


def _announce(line: str) -> None:
    if line not in _announced:
        _announced.add(line)
        print(line, file=sys.stdout, flush=True)


def login(**kwargs: Any) -> Any:
    """Return a project: ``hopsworks.login(**kwargs)`` or the embedded :class:`LocalProject`."""
    backend = selected_backend()
    if backend == "hopsworks":
        return _hopsworks_login(**kwargs)
    project = local_project()
    _announce(f"backend: local (store: {describe_store(project.store)})")
    return project


def local_project() -> Any:
    """The embedded project on the store ``IRIS_STORE`` names, without announcing it."""
    from serverless_iris.embedded.project import LocalProject

    return LocalProject(store_path())


def _hopsworks_login(**kwargs: Any) -> Any:
    import hopsworks  # heavy: only on this path

    try:
        project = hopsworks.login(**kwargs)
    except Exception as exc:  # the SDK raises many types; keep the type's name, drop the key
        where = describe_store_record(store_record("hopsworks"))
        raise BackendError(
            redact(
                f"Hopsworks login failed: {type(exc).__name__}: {exc} -- check the host and project "
                f"({where}; {HOST_ENV}, {PROJECT_ENV}), the network, and that {KEY_ENV} is a key for "
                f"them; to run offline on the embedded store, set {BACKEND_ENV}=local"
            )
        ) from None
    _announce(f"backend: hopsworks (project: {getattr(project, 'name', '?')})")
    return project

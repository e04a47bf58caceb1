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

REPO_ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("local", "hopsworks")
KEY_ENV = "HOPSWORKS_API_KEY"

_announced: set[str] = set()


class BackendError(RuntimeError):
    """The backend could not be chosen or reached."""


def selected_backend() -> str:
    """``IRIS_BACKEND`` when set, else ``hopsworks`` if ``HOPSWORKS_API_KEY`` is set, else ``local``."""
    chosen = os.environ.get("IRIS_BACKEND", "").strip().lower()
    if chosen:
        if chosen not in BACKENDS:
            raise BackendError(f"IRIS_BACKEND={chosen!r} is not a backend; use one of: {', '.join(BACKENDS)}")
        return chosen
    return "hopsworks" if os.environ.get(KEY_ENV) else "local"


def store_path() -> Path:
    """The embedded store's folder: ``IRIS_STORE`` or ``store/`` at the repository root (git-ignored)."""
    return Path(os.environ.get("IRIS_STORE") or REPO_ROOT / "store").resolve()


def describe_store(store: Path) -> str:
    try:
        return str(store.relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(store)


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
    store = store_path()
    _announce(f"backend: local (store: {describe_store(store)})")
    return LocalProject(store)


def _hopsworks_login(**kwargs: Any) -> Any:
    import hopsworks  # heavy: only on this path

    try:
        project = hopsworks.login(**kwargs)
    except Exception as exc:  # the SDK raises many types; keep the type's name, drop the key
        raise BackendError(redact(f"Hopsworks login failed: {type(exc).__name__}: {exc}")) from None
    _announce(f"backend: hopsworks (project: {getattr(project, 'name', '?')})")
    return project


class LocalProject:
    """The embedded counterpart of ``hopsworks.project.Project``."""

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self.name = "local"

    def __repr__(self) -> str:
        return f"LocalProject(store={str(self.store)!r})"

    def get_feature_store(self, name: str | None = None) -> Any:
        from serverless_iris.feature_store import FeatureStore

        return FeatureStore(self.store, name=name)

    def get_model_registry(self) -> Any:
        from serverless_iris.model_registry import ModelRegistry

        return ModelRegistry(self.store)

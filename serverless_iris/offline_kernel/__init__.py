"""The "Python 3 (embedded Hopsworks)" kernel: ``hopsworks.login()`` answered by the embedded store.

Every notebook written for Hopsworks starts with ``import hopsworks; project = hopsworks.login()``. In this
kernel that call returns the project :func:`serverless_iris.login` returns, whatever arguments it is given,
and the SDK's older entry points (``hopsworks.connection()``, ``hsfs.connection()``, ``hsml.connection()``)
return an embedded connection to the same store, so such a notebook runs offline unchanged. The choice is
made at each call by :func:`~serverless_iris.backend.selected_backend`: with ``HOPSWORKS_API_KEY`` set or
``IRIS_BACKEND=hopsworks`` the SDK's own functions run, as they are.

``python -m serverless_iris.offline_kernel -f FILE`` (the kernel spec's argv, see :func:`kernel_spec`)
calls :func:`install` and starts ipykernel. Nothing is imported until the notebook imports ``hopsworks`` or
the SDK's connection module: an import hook patches each as it loads (one already loaded, as in a kernel
forked from the runner's fork server, is patched at once).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import inspect
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

KERNEL_NAME = "serverless-iris"
DISPLAY_NAME = "Python 3 (embedded Hopsworks)"
LAUNCHER = ["-m", "serverless_iris.offline_kernel"]  # what the kernel spec runs after the interpreter
EMBEDDED = "_serverless_iris_embedded"  # set on a patched function: patching twice changes nothing


def kernel_spec() -> dict[str, Any]:
    """The kernel.json that jupyter-config/ installs (a test holds the shipped file to this).

    ``python`` as the first word: jupyter_client replaces it with the interpreter that runs Jupyter, as
    for ipykernel's own spec, so the kernel runs on the environment it was installed into.
    """
    return {
        "argv": ["python", *LAUNCHER, "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "metadata": {"debugger": True},
    }


def install() -> None:
    """Patch the SDK's entry points in this process: now where loaded, else as they are imported."""
    for name, patch in PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    if not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


def _announce(store: Any) -> None:
    from serverless_iris.backend import KEY_ENV, describe_store

    print(
        f"Embedded Hopsworks stand-in, store {describe_store(store)} (offline, not Hopsworks; "
        f"set {KEY_ENV} to use Hopsworks)",
        flush=True,
    )


def _check(sdk: Callable[..., Any], signature: inspect.Signature, args: Any, kwargs: Any) -> dict[str, Any]:
    """The arguments by name; the TypeError calling the SDK's ``sdk`` with arguments it does not take
    would raise, e.g. ``login() got an unexpected keyword argument 'key'``."""
    try:
        return signature.bind(*args, **kwargs).arguments
    except TypeError as exc:
        raise TypeError(f"{sdk.__qualname__}() {exc}") from None


def _embedded_backend() -> bool:
    from serverless_iris.backend import selected_backend

    return selected_backend() == "local"


def _patch_hopsworks(module: ModuleType) -> None:
    """``hopsworks.login``: the embedded project, or the SDK's login when the backend is Hopsworks."""
    sdk_login = module.login
    if getattr(sdk_login, EMBEDDED, False):
        return
    signature = inspect.signature(sdk_login)

    @functools.wraps(sdk_login)
    def login(*args: Any, **kwargs: Any) -> Any:
        if not _embedded_backend():
            return sdk_login(*args, **kwargs)
        _check(sdk_login, signature, args, kwargs)
        from serverless_iris.backend import local_project

        project = local_project()
        module._connected_project = project  # what hopsworks.get_current_project() returns
        _announce(project.store)
        return project

    setattr(login, EMBEDDED, True)
    module.login = login


def _patch_connection(module: ModuleType) -> None:
    """``Connection._connection``, behind ``hopsworks.connection()``, ``hsfs.connection()`` and
    ``hsml.connection()``: an embedded connection, or the SDK's when the backend is Hopsworks."""
    sdk_class = module.Connection
    sdk_factory = sdk_class._connection  # bound to the class
    if getattr(sdk_factory, EMBEDDED, False):
        return
    signature = inspect.signature(sdk_factory)

    @functools.wraps(sdk_factory.__func__)
    def _connection(owner: type, *args: Any, **kwargs: Any) -> Any:
        if not _embedded_backend():
            return sdk_factory(*args, **kwargs)
        arguments = _check(sdk_factory, signature, args, kwargs)
        from serverless_iris.embedded.connection import Connection

        connection = Connection(**arguments)
        _announce(connection._get_project().store)
        return connection

    setattr(_connection, EMBEDDED, True)
    sdk_class._connection = classmethod(_connection)


PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "hopsworks": _patch_hopsworks,
    "hopsworks_common.connection": _patch_connection,
}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds the modules of :data:`PATCHES` as the other finders would, and patches each once loaded."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = PATCHES.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


class _PatchingLoader(importlib.abc.Loader):
    """Runs a module's own loader, then its patch; anything else is asked of the module's loader."""

    def __init__(self, loader: Any, patch: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._patch = patch

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._patch(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

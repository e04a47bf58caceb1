"""serverless-iris: the serverless-ML iris pipelines as a papermill notebook suite.

``login()`` returns a Hopsworks project, or the embedded DuckDB-backed one when no Hopsworks key is
set. The notebooks call ``hopsworks.login()`` instead, as the course does: in their kernel
(:mod:`serverless_iris.offline_kernel`) it makes the same choice. Imports stay lazy so ``import
serverless_iris`` costs nothing.
"""

from __future__ import annotations

from typing import Any


def login(**kwargs: Any) -> Any:
    """Log in to the backend chosen by the environment; see :func:`serverless_iris.backend.login`."""
    from serverless_iris.backend import login as _login

    return _login(**kwargs)


__all__ = ["login"]

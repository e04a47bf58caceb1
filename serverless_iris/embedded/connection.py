"""The embedded counterpart of ``hopsworks_common.connection.Connection``.

What ``hopsworks.connection()``, ``hsfs.connection()`` and ``hsml.connection()`` return in the embedded
kernel (:mod:`serverless_iris.offline_kernel`), so that notebooks written for the SDK's older entry point
reach the same store as ``hopsworks.login()``. In 5.2.1 the connection's ways to a store are private
(``_get_feature_store``, ``_get_model_registry``, ``_get_model_serving``, ``_get_project``): the SDK's
``Project`` calls them; a public ``get_feature_store`` is gone, here as there.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from serverless_iris.embedded.project import LocalProject
from serverless_iris.paths import store_path

CERT_FOLDER_DEFAULT = "/tmp"  # hopsworks_common.constants.CLIENT.CERT_FOLDER_DEFAULT


class Connection:
    """A connection that is always open, to the embedded store ``IRIS_STORE`` names.

    It takes the SDK's arguments (host, key, ...) and keeps them for its properties; none is used.
    """

    # hopsworks_common.connection.Connection.__init__
    def __init__(
        self,
        host: str | None = None,
        port: int = 443,
        project: str | None = None,
        engine: str | None = None,
        hostname_verification: bool = False,
        trust_store_path: str | None = None,
        cert_folder: str = CERT_FOLDER_DEFAULT,
        api_key_file: str | None = None,
        api_key_value: str | None = None,
    ) -> None:
        self._host, self._port, self._project = host, port, project
        self._engine = engine
        self._hostname_verification = hostname_verification
        self._trust_store_path, self._cert_folder = trust_store_path, cert_folder
        self._api_key_file, self._api_key_value = api_key_file, api_key_value
        self._local = LocalProject(store_path())

    def __repr__(self) -> str:
        return f"Connection(embedded store={str(self._local.store)!r})"

    host = property(lambda self: self._host)
    port = property(lambda self: self._port)
    project = property(lambda self: self._project)
    hostname_verification = property(lambda self: self._hostname_verification)
    trust_store_path = property(lambda self: self._trust_store_path)
    cert_folder = property(lambda self: self._cert_folder)
    api_key_file = property(lambda self: self._api_key_file)
    api_key_value = property(lambda self: self._api_key_value)

    # hopsworks_common.connection.Connection._get_feature_store
    def _get_feature_store(self, name: str | None = None) -> Any:
        return self._local.get_feature_store(name)

    # hopsworks_common.connection.Connection._get_model_registry: one registry, no shared ones
    def _get_model_registry(self, project: str | None = None) -> Any:
        return self._local.get_model_registry()

    # hopsworks_common.connection.Connection._get_model_serving
    def _get_model_serving(self) -> Any:
        return self._local.get_model_serving()

    # hopsworks_common.connection.Connection._get_project: the one embedded project, whatever its name
    def _get_project(self, name: str | None = None) -> LocalProject:
        return self._local

    def _close(self) -> None:
        """Nothing to release: the store is opened and closed by each call."""

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

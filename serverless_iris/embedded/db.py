"""The embedded store's one DuckDB file.

Every operation opens a short connection and closes it again, so a notebook left open in
Jupyter never blocks a scheduled run. DuckDB lets one process write a file at a time; a
second writer waits here (bounded) instead of failing at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from serverless_iris.errors import StoreBusyError
from serverless_iris.paths import LOCK_TIMEOUT_ENV, STORE_ENV, lock_timeout

__all__ = ["DB_FILE", "StoreBusyError", "connect", "db_path", "transaction"]

DB_FILE = "feature_store.duckdb"


def db_path(store: Path) -> Path:
    return Path(store) / DB_FILE


@contextmanager
def connect(store: Path, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store's database, waiting up to ``timeout`` seconds while another process holds it."""
    path = db_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    wait = lock_timeout() if timeout is None else timeout
    deadline = time.monotonic() + wait
    delay = 0.02
    while True:
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"another run holds the store {path} (waited {wait:g} s). Wait for it to finish, "
                    f"raise {LOCK_TIMEOUT_ENV}, or point {STORE_ENV} at another folder."
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(store: Path, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection inside one transaction: everything in the block is written, or nothing is."""
    with connect(store, timeout) as con:
        con.begin()
        try:
            yield con
        except BaseException:
            con.rollback()
            raise
        con.commit()

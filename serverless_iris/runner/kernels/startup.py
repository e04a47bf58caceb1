"""Start-up time shared by the runner, the fork server and every kernel they start."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

REMOTE_IO = ("boto3", "pyarrow", "azure", "gcsfs", "github")  # papermill's S3, HDFS, Azure, GCS, GitHub


def skip_unused_grammar() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in this process.

    jsonschema (imported through nbformat, also by ``dataframe_image`` in the notebooks) builds that
    package's IRI grammar at import, at a cost in CPU, only to check the ``iri`` string format,
    which no schema here uses. A ``None`` entry in ``sys.modules`` makes that import fail, and
    jsonschema skips that one checker. Once jsonschema is imported it is too late, and nothing changes.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]


@contextmanager
def without_remote_io() -> Iterator[None]:
    """Import papermill inside this block: without the clients of remote stores it never uses here.

    papermill's ``iorw`` imports, when it is imported, the client of every remote store it can read and
    write notebooks from (:data:`REMOTE_IO`), which costs CPU; the runner reads and writes
    local files only. Inside the block those imports fail as for a missing package (papermill then
    leaves that store out); after it, nothing is kept from importing them (a package already imported
    is not touched).
    """
    blocked = [name for name in REMOTE_IO if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]

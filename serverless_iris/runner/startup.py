"""Start-up time shared by the runner, the fork server and every kernel they start."""

from __future__ import annotations

import sys


def skip_unused_grammar() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in this process.

    jsonschema (imported through nbformat, also by ``dataframe_image`` in the notebooks) builds that
    package's IRI grammar at import, about a second of CPU, only to check the ``iri`` string format,
    which no schema here uses. A ``None`` entry in ``sys.modules`` makes that import fail, and
    jsonschema skips that one checker. Once jsonschema is imported it is too late, and nothing changes.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

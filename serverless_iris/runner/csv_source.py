"""``-p IRIS_CSV=...``: the dataset a user names is loaded, so it must be readable before anything runs.

papermill would pass any text to the feature notebook, which reads the file only in a backfill: a typo
or an unreachable URL, or a file given without a backfill, would be noticed (if at all) inside a report.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

SOURCE = "IRIS_CSV"  # the feature notebook's parameter naming the dataset a backfill loads
URL_SCHEMES = ("http", "https", "ftp", "file")  # what both urllib (here) and pandas (the notebook) read
URL_TIMEOUT_S = 15


class SourceError(ValueError):
    """The dataset cannot be read; the message names it and why."""


def readable_source(given: object) -> str:
    """``given`` as the notebook should get it (a path made absolute, or the URL), once a byte was read.

    The path is resolved from the working directory the command was typed in: the notebook's kernel
    runs in the notebooks' folder.
    """
    text = str(given).strip()
    scheme = urlsplit(text).scheme.lower()
    if scheme in URL_SCHEMES:
        try:
            with urllib.request.urlopen(text, timeout=URL_TIMEOUT_S) as response:
                first = response.read(1)
        except (OSError, ValueError) as exc:
            raise SourceError(
                f"-p {SOURCE}={text}: cannot be read: {getattr(exc, 'reason', None) or exc}"
            ) from None
        where = text
    elif len(scheme) > 1:  # one letter is a Windows drive
        raise SourceError(
            f"-p {SOURCE}={text}: unsupported URL scheme {scheme!r}; give a file path or a "
            f"{', '.join(URL_SCHEMES)} URL"
        )
    else:
        path = Path(text).expanduser().resolve()
        try:
            with path.open("rb") as handle:
                first = handle.read(1)
        except OSError as exc:
            raise SourceError(f"-p {SOURCE}={text}: cannot be read: {exc.strerror or exc} ({path})") from None
        where = str(path)
    if not first:
        raise SourceError(f"-p {SOURCE}={text}: the file is empty; expected the iris CSV with its header row")
    return where

"""Backend selection: real Hopsworks when a key is set, else the embedded DuckDB store.

``IRIS_BACKEND=local|hopsworks`` forces a choice. The Hopsworks key is read by the SDK from
the environment; it never passes through a notebook parameter, and it is scrubbed from any
error this module re-raises.
"""

from __future__ import annotations

import base64
import os
import re
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from serverless_iris.paths import BACKEND_ENV, LOGIN_TIMEOUT_ENV, REQUEST_TIMEOUT_ENV, store_path, timeout

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


MIN_KEY_LENGTH = 16  # shorter keys cannot be told apart from ordinary text, so cannot be scrubbed
MIN_KEY_DISTINCT = 8  # nor can a long run of a few characters (``aaaa...``)
SCRUB_WINDOW = 16  # a run of this many characters of the key, or of an encoded form, counts as a leak
HIDDEN = "***"


def key_problem(key: str | None = None) -> str | None:
    """Why ``HOPSWORKS_API_KEY`` (or ``key``) cannot be scrubbed safely from outputs, or None when it can.

    Every occurrence of the key in an output is replaced; a short or repetitive key (``cell``, ``aaaa...``)
    would replace ordinary text too and break the executed notebook, so it is refused instead.
    """
    key = os.environ.get(KEY_ENV) if key is None else key
    if not key:
        return None
    if len(key) < MIN_KEY_LENGTH or len(set(key)) < MIN_KEY_DISTINCT:
        return (
            f"{KEY_ENV} has {len(key)} characters, {len(set(key))} of them different; the runner "
            f"scrubs the key from every output, and a key shorter than {MIN_KEY_LENGTH} characters or with "
            f"fewer than {MIN_KEY_DISTINCT} different ones would also mask ordinary text. Set the whole "
            f"Hopsworks API key, or unset {KEY_ENV} to use the embedded store"
        )
    return None


def key_forms(key: str) -> list[str]:
    """The key as a leak may show it: plain, URL-encoded, and base64 (standard and URL-safe) at each of
    the three alignments it can take inside longer encoded text (the characters that depend on what
    precedes or follows are left out)."""
    raw = key.encode()
    forms = {key, quote(key, safe=""), quote(key)}
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + raw + b"\0\0").decode()
            start = -(-offset * 4 // 3) + (1 if offset else 0)
            end = (offset + len(raw)) * 4 // 3
            forms.add(encoded[start:end])
    return sorted(f for f in forms if len(f) >= SCRUB_WINDOW)


@lru_cache(maxsize=4)
def _leak_finder(key: str) -> tuple[frozenset[str], re.Pattern[str]]:
    """The pieces of half a window every leak of ``key`` contains at an offset that is a multiple of
    their length (a cheap first look), and the pattern of every window (a trie, so matching stays linear)."""
    forms = key_forms(key)
    half = SCRUB_WINDOW // 2
    pieces = frozenset(form[i : i + half] for form in forms for i in range(len(form) - half + 1))
    windows = {form[i : i + SCRUB_WINDOW] for form in forms for i in range(len(form) - SCRUB_WINDOW + 1)}
    return pieces, re.compile(_trie(windows))


def _trie(words: set[str]) -> str:
    """A regular expression matching any of ``words``, shared prefixes written once."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return pattern(trie)


def redact(text: str) -> str:
    """Remove the Hopsworks key from ``text``: the key, any part of it of :data:`SCRUB_WINDOW` characters
    or more, and its URL-encoded and base64 forms (errors from the SDK and cells' outputs may echo any)."""
    key = os.environ.get(KEY_ENV)
    if not key or len(key) < SCRUB_WINDOW:  # refused at the runner's start (key_problem)
        return text.replace(key, HIDDEN) if key else text
    pieces, pattern = _leak_finder(key)
    half = len(next(iter(pieces)))
    if not any(text[i : i + half] in pieces for i in range(0, len(text), half)):
        return text
    spans: list[list[int]] = []
    position = 0
    while (found := pattern.search(text, position)) is not None:  # overlapping windows make one span
        start, end = found.span()
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
        position = start + 1
    pieces_out, last = [], 0
    for start, end in spans:
        pieces_out += [text[last:start], HIDDEN]
        last = end
    return "".join([*pieces_out, text[last:]])


def without_key(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child that does not talk to Hopsworks (the local backend's kernels): no key."""
    return {name: value for name, value in env.items() if name != KEY_ENV}


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
    """``hopsworks.login`` within ``IRIS_LOGIN_TIMEOUT`` seconds, its later calls within
    ``IRIS_REQUEST_TIMEOUT`` each: the SDK sends without a timeout, so a host that accepts the connection
    and never answers would hold the run forever."""
    import hopsworks  # heavy: only on this path

    where = describe_store_record(store_record("hopsworks"))
    limit = timeout(LOGIN_TIMEOUT_ENV)
    outcome: dict[str, Any] = {}

    def attempt() -> None:
        try:
            outcome["project"] = hopsworks.login(**kwargs)
        except Exception as exc:  # the SDK raises many types; reported below
            outcome["error"] = exc

    worker = threading.Thread(target=attempt, name="hopsworks-login", daemon=True)  # a hung one is left
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise BackendError(
            redact(
                f"Hopsworks login did not finish within {limit:g} s ({LOGIN_TIMEOUT_ENV}): {where} gave "
                f"no answer in time -- check {HOST_ENV} and the network, raise {LOGIN_TIMEOUT_ENV} for a "
                f"slow link, or set {BACKEND_ENV}=local to run offline on the embedded store"
            )
        )
    if "error" in outcome:
        exc = outcome["error"]
        raise BackendError(
            redact(
                f"Hopsworks login failed: {type(exc).__name__}: {exc} -- check the host and project "
                f"({where}; {HOST_ENV}, {PROJECT_ENV}), the network, and that {KEY_ENV} is a key for "
                f"them; to run offline on the embedded store, set {BACKEND_ENV}=local"
            )
        ) from None
    project = outcome["project"]
    _bound_requests(timeout(REQUEST_TIMEOUT_ENV))
    _announce(f"backend: hopsworks (project: {getattr(project, 'name', '?')})")
    return project


def _bound_requests(seconds: float) -> None:
    """Give every request of the SDK's client that sets no timeout ``seconds`` to connect and for each
    block of the answer (``requests``' meaning of a timeout)."""
    from hopsworks_common import client

    session = getattr(client._client, "_session", None)  # the client login made (hopsworks_common.client)
    if session is None or getattr(session.send, "bounded", False):
        return
    send = session.send

    def bounded(request: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = seconds
        return send(request, **kwargs)

    bounded.bounded = True  # type: ignore[attr-defined]
    session.send = bounded

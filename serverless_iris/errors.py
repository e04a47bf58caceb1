"""Errors that more than one room raises or catches."""

from __future__ import annotations


class StoreBusyError(RuntimeError):
    """Another process held the embedded store for longer than ``IRIS_LOCK_TIMEOUT``."""

"""Ctrl-C and SIGTERM during a run: both interrupt it, and neither lands half-way through a record."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """SIGTERM interrupts like Ctrl-C: a ``KeyboardInterrupt`` that says which signal it was.

    Only the first signal raises: the run is stopping from then on, and a second Ctrl-C (or a SIGTERM
    after a Ctrl-C) must not cut short the stopping of its kernels or the writing of its record.
    """
    raised: list[str] = []

    def interrupt(signum: int, frame: Any) -> None:
        if raised:
            return
        raised.append(signal.Signals(signum).name)
        exc = KeyboardInterrupt()
        exc.signal_name = raised[0]  # type: ignore[attr-defined]
        raise exc

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C/SIGTERM while kernels are stopped and records written, so neither is left half done."""
    signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

"""SIGTERM as a clean exit: ``finally`` blocks run (temporary data removed, workers stopped)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["sigterm_exits_cleanly"]


def _exit(signum: int, frame: object) -> None:  # noqa: ARG001
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_exits_cleanly() -> Iterator[None]:
    """While inside, SIGTERM raises ``SystemExit(143)`` in the main thread instead of killing the process.

    Python's default for SIGTERM ends the process without running ``finally``
    blocks, which would leave the executor's temporary data copy behind. A
    handler the program installed itself is left alone, and so is a call from
    another thread (only the main thread may set handlers).
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

"""SIGINT and SIGTERM as an exception (``Interrupted``) that can be held back while files are written
(``with signals.held():``): an interrupted run never leaves a model that ``--resume`` cannot continue.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A SIGINT or SIGTERM arrived. A ``BaseException`` (like ``KeyboardInterrupt``), so that
    ``except Exception`` on the way up does not swallow it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Signals:
    """The handler of SIGINT and SIGTERM while ``caught_signals`` is active."""

    def __init__(self) -> None:
        self.holding = False
        self.pending: int | None = None

    def handle(self, signum: int, frame: object) -> None:
        if self.holding:
            self.pending = self.pending or signum
        else:
            raise Interrupted(signum)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold signals back in this block; the first one that came is raised at its end."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending is not None:
            signum, self.pending = self.pending, None
            raise Interrupted(signum)


@contextmanager
def handled(handler: Callable[[int, object], object]) -> Iterator[None]:
    """``handler`` for SIGINT and SIGTERM in the block, the previous handlers after it. Python delivers signals
    to the main thread only: elsewhere (training in a worker thread) the handlers stay as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@contextmanager
def caught_signals() -> Iterator[Signals]:
    """SIGINT and SIGTERM raise ``Interrupted`` inside the block (where ``handled`` installs handlers)."""
    signals = Signals()
    with handled(signals.handle):
        yield signals

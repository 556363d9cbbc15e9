"""Texts that arrive slowly, in groups: how ``Tagger.pipe`` batches a stream (a queue, a socket) so that no text
waits for texts still to come. A group is given when it is full, when the stream pauses (``reader.PAUSE``
without a text) or when its first text has waited ``chunks.MAX_WAIT``. A thread takes the texts from the stream,
one when one is wanted (never more than a group ahead)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from itertools import islice

from tagger.data.chunks import MAX_WAIT
from tagger.data.reader import PAUSE

__all__ = ["groups"]

_END = object()  # the stream of texts ended (or failed)


def groups(texts: Iterator[str], size: int, waits: bool = True) -> Iterator[list[str]]:
    """Groups of up to ``size`` texts, in order; ``waits`` False (texts in memory): full groups."""
    if not waits:
        return iter(lambda: list(islice(texts, size)), [])
    return _arriving_groups(texts, size)


class _Arrivals:
    """The texts of an iterator, taken in a thread one at a time when one is asked for, so that the
    caller can wait for the next with a time limit."""

    def __init__(self, texts: Iterator[str]):
        self._texts = texts
        self._asked = threading.Semaphore(0)
        self._given: queue.Queue = queue.Queue()
        self._stopped = False
        threading.Thread(target=self._take, name="tagger-pipe", daemon=True).start()

    def _take(self) -> None:
        while True:
            self._asked.acquire()
            if self._stopped:
                return
            try:
                text = next(self._texts)
            except StopIteration:
                self._given.put((_END, None))
                return
            except BaseException as error:  # raised to the caller after the texts before it are grouped
                self._given.put((_END, error))
                return
            self._given.put((text, None))

    def ask(self) -> None:
        self._asked.release()

    def get(self, timeout: float | None) -> tuple[object, BaseException | None]:
        """The next text, or ``_END`` and the iterator's error (if it failed); ``queue.Empty`` after ``timeout``."""
        return self._given.get(timeout=timeout)

    def stop(self) -> None:
        self._stopped = True
        self._asked.release()


def _arriving_groups(texts: Iterator[str], size: int) -> Iterator[list[str]]:
    arrivals = _Arrivals(texts)
    asked = False  # a text was asked for and has not come yet: it opens the next group
    try:
        while True:
            group: list[str] = []
            started = 0.0
            while len(group) < size:
                if not asked:
                    arrivals.ask()
                    asked = True
                limit = None if not group else max(0.0, min(PAUSE, started + MAX_WAIT - time.monotonic()))
                try:
                    text, error = arrivals.get(limit)
                except queue.Empty:
                    break
                asked = False
                if text is _END:
                    if group:
                        yield group
                    if error is not None:
                        raise error
                    return
                started = started or time.monotonic()
                group.append(text)
            yield group
    finally:
        arrivals.stop()

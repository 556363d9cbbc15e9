"""Cutting input into chunks: the windows ``read_windows`` reads and the chunks ``tag --jobs`` hands its workers.

A chunk is full at a number of items or ``WINDOW_CHARS`` of input, and cut short where slow input pauses or its
first item waited ``MAX_WAIT``. For a model that reads context, a chunk ends only where a document ends (blank
lines, ``-DOCSTART-``, or ``DOC_MAX`` items), unless slow input cuts it.
"""

from __future__ import annotations

import math
import os
import stat
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from typing import BinaryIO, TypeVar

from tagger.data.arrays import DOC_MAX

WINDOW_CHARS = 1 << 18  # characters of input lines per window at most (a window holds at least one line)
MAX_WAIT = 0.5  # seconds a window's first line waits for the window to fill (input that never pauses
# but trickles in, a line every few milliseconds, is still answered soon)
BLANK = " \t\r\n\f\v"  # a line of only these is blank (as ``reader.split_token_line`` reads one): it ends a document

Item = TypeVar("Item")

pair_starts = itemgetter(1)  # whether an (item, start) pair of ``line_documents``/``numbered_documents`` starts one


class DocChunk(list):
    """A chunk's items with ``docs``: each item's document, numbered from 0 in the chunk (``array('q')``)."""

    def __init__(self, items: Iterable, docs: array):
        super().__init__(items)
        self.docs = docs


def cut_chunks(
    items: Iterable[Item | None],
    first: int,
    size: int,
    weight: Callable[[Item], int],
    starts: Callable[[Item], bool] | None = None,
    wait: bool = True,
) -> Iterator[tuple[list[Item], bool]]:
    """Items in chunks, each with whether slow input cut it short: ``first`` items, then ``size`` (or
    ``WINDOW_CHARS`` of weight); shorter at a pause (``None``) or ``MAX_WAIT`` after the first item. A pause
    after a full chunk gives one empty chunk, so whoever holds earlier results gives them.

    ``starts``: whether an item starts a document; a full chunk then goes on to the next document's start.
    ``wait`` False: no ``MAX_WAIT`` cut (input read ahead, where it would depend on timing alone).
    """
    limit, slow = first, True
    most = MAX_WAIT if wait else math.inf
    items = iter(items)
    held: list[Item] = []  # the item that starts a document, read by the last chunk: it opens this one
    while True:
        kept, held = held, []
        filled = _fill(items, kept, limit, weight, most, slow)
        if filled is None:  # the end of the input
            if kept:
                yield kept, False
            return
        slow, started = filled
        if starts is not None and not slow:
            slow, held, ended = _to_document_end(items, kept, starts, started + most)
            if ended:
                yield kept, False
                return
        yield kept, slow
        limit = size


def _fill(
    items: Iterator[Item | None], kept: list[Item], limit: int, weight: Callable[[Item], int], most: float, slow: bool
) -> tuple[bool, float] | None:
    """Fill ``kept`` up to ``limit`` items, ``WINDOW_CHARS``, a pause, or ``most`` seconds. Returns whether slow
    input cut it and when its first item came; None at the end. ``slow``: the last chunk was cut short."""
    total = sum(map(weight, kept))
    started = time.monotonic()
    for item in items:
        if item is None:  # the input paused
            if kept or not slow:
                return True, started
            continue
        if not kept:
            started = time.monotonic()
        kept.append(item)
        total += weight(item)
        if len(kept) >= limit or total >= WINDOW_CHARS:
            return False, started
        if time.monotonic() - started >= most:
            return True, started
    return None


def _to_document_end(
    items: Iterator[Item | None], kept: list[Item], starts: Callable[[Item], bool], deadline: float
) -> tuple[bool, list[Item], bool]:
    """Take items into the full chunk ``kept`` until one starts a document. Returns whether slow input cut it
    (a pause, or ``deadline``), the item that opens the next chunk (if read), and whether the input ended."""
    if len(kept) > 1 and starts(kept[-1]):  # the item that filled the chunk starts a document: it opens the next
        return False, [kept.pop()], False
    for item in items:
        if item is None:
            return True, [], False
        if starts(item):
            return False, [item], False
        kept.append(item)
        if time.monotonic() >= deadline:
            return True, [], False
    return False, [], True


def line_documents(
    lines: Iterable[Item | None], blank: Callable[[Item], bool], number: Callable[[Item], int] | None = None
) -> Iterator[tuple[Item, bool] | None]:
    """(line, whether a document boundary comes before it) for each line, ``None`` for a pause. A document starts
    at a line after a blank one, or after ``DOC_MAX`` lines; a run of blank lines is cut too. ``number``: each
    line's number; each piece of a cut line (same number) starts a document."""
    count, after_blank = 0, True  # lines of the current document that are not blank; the last line was blank
    last = None  # the number of the last line
    for line in lines:
        if line is None:
            yield None
            continue
        piece = number is not None and number(line) == last
        last = None if number is None else number(line)
        if blank(line):
            yield line, after_blank or piece
            count, after_blank = 0, True
        else:
            start = piece or count % DOC_MAX == 0
            yield line, start
            count, after_blank = (1 if start else count + 1), False


def numbered_documents(
    items: Iterable[Item | None], key: Callable[[Item], object]
) -> Iterator[tuple[Item, bool] | None]:
    """(item, whether it starts a document) for each item, ``None`` for a pause: a document starts where ``key``
    changes, or after ``DOC_MAX`` items."""
    count, current = 0, object()
    for item in items:
        if item is None:
            yield None
            continue
        doc = key(item)
        if doc != current:
            count, current = 0, doc
        yield item, count % DOC_MAX == 0
        count += 1


def document_numbers(starts: Iterable[bool]) -> array:
    """Each item's document, numbered from 0 in its chunk, from whether each item starts one."""
    numbers, number = array("q"), 0
    for at, start in enumerate(starts):
        if start and at:
            number += 1
        numbers.append(number)
    return numbers


def reads_ahead(stream: BinaryIO) -> bool:
    """Whether ``stream`` is a file on disk or in memory (read without waiting), not a terminal or pipe."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, AttributeError, ValueError):  # no descriptor (an in-memory stream): nothing to wait for
        return True

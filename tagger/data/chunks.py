"""Cutting input into chunks: the windows ``read_windows`` reads and the chunks ``tag --jobs`` hands its workers.

A chunk is full at a number of items (lines, or sentences in CoNLL) or ``WINDOW_CHARS`` of input; slow input is
answered as it comes: a chunk is cut short where the input pauses or its first item has waited ``MAX_WAIT``.

For a model that reads context, raw text and token lines are cut into documents by blank lines, CoNLL by its
``-DOCSTART-`` lines, and a document after ``DOC_MAX`` items from its start (the same cut however the input is
chunked). A chunk then ends only where a document ends, unless slow input cuts it (the two parts are tagged as
two documents; input read ahead is never cut by time: ``reads_ahead``).
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
    """A chunk's items (lines or sentences) with ``docs``: each item's document, numbered from 0 in the chunk
    (an ``array('q')``, one entry per item). Only a maker that reads context gets chunks of this kind."""

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
    """Items in chunks, each with whether slow input cut it short: ``first`` items, then ``size``
    items or items of ``WINDOW_CHARS`` total weight at most; shorter where the input pauses (a
    ``None`` item) or ``MAX_WAIT`` after a chunk's first item. A pause with no item waiting gives
    an empty chunk once after a full one, so whoever holds results of earlier chunks gives them.

    ``starts``: whether an item starts a document (``line_documents``, ``numbered_documents``); a chunk
    that is full then takes more items until one starts a document, and that one opens the next chunk.
    ``wait`` False: no cut ``MAX_WAIT`` after a chunk's first item (input read ahead, where such a cut
    would depend on the timing alone).
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
    """Take items into the chunk ``kept`` until it holds ``limit`` items or ``WINDOW_CHARS`` of weight, the
    input pauses, or ``most`` seconds have passed since its first item. Returns whether slow input cut it
    short and when its first item came; None where the input ended. ``slow``: whether the last chunk was cut
    by slow input (a pause with nothing kept then gives no empty chunk)."""
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
    """Take items into the full chunk ``kept`` until one starts a document. Returns whether slow input cut
    it short (a pause, or ``deadline`` passed), the item that starts the next chunk (if read), and whether
    the input ended. The bound is the document's: it ends after ``DOC_MAX`` items (lines that are not blank)."""
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
    """(line, whether a document boundary comes before it) for each line, and ``None`` (a pause) as it
    comes. A blank line ends a document; a document starts at the next line that is not blank, or after
    ``DOC_MAX`` lines that are not blank. A boundary comes before a blank line too where the line before
    is blank (or none is): a window waiting for its document's end never holds a run of blank lines.
    ``number``: each line's number; the pieces of a line cut for its length (``reader.line_pieces``) have
    the same, and each starts a document, so a window holds at most one piece beyond its size."""
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
    """(item, whether it starts a document) for each item, and ``None`` (a pause) as it comes: a document
    starts where ``key`` (its document number) changes, and is cut after ``DOC_MAX`` items."""
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
    """Whether ``stream`` is a file on disk or in memory, which is read without waiting: input that
    trickles in (a terminal, a pipe) is not."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, AttributeError, ValueError):  # no descriptor (an in-memory stream): nothing to wait for
        return True

"""Reading an input (raw text, token lines, CoNLL columns or CoNLL-U) into windows of sentences: ``read_windows``.

Lines are read and decoded here, in order, so errors name their line; they are cut into chunks (short where slow
input pauses, ending where documents end for a model that reads context), each made a window of sentences with
its arrays, in this process or in reader processes (``workers``).
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import BinaryIO

from tagger.data.arrays import WindowMaker
from tagger.data.chunks import (
    BLANK,
    DocChunk,
    cut_chunks,
    document_numbers,
    line_documents,
    numbered_documents,
    pair_starts,
    reads_ahead,
)
from tagger.data.conllu import iter_conllu
from tagger.data.reader import DOCSTART, LINE_PIECE, UTF8, LineFeed, Sentence, decoded_lines, iter_conll, open_binary
from tagger.data.schemes import is_chunk_tag
from tagger.data.types import TaggedSentence
from tagger.data.windows import (
    WINDOW,
    Window,
    sentence_window,
    text_window,
    token_line_window,
    unpacked,
)
from tagger.data.workers import Task, done_in_order
from tagger.errors import DataError

INPUTS = ("text", "conll", "tokens", "conllu")
PEEK_BYTES = 16_384  # what ``looks_like_columns`` reads of a file: its first lines, however long the file
_LABEL = re.compile(r"[A-Z][A-Z$_-]*")  # a part-of-speech or other plain label (NNP, PRP$, PROPN)
FIRST_WINDOW = 256  # with a worker, the first window is this small and prepared here: a short input
# never starts a process, and the first output comes soon
_LINE_TASKS: dict[str, Task] = {"text": text_window, "tokens": token_line_window}


def looks_like_columns(path: str | Path, encoding: str = UTF8) -> bool:
    """Whether the file at ``path`` opens as a column file rather than raw text: a -DOCSTART- line, or most of its
    first ``PEEK_BYTES`` in lines of the same 2 or more columns, most ending in a tag (B-PER, O, NNP). A file
    that cannot be read is none (reading it says why)."""
    try:
        head = _head(path).decode(encoding, errors="replace")
    except (DataError, LookupError, OSError):
        return False
    lines = [line.split() for line in head.splitlines()]
    lines = [fields for fields in (lines[:-1] if len(head) >= PEEK_BYTES else lines) if fields]  # the last: cut short
    if any(fields[0] == DOCSTART for fields in lines):
        return True
    if len(lines) < 3:
        return False
    width = max(set(map(len, lines)), key=[len(fields) for fields in lines].count)
    rows = [fields for fields in lines if len(fields) == width]
    tagged = [fields for fields in rows if is_chunk_tag(fields[-1]) or _LABEL.fullmatch(fields[-1])]
    return width >= 2 and len(rows) > 0.8 * len(lines) and len(tagged) > 0.8 * len(rows)


def _head(path: str | Path) -> bytes:
    """The first ``PEEK_BYTES`` of a file; of stdin (``-``) where it is a file (``< file``), read where it is without
    moving it (a pipe's bytes, once read, would be gone for the tagging: none). A named pipe or device is not looked
    at either: opening it to look would take its bytes, or leave its writer waiting for a reader that closed."""
    if str(path) != "-":
        if not stat.S_ISREG(os.stat(path).st_mode):
            return b""
        with open_binary(path) as stream:
            return stream.read(PEEK_BYTES)
    fd = sys.stdin.fileno()
    return os.pread(fd, PEEK_BYTES, os.lseek(fd, 0, os.SEEK_CUR)) if stat.S_ISREG(os.fstat(fd).st_mode) else b""


class WindowStream:
    """The windows of an input (``read_windows``), one at a time. ``stop()``, from another thread,
    ends a wait for more input at once: the thread iterating gets ``reader.InputStopped``."""

    def __init__(self, windows: Iterator[Window], stop: Callable[[], None]):
        self._windows = windows
        self.stop = stop

    def __iter__(self) -> WindowStream:
        return self

    def __next__(self) -> Window:
        return next(self._windows)

    def close(self) -> None:
        """Stop reading (in the thread iterating): a worker pool is shut down here."""
        self._windows.close()


def read_windows(
    stream: BinaryIO,
    name: str,
    kind: str,
    maker: WindowMaker | None = None,
    workers: int = 0,
    window: int = WINDOW,
    encoding: str = UTF8,
    warn: bool = True,
) -> WindowStream:
    """Windows of an input stream of the given kind (``INPUTS``): the sentences, untagged, and their arrays from
    ``maker`` (None without one); with ``workers`` the tokenizing and lookups run in worker processes. A line of
    raw text longer than ``reader.LINE_PIECE`` bytes is tagged in pieces, each its own document; a piece cut in
    a run with no space is said once per line on stderr (``warn``: a ``tag --jobs`` worker leaves it to its parent).
    """
    if kind not in INPUTS:
        raise DataError(f"unknown input kind {kind!r}; expected one of {', '.join(INPUTS)}")
    context = bool(getattr(maker, "context", False))
    # With context, a window cut by time would cut a document where the timing says: never on input read ahead.
    wait = not (context and reads_ahead(stream))
    feed = LineFeed(stream, piece=LINE_PIECE if kind == "text" else None)
    windows = _windows(feed, name, kind, maker, workers, window, context, wait, encoding, warn)
    return WindowStream(windows, feed.stop)


def _windows(
    feed: LineFeed,
    name: str,
    kind: str,
    maker: WindowMaker | None,
    workers: int,
    window: int,
    context: bool,
    wait: bool,
    encoding: str = UTF8,
    warn: bool = True,
) -> Iterator[Window]:
    first = min(FIRST_WINDOW, window) if workers > 0 else window
    if kind in ("conll", "conllu"):
        read = iter_conll if kind == "conll" else iter_conllu
        source = read(feed, name, with_tags=False, encoding=encoding)
        chunks = _sentence_chunks(source, first, window, context, wait)
        yield from done_in_order(sentence_window, chunks, maker, workers, feed.stopped)
        return
    position = 0
    chunks = _line_chunks(decoded_lines(feed, name, encoding, warn), first, window, context, wait)
    for kept, packed in done_in_order(_LINE_TASKS[kind], chunks, maker, workers, feed.stopped):
        sentences, position = unpacked(kept, packed, position)
        yield sentences, packed[-1]


def _text_blank(line: tuple[int, str, int]) -> bool:
    return not line[1].strip(BLANK)


def _line_chunks(
    lines: Iterable, first: int, size: int, context: bool = False, wait: bool = True
) -> Iterator[tuple[list, list[str], bool]]:
    """Decoded input lines in chunks, each as ((text, length with line end) per line, texts, cut short by slow
    input); with ``context`` the chunks end where documents end and the texts are a ``DocChunk``."""
    if not context:
        for kept, slow in cut_chunks(lines, first, size, weight=lambda line: line[2], wait=wait):
            yield [(text, length) for _, text, length in kept], [text for _, text, _ in kept], slow
        return
    found = line_documents(lines, _text_blank, itemgetter(0))
    for kept, slow in cut_chunks(found, first, size, weight=lambda pair: pair[0][2], starts=pair_starts, wait=wait):
        texts = DocChunk((line[1] for line, _ in kept), document_numbers(start for _, start in kept))
        yield [(text, length) for (_, text, length), _ in kept], texts, slow


def _sentence_chunks(
    source: Iterable[Sentence | None], first: int, size: int, context: bool = False, wait: bool = True
) -> Iterator[tuple[list, list, bool]]:
    if not context:
        for found, slow in cut_chunks(source, first, size, weight=lambda _: 0, wait=wait):
            kept = [TaggedSentence(s.tokens, []) for s in found]
            yield kept, [s.tokens for s in kept], slow
        return
    pairs = numbered_documents(source, attrgetter("doc"))
    for found, slow in cut_chunks(pairs, first, size, weight=lambda _: 0, starts=pair_starts, wait=wait):
        kept = [TaggedSentence(s.tokens, []) for s, _ in found]
        yield kept, DocChunk((s.tokens for s in kept), document_numbers(start for _, start in found)), slow


def read_sentences(stream: BinaryIO, name: str, kind: str = "text", workers: int = 0) -> Iterator[TaggedSentence]:
    """The sentences of an input stream, untagged, one at a time."""
    for sentences, _ in read_windows(stream, name, kind, None, workers):
        yield from sentences

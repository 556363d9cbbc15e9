"""Input to windows of sentences ready for the network: reading, tokenizing and lookups.

Raw text, CoNLL columns or token lines are read here, in order, and cut into
windows; each window's sentences are tokenized (raw text) and turned into
arrays (``arrays.window_arrays``). With a worker that happens in a separate
process, so the process running the network does little Python besides:
per-token work in a second thread of that process would take the interpreter
lock between the network's operations (which release it) and slow the network
several times over. This module does not import torch, so a worker starts quickly.

Input that comes slowly (a terminal, ``tail -f``) is answered as it comes: a window
is cut short where the input pauses (``reader.LineFeed``) or when its first line
has waited ``MAX_WAIT``, and is tagged at once; input that comes fast fills
whole windows.

Documents (a model that reads context, ``maker.context``: see ``arrays.WindowMaker``): raw text and
token lines are cut into documents by blank lines (only spaces, tabs, CR, FF, VT), CoNLL input by its
``-DOCSTART-`` lines (``reader.Sentence.doc``); a document is cut after ``DOC_MAX`` lines (sentences
in CoNLL) counted from its start, so the cut is the same however the input is windowed. The maker gets,
per window, each sentence's document numbered from 0 in the window. A window then ends only where a
document ends: one that reaches its size takes more lines until its last document ends. Slow input is
still answered at once: a pause or ``MAX_WAIT`` cuts a window inside a document, and the two parts are
tagged as two documents (input read ahead, a file or memory, is never cut by time).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import stat
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain
from operator import attrgetter, itemgetter
from typing import BinaryIO, TypeVar

from tagger.data.arrays import DOC_MAX, WindowArrays, WindowMaker
from tagger.data.reader import (
    LINE_PIECE,
    UTF8,
    InputStopped,
    LineFeed,
    Sentence,
    decoded_lines,
    iter_conll,
    split_token_line,
)
from tagger.data.tokenizer import tokenize_flat
from tagger.data.types import TaggedSentence
from tagger.errors import DataError, WorkerError

INPUTS = ("text", "conll", "tokens")
WINDOW = 2048  # sentences (raw text: lines) per window
WINDOW_CHARS = 1 << 18  # characters of input lines per window at most (a window holds at least one line)
FIRST_WINDOW = 256  # with a worker, the first window is this small and prepared here: a short input
# never starts a process, and the first output comes soon
AHEAD = 2  # windows queued per worker beyond the one whose result is awaited: memory stays flat
MAX_WAIT = 0.5  # seconds a window's first line waits for the window to fill (input that never pauses
# but trickles in, a line every few milliseconds, is still answered soon)
STOP_POLL = 0.05  # seconds between looks at whether reading was stopped, while a worker's result is awaited
BLANK = " \t\r\n\f\v"  # a line of only these is blank (as ``reader.split_token_line`` reads one): it ends a document


Window = tuple[list[TaggedSentence], WindowArrays | None]
LineWindow = tuple[array, str, array, array | None, WindowArrays | None]


class DocChunk(list):
    """A chunk's items (lines or sentences) with ``docs``: each item's document, numbered from 0 in the chunk
    (an ``array('q')``, one entry per item). Only a maker that reads context gets chunks of this kind."""

    def __init__(self, items: Iterable, docs: array):
        super().__init__(items)
        self.docs = docs


def _line_window(maker: WindowMaker | None, lines: list[str], tokenize: bool) -> LineWindow:
    """A window of lines, tokenized (raw text) or split (token lines), packed for a cheap trip
    between processes: sentences per line, the tokens joined by newlines (no token holds one),
    tokens per sentence, the tokens' offsets in their lines, flat (raw text only), and the
    arrays (None without a maker). ``lines`` a ``DocChunk``: the maker gets each sentence's document."""
    per_line, sizes = array("q"), array("q")
    offsets = array("q") if tokenize else None
    sentences = []
    for text in lines:
        if tokenize:
            found = tokenize_flat(text)
            for _, flat in found:
                offsets.extend(flat)
        else:
            tokens = split_token_line(text)
            found = [(tokens, None)] if tokens else []
        per_line.append(len(found))
        for tokens, _ in found:
            sentences.append(tokens)
            sizes.append(len(tokens))
    joined = "\n".join(token for tokens in sentences for token in tokens)
    line_docs = getattr(lines, "docs", None)
    docs = None if line_docs is None else _sentence_docs(per_line, line_docs)
    return per_line, joined, sizes, offsets, _arrays(maker, sentences, docs)


def _sentence_docs(per_line: array, line_docs: array) -> array:
    """Each sentence's document, numbered from 0 with no gap, from its line's (a line may give no sentence)."""
    docs = array("q")
    number, last = -1, None
    for count, doc in zip(per_line, line_docs):
        if count:
            if doc != last:
                number, last = number + 1, doc
            docs.extend([number] * count)
    return docs


def _text_window(maker: WindowMaker | None, lines: list[str]) -> LineWindow:
    return _line_window(maker, lines, tokenize=True)


def _token_line_window(maker: WindowMaker | None, lines: list[str]) -> LineWindow:
    return _line_window(maker, lines, tokenize=False)


def _sentence_window(maker: WindowMaker | None, sentences: list[list[str]]) -> WindowArrays | None:
    """The arrays of a window of sentences; ``sentences`` a ``DocChunk``: with their documents."""
    return _arrays(maker, sentences, getattr(sentences, "docs", None))


def _arrays(maker: WindowMaker | None, sentences: list[list[str]], docs: array | None) -> WindowArrays | None:
    if maker is None:
        return None
    return maker(sentences) if docs is None else maker(sentences, docs)


_TASKS: dict[str, Callable] = {"text": _text_window, "tokens": _token_line_window, "conll": _sentence_window}
_worker_maker: WindowMaker | None = None  # in a worker process: the maker its tasks use


def _start_worker(maker: WindowMaker | None) -> None:
    global _worker_maker
    _worker_maker = maker
    # Ctrl-C reaches the whole process group: the tagger stops the worker itself (a worker
    # interrupted mid-task would print a traceback and never return that task's result).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_worker(task: str, chunk: list) -> object:
    return _TASKS[task](_worker_maker, chunk)


def _done_in_order(
    task: str,
    chunks: Iterable[tuple[object, list, bool]],
    maker: WindowMaker | None,
    workers: int,
    stopped: Callable[[], bool] | None = None,
) -> Iterator[tuple[object, object]]:
    """(what the caller keeps of a chunk, the task's result on it) for each chunk, in order.

    Each chunk comes with whether slow input cut it short. Chunks are done here until a full
    one comes after the first (input coming faster than it is answered); with ``workers`` > 0
    that one and all later ones go to worker processes. A chunk of slow input is done here,
    so a filter answering a terminal or ``tail -f`` never waits for a process to start.
    ``stopped``: whether reading was stopped (``reader.LineFeed.stop``): a wait for a worker's
    result then ends at once (``InputStopped``).
    """
    run = _TASKS[task]
    chunks = iter(chunks)
    for number, (kept, chunk, slow) in enumerate(chunks):
        if workers > 0 and number > 0 and not slow:
            yield from _done_by_workers(task, chain([(kept, chunk, slow)], chunks), maker, workers, stopped)
            return
        if chunk:
            yield kept, run(maker, chunk)


def _done_by_workers(
    task: str,
    chunks: Iterator[tuple[object, list, bool]],
    maker: WindowMaker | None,
    workers: int,
    stopped: Callable[[], bool] | None = None,
) -> Iterator[tuple[object, object]]:
    """``_done_in_order`` in worker processes, which work on up to ``AHEAD`` more chunks each while
    the result of the oldest is awaited; after a chunk of slow input every result is given before
    more input is awaited. A worker that dies (killed, out of memory) ends the reading at once with a
    ``WorkerError``: the pool is broken (``BrokenProcessPool``) and every pending result says so."""
    pool, ours = _pool(workers, maker), _Started()
    finished = False
    try:
        pending: deque = deque()
        for kept, chunk, slow in chunks:
            if chunk:
                pending.append((kept, _submit(pool, task, chunk, ours)))
            while len(pending) > (0 if slow else AHEAD * workers):
                done, result = pending.popleft()
                yield done, _result(result, stopped)
        while pending:
            done, result = pending.popleft()
            yield done, _result(result, stopped)
        finished = True
    finally:
        if not finished:  # stopped early (Ctrl-C, a closed pipe, an error): the windows in the workers are not wanted
            ours.kill()
        # Wait for the workers to exit (at once where killed), before the interpreter's exit, whose handlers
        # close the queues the pool tells its workers to stop by: one left waiting for a task would be waited for.
        pool.shutdown(wait=True, cancel_futures=True)


class _Started:
    """The processes a pool started: the children of this process that came while it started them (only
    ``multiprocessing.active_children`` says which they are; the pool has no public way to stop them)."""

    def __init__(self) -> None:
        self.before = set(multiprocessing.active_children())
        self.processes: set = set()

    def note(self) -> None:
        self.processes |= set(multiprocessing.active_children()) - self.before

    def kill(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()


def _pool(workers: int, maker: WindowMaker | None) -> ProcessPoolExecutor:
    """Worker processes that never see Ctrl-C: it reaches the whole process group, and a worker
    interrupted while it starts (importing, before ``_start_worker`` runs) prints a traceback.
    The processes start as tasks are submitted (``_submit`` blocks SIGINT meanwhile: they inherit
    the mask)."""
    context = multiprocessing.get_context("spawn")  # never fork a process that holds torch threads
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(maker,))


def _submit(pool: ProcessPoolExecutor, task: str, chunk: list, started: _Started) -> Future:
    """Hand ``chunk`` to the pool, SIGINT blocked in this thread meanwhile: a worker process started
    here inherits the mask (and is noted in ``started``). The resource tracker is started first, as
    starting it unblocks SIGINT in the calling thread."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return pool.submit(_in_worker, task, chunk)
    except BrokenProcessPool:  # a worker died since the last result
        raise _died() from None
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        started.note()


def _result(result: Future, stopped: Callable[[], bool] | None) -> object:
    """The result of a worker's task; ``InputStopped`` as soon as ``stopped()`` where given."""
    while True:
        try:
            return result.result(timeout=None if stopped is None else STOP_POLL)
        except TimeoutError:
            if stopped():
                raise InputStopped from None
        except BrokenProcessPool:
            raise _died() from None


def _died() -> WorkerError:
    return WorkerError(
        "the process that reads the input (tokenizing and lookups, --workers) died; "
        "the output stops before the window it was reading"
    )


Item = TypeVar("Item")


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
        total = sum(map(weight, kept))
        started = time.monotonic()
        for item in items:
            if item is None:  # the input paused
                if kept or not slow:
                    slow = True
                    break
                continue
            if not kept:
                started = time.monotonic()
            kept.append(item)
            total += weight(item)
            if len(kept) >= limit or total >= WINDOW_CHARS:
                slow = False
                break
            if time.monotonic() - started >= most:
                slow = True
                break
        else:  # the end of the input
            if kept:
                yield kept, False
            return
        if starts is not None and not slow:
            slow, held, ended = _to_document_end(items, kept, starts, started + most)
            if ended:
                yield kept, False
                return
        yield kept, slow
        limit = size


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


def _text_blank(line: tuple[int, str, int]) -> bool:
    return not line[1].strip(BLANK)


_STARTS = itemgetter(1)


def _line_chunks(
    lines: Iterable, first: int, size: int, context: bool = False, wait: bool = True
) -> Iterator[tuple[list, list[str], bool]]:
    """Decoded input lines (``reader.decoded_lines``) in chunks (``cut_chunks``), each as
    ((text, length with line end) per line, texts, cut short by slow input); with ``context`` the
    chunks end where documents end and the texts are a ``DocChunk``."""
    if not context:
        for kept, slow in cut_chunks(lines, first, size, weight=lambda line: line[2], wait=wait):
            yield [(text, length) for _, text, length in kept], [text for _, text, _ in kept], slow
        return
    found = line_documents(lines, _text_blank, itemgetter(0))
    for kept, slow in cut_chunks(found, first, size, weight=lambda pair: pair[0][2], starts=_STARTS, wait=wait):
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
    for found, slow in cut_chunks(pairs, first, size, weight=lambda _: 0, starts=_STARTS, wait=wait):
        kept = [TaggedSentence(s.tokens, []) for s, _ in found]
        yield kept, DocChunk((s.tokens for s in kept), document_numbers(start for _, start in found)), slow


def token_windows(
    sentences: list[TaggedSentence], maker: WindowMaker, docs: Sequence | None = None, window: int = WINDOW
) -> Iterator[Window]:
    """Windows of sentences already split into tokens (``api.Tagger.tag_tokens``), ``docs`` their
    documents (a new one where the value changes; None: all one, cut after ``DOC_MAX``); the arrays
    are made as each window is taken (by ``tagging.tag_stream``'s reader thread), and only for a maker
    that reads context: without, the windows come with no arrays and ``tag_stream`` makes them."""
    if not getattr(maker, "context", False):
        for at in range(0, len(sentences), window):
            yield sentences[at : at + window], None
        return
    keys = docs if docs is not None else [0] * len(sentences)
    pairs = numbered_documents(zip(sentences, keys), key=itemgetter(1))
    for found, _ in cut_chunks(pairs, window, window, weight=lambda _: 0, starts=_STARTS, wait=False):
        kept = [sentence for (sentence, _), _ in found]
        yield kept, maker([s.tokens for s in kept], document_numbers(start for _, start in found))


def reads_ahead(stream: BinaryIO) -> bool:
    """Whether ``stream`` is a file on disk or in memory, which is read without waiting: input that
    trickles in (a terminal, a pipe) is not."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, AttributeError, ValueError):  # no descriptor (an in-memory stream): nothing to wait for
        return True


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


class WindowSentences:
    """The sentences of a stream of windows, one at a time. ``window_done`` is true when the one
    last given ended its window: a writer flushes then, so what was tagged is out before more
    input is awaited."""

    def __init__(self, windows: Iterator[list[TaggedSentence]]):
        self._windows = windows
        self._window: list[TaggedSentence] = []
        self._at = 0
        self.window_done = False

    def __iter__(self) -> WindowSentences:
        return self

    def __next__(self) -> TaggedSentence:
        while self._at >= len(self._window):
            self._window, self._at = next(self._windows), 0
        sentence = self._window[self._at]
        self._at += 1
        self.window_done = self._at == len(self._window)
        return sentence

    def close(self) -> None:
        close = getattr(self._windows, "close", None)
        if close is not None:
            close()


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
    """Windows of an input stream of the given kind (text, conll or tokens): the sentences,
    untagged, and their arrays from ``maker`` (None without one).

    Lines are read and decoded here, so errors name their line; with
    ``workers`` the tokenizing and lookups run in worker processes meanwhile.
    The stream is read through its file descriptor where it has one (``reader.LineFeed``), and
    decoded from ``encoding`` (``reader.decoded_lines``).
    A line of raw text longer than ``reader.LINE_PIECE`` bytes is read, tokenized and tagged in pieces,
    each its own document (``line_documents``); a piece cut in a run with no space is said once per
    line on stderr (``warn``: a worker of ``tag --jobs`` leaves that to its parent).
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
    if kind == "conll":
        source = iter_conll(feed, name, with_tags=False, encoding=encoding)
        chunks = _sentence_chunks(source, first, window, context, wait)
        yield from _done_in_order("conll", chunks, maker, workers, feed.stopped)
        return
    position = 0
    chunks = _line_chunks(decoded_lines(feed, name, encoding, warn), first, window, context, wait)
    for kept, packed in _done_in_order(kind, chunks, maker, workers, feed.stopped):
        sentences, position = _unpacked(kept, packed, position)
        yield sentences, packed[-1]


def _unpacked(kept: list[tuple[str, int]], packed: LineWindow, position: int) -> tuple[list[TaggedSentence], int]:
    """The sentences of a packed window of lines (``_line_window``), and the input's offset after it;
    ``kept`` holds (text, length with line end) per line, ``position`` the offset of its first line."""
    per_line, joined, sizes, offsets, _ = packed
    tokens = joined.split("\n")
    sentences = []
    at = s = 0
    for (text, length), count in zip(kept, per_line):
        for _ in range(count):
            end = at + sizes[s]
            if offsets is None:
                sentences.append(TaggedSentence(tokens[at:end], []))
            else:
                sentences.append(TaggedSentence(tokens[at:end], [], offsets[2 * at : 2 * end], text, position))
            at, s = end, s + 1
        position += length
    return sentences, position


def read_sentences(stream: BinaryIO, name: str, kind: str = "text", workers: int = 0) -> Iterator[TaggedSentence]:
    """The sentences of an input stream, untagged, one at a time."""
    for sentences, _ in read_windows(stream, name, kind, None, workers):
        yield from sentences

"""Input to windows of sentences ready for the network: reading, tokenizing and lookups.

Raw text, CoNLL columns or token lines are read here, in order, and cut into
windows; each window's sentences are tokenized (raw text) and turned into
arrays (``arrays.window_arrays``). With a worker that happens in a separate
process, so the process running the network does little Python besides:
per-token work in a second thread of that process would take the interpreter
lock between the network's operations (which release it) and slow the network
several times over. This module does not import torch, so a worker starts quickly.
"""

from __future__ import annotations

import multiprocessing
import signal
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from typing import BinaryIO

from .arrays import WindowArrays, WindowMaker
from .errors import DataError
from .reader import Sentence, decoded_lines, iter_conll, split_token_line
from .tokenizer import tokenize_flat
from .types import TaggedSentence

INPUTS = ("text", "conll", "tokens")
WINDOW = 2048  # sentences (raw text: lines) per window
WINDOW_CHARS = 1 << 18  # characters of input lines per window at most (a window holds at least one line)
FIRST_WINDOW = 256  # with a worker, the first window is this small and prepared here: a short input
# never starts a process, and the first output comes soon
AHEAD = 2  # windows queued for the worker beyond the one whose result is awaited: memory stays flat


Window = tuple[list[TaggedSentence], WindowArrays | None]
LineWindow = tuple[array, str, array, array | None, WindowArrays | None]


def _line_window(maker: WindowMaker | None, lines: list[str], tokenize: bool) -> LineWindow:
    """A window of lines, tokenized (raw text) or split (token lines), packed for a cheap trip
    between processes: sentences per line, the tokens joined by newlines (no token holds one),
    tokens per sentence, the tokens' offsets in their lines, flat (raw text only), and the
    arrays (None without a maker)."""
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
    return per_line, joined, sizes, offsets, _sentence_window(maker, sentences)


def _text_window(maker: WindowMaker | None, lines: list[str]) -> LineWindow:
    return _line_window(maker, lines, tokenize=True)


def _token_line_window(maker: WindowMaker | None, lines: list[str]) -> LineWindow:
    return _line_window(maker, lines, tokenize=False)


def _sentence_window(maker: WindowMaker | None, sentences: list[list[str]]) -> WindowArrays | None:
    return maker(sentences) if maker is not None else None


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
    task: str, chunks: Iterator[tuple[object, list]], maker: WindowMaker | None, workers: int
) -> Iterator[tuple[object, object]]:
    """(what the caller keeps of a chunk, the task's result on it) for each chunk, in order;
    with ``workers`` > 0 every chunk after the first in worker processes, which work on up to
    ``AHEAD`` more chunks while the result of the oldest is awaited."""
    run = _TASKS[task]
    first = next(chunks, None)
    if first is None:
        return
    yield first[0], run(maker, first[1])
    if workers <= 0:
        for kept, chunk in chunks:
            yield kept, run(maker, chunk)
        return
    second = next(chunks, None)
    if second is None:
        return
    context = multiprocessing.get_context("spawn")  # never fork a process that holds torch threads
    with context.Pool(workers, initializer=_start_worker, initargs=(maker,)) as pool:
        pending: deque = deque()
        for kept, chunk in chain([second], chunks):
            pending.append((kept, pool.apply_async(_in_worker, (task, chunk))))
            if len(pending) > AHEAD:
                kept, result = pending.popleft()
                yield kept, result.get()
        while pending:
            kept, result = pending.popleft()
            yield kept, result.get()


def _line_chunks(stream: Iterable[bytes], name: str, first: int, size: int) -> Iterator[tuple[list, list[str]]]:
    """Input lines in chunks: ``first`` lines, then ``size`` lines or ``WINDOW_CHARS``
    characters at most; each as ((text, length with line end) per line, texts)."""
    lines = decoded_lines(stream, name)
    limit = first
    while True:
        kept: list[tuple[str, int]] = []
        chars = 0
        for _, text, length in lines:
            kept.append((text, length))
            chars += length
            if len(kept) >= limit or chars >= WINDOW_CHARS:
                break
        if not kept:
            return
        yield kept, [text for text, _ in kept]
        limit = size


def _sentence_chunks(source: Iterator[Sentence], first: int, size: int) -> Iterator[tuple[list, list[list[str]]]]:
    limit = first
    while True:
        kept = [TaggedSentence(s.tokens, []) for s in islice(source, limit)]
        if not kept:
            return
        yield kept, [s.tokens for s in kept]
        limit = size


def read_windows(
    stream: BinaryIO,
    name: str,
    kind: str,
    maker: WindowMaker | None = None,
    workers: int = 0,
    window: int = WINDOW,
) -> Iterator[Window]:
    """Windows of an input stream of the given kind (text, conll or tokens): the sentences,
    untagged, and their arrays from ``maker`` (None without one).

    Lines are read and decoded here, so errors name their line; with
    ``workers`` the tokenizing and lookups run in worker processes meanwhile.
    """
    first = min(FIRST_WINDOW, window) if workers > 0 else window
    if kind == "conll":
        source = iter_conll(stream, name, with_tags=False)
        yield from _done_in_order("conll", _sentence_chunks(source, first, window), maker, workers)
        return
    if kind not in ("text", "tokens"):
        raise DataError(f"unknown input kind {kind!r}; expected one of {', '.join(INPUTS)}")
    position = 0
    for kept, packed in _done_in_order(kind, _line_chunks(stream, name, first, window), maker, workers):
        per_line, joined, sizes, offsets, arrays = packed
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
        yield sentences, arrays


def read_sentences(stream: BinaryIO, name: str, kind: str = "text", workers: int = 0) -> Iterator[TaggedSentence]:
    """The sentences of an input stream, untagged, one at a time."""
    for sentences, _ in read_windows(stream, name, kind, None, workers):
        yield from sentences

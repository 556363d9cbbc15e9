"""Windows of sentences ready for the network: tokenizing, a window packed for a trip between processes, arrays.

``text_window`` and ``token_line_window`` are the tasks the reader processes run (``workers``); ``unpacked``
gives a packed window's sentences back. No torch here, so a reader process starts quickly.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from operator import itemgetter

from tagger.data.arrays import WindowArrays, WindowMaker
from tagger.data.chunks import cut_chunks, document_numbers, numbered_documents, pair_starts
from tagger.data.reader import split_token_line
from tagger.data.tokenizer import tokenize_flat
from tagger.data.types import TaggedSentence

WINDOW = 2048  # sentences (raw text: lines) per window

Window = tuple[list[TaggedSentence], WindowArrays | None]
LineWindow = tuple[array, str, array, array | None, WindowArrays | None]


def _line_window(maker: WindowMaker | None, lines: list[str], tokenize: bool) -> LineWindow:
    """A window of lines, tokenized (raw text) or split (token lines), packed for a cheap trip
    between processes: sentences per line, the tokens joined by newlines (no token holds one),
    tokens per sentence, the tokens' offsets in their lines, flat (raw text only), and the
    arrays (None without a maker). ``lines`` a ``chunks.DocChunk``: the maker gets each sentence's document."""
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


def text_window(maker: WindowMaker | None, lines: list[str]) -> LineWindow:
    """A window of raw text lines, tokenized and packed (``_line_window``)."""
    return _line_window(maker, lines, tokenize=True)


def token_line_window(maker: WindowMaker | None, lines: list[str]) -> LineWindow:
    """A window of token lines, split and packed (``_line_window``)."""
    return _line_window(maker, lines, tokenize=False)


def sentence_window(maker: WindowMaker | None, sentences: list[list[str]]) -> WindowArrays | None:
    """The arrays of a window of sentences; ``sentences`` a ``chunks.DocChunk``: with their documents."""
    return _arrays(maker, sentences, getattr(sentences, "docs", None))


def _arrays(maker: WindowMaker | None, sentences: list[list[str]], docs: array | None) -> WindowArrays | None:
    if maker is None:
        return None
    return maker(sentences) if docs is None else maker(sentences, docs)


def unpacked(kept: list[tuple[str, int]], packed: LineWindow, position: int) -> tuple[list[TaggedSentence], int]:
    """The sentences of a packed window of lines (``text_window``, ``token_line_window``), and the input's
    offset after it; ``kept`` holds (text, length with line end) per line, ``position`` the offset of its first line."""
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
    for found, _ in cut_chunks(pairs, window, window, weight=lambda _: 0, starts=pair_starts, wait=False):
        kept = [sentence for (sentence, _), _ in found]
        yield kept, maker([s.tokens for s in kept], document_numbers(start for _, start in found))


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

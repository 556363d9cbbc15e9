"""Raw text to sentences of tokens with character offsets (segtok), optionally in a worker process.

Each input line holds one or more sentences; a sentence does not run across
lines. Every token is a piece of the input, so its offsets point at its text.
This module does not import torch, so a worker process starts quickly.
"""

from __future__ import annotations

import multiprocessing
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice

Tokenized = tuple[list[str], list[tuple[int, int]]]  # tokens, (start, end) offsets in the line

LINES_PER_TASK = 256  # lines sent to the worker at a time
TASKS_AHEAD = 8  # tasks in flight: bounds memory while keeping the worker busy


def _web_tokens(sentence: str) -> list[str]:
    """segtok's web tokenizer (URIs and e-mail addresses kept whole) without its HTML unescaping,
    so every token is a piece of the input (``&amp;`` stays ``&amp;``, and its offsets are right)."""
    from segtok.tokenizer import web_tokenizer, word_tokenizer

    spans = web_tokenizer.split(sentence)  # text, URI or address, text, ...
    return [token for i, span in enumerate(spans) for token in ((span,) if i % 2 else word_tokenizer(span))]


FlatTokenized = tuple[list[str], Sequence[int]]  # tokens, offsets flat: start0, end0, start1, end1, ...


def tokenize_text(text: str) -> list[Tokenized]:
    """Split a line of raw text into sentences of tokens with their character offsets in the line."""
    return [(tokens, list(zip(flat[::2], flat[1::2]))) for tokens, flat in _tokenize_flat(text)]


def _tokenize_flat(text: str) -> list[FlatTokenized]:
    """``tokenize_text`` with each sentence's offsets as one flat list (no tuple per token)."""
    from segtok.segmenter import split_multi
    from segtok.tokenizer import split_contractions

    result = []
    cursor = 0
    find = text.find
    for sentence in split_multi(text):
        # split_contractions makes "" of a lone "n't"
        tokens = [token for token in split_contractions(_web_tokens(sentence)) if token]
        offsets: list[int] = []
        for token in tokens:
            start = find(token, cursor)
            if start < 0:  # the tokenizer changed the token's text; keep it, point at where we are
                start = cursor
            end = start + len(token)
            if end > cursor:
                cursor = end
            offsets += (start, end)
        if tokens:
            result.append((tokens, offsets))
    return result


def tokenize_lines(lines: list[str]) -> list[list[tuple[str, bytes]]]:
    """The worker's task: ``tokenize_text`` of each line, packed for a cheap trip between processes
    (tokens joined by newlines, which no token holds; offsets as a flat array of ints)."""
    return [
        [("\n".join(tokens), array("i", offsets).tobytes()) for tokens, offsets in _tokenize_flat(text)]
        for text in lines
    ]


def _unpack(packed: list[tuple[str, bytes]]) -> list[FlatTokenized]:
    out = []
    for joined, raw in packed:
        flat = array("i")
        flat.frombytes(raw)
        out.append((joined.split("\n"), flat))
    return out


def tokenize_all(lines: Iterable[str], workers: int = 0) -> Iterator[list[FlatTokenized]]:
    """``tokenize_text`` of each line, in order, offsets flattened (start0, end0, start1, ...);
    with ``workers`` > 0 in that many worker processes.

    The caller reads and decodes the input (so its errors keep their line
    numbers) while the workers tokenize; at most ``TASKS_AHEAD`` tasks of
    ``LINES_PER_TASK`` lines are in flight, so memory stays flat.
    """
    it = iter(lines)
    # Short inputs never pay for starting a worker: the first lines are tokenized here.
    for line in islice(it, LINES_PER_TASK if workers > 0 else None):
        yield _tokenize_flat(line)
    first = list(islice(it, 1))
    if not first:
        return
    it = chain(first, it)
    context = multiprocessing.get_context("spawn")  # never fork a process that holds torch threads
    with context.Pool(workers) as pool:
        pending: deque = deque()
        while True:
            chunk = list(islice(it, LINES_PER_TASK))
            if chunk:
                pending.append(pool.apply_async(tokenize_lines, (chunk,)))
            if pending and (len(pending) >= TASKS_AHEAD or not chunk):
                for packed in pending.popleft().get():
                    yield _unpack(packed)
            if not chunk and not pending:
                return

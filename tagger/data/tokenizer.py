"""Raw text to sentences of tokens with character offsets (segtok).

Each input line holds one or more sentences; a sentence does not run across
lines. Every token is a piece of the input, so its offsets point at its text.
This module does not import torch: the tagger runs it in a worker process.
"""

from __future__ import annotations

from collections.abc import Sequence


def _web_tokens(sentence: str) -> list[str]:
    """segtok's web tokenizer (URIs and e-mail addresses kept whole) without its HTML unescaping,
    so every token is a piece of the input (``&amp;`` stays ``&amp;``, and its offsets are right)."""
    from segtok.tokenizer import web_tokenizer, word_tokenizer

    spans = web_tokenizer.split(sentence)  # text, URI or address, text, ...
    return [token for i, span in enumerate(spans) for token in ((span,) if i % 2 else word_tokenizer(span))]


FlatTokenized = tuple[list[str], Sequence[int]]  # tokens, offsets flat: start0, end0, start1, end1, ...


def tokenize_flat(text: str) -> list[FlatTokenized]:
    """Split a line of raw text into sentences of tokens, each with its tokens' character offsets
    in the line as one flat list (start0, end0, start1, end1, ...; no tuple per token)."""
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

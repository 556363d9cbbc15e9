"""Writing tagged sentences: CoNLL columns, inline brackets, JSON lines, or one HTML page.

Each format shows the scores the sentences carry (``files.tag_file`` sets only
those asked for): jsonl every score field, inline and html the entity scores.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO

from tagger.data.schemes import to_spans
from tagger.data.types import TaggedSentence

FORMATS = ("conll", "inline", "jsonl", "html")


def format_conll(sentence: TaggedSentence) -> str:
    return "".join(f"{token}\t{tag}\n" for token, tag in zip(sentence.tokens, sentence.tags)) + "\n"


def format_inline(sentence: TaggedSentence) -> str:
    """``[PER John Smith] lives in [LOC Paris]``; with entity scores ``[PER John Smith|0.98]``; a plain label
    set's ``John/NNP Smith/NNP lives/VBZ``."""
    if sentence.plain:
        return " ".join(f"{token}/{tag}" for token, tag in zip(sentence.tokens, sentence.tags)) + "\n"
    words = list(sentence.tokens)
    spans = to_spans(sentence.tags)
    scores = sentence.entity_scores if sentence.entity_scores is not None else [None] * len(spans)
    for (kind, start, end), score in reversed(list(zip(spans, scores))):
        shown = "" if score is None else f"|{score:.2f}"
        words[start:end] = [f"[{kind} " + " ".join(words[start:end]) + shown + "]"]
    return " ".join(words) + "\n"


def format_jsonl(sentence: TaggedSentence) -> str:
    return json_text(sentence.to_dict()) + "\n"


def json_text(value: object) -> str:
    """``value`` as one line of JSON as ``--format jsonl`` writes it: text as it is (UTF-8), but U+2028 and U+2029,
    valid in JSON, are escaped: they are line breaks to str.splitlines() and JavaScript."""
    line = json.dumps(value, ensure_ascii=False)
    if "\u2028" in line or "\u2029" in line:
        line = line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return line


FORMATTERS: dict[str, Callable[[TaggedSentence], str]] = {
    "conll": format_conll,
    "inline": format_inline,
    "jsonl": format_jsonl,
}


class _Lines:
    """A format of one piece of text per sentence, with nothing before or after: ``HtmlWriter``'s calls."""

    def __init__(self, formatter: Callable[[TaggedSentence], str]):
        self.sentence = formatter

    def head(self) -> str:
        return ""

    def tail(self) -> str:
        return ""


def _pages(fmt: str, types: Sequence[str] | None):
    if fmt == "html":
        from tagger.tagging.html import HtmlWriter

        return HtmlWriter(scores=True, types=types)  # shows the entity scores where sentences carry them
    return _Lines(FORMATTERS[fmt])


def write(
    sentences: Iterable[TaggedSentence], out: TextIO, fmt: str = "conll", types: Sequence[str] | None = None
) -> int:
    """Write each sentence as soon as it comes; returns how many were written. The output is flushed
    where a window of tagged input ends (``window_done`` of ``tagging.tag_stream``'s result), so a
    filter's answer is out before it waits for more input, and every 256 sentences.

    ``types``, the model's entity types, make the legend of the html page. Nothing is written for no
    sentences, not even an empty page: ``tagger tag`` is a filter, and an empty input gives an empty output.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
    page = _pages(fmt, types)
    count = 0
    for sentence in sentences:
        if count == 0:
            out.write(page.head())
        out.write(page.sentence(sentence))
        count += 1
        if count % 256 == 0 or getattr(sentences, "window_done", False):
            out.flush()
    if count:
        out.write(page.tail())
    out.flush()
    return count

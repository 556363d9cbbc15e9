"""Writing tagged sentences: CoNLL columns, inline brackets, or JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from .schemes import to_spans
from .types import TaggedSentence

FORMATS = ("conll", "inline", "jsonl")


def format_conll(sentence: TaggedSentence) -> str:
    return "".join(f"{token}\t{tag}\n" for token, tag in zip(sentence.tokens, sentence.tags)) + "\n"


def format_inline(sentence: TaggedSentence) -> str:
    words = list(sentence.tokens)
    for kind, start, end in reversed(to_spans(sentence.tags)):
        words[start:end] = [f"[{kind} " + " ".join(words[start:end]) + "]"]
    return " ".join(words) + "\n"


def format_jsonl(sentence: TaggedSentence) -> str:
    return json.dumps(sentence.to_dict(), ensure_ascii=False) + "\n"


FORMATTERS = {"conll": format_conll, "inline": format_inline, "jsonl": format_jsonl}


def write(sentences: Iterable[TaggedSentence], out: TextIO, fmt: str = "conll") -> int:
    """Write each sentence as soon as it comes; returns how many were written."""
    formatter = FORMATTERS[fmt]
    count = 0
    for sentence in sentences:
        out.write(formatter(sentence))
        count += 1
        if count % 256 == 0:
            out.flush()
    out.flush()
    return count

"""The writer's three formats, and jsonl as the shared types give it."""

from __future__ import annotations

import io
import json

from tagger.types import TaggedSentence
from tagger.writer import FORMATTERS, format_conll, format_inline, format_jsonl, write

LINE = "Sí, Ana López vive en «São Paulo»."
TOKENS = ["Sí", ",", "Ana", "López", "vive", "en", "«", "São", "Paulo", "»", "."]
TAGS = ["O", "O", "B-PER", "I-PER", "O", "O", "O", "B-LOC", "I-LOC", "O", "O"]


def raw() -> TaggedSentence:
    flat = []
    at = 0
    for token in TOKENS:
        at = LINE.index(token, at)
        flat += [at, at + len(token)]
        at += len(token)
    return TaggedSentence(TOKENS, TAGS, flat, LINE, 10)


def test_jsonl_is_byte_for_byte_what_it_has_been():
    """The record keys, their order, non-ASCII kept as is: what scripts reading --format jsonl rely on."""
    expected = (
        '{"tokens": ["Sí", ",", "Ana", "López", "vive", "en", "«", "São", "Paulo", "»", "."], '
        '"tags": ["O", "O", "B-PER", "I-PER", "O", "O", "O", "B-LOC", "I-LOC", "O", "O"], '
        '"entities": [{"type": "PER", "start": 2, "end": 4, "text": "Ana López", "char_start": 14, "char_end": 23}, '
        '{"type": "LOC", "start": 7, "end": 9, "text": "São Paulo", "char_start": 33, "char_end": 42}], '
        '"offsets": [[10, 12], [12, 13], [14, 17], [18, 23], [24, 28], [29, 31], [32, 33], [33, 36], [37, 42], '
        "[42, 43], [43, 44]]}\n"
    )
    assert format_jsonl(raw()) == expected


def test_jsonl_is_the_sentence_to_dict():
    for sentence in (raw(), TaggedSentence(["Bob"], ["S-PER"]), TaggedSentence([], [])):
        assert json.loads(format_jsonl(sentence)) == sentence.to_dict()


def test_conll_and_inline():
    sentence = TaggedSentence(["Ana", "López", "vive"], ["B-PER", "I-PER", "O"])
    assert format_conll(sentence) == "Ana\tB-PER\nLópez\tI-PER\nvive\tO\n\n"
    assert format_inline(sentence) == "[PER Ana López] vive\n"


def test_write_counts_the_sentences_in_every_format():
    for fmt in FORMATTERS:
        out = io.StringIO()
        assert write([raw(), raw()], out, fmt) == 2
        assert out.getvalue() == 2 * FORMATTERS[fmt](raw())
    empty = io.StringIO()
    assert write([], empty, "jsonl") == 0 and empty.getvalue() == ""

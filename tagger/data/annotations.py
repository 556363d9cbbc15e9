"""Read the exports of annotation tools (character spans over text) and ``tag --format jsonl`` output as tagged
sentences.

Records are JSON objects, one a line or in a JSON array: doccano's (``text`` with ``labels``/``label``
``[start, end, TYPE]`` lists or ``entities``), Label Studio's (``data.text`` and the first annotation not
cancelled; its JSON-MIN export too), and ``tag --format jsonl``'s (``tokens`` with ``tags`` or token-span
``entities``; ``Doc.to_dict()``'s ``sentences``).

Text is tokenized as ``tag`` does; each character span (end exclusive) becomes IOB2 tags, joining the sentences
it runs across. A span that cuts a token, covers none, lies outside the text or overlaps another is a
``DataError`` (``strict=False``: its record is left out). Each record is a document.
"""

from __future__ import annotations

import json
import sys
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tagger.data.reader import STDIN, UTF8, Sentence, decoded_lines, open_binary, text_encoding
from tagger.data.tokenizer import tokenize_flat
from tagger.errors import DataError, counted

Span = tuple[int, int, str]  # start, end (characters, end exclusive), type


@dataclass
class Annotated:
    """The sentences of a file of records, and the records left out: (line, problem) of each."""

    sentences: list[Sentence] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    unannotated: int = 0  # Label Studio tasks with no annotation (left out)


class BadSpan(ValueError):
    """A span that cannot be tags of tokens (the message says why)."""


def read_annotations(path: str | Path, encoding: str = UTF8, strict: bool = True) -> Annotated:
    """The tagged sentences of a JSON lines or JSON file of records (stdin for ``-``)."""
    text_encoding(encoding)
    name = STDIN if str(path) == "-" else str(path)
    if name == STDIN:
        found = _read(sys.stdin.buffer, name, encoding, strict)
    else:
        with open_binary(path) as stream:
            found = _read(stream, name, encoding, strict)
    if not found.sentences:
        if found.skipped:
            line, problem = found.skipped[0]
            raise DataError(f"every record has a bad span; the first: {problem}", name, line)
        raise DataError("no sentences (the file is empty, or its records have no text)", name)
    return found


def _read(stream, name: str, encoding: str, strict: bool) -> Annotated:
    lines = [(number, text) for number, text, _ in decoded_lines(stream, name, encoding)]
    first = next((text.lstrip() for _, text in lines if text.strip()), "")
    records = _array_records(lines, name) if first.startswith("[") else _line_records(lines, name)
    found = Annotated()
    for doc, (number, record) in enumerate(records):
        try:
            sentences = record_sentences(record, doc, number)
        except BadSpan as bad:
            if strict:
                raise DataError(str(bad), name, number) from None
            found.skipped.append((number, str(bad)))
            continue
        if sentences is None:
            found.unannotated += 1
        else:
            found.sentences += sentences
    return found


def _line_records(lines: list[tuple[int, str]], name: str) -> Iterator[tuple[int, dict]]:
    """(line, record) for each non-blank line of JSON lines."""
    for number, text in lines:
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"not JSON: {err.msg} (column {err.colno})", name, number) from None
        yield number, _object(record, name, number)


def _array_records(lines: list[tuple[int, str]], name: str) -> Iterator[tuple[int, dict]]:
    """(line where it starts, record) for each element of a JSON array (Label Studio's export)."""
    text = "\n".join(text for _, text in lines)
    decoder = json.JSONDecoder()
    at = text.index("[") + 1
    line = _Lines(text)
    while True:
        at = _skip_space(text, at)
        if at < len(text) and text[at] == "]":
            return
        try:
            record, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError as err:
            raise DataError(f"not JSON: {err.msg} (column {err.colno})", name, err.lineno) from None
        yield line.of(at), _object(record, name, line.of(at))
        at = _skip_space(text, end)
        if at < len(text) and text[at] == ",":
            at += 1
        elif at >= len(text) or text[at] != "]":
            raise DataError("not JSON: expected ',' or ']' after a record", name, line.of(at))


class _Lines:
    """The line of a place in a text, for places asked in increasing order."""

    def __init__(self, text: str):
        self.text, self.at, self.line = text, 0, 1

    def of(self, at: int) -> int:
        self.line += self.text.count("\n", self.at, at)
        self.at = at
        return self.line


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _object(record: object, name: str, number: int) -> dict:
    if not isinstance(record, dict):
        raise DataError(f"a record must be a JSON object, not {type(record).__name__}", name, number)
    return record


def record_sentences(record: dict, doc: int, line: int) -> list[Sentence] | None:
    """The tagged sentences of one record; None for a Label Studio task with no annotation; ``BadSpan`` for a
    bad span or a record of no known kind."""
    if "tokens" in record:
        return [s for s in [_tokens_sentence(record, doc, line)] if s.tokens]
    if "sentences" in record and isinstance(record["sentences"], list):
        return [s for r in record["sentences"] for s in [_tokens_sentence(_checked_object(r), doc, line)] if s.tokens]
    if "data" in record:
        text, spans = _label_studio(record)
        if spans is None:
            return None
    elif "text" in record:
        text, spans = record["text"], _doccano_spans(record)
    else:
        raise BadSpan("a record with neither 'text', 'data' (Label Studio) nor 'tokens' (tag --format jsonl)")
    if not isinstance(text, str):
        raise BadSpan("the record's text is not a string")
    return spans_to_sentences(text, spans, doc, line)


def _checked_object(value: object) -> dict:
    if not isinstance(value, dict):
        raise BadSpan(f"a sentence must be a JSON object, not {type(value).__name__}")
    return value


def _tokens_sentence(record: dict, doc: int, line: int) -> Sentence:
    """A ``tag --format jsonl`` record: its tokens and tags (or IOB2 tags of its token-span entities)."""
    tokens = record.get("tokens")
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        raise BadSpan("'tokens' must be a list of non-empty strings")
    tags = record.get("tags")
    if tags is None:
        tags = ["O"] * len(tokens)
        for entity in _list(record.get("entities", [])):
            start, end, kind = _field(entity, "start"), _field(entity, "end"), _field(entity, "type")
            _label_tokens(tags, start, end, kind, f"entity {kind} of tokens [{start}, {end})")
    elif not isinstance(tags, list) or len(tags) != len(tokens) or not all(isinstance(t, str) and t for t in tags):
        raise BadSpan(f"'tags' must be a list of {len(tokens)} non-empty strings, one per token")
    return Sentence(list(tokens), list(tags), line, doc, [line] * len(tokens))


def _field(entity: object, key: str):
    if not isinstance(entity, dict) or key not in entity:
        raise BadSpan(f"an entity without {key!r}")
    return entity[key]


def _doccano_spans(record: dict) -> list[Span]:
    """doccano's spans (``labels``/``label`` lists, or ``entities``), or Label Studio JSON-MIN's ``label``."""
    if "entities" in record:
        items = record["entities"]
        return [_span(_field(e, "start_offset"), _field(e, "end_offset"), _field(e, "label")) for e in _list(items)]
    spans = []
    for item in _list(record.get("labels", record.get("label", []))):
        if isinstance(item, dict):
            spans.append(_studio_span(item))
        elif isinstance(item, list) and len(item) == 3:
            spans.append(_span(*item))
        else:
            raise BadSpan(f"a label must be [start, end, type], not {json.dumps(item)}")
    return spans


def _list(value: object) -> list:
    if not isinstance(value, list):
        raise BadSpan(f"spans must be a list, not {json.dumps(value)}")
    return value


def _span(start: object, end: object, kind: object) -> Span:
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
        raise BadSpan(f"a span's start and end must be whole numbers, not {json.dumps([start, end])}")
    if not isinstance(kind, str) or not kind or any(c.isspace() for c in kind):
        raise BadSpan(f"a span's type must be a word (no spaces), not {json.dumps(kind)}")
    return start, end, kind


def _studio_span(value: dict) -> Span:
    labels = value.get("labels")
    if not isinstance(labels, list) or not labels:
        raise BadSpan("a Label Studio span without 'labels'")
    return _span(value.get("start"), value.get("end"), labels[0])


def _label_studio(task: dict) -> tuple[str, list[Span] | None]:
    """A Label Studio task's text and the spans of its first annotation not cancelled (None where none is)."""
    data = task["data"]
    if not isinstance(data, dict):
        raise BadSpan("a Label Studio task's 'data' must be an object")
    texts = [v for v in data.values() if isinstance(v, str)]
    text = data.get("text", texts[0] if len(texts) == 1 else None)
    if not isinstance(text, str):
        raise BadSpan("a Label Studio task without data.text (and not one text field)")
    done = [a for a in _list(task.get("annotations", [])) if isinstance(a, dict) and not a.get("was_cancelled")]
    if not done:
        return text, None
    results = _list(done[0].get("result", []))
    spans = [_studio_span(r["value"]) for r in results if isinstance(r, dict) and _is_span(r.get("value"))]
    return text, spans


def _is_span(value: object) -> bool:
    return isinstance(value, dict) and "start" in value and "end" in value and "labels" in value


def spans_to_sentences(text: str, spans: list[Span], doc: int = 0, line: int = 0) -> list[Sentence]:
    """The sentences of ``text``, tagged IOB2 from character ``spans``; ``BadSpan`` for a span that cannot be."""
    tokens, offsets, sentence_of = _tokenized(text)
    tags = ["O"] * len(tokens)
    joined: set[int] = set()  # sentences joined to the one before them
    ends = [e for _, e in offsets]  # increasing: tokens do not overlap
    for start, end, kind in sorted(spans):
        first, last = _covered(text, offsets, ends, start, end, kind)
        _label_tokens(tags, first, last + 1, kind, f"span [{start}, {end}) {kind} {text[start:end]!r}")
        joined.update(range(sentence_of[first] + 1, sentence_of[last] + 1))
    sentences: list[Sentence] = []
    for i, token in enumerate(tokens):
        if i == 0 or (sentence_of[i] != sentence_of[i - 1] and sentence_of[i] not in joined):
            sentences.append(Sentence([], [], line, doc, []))
        sentences[-1].tokens.append(token)
        sentences[-1].tags.append(tags[i])
        sentences[-1].lines.append(line)
    return sentences


def _tokenized(text: str) -> tuple[list[str], list[tuple[int, int]], list[int]]:
    """The tokens of ``text``, line by line as ``tag`` reads it, with their offsets and sentence numbers."""
    tokens: list[str] = []
    offsets: list[tuple[int, int]] = []
    sentence_of: list[int] = []
    at, count = 0, 0
    for piece in text.split("\n"):  # lines as tag reads them: cut at line feeds only, a CR before one dropped
        for words, flat in tokenize_flat(piece.rstrip("\r")):
            tokens += words
            offsets += [(at + flat[2 * i], at + flat[2 * i + 1]) for i in range(len(words))]
            sentence_of += [count] * len(words)
            count += 1
        at += len(piece) + 1
    return tokens, offsets, sentence_of


def _covered(
    text: str, offsets: list[tuple[int, int]], ends: list[int], start: int, end: int, kind: str
) -> tuple[int, int]:
    """The first and last token a span covers (spaces at its ends ignored), else ``BadSpan``."""
    shown = f"span [{start}, {end}) {kind}"
    if not 0 <= start < end <= len(text):
        raise BadSpan(f"{shown} is not inside the text ({counted(len(text), 'character')})")
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    inside = []  # the tokens the span touches: from the first that ends after its start
    for i in range(bisect_right(ends, start), len(offsets)):
        if offsets[i][0] >= end:
            break
        inside.append(i)
    if not inside:
        raise BadSpan(f"{shown} {text[start:end]!r} covers no token")
    for i in (inside[0], inside[-1]):
        s, e = offsets[i]
        if s < start or e > end:
            raise BadSpan(f"{shown} {text[start:end]!r} cuts the token {text[s:e]!r} (characters {s}-{e})")
    return inside[0], inside[-1]


def _label_tokens(tags: list[str], start: object, end: object, kind: object, shown: str) -> None:
    """Tag tokens ``start`` to ``end`` (exclusive) IOB2 as ``kind``; ``BadSpan`` where out of range or taken."""
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(tags):
        raise BadSpan(f"{shown} is not a span of the {counted(len(tags), 'token')}")
    if not isinstance(kind, str) or not kind or any(c.isspace() for c in kind):
        raise BadSpan(f"{shown}: the type must be a word (no spaces), not {json.dumps(kind)}")
    taken = next((t for t in tags[start:end] if t != "O"), None)
    if taken is not None:
        raise BadSpan(f"{shown} overlaps another span ({taken[2:]})")
    tags[start:end] = [sys.intern(f"B-{kind}")] + [sys.intern(f"I-{kind}")] * (end - start - 1)

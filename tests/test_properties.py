"""Property and fuzz tests (hypothesis): round trips, scheme conversions, tagging offsets, bad bytes.

Example counts are kept modest (and a fifth of them under `-m "not slow"`, see conftest.py); the strategies aim at
the edges (odd whitespace, byte-order marks, CRLF, contractions, HTML entities, any script).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import examples
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tagger.corpus import load_tagged
from tagger.errors import DataError, ModelFileError
from tagger.reader import DOCSTART, iter_conll
from tagger.schemes import BIOES, IOB1, IOB2, SCHEMES, convert, from_spans, invalid_positions, to_spans
from tagger.tagging import Predictor, TaggedSentence, tag_stream
from tagger.windows import read_sentences, read_windows
from tagger.writer import format_conll, format_jsonl

FAST = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])

TYPES = ["PER", "LOC", "ORG", "MISC-X"]

# Characters a CoNLL token cannot hold: the column and line separators, and what the reader strips.
NOT_IN_TOKENS = " \t\r\n\f\v\ufeff"
tokens = st.text(
    alphabet=st.characters(blacklist_characters=NOT_IN_TOKENS, blacklist_categories=("Cs",)), min_size=1, max_size=8
).filter(lambda t: t != DOCSTART)
tags = st.one_of(st.just("O"), st.builds(lambda p, t: f"{p}-{t}", st.sampled_from("BIES"), st.sampled_from(TYPES)))


# Reading and writing CoNLL


@FAST
@given(
    sentences=st.lists(st.lists(st.tuples(tokens, tags), min_size=1, max_size=6), min_size=1, max_size=5),
    crlf=st.booleans(),
    bom=st.booleans(),
    separator=st.sampled_from(["\t", " ", " \t "]),
)
def test_conll_read_write_round_trip(sentences, crlf, bom, separator):
    text = "".join(format_conll(TaggedSentence([t for t, _ in s], [g for _, g in s])) for s in sentences)
    text = text.replace("\t", separator)
    if crlf:
        text = text.replace("\n", "\r\n")
    data = ("\ufeff" if bom else "") + text
    read = list(iter_conll(io.BytesIO(data.encode("utf-8")), "x"))
    assert [r.tokens for r in read] == [[t for t, _ in s] for s in sentences]
    assert [r.tags for r in read] == [[g for _, g in s] for s in sentences]
    # each sentence starts where the writer put it: one line a token, one blank line after
    starts = [1]
    for s in sentences[:-1]:
        starts.append(starts[-1] + len(s) + 1)
    assert [r.line for r in read] == starts


# Tag schemes


@st.composite
def span_sets(draw):
    """Non-overlapping, possibly adjacent, entity spans over a sentence, and its length."""
    spans, position = [], 0
    for _ in range(draw(st.integers(0, 5))):
        start = position + draw(st.integers(0, 2))
        end = start + draw(st.integers(1, 3))
        spans.append((draw(st.sampled_from(TYPES)), start, end))
        position = end
    length = position + draw(st.integers(0, 2))
    assume(length > 0)
    return spans, length


@FAST
@given(span_sets(), st.sampled_from(SCHEMES), st.sampled_from(SCHEMES))
def test_scheme_conversions_round_trip_on_valid_sequences(spans_and_length, scheme, other):
    spans, length = spans_and_length
    tags = from_spans(spans, length, scheme)
    assert invalid_positions(tags, scheme) == []
    assert to_spans(tags) == spans
    there = convert(tags, other)
    assert invalid_positions(there, other) == []
    assert to_spans(there) == spans
    assert convert(there, scheme) == tags


@FAST
@given(st.lists(tags, min_size=1, max_size=12), st.sampled_from(SCHEMES))
def test_conversion_of_any_sequence_is_valid_and_keeps_its_entities(sequence, scheme):
    converted = convert(sequence, scheme)
    assert len(converted) == len(sequence)
    assert invalid_positions(converted, scheme) == []
    assert to_spans(converted) == to_spans(sequence)
    assert convert(converted, scheme) == converted


def test_conversion_examples():
    """The examples people think of, spelled out (conlleval's reading of I-X after O)."""
    assert convert(["O", "I-PER", "I-PER", "O"], IOB2) == ["O", "B-PER", "I-PER", "O"]
    assert convert(["I-PER", "B-PER", "I-LOC"], IOB2) == ["B-PER", "B-PER", "B-LOC"]
    assert convert(["B-PER", "I-PER", "B-PER", "I-LOC"], IOB1) == ["I-PER", "I-PER", "B-PER", "I-LOC"]
    assert convert(["B-PER", "I-PER", "O", "B-LOC"], BIOES) == ["B-PER", "E-PER", "O", "S-LOC"]


# Tagging raw text: one tag per token, offsets that point at the token


@pytest.fixture(scope="module")
def predictor(trained_model):
    from tagger.model_file import load_model
    from tagger.runtime import configure_torch

    configure_torch(1)
    return Predictor.from_loaded(load_model(trained_model), batch_size=16)


PIECES = [
    "Mary",
    "Paris",
    "John Smith",
    "don't",
    "n't",
    "O'Neil",
    "y'all",
    "can’t",
    "U.S.",
    "Mr.",
    "a.m.",
    "e-mail",
    "http://example.com/a?b=c",
    "ann@example.org",
    "&amp;",
    "&lt;3",
    "&#39;",
    "$5.00",
    "10,000",
    ":-)",
    "...",
    "?!",
    "“quoted”",
    "(x)",
    "東京",
    "مرحبا",
    "😀",
    "👍🏽",
    "e\u0301",
    "ﬁ",
    "\u200b",
    "\u00a0",
    "\u3000",
    "\u2028",
    "\x85",
    "\ufeff",
    " ",
    "  ",
    "\t",
    "\r",
    "\r\n",
    "\n",
    ". ",
]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=14).map("".join)


@SLOW
@given(text=texts)
def test_tagging_any_text_gives_a_tag_per_token_and_true_offsets(predictor, text):
    data = text.encode("utf-8")
    reference = data.decode("utf-8")
    if reference.startswith("\ufeff"):  # the reader drops a byte-order mark
        reference = reference[1:]
    windows = read_windows(io.BytesIO(data), "<text>", "text", predictor.window_maker, window=8)
    for sentence in tag_stream(predictor, windows):
        record = json.loads(format_jsonl(sentence))
        assert len(record["tags"]) == len(record["tokens"]) == len(record["offsets"]) > 0
        for token, (start, end) in zip(record["tokens"], record["offsets"]):
            assert token and reference[start:end] == token
        assert invalid_positions(record["tags"], predictor.out_scheme) == []
        for entity in record["entities"]:
            assert reference[entity["char_start"] : entity["char_end"]] == entity["text"]
            assert entity["char_start"] == record["offsets"][entity["start"]][0]


# Arbitrary bytes: the reader raises DataError or nothing


lines = st.lists(
    st.one_of(
        st.binary(max_size=12),
        st.sampled_from(
            [b"", b" ", b"\t", b"\r", b"\xef\xbb\xbf", b"\xc2\xa0", b"\xe2\x80\xa8", b"\x1c", b"\x85", b"\xff"]
        ),
        st.builds(
            lambda token, tag, sep: token + sep + tag,
            st.sampled_from([b"Mary", b"-DOCSTART-", b"\xc3\xa9", b"x\xe2\x80\x8by", b"\xf0\x9f\x98\x80"]),
            st.sampled_from([b"O", b"B-PER", b"I-PER", b"E-LOC", b"S-X", b"B-", b"0", b"B_PER", b"PER", b"O O"]),
            st.sampled_from([b"\t", b" ", b" \t", b"\t\t"]),
        ),
    ),
    max_size=12,
)


@FAST
@given(body=st.one_of(st.binary(max_size=200), lines.map(b"\n".join), lines.map(b"\r\n".join)))
def test_reader_raises_only_data_errors_on_any_bytes(body):
    for read in (
        lambda s: list(iter_conll(s, "x")),
        lambda s: list(iter_conll(s, "x", with_tags=False)),
        lambda s: list(iter_conll(s, "x", tag_column=1)),
        lambda s: list(read_sentences(s, "x", "tokens")),
        lambda s: list(read_sentences(s, "x")),
    ):
        try:
            read(io.BytesIO(body))
        except DataError as err:
            assert str(err).startswith("x:")
            assert "\n" not in str(err)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FAST
@given(body=lines.map(b"\n".join))
def test_loading_a_tagged_file_raises_only_data_errors(scratch, body):
    path = scratch / "data.txt"
    path.write_bytes(body)
    try:
        data = load_tagged(path)
    except DataError as err:
        assert str(err).startswith(str(path))
        return
    for scheme in SCHEMES:
        for sentence, converted in zip(data.sentences, data.tags_in(scheme)):
            assert len(converted) == len(sentence.tokens)
            assert invalid_positions(converted, scheme) == []


# Damaged model files: ModelFileError, never anything else


@pytest.fixture(scope="module")
def model_bytes(trained_model) -> bytes:
    return trained_model.read_bytes()


@SLOW
@given(cut=st.floats(0, 1, exclude_max=True), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255))))
def test_damaged_model_file_is_a_model_file_error_or_loads(scratch, model_bytes, cut, flips):
    from tagger.model_file import load_model

    data = bytearray(model_bytes[: int(cut * len(model_bytes))] if cut > 0 else model_bytes)
    for where, value in flips:
        if data:
            data[int(where * (len(data) - 1))] = value
    path = scratch / "damaged.pt"
    path.write_bytes(bytes(data))
    try:
        load_model(path)
    except ModelFileError as err:
        assert str(err).startswith(f"{path}: ")
        assert "\n" not in str(err)


@SLOW
@given(body=st.binary(max_size=300))
def test_random_bytes_are_not_a_model(scratch, body):
    from tagger.model_file import read_checkpoint

    path = scratch / "random.pt"
    path.write_bytes(body)
    with pytest.raises(ModelFileError):
        read_checkpoint(path)

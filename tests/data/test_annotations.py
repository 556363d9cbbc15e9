"""Exports of annotation tools and ``tag --format jsonl`` output as training data: spans aligned to the tokens
``tag`` makes, IOB2 tags, bad spans refused (or their records left out) with file and line, any bytes a
DataError at worst."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger.data.annotations import BadSpan, _read, read_annotations, spans_to_sentences
from tagger.data.tokenizer import tokenize_flat
from tagger.data.types import Doc, Entity, TaggedSentence
from tagger.errors import DataError
from tests.data.helpers import lines
from tests.properties import FAST

FIXTURES = Path(__file__).parent / "fixtures"
DOCCANO = FIXTURES / "doccano.jsonl"
STUDIO = FIXTURES / "label_studio.json"


def pairs(sentence) -> list[tuple[str, str]]:
    return list(zip(sentence.tokens, sentence.tags))


def write_lines(tmp_path: Path, records: list, name: str = "x.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_doccano_spans_become_iob2_tags_of_tags_tokens():
    found = read_annotations(DOCCANO, strict=False)
    first = found.sentences[0]
    assert pairs(first)[:3] == [("Angela", "B-PER"), ("Merkel", "I-PER"), ("met", "O")]
    assert first.tokens == tokenize_flat("Angela Merkel met Emmanuel Macron in Paris.")[0][0]
    # the "label" key of doccano's other export; its two sentences stay one document
    second, third = found.sentences[1:3]
    assert pairs(second)[0] == ("Siemens", "B-ORG") and pairs(third)[:2] == [("Olaf", "B-PER"), ("Scholz", "I-PER")]
    assert second.doc == third.doc == 1 and second.line == third.line == 2


def test_a_span_that_cuts_a_token_is_an_error_naming_its_line():
    with pytest.raises(DataError) as caught:
        read_annotations(DOCCANO)
    assert str(caught.value) == f"{DOCCANO}:3: span [10, 14) ORG 'Appl' cuts the token 'Apple' (characters 10-15)"


def test_bad_spans_leave_their_records_out_when_not_strict():
    found = read_annotations(DOCCANO, strict=False)
    assert [line for line, _ in found.skipped] == [3, 4]
    assert "span [8, 12) LOC 'York' overlaps another span (ORG)" in found.skipped[1][1]
    assert [s.line for s in found.sentences] == [1, 2, 2, 5]


def test_label_studio_export_first_annotation_not_cancelled_and_task_lines():
    found = read_annotations(STUDIO)
    assert found.unannotated == 1  # task 12 has no annotation: left out, not read as all O
    tim, google, zurich = found.sentences
    assert pairs(tim) == [("Tim", "B-PER"), ("Cook", "I-PER"), ("visited", "O"), ("Berlin", "B-LOC"), (".", "O")]
    assert pairs(google)[0] == ("Google", "B-ORG") and pairs(zurich)[3] == ("Zurich", "B-LOC")  # second text line
    assert (tim.line, google.line) == (2, 53) and google.doc == zurich.doc


def test_label_studio_json_min_and_doccano_entities(tmp_path):
    path = write_lines(
        tmp_path,
        [
            {"text": "Ann met Bo.", "label": [{"start": 0, "end": 3, "labels": ["PER"]}]},
            {"text": "Ann met Bo.", "entities": [{"start_offset": 8, "end_offset": 10, "label": "PER"}]},
        ],
    )
    first, second = read_annotations(path).sentences
    assert first.tags == ["B-PER", "O", "O", "O"] and second.tags == ["O", "O", "B-PER", "O"]


def test_spaces_at_a_span_ends_are_ignored_and_a_span_across_sentences_joins_them():
    (sentence,) = spans_to_sentences("Go to St. Louis now.", [(5, 16, "LOC")])
    assert sentence.tags == ["O", "O", "B-LOC", "I-LOC", "O", "O"]
    assert len(spans_to_sentences("Ann left. Bob came.", [])) == 2
    (joined,) = spans_to_sentences("Ann left. Bob came.", [(4, 13, "X")])
    assert pairs(joined) == [("Ann", "O"), ("left", "B-X"), (".", "I-X"), ("Bob", "I-X"), ("came", "O"), (".", "O")]


@pytest.mark.parametrize(
    "spans, message",
    [
        ([(0, 99, "PER")], "is not inside the text"),
        ([(3, 4, "PER")], "covers no token"),
        ([(0, 3, "A B")], "the type must be a word"),
        ([(0, 3, "PER"), (0, 7, "ORG")], "overlaps another span (PER)"),
    ],
)
def test_bad_spans(spans, message):
    with pytest.raises(BadSpan, match=message.replace("(", r"\(").replace(")", r"\)")):
        spans_to_sentences("Ann met Bo.", [(s, e, t) for s, e, t in spans])


def test_tag_jsonl_output_reads_back(tmp_path):
    tagged = [
        TaggedSentence(["John", "lives", "in", "New", "York"], ["S-PER", "O", "O", "B-LOC", "E-LOC"]),
        TaggedSentence(["Hi", "."], ["O", "O"]),
    ]
    path = write_lines(tmp_path, [s.to_dict() for s in tagged])
    back = read_annotations(path).sentences
    assert [(s.tokens, s.tags) for s in back] == [(s.tokens, s.tags) for s in tagged]
    doc = Doc("Hi Ann.", [TaggedSentence(["Hi", "Ann", "."], ["O", "B-PER", "O"])])
    assert read_annotations(write_lines(tmp_path, [doc.to_dict()], "d.jsonl")).sentences[0].tags == ["O", "B-PER", "O"]


def test_token_records_with_entities_only(tmp_path):
    entity = Entity("LOC", "New York", 3, 5).to_dict()
    path = write_lines(tmp_path, [{"tokens": ["John", "lives", "in", "New", "York"], "entities": [entity]}])
    assert read_annotations(path).sentences[0].tags == ["O", "O", "O", "B-LOC", "I-LOC"]


@pytest.mark.parametrize(
    "content, line, message",
    [
        ('{"text": "Ann"}\n{"text": \n', 2, "not JSON: Expecting value"),
        ('{"text": "Ann"}\n[1, 2]\n', 2, "a record must be a JSON object, not list"),
        ('{"words": ["Ann"]}\n', 1, "a record with neither 'text'"),
        ('{"tokens": ["Ann", "met"], "tags": ["O"]}\n', 1, "'tags' must be a list of 2 non-empty strings"),
        ('[\n  {"data": {"text": "Ann"}, "annotations": []},\n  {"data": \n]\n', 4, "not JSON: Expecting value"),
        ('[\n  {"data": {"text": "Ann"}, "annotations": []}\n  {"data": {}}\n]\n', 3, "expected ',' or ']'"),
    ],
)
def test_errors_name_file_and_line(tmp_path, content, line, message):
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_annotations(path)
    assert str(caught.value).startswith(f"{path}:{line}: "), str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"\n \n", b"[]", b'{"text": ""}\n'])
def test_a_file_without_sentences_is_one_error(tmp_path, content):
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match="no sentences"):
        read_annotations(path)


def test_odd_bytes_name_the_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"text": "Ann"}\n{"text": "\xff"}\n')
    with pytest.raises(DataError, match=r"x.jsonl:2: bytes that are not UTF-8"):
        read_annotations(path)


@FAST
@given(lines)
def test_any_bytes_give_sentences_or_a_data_error(chunks):
    data = b"\n".join(chunks)
    try:
        found = _read(io.BytesIO(data), "x", "utf-8", strict=False)
    except DataError as err:
        assert str(err).startswith("x")
        return
    assert all(len(s.tokens) == len(s.tags) for s in found.sentences)


def test_a_text_is_cut_into_lines_at_line_feeds_as_tag_cuts_it():
    first, second = spans_to_sentences("Ann met Bo\r\nin Rome\x0bnow", [(15, 19, "LOC")])
    assert pairs(first) == [("Ann", "O"), ("met", "O"), ("Bo", "O")]
    assert ("Rome", "B-LOC") in pairs(second)  # \x0b is no line end for tag


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 30) | st.sampled_from(["", "Ann met Bo.", "PER", "O", "B-PER", " "]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["text", "labels", "label", "entities", "data", "annotations", "result", "value", "start"]
                + ["end", "labels", "tokens", "tags", "sentences", "start_offset", "end_offset", "type"]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@FAST
@given(st.lists(json_values, max_size=4), st.booleans())
def test_any_json_gives_sentences_or_a_data_error(records, array):
    data = json.dumps(records) if array else "\n".join(json.dumps(r) for r in records)
    try:
        found = _read(io.BytesIO(data.encode()), "x", "utf-8", strict=False)
    except DataError as err:
        assert str(err).startswith("x")
        return
    assert all(len(s.tokens) == len(s.tags) for s in found.sentences)

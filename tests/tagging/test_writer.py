"""The writer's formats (conll, inline, jsonl, html), and jsonl as the shared types give it."""

from __future__ import annotations

import io
import json
import re

import pytest

from tagger.data.types import TaggedSentence
from tagger.tagging.writer import FORMATS, FORMATTERS, format_conll, format_inline, format_jsonl, write

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


def test_inline_shows_entity_scores_the_sentence_carries():
    sentence = TaggedSentence(["Ana", "López", "vive", "en", "Lima"], ["B-PER", "I-PER", "O", "O", "B-LOC"])
    sentence.entity_scores = [0.984, 0.5]
    assert format_inline(sentence) == "[PER Ana López|0.98] vive en [LOC Lima|0.50]\n"


def test_jsonl_shows_the_scores_the_sentence_carries():
    sentence = raw()
    sentence.entity_scores, sentence.probability = [0.75, 0.5], 0.25
    record = json.loads(format_jsonl(sentence))
    assert [e["score"] for e in record["entities"]] == [0.75, 0.5]
    assert record["probability"] == 0.25 and "token_scores" not in record


def test_html_is_one_page_for_all_sentences_with_the_legend_of_the_types_given():
    out = io.StringIO()
    hostile = TaggedSentence(["<script>", '"><b>', "Ana"], ["O", "O", "B-PER"])
    assert write([raw(), hostile, raw()], out, "html", types=["LOC", "PER", "ORG"]) == 3
    page = out.getvalue()
    assert page.startswith("<!DOCTYPE html>") and page.count("<!DOCTYPE html>") == 1
    assert page.endswith("</html>\n") and page.count("</html>") == 1
    assert "<script>" not in page and "<b>" not in page and "&lt;script&gt;" in page
    assert page.count(">São Paulo<") == 2 and ">ORG<" in page  # the legend lists the types given, seen or not
    assert 'class="s"' not in page


def test_html_shows_entity_scores_where_sentences_carry_them():
    sentence = raw()
    sentence.entity_scores = [0.75, 0.5]
    out = io.StringIO()
    write([sentence], out, "html")
    assert re.findall(r'title="(\w+) ([\d.]+)"', out.getvalue()) == [("PER", "0.750"), ("LOC", "0.500")]


def test_nothing_is_written_for_no_sentences_in_any_format():
    for fmt in FORMATS:
        out = io.StringIO()
        assert write(iter([]), out, fmt) == 0 and out.getvalue() == "", fmt


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="'xml'"):
        write([], io.StringIO(), "xml")


def test_jsonl_escapes_the_unicode_line_separators():
    import json

    from tagger.data.types import TaggedSentence
    from tagger.tagging.writer import format_jsonl

    sentence = TaggedSentence(["Paris\u2028Mary", "\u2029"], ["B-LOC", "O"])
    line = format_jsonl(sentence)
    assert len(line.splitlines()) == 1  # one record, one line, whatever splits the lines
    assert json.loads(line)["tokens"] == ["Paris\u2028Mary", "\u2029"]


# A plain label set (part-of-speech tags): word/TAG inline, token and tag in conll, no entities in jsonl

POS_TOKENS = ["Ana", "paid", "$", "5", "(", "cash", ")", "."]
POS_TAGS = ["NNP", "VBD", "$", "CD", "(", "NN", ")", "."]


def test_plain_label_sets_in_each_line_format():
    sentence = TaggedSentence(POS_TOKENS, POS_TAGS, plain=True)
    assert format_inline(sentence) == "Ana/NNP paid/VBD $/$ 5/CD (/( cash/NN )/) ./.\n"
    assert format_conll(sentence) == "".join(f"{w}\t{t}\n" for w, t in zip(POS_TOKENS, POS_TAGS)) + "\n"
    assert json.loads(format_jsonl(sentence)) == {"tokens": POS_TOKENS, "tags": POS_TAGS}
    sentence.token_scores, sentence.probability = [0.9] * len(POS_TOKENS), 0.5
    record = json.loads(format_jsonl(sentence))
    assert record["token_scores"] == [0.9] * len(POS_TOKENS) and "entities" not in record


def test_chunk_like_tags_of_a_plain_label_set_are_no_entities():
    sentence = TaggedSentence(["a", "b"], ["B-X", "I-X"], plain=True)
    assert format_inline(sentence) == "a/B-X b/I-X\n"
    assert "entities" not in json.loads(format_jsonl(sentence))

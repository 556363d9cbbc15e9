"""The shared data types: entities of tagged sentences, their plain-dict forms, documents."""

from __future__ import annotations

import pytest

from tagger.data import windows
from tagger.data.types import Doc, Entity, TaggedSentence

LINE = "Mary  lives in New York."
TOKENS = ["Mary", "lives", "in", "New", "York", "."]
FLAT = [0, 4, 6, 11, 12, 14, 15, 18, 19, 23, 23, 24]  # "Mary" has two spaces after it
TAGS = ["B-PER", "O", "O", "B-LOC", "I-LOC", "O"]


def raw_sentence(**extra) -> TaggedSentence:
    """The sentence of LINE, read from an input where the line starts at offset 100."""
    return TaggedSentence(TOKENS, TAGS, FLAT, LINE, 100, **extra)


def test_windows_uses_the_shared_sentence_type():
    assert windows.TaggedSentence is TaggedSentence


def test_entity_to_dict_has_the_jsonl_keys_in_order_and_only_what_is_known():
    assert list(Entity("PER", "Mary", 0, 1).to_dict()) == ["type", "start", "end", "text"]
    full = Entity("PER", "Mary", 0, 1, char_start=3, char_end=7, score=0.25).to_dict()
    assert full == {"type": "PER", "start": 0, "end": 1, "text": "Mary", "char_start": 3, "char_end": 7, "score": 0.25}
    assert list(full) == ["type", "start", "end", "text", "char_start", "char_end", "score"]


def test_entity_repr_shows_only_the_fields_that_are_set():
    assert repr(Entity("ORG", "Apple", 0, 1, 0, 5)) == (
        "Entity(type='ORG', text='Apple', start=0, end=1, char_start=0, char_end=5)"
    )
    assert "score=0.5" in repr(Entity("ORG", "Apple", 0, 1, score=0.5))


def test_entities_of_raw_text_take_their_text_and_offsets_from_the_input():
    sentence = raw_sentence()
    assert sentence.offsets[:2] == [(100, 104), (106, 111)]
    assert sentence.entities == [Entity("PER", "Mary", 0, 1, 100, 104), Entity("LOC", "New York", 3, 5, 115, 123)]


def test_entities_of_tokens_join_the_tokens_and_have_no_offsets():
    sentence = TaggedSentence(["New", "York", "!"], ["B-LOC", "I-LOC", "O"])
    assert sentence.offsets is None
    assert sentence.entities == [Entity("LOC", "New York", 0, 2)]
    assert sentence.to_dict() == {
        "tokens": ["New", "York", "!"],
        "tags": ["B-LOC", "I-LOC", "O"],
        "entities": [{"type": "LOC", "start": 0, "end": 2, "text": "New York"}],
    }


def test_entity_scores_are_attached_in_span_order():
    sentence = raw_sentence(entity_scores=[0.9, 0.6])
    assert [e.score for e in sentence.entities] == [0.9, 0.6]
    assert [e["score"] for e in sentence.to_dict()["entities"]] == [0.9, 0.6]


def test_entity_scores_that_do_not_match_the_entities_are_refused():
    with pytest.raises(ValueError, match=r"1 entity scores for 2 entities"):
        _ = raw_sentence(entity_scores=[0.9]).entities


def test_to_dict_is_the_jsonl_record_with_the_scores_that_are_set():
    plain = raw_sentence().to_dict()
    assert list(plain) == ["tokens", "tags", "entities", "offsets"]
    assert plain["offsets"][0] == [100, 104]
    nbest = [{"tags": TAGS, "probability": 0.7}]
    scored = raw_sentence(token_scores=[0.9] * 6, probability=0.7, nbest=nbest).to_dict()
    assert list(scored) == ["tokens", "tags", "entities", "offsets", "token_scores", "probability", "nbest"]
    assert scored["probability"] == 0.7 and scored["nbest"] == nbest


def test_doc_gathers_the_entities_of_its_sentences():
    first = TaggedSentence(["Bob"], ["B-PER"], [0, 3], "Bob", 0)
    second = TaggedSentence(["in", "Paris"], ["O", "B-LOC"], [0, 2, 3, 8], "in Paris", 4)
    doc = Doc("Bob\nin Paris", [first, second])
    assert doc.entities == [Entity("PER", "Bob", 0, 1, 0, 3), Entity("LOC", "Paris", 1, 2, 7, 12)]
    assert [doc.text[e.char_start : e.char_end] for e in doc.entities] == ["Bob", "Paris"]
    record = doc.to_dict()
    assert record["text"] == doc.text
    assert record["sentences"] == [first.to_dict(), second.to_dict()]
    assert record["entities"] == [e.to_dict() for e in doc.entities]
    assert Doc("").entities == [] and Doc("").to_dict()["sentences"] == []


def test_a_plain_label_set_has_tags_and_no_entities():
    sentence = TaggedSentence(["Mary", "lives", "."], ["NNP", "VBZ", "."], plain=True)
    assert sentence.entities == []
    assert sentence.to_dict() == {"tokens": ["Mary", "lives", "."], "tags": ["NNP", "VBZ", "."]}
    doc = Doc("Mary lives. Bob.", [sentence, TaggedSentence(["Bob", "."], ["NNP", "."], plain=True)])
    assert doc.tokens == ["Mary", "lives", ".", "Bob", "."]
    assert doc.tags == ["NNP", "VBZ", ".", "NNP", "."]
    assert "entities" not in doc.to_dict()
    assert "plain" not in repr(sentence)  # the repr of chunk sentences is as it was

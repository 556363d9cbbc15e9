"""tagger.tagging.texts: texts and token lists held in memory, tagged (through the Tagger, against the command
line: tests/test_api.py)."""

from __future__ import annotations

import pytest

from tagger import Tagger
from tagger.tagging.texts import _joined, tag_texts, tag_tokens


def test_texts_are_joined_into_lines_with_where_each_starts():
    data, starts, marks = _joined(["a b", "c\n", "", "d"])
    assert data == b"a b\nc\nd\n"
    assert (starts, marks) == ([0, 4, 6, 6, 8], [0, 0, 0, 0])
    assert _joined(["a", "b"], apart=True)[:2] == (b"a\n\nb\n\n", [0, 3, 6])


def test_a_byte_order_mark_that_starts_a_text_is_left_out_and_counted_back():
    data, starts, marks = _joined(["\ufeffa", "\ufeffb"])
    assert (data, starts, marks) == (b"a\nb\n", [0, 2, 4], [1, 1])
    data, _, marks = _joined(["\ufeff\ufeffa"])  # the second mark is text: the stream's own mark keeps it so
    assert (data, marks) == ("\ufeff\ufeffa\n".encode(), [1])


def test_a_lone_surrogate_is_named_with_its_text_and_character():
    with pytest.raises(ValueError, match=r"text 1 cannot be written as UTF-8: '\\ud800' at character 3"):
        _joined(["ok", "\ufeffab\ud800"])


def test_each_text_gets_its_doc_with_offsets_from_its_own_start(trained_model):
    predictor = Tagger.load(trained_model)._predictor
    first, blank, second = tag_texts(predictor, ["John lives here .", "", "\ufeffMary ."])
    assert [s.text_start for s in first.sentences] == [0] and blank.sentences == []
    (sentence,) = second.sentences
    assert second.text[sentence.text_start :].startswith("Mary")


@pytest.mark.parametrize(
    ("sentences", "docs", "error", "message"),
    [
        ("John lives", None, TypeError, "tag_tokens() takes a list of token lists"),
        ([["John"], "lives"], None, TypeError, "sentence 1 is not a list of tokens: str 'lives'"),
        ([["John", None]], None, TypeError, "sentence 0 has a token that is not a str: NoneType None"),
        ([["John", ""]], None, ValueError, "sentence 0 has an empty token"),
        ([["John"], ["Mary"]], "ab", TypeError, "docs must be a list of document numbers"),
        ([["John"], ["Mary"]], [0], ValueError, "1 document numbers (docs) for 2 sentences"),
    ],
)
def test_token_lists_and_their_documents_are_checked_before_any_tagging(sentences, docs, error, message):
    with pytest.raises(error) as info:
        tag_tokens(None, sentences, docs)  # no predictor: nothing is tagged
    assert message in str(info.value)

"""Raw text to sentences of tokens: each token is a piece of the line, and its offsets point at it."""

from __future__ import annotations

import pytest

from tagger.data.tokenizer import tokenize_flat


@pytest.mark.parametrize(
    "line",
    [
        "Apple is opening a new store in Paris. It opens next week.",
        "Mail bob@example.com or see https://example.com/a?b=1 today.",
        "Fish &amp; chips don't cost $5.50 in the U.S.",
        "  leading and trailing spaces  ",
        "Ünïcödé names like Zoë and 東京 work too.",
    ],
)
def test_offsets_point_at_each_token(line):
    for tokens, flat in tokenize_flat(line):
        assert len(flat) == 2 * len(tokens)
        for i, token in enumerate(tokens):
            assert line[flat[2 * i] : flat[2 * i + 1]] == token
        assert list(flat) == sorted(flat)  # tokens come in the order of the line


def test_a_line_may_hold_several_sentences_and_a_blank_line_none():
    assert [tokens for tokens, _ in tokenize_flat("Mary left. Bob stayed.")] == [
        ["Mary", "left", "."],
        ["Bob", "stayed", "."],
    ]
    assert tokenize_flat("") == []
    assert tokenize_flat("   \t ") == []


def test_addresses_and_escapes_stay_whole():
    tokens = [
        t
        for sentence, _ in tokenize_flat("Write to bob@example.com &amp; visit https://example.com/x .")
        for t in sentence
    ]
    assert "bob@example.com" in tokens
    assert "https://example.com/x" in tokens
    # "&amp;" is not unescaped to "&": the tokens are the pieces of the input
    assert "".join(tokens) == "Writetobob@example.com&amp;visithttps://example.com/x."

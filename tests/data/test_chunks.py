"""Cutting input into chunks (``chunks``): full when input comes fast, cut where slow input pauses or after
``MAX_WAIT``, ending only where a document ends; documents of lines (blank lines, ``DOC_MAX``, pieces of a long
line) and of numbered items."""

from __future__ import annotations

import time

from tagger.data import chunks, inputs
from tagger.data.chunks import MAX_WAIT


def no_weight(_: object) -> int:
    return 0


# Chunks: full when input comes fast, cut where it pauses


def test_chunks_are_cut_where_the_input_pauses():
    """``None`` is a pause (``reader.LineFeed``): what came before it is a chunk of slow input; a pause
    right after a full chunk gives one empty chunk (whoever holds results gives them then)."""
    items = [1, 2, None, 3, 4, 5, None, None, 6]
    expected = [([1, 2], False), ([], True), ([3, 4, 5], True), ([6], False)]
    assert list(chunks.cut_chunks(items, 2, 10, no_weight)) == expected


def test_chunks_without_pauses_are_full():
    assert list(chunks.cut_chunks(range(7), 2, 3, no_weight)) == [([0, 1], False), ([2, 3, 4], False), ([5, 6], False)]
    assert list(chunks.cut_chunks([], 2, 3, no_weight)) == []
    assert list(chunks.cut_chunks([None, None], 2, 3, no_weight)) == []  # a pause before any input is no chunk


def test_chunks_keep_the_character_limit():
    lines = ["x" * (chunks.WINDOW_CHARS // 2)] * 5
    found = list(chunks.cut_chunks(lines, 100, 100, len))
    assert [len(kept) for kept, _ in found] == [2, 2, 1]


def test_a_chunk_of_input_that_trickles_in_is_cut_after_max_wait(monkeypatch):
    """Input that never pauses for long but comes a line at a time is still answered soon."""
    monkeypatch.setattr(chunks, "MAX_WAIT", 0.1)

    def trickle():
        for i in range(30):
            time.sleep(0.01)
            yield i

    found = list(chunks.cut_chunks(trickle(), 1000, 1000, no_weight))
    assert len(found) >= 2
    assert all(slow for _, slow in found[:-1])
    assert [i for kept, _ in found for i in kept] == list(range(30))
    assert MAX_WAIT <= 1  # the real limit keeps answers within a second


def test_a_full_chunk_takes_items_until_one_starts_a_document():
    def starts(item):
        return item % 5 == 0

    found = list(chunks.cut_chunks(range(12), 2, 2, no_weight, starts))
    assert found == [([0, 1, 2, 3, 4], False), ([5, 6, 7, 8, 9], False), ([10, 11], False)]
    # the item that fills a chunk starts a document: it opens the next chunk instead
    assert list(chunks.cut_chunks(range(4), 2, 2, no_weight, lambda i: i in (0, 1, 3))) == [
        ([0], False),
        ([1, 2], False),
        ([3], False),
    ]
    # a pause while a full chunk waits for its document's end: the chunk is answered (slow input)
    assert list(chunks.cut_chunks([0, 1, 2, None, 3, 5], 2, 2, no_weight, starts)) == [
        ([0, 1, 2], True),
        ([3], False),
        ([5], False),
    ]


def test_input_read_ahead_is_never_cut_by_time(monkeypatch):
    monkeypatch.setattr(chunks, "MAX_WAIT", 0.01)

    def trickle():
        for i in range(10):
            time.sleep(0.005)
            yield i

    assert list(chunks.cut_chunks(trickle(), 100, 100, no_weight, wait=False)) == [(list(range(10)), False)]
    assert len(list(chunks.cut_chunks(trickle(), 100, 100, no_weight))) > 1


def test_document_numbers_and_line_documents(monkeypatch):
    monkeypatch.setattr(chunks, "DOC_MAX", 2)
    lines = ["a", "b", "c", "", " ", "d", None, "e", "", "f"]
    found = list(chunks.line_documents(lines, lambda text: not text.strip()))
    # a boundary before a document's first line, and before a blank line after a blank line (a run of them)
    assert [pair and pair[1] for pair in found] == [True, False, True, False, True, True, None, False, False, True]
    assert list(chunks.document_numbers([True, False, True, False, True])) == [0, 0, 1, 1, 2]
    assert list(chunks.document_numbers([False, True])) == [0, 1]  # a chunk's first item is in document 0


def test_each_piece_of_a_cut_line_starts_a_document():
    from operator import itemgetter

    lines = [(1, "a", 2), (2, "b ", 2), (2, "c ", 2), (2, "d", 2), (3, "e", 2), (3, " ", 1)]
    found = list(chunks.line_documents(lines, inputs._text_blank, itemgetter(0)))
    assert [start for _, start in found] == [True, False, True, True, False, True]

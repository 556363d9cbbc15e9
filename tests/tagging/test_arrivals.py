"""tagger.tagging.arrivals: groups of texts as they arrive (``Tagger.pipe``'s batches; through the Tagger:
tests/test_api.py's pipe tests)."""

from __future__ import annotations

import queue
import time

import pytest

from tagger.tagging.arrivals import groups


def from_queue(given: queue.Queue):
    while (text := given.get(timeout=10)) is not None:
        yield text


def test_texts_held_in_memory_come_in_full_groups_as_they_are_asked_for():
    taken = []

    def texts():
        for i in range(7):
            taken.append(i)
            yield str(i)

    got = groups(texts(), 3, waits=False)
    assert taken == []
    assert next(got) == ["0", "1", "2"] and taken == [0, 1, 2]
    assert list(got) == [["3", "4", "5"], ["6"]]


def test_a_group_is_given_when_the_stream_pauses_and_texts_that_come_together_are_one_group():
    given: queue.Queue = queue.Queue()
    got = groups(from_queue(given), 64)
    given.put("a")
    started = time.monotonic()
    assert next(got) == ["a"]  # not waiting for 63 more
    assert time.monotonic() - started < 2
    for text in ("b", "c", "d", None):
        given.put(text)
    assert list(got) == [["b", "c", "d"]]


def test_the_streams_error_comes_after_the_texts_before_it():
    def failing():
        yield "a"
        raise RuntimeError("the stream broke")

    got = groups(failing(), 4)
    assert next(got) == ["a"]
    with pytest.raises(RuntimeError, match="broke"):
        next(got)


def test_a_stream_is_read_at_most_one_text_ahead_of_what_was_asked():
    pulled = []

    def endless():
        while True:
            pulled.append(1)
            yield "x"

    got = groups(endless(), 2)
    assert pulled == []
    for taken in range(1, 6):
        assert next(got) == ["x", "x"]
        assert len(pulled) <= 2 * taken + 1
    got.close()

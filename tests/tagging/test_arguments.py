"""tagger.tagging.arguments: the Python API's arguments checked, each error showing the value passed (through the
Tagger: tests/test_api.py's test_wrong_*_arguments_say_what_was_passed)."""

from __future__ import annotations

import pytest

from tagger.tagging.arguments import DEFAULT_SCORES, check_threads, load_options, positive_int, score_options, shown


def test_a_value_is_shown_by_its_type_and_a_short_repr():
    assert shown(b"ab") == "bytes b'ab'"
    assert shown("x" * 200) == "str '" + "x" * 76 + "..."


@pytest.mark.parametrize(
    ("check", "error", "message"),
    [
        (lambda: positive_int("batch_size", True), TypeError, "batch_size must be an int; got bool True"),
        (lambda: positive_int("batch_size", 0), ValueError, "batch_size must be at least 1; got 0"),
        (lambda: check_threads(-1), ValueError, "threads must be 0 or more (0: $TAGGER_THREADS or 1); got -1"),
        (lambda: check_threads(2.0), TypeError, "got float 2.0"),
        (lambda: score_options("yes", 0, 0.0), TypeError, "scores must be True or False; got str 'yes'"),
        (lambda: score_options(False, -1, 0.0), ValueError, "nbest must be 0 (none) or more; got -1"),
        (lambda: score_options(False, 0, 1.5), ValueError, "min_score must be from 0 to 1; got 1.5"),
        (lambda: load_options(0.5, 8, 0, False, 0, 0.0), TypeError, "device must be a str"),
    ],
)
def test_a_wrong_value_is_refused_showing_it(check, error, message):
    with pytest.raises(error) as info:
        check()
    assert message in str(info.value)


def test_load_options_are_the_score_options_by_name_and_min_score_turns_scores_on():
    assert load_options("cpu", 8, None, **DEFAULT_SCORES) == DEFAULT_SCORES
    assert load_options("cpu", 8, 0, False, 2, 0.5) == {"scores": True, "nbest": 2, "min_score": 0.5}

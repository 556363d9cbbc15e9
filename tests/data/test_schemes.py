"""Tag schemes: spans, conversions between IOB1, IOB2 and BIOES, validity rules (examples and hypothesis); plain
label sets told apart from chunk tags."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tagger.data.schemes import (
    BIOES,
    IOB1,
    IOB2,
    PLAIN,
    SCHEMES,
    convert,
    detect_kind,
    from_spans,
    invalid_positions,
    labels,
    split_tag,
    tag_problem,
    tag_set,
    to_spans,
    transition_rules,
)
from tests.data.helpers import TYPES, tags
from tests.properties import FAST

# The same entities written in each scheme: (IOB1, IOB2, BIOES, spans).
EXAMPLES = [
    pytest.param(
        "I-PER I-PER O O I-LOC",
        "B-PER I-PER O O B-LOC",
        "B-PER E-PER O O S-LOC",
        [("PER", 0, 2), ("LOC", 4, 5)],
        id="two entities",
    ),
    pytest.param(
        "I-PER B-PER",
        "B-PER B-PER",
        "S-PER S-PER",
        [("PER", 0, 1), ("PER", 1, 2)],
        id="adjacent single-token same type",
    ),
    pytest.param(
        "I-PER I-PER B-PER I-PER O",
        "B-PER I-PER B-PER I-PER O",
        "B-PER E-PER B-PER E-PER O",
        [("PER", 0, 2), ("PER", 2, 4)],
        id="adjacent multi-token same type",
    ),
    pytest.param(
        "I-PER I-LOC I-ORG",
        "B-PER B-LOC B-ORG",
        "S-PER S-LOC S-ORG",
        [("PER", 0, 1), ("LOC", 1, 2), ("ORG", 2, 3)],
        id="adjacent different types",
    ),
    pytest.param(
        "I-MISC",
        "B-MISC",
        "S-MISC",
        [("MISC", 0, 1)],
        id="single token sentence",
    ),
    pytest.param(
        "O I-ORG I-ORG I-ORG",
        "O B-ORG I-ORG I-ORG",
        "O B-ORG I-ORG E-ORG",
        [("ORG", 1, 4)],
        id="long entity at end",
    ),
    pytest.param("O O O", "O O O", "O O O", [], id="no entities"),
    pytest.param(
        "I-PER B-PER B-PER O I-PER",
        "B-PER B-PER B-PER O B-PER",
        "S-PER S-PER S-PER O S-PER",
        [("PER", 0, 1), ("PER", 1, 2), ("PER", 2, 3), ("PER", 4, 5)],
        id="three adjacent same type",
    ),
    pytest.param(
        "I-LOC-X I-LOC-X",
        "B-LOC-X I-LOC-X",
        "B-LOC-X E-LOC-X",
        [("LOC-X", 0, 2)],
        id="type with a hyphen",
    ),
]


@pytest.mark.parametrize("iob1, iob2, bioes, spans", EXAMPLES)
def test_to_spans_reads_every_scheme_the_same(iob1, iob2, bioes, spans):
    for text in (iob1, iob2, bioes):
        assert to_spans(text.split()) == spans


@pytest.mark.parametrize("iob1, iob2, bioes, spans", EXAMPLES)
def test_from_spans_writes_each_scheme(iob1, iob2, bioes, spans):
    n = len(iob1.split())
    assert from_spans(spans, n, IOB1) == iob1.split()
    assert from_spans(spans, n, IOB2) == iob2.split()
    assert from_spans(spans, n, BIOES) == bioes.split()


def test_from_spans_accepts_spans_in_any_order():
    spans = [("LOC", 3, 4), ("PER", 0, 1), ("PER", 1, 3)]
    assert from_spans(spans, 5, IOB1) == ["I-PER", "B-PER", "I-PER", "I-LOC", "O"]


@pytest.mark.parametrize("iob1, iob2, bioes, spans", EXAMPLES)
def test_convert_round_trips(iob1, iob2, bioes, spans):
    written = {IOB1: iob1.split(), IOB2: iob2.split(), BIOES: bioes.split()}
    for source, target in itertools.product(SCHEMES, SCHEMES):
        assert convert(written[source], target) == written[target], (source, target)
    for a, b in itertools.permutations(SCHEMES, 2):
        assert convert(convert(written[a], b), a) == written[a]


@pytest.mark.parametrize("iob1, iob2, bioes, spans", EXAMPLES)
def test_converted_sequences_are_valid(iob1, iob2, bioes, spans):
    for scheme, text in ((IOB1, iob1), (IOB2, iob2), (BIOES, bioes)):
        assert invalid_positions(text.split(), scheme) == []


@pytest.mark.parametrize(
    "tags, spans",
    [
        ("O I-PER I-PER O", [("PER", 1, 3)]),  # I- after O starts an entity (conlleval)
        ("I-PER", [("PER", 0, 1)]),  # I- at the start
        ("B-PER I-LOC I-LOC", [("PER", 0, 1), ("LOC", 1, 3)]),  # I- of another type starts one
        ("B-PER E-LOC", [("PER", 0, 1), ("LOC", 1, 2)]),
        ("O E-PER O", [("PER", 1, 2)]),  # a lone E- is an entity
        ("B-PER E-PER I-PER E-PER", [("PER", 0, 2), ("PER", 2, 4)]),  # I- after E- starts one
        ("S-PER I-PER", [("PER", 0, 1), ("PER", 1, 2)]),  # I- after S- starts one
        ("S-PER E-PER", [("PER", 0, 1), ("PER", 1, 2)]),
        ("B-PER B-PER I-PER", [("PER", 0, 1), ("PER", 1, 3)]),
        ("B-PER", [("PER", 0, 1)]),  # BIOES B- with no E-: closed at the end
        ("B-PER I-PER O", [("PER", 0, 2)]),
    ],
)
def test_to_spans_repairs_like_conlleval(tags, spans):
    assert to_spans(tags.split()) == spans


@pytest.mark.parametrize(
    "tags, iob2, bioes",
    [
        ("O I-PER I-PER", "O B-PER I-PER", "O B-PER E-PER"),
        ("O I-PER O I-LOC", "O B-PER O B-LOC", "O S-PER O S-LOC"),
        ("B-PER I-LOC", "B-PER B-LOC", "S-PER S-LOC"),
    ],
)
def test_convert_repairs_invalid_iob2(tags, iob2, bioes):
    assert convert(tags.split(), IOB2) == iob2.split()
    assert convert(tags.split(), BIOES) == bioes.split()


def test_empty_sequence():
    assert to_spans([]) == []
    assert from_spans([], 0, BIOES) == []
    assert convert([], IOB1) == []
    for scheme in SCHEMES:
        assert invalid_positions([], scheme) == []


@pytest.mark.parametrize(
    "scheme, tags, bad",
    [
        (IOB2, "B-PER I-PER O B-LOC", []),
        (IOB2, "O I-PER", [1]),
        (IOB2, "I-PER O", [0]),
        (IOB2, "B-PER I-LOC", [1]),
        (IOB2, "B-PER O O I-PER", [3]),
        (IOB1, "I-PER B-PER O I-LOC", []),
        (IOB1, "B-PER", [0]),
        (IOB1, "O B-PER", [1]),
        (IOB1, "I-PER B-LOC", [1]),
        (BIOES, "B-PER E-PER S-LOC O", []),
        (BIOES, "B-PER", [0]),
        (BIOES, "I-PER", [0]),
        (BIOES, "E-PER", [0]),
        (BIOES, "O B-PER O", [2]),
        (BIOES, "O I-PER E-PER", [1]),
        (BIOES, "B-PER E-LOC", [1]),
        (BIOES, "B-PER I-PER", [1]),
        (BIOES, "S-PER E-PER", [1]),
        (BIOES, "O B-PER I-LOC E-LOC", [2]),
    ],
)
def test_invalid_positions(scheme, tags, bad):
    assert invalid_positions(tags.split(), scheme) == bad


def test_invalid_positions_are_sorted_and_distinct():
    tags = "I-PER O B-PER I-LOC O I-ORG".split()
    for scheme in SCHEMES:
        bad = invalid_positions(tags, scheme)
        assert bad == sorted(set(bad)), scheme


def test_invalid_positions_are_empty_exactly_for_tag_sequences_of_spans():
    """Every sequence written from spans is valid; a sequence is valid only if it is the writing of its spans."""
    tags = ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B"]
    for scheme in SCHEMES:
        own = [t for t in tags if split_tag(t)[0] in "O" + ("BIES" if scheme == BIOES else "BI")]
        for seq in itertools.product(own, repeat=3):
            seq = list(seq)
            valid = invalid_positions(seq, scheme) == []
            assert valid == (convert(seq, scheme) == seq), (scheme, seq)


@pytest.mark.parametrize(
    "scheme, prev, tag, ok",
    [
        (BIOES, "B-PER", "I-PER", True),
        (BIOES, "B-PER", "E-PER", True),
        (BIOES, "B-PER", "O", False),
        (BIOES, "B-PER", "B-PER", False),
        (BIOES, "B-PER", "S-PER", False),
        (BIOES, "B-PER", "I-LOC", False),
        (BIOES, "I-PER", "E-LOC", False),
        (BIOES, "E-PER", "B-LOC", True),
        (BIOES, "E-PER", "I-PER", False),
        (BIOES, "S-PER", "S-PER", True),
        (BIOES, "O", "E-PER", False),
        (BIOES, "O", "S-PER", True),
        (IOB2, "O", "I-PER", False),
        (IOB2, "B-PER", "I-PER", True),
        (IOB2, "I-PER", "I-PER", True),
        (IOB2, "B-LOC", "I-PER", False),
        (IOB2, "O", "B-PER", True),
        (IOB2, "B-PER", "B-PER", True),
        (IOB1, "I-PER", "B-PER", True),
        (IOB1, "B-PER", "B-PER", True),
        (IOB1, "O", "B-PER", False),
        (IOB1, "I-LOC", "B-PER", False),
        (IOB1, "O", "I-PER", True),
        (IOB1, "I-LOC", "I-PER", True),
    ],
)
def test_transition_rules_allowed(scheme, prev, tag, ok):
    allowed, _, _ = transition_rules(scheme)
    assert allowed(prev, tag) is ok


def test_transition_rules_start_and_end():
    allowed, may_start, may_end = transition_rules(BIOES)
    assert [may_start(t) for t in ("O", "B-X", "I-X", "E-X", "S-X")] == [True, True, False, False, True]
    assert [may_end(t) for t in ("O", "B-X", "I-X", "E-X", "S-X")] == [True, False, False, True, True]
    _, may_start, may_end = transition_rules(IOB2)
    assert [may_start(t) for t in ("O", "B-X", "I-X")] == [True, True, False]
    assert all(may_end(t) for t in ("O", "B-X", "I-X"))
    _, may_start, may_end = transition_rules(IOB1)
    assert [may_start(t) for t in ("O", "B-X", "I-X")] == [True, False, True]
    assert all(may_end(t) for t in ("O", "B-X", "I-X"))


def test_transition_rules_unknown_scheme():
    with pytest.raises(ValueError, match="unknown tag scheme"):
        transition_rules("bilou")


@pytest.mark.parametrize("tag", ["0", "PER", "B_PER", "B-", "I", "", "b-PER", "Z-PER", "OO"])
def test_tag_problem_rejects(tag):
    assert tag_problem(tag) is not None


@pytest.mark.parametrize("tag", ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC-X", "I-X"])
def test_tag_problem_accepts(tag):
    assert tag_problem(tag) is None


def test_tag_problem_with_scheme():
    assert tag_problem("S-PER", IOB2) is not None
    assert tag_problem("E-PER", IOB1) is not None
    assert tag_problem("S-PER", BIOES) is None
    assert tag_problem("B-PER", IOB2) is None


def test_tag_set():
    assert tag_set(["PER", "LOC", "PER"], BIOES) == [
        "O",
        "B-LOC",
        "I-LOC",
        "E-LOC",
        "S-LOC",
        "B-PER",
        "I-PER",
        "E-PER",
        "S-PER",
    ]
    assert tag_set(["X"], IOB2) == ["O", "B-X", "I-X"]
    assert tag_set(["X"], IOB1) == ["O", "B-X", "I-X"]


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


# Plain label sets (part-of-speech tags): told apart from chunk tags by most occurrences


def test_part_of_speech_tags_are_a_plain_label_set():
    assert detect_kind([["NNP", "VBD", ",", ".", "$", "(", ")", "-LRB-"]]) == PLAIN


def test_chunk_tags_with_stray_tags_stay_chunks():
    """The stray tags are then errors naming their lines (test_corpus.py), not a reason to read the file as plain."""
    assert detect_kind([["B-PER", "I-PER", "O", "0"], ["O", "B_PER", "O", "B-LOC"]]) == "chunks"
    assert detect_kind([["B-PER", "0", "B_PER"]]) == "chunks"  # mostly stray tags, still a chunk file


def test_the_rule_is_at_most_one_percent_chunk_shaped_occurrences():
    assert detect_kind([["NN"] * 99 + ["O"]]) == PLAIN  # a stray O among part-of-speech tags
    assert detect_kind([["NN"] * 98 + ["O", "B-X"]]) == "chunks"
    assert detect_kind([["O", "O"]]) == "chunks"
    assert detect_kind([]) == "chunks"


def test_a_plain_label_set_is_kept_as_it_is_and_allows_any_sequence():
    tags = ["I-X", "O", "NN", "I-X"]
    assert convert(tags, PLAIN) == tags
    allowed, may_start, may_end = transition_rules(PLAIN)
    assert all(allowed(a, b) for a in tags for b in tags) and all(map(may_start, tags)) and all(map(may_end, tags))
    assert tag_set(["VB", "NN", "VB", ","], PLAIN) == [",", "NN", "VB"]
    assert labels(["NN", "O", "B-X"], PLAIN) == {"NN", "O", "B-X"}
    assert labels(["O", "B-X", "I-X", "S-Y"], IOB2) == {"X", "Y"}

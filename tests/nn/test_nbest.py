"""K-best Viterbi against the sorted brute-force list of all tag sequences."""

from __future__ import annotations

import itertools

import pytest
import torch

from tagger.data.schemes import BIOES, IOB1, IOB2, tag_set
from tagger.nn.nbest import kbest_probabilities, kbest_viterbi
from tagger.nn.viterbi import viterbi_decode
from tests.conftest import brute_force, random_batches, random_problems


def brute_ranking(emissions, start, transitions, end, k):
    """The k most probable valid sequences of one sentence with their probabilities, ties in the
    documented order (lower last tag first, then the tag before it, ...)."""
    paths, probs = brute_force(emissions, start, transitions, end)
    n, num_tags = emissions.shape
    score = start[paths[:, 0]] + end[paths[:, -1]] + emissions[torch.arange(n), paths].sum(dim=1)
    if n > 1:
        score = score + transitions[paths[:, :-1], paths[:, 1:]].sum(dim=1)
    ranked = sorted(
        ((s, path[::-1], p) for s, path, p in zip(score.tolist(), paths.tolist(), probs.tolist()) if s > -float("inf")),
        key=lambda x: (-x[0], x[1]),
    )
    return [(path[::-1], s, p) for s, path, p in ranked[:k]]


def check(emissions, mask, start, transitions, end, k):
    got = kbest_probabilities(emissions, mask, start, transitions, end, k)
    scored = kbest_viterbi(emissions, mask, start, transitions, end, k)
    assert len(got) == emissions.shape[0]
    for b in range(emissions.shape[0]):
        n = int(mask[b].sum())
        expected = brute_ranking(emissions[b, :n], start, transitions, end, k)
        assert [tags for tags, _ in got[b]] == [tags for tags, _, _ in expected], b
        assert [p for _, p in got[b]] == pytest.approx([p for _, _, p in expected], abs=1e-9)
        assert [s for _, s in scored[b]] == pytest.approx([s for _, s, _ in expected], abs=1e-9)
        probs = [p for _, p in got[b]]
        assert probs == sorted(probs, reverse=True)
    return got


@pytest.mark.parametrize("k", [1, 2, 5, 40])
def test_kbest_equals_sorted_brute_force(k):
    generator = torch.Generator().manual_seed(k)
    fewer = 0
    for emissions, mask, *parameters in random_problems(generator, 12, batch=4, scale=2):
        got = check(emissions, mask, *parameters, k)
        fewer += sum(len(g) < k for g in got)
    if k == 40:
        assert fewer > 0  # K larger than the number of sequences: fewer came back


def test_kbest_leaves_out_invalid_sequences():
    generator = torch.Generator().manual_seed(5)
    short = 0
    problems = random_problems(generator, 40, batch=3, tags=range(2, 5), times=range(1, 5), forbid=0.5)
    for emissions, mask, start, transitions, end in problems:
        num_tags = emissions.shape[2]
        got = check(emissions, mask, start, transitions, end, 6)
        short += sum(len(g) < min(6, num_tags ** int(mask[b].sum())) for b, g in enumerate(got))
    assert short > 0  # forbidden sequences did shorten some lists


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
def test_kbest_under_real_scheme_constraints(scheme):
    tags = tag_set(["PER", "LOC"], scheme)
    generator = torch.Generator().manual_seed(9)
    for emissions, mask, start, transitions, end in random_batches(tags, scheme, generator, range(1, 5)):
        got = check(emissions, mask, start, transitions, end, 7)
        best = viterbi_decode(emissions, mask, start, transitions, end)
        assert [g[0][0] for g in got] == best  # the first is the 1-best


def test_ties_are_broken_in_the_documented_order():
    # Every sequence scores 0: the order is by last tag, then the tag before it, and so on.
    emissions = torch.zeros(2, 3, 3)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    zeros = torch.zeros(3)
    got = kbest_viterbi(emissions, mask, zeros, torch.zeros(3, 3), zeros, 30)
    expected = [list(reversed(p)) for p in itertools.product(range(3), repeat=3)]
    assert [tags for tags, _ in got[0]] == expected
    assert [tags for tags, _ in got[1]] == [list(reversed(p)) for p in itertools.product(range(3), repeat=2)]
    assert kbest_viterbi(emissions, mask, zeros, torch.zeros(3, 3), zeros, 30) == got  # the same every time


def test_bad_arguments():
    e, s, t = torch.zeros(2, 3, 4), torch.zeros(4), torch.zeros(4, 4)
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        kbest_viterbi(e, torch.ones(2, 3, dtype=torch.bool), s, t, s, 0)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\), got \(3, 2\)"):
        kbest_viterbi(e, torch.ones(3, 2, dtype=torch.bool), s, t, s, 2)
    assert kbest_viterbi(torch.zeros(0, 3, 4), torch.ones(0, 3, dtype=torch.bool), s, t, s, 2) == []

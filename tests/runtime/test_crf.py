"""The CRF's decoding in numpy (tagger/runtime/crf.py), as every kind of model is tagged: Viterbi (constrained or
not) against brute force and equal to pytorch-crf's decode; marginals, log Z, path probabilities and the K best
sequences against brute force over every tag sequence; ties in the documented order; the constraints."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torchcrf

from tagger.data.schemes import BIOES, IOB1, IOB2, invalid_positions, tag_set
from tagger.runtime import crf
from tests.nn.crf_problems import (
    brute_force,
    brute_marginals,
    random_batches,
    random_mask,
    random_problems,
    sequence_scores,
)

TOL = 1e-9


def as_numpy(emissions, mask, start, pairs, end):
    return emissions.numpy(), mask.numpy(), crf.Transitions(start.numpy(), pairs.numpy(), end.numpy())


@pytest.mark.parametrize("forbid", [0.0, 0.3])
def test_viterbi_finds_the_most_probable_sequence_by_brute_force(forbid):
    generator = torch.Generator().manual_seed(5)
    for problem in random_problems(generator, 40, 4, times=range(1, 6), forbid=forbid):
        e, m, scores = as_numpy(*problem)
        decoding = crf.Transitions(*(np.maximum(p, crf.NEG) for p in scores))  # forbidden as NEG, as decoding has it
        for b, path in enumerate(crf.viterbi(e, m, decoding)):
            paths, probs = brute_force(problem[0][b, : len(path)], *problem[2:])
            if probs.max() > 0:  # a valid sequence exists: Viterbi takes the best one
                assert probs[paths.tolist().index(path)] == pytest.approx(float(probs.max()), abs=TOL)


def test_viterbi_decodes_as_pytorch_crf():
    """The same paths as pytorch-crf's ``decode`` (its arithmetic and ties), in single precision, padding too."""
    generator = torch.Generator().manual_seed(1234)
    ragged = 0
    for trial in range(200):
        batch, time, num_tags = (int(torch.randint(1, n, (1,), generator=generator)) for n in (7, 9, 8))
        reference = torchcrf.CRF(num_tags, batch_first=True)
        with torch.no_grad():
            for p in (reference.start_transitions, reference.transitions, reference.end_transitions):
                p.copy_(torch.randn(p.shape, generator=generator) * 2)
        emissions = torch.randn(batch, time, num_tags, generator=generator) * 3
        mask = random_mask(batch, time, generator)
        ragged += int(not bool(mask.all()))
        with torch.no_grad():
            expected = reference.decode(emissions, mask)
        own = (reference.start_transitions, reference.transitions, reference.end_transitions)
        scores = crf.Transitions(*(p.detach().numpy() for p in own))
        assert crf.viterbi(emissions.numpy(), mask.numpy(), scores) == expected, trial
    assert ragged > 60  # the trials did exercise padding


def test_nbest_marginals_and_path_probabilities_by_brute_force():
    generator = torch.Generator().manual_seed(11)
    for problem in random_problems(generator, 20, 3, times=range(1, 5), forbid=0.2):
        e, m, scores = as_numpy(*problem)
        posterior = crf.forward_backward(e, m, scores)
        found = crf.kbest_probabilities(e, m, scores, 5, posterior.log_z)
        for b in range(e.shape[0]):
            n = int(m[b].sum())
            paths, probs = brute_force(problem[0][b, :n], *problem[2:])
            log_z = torch.logsumexp(sequence_scores(paths, problem[0][b, :n], *problem[2:]), dim=0)
            assert posterior.log_z[b] == pytest.approx(float(log_z), abs=TOL)
            order = sorted(range(len(probs)), key=lambda i: -float(probs[i]))
            best = [(paths[i].tolist(), float(probs[i])) for i in order[:5] if probs[i] > 0]
            np.testing.assert_allclose([p for _, p in found[b]], [p for _, p in best], atol=TOL)
            marginal = brute_marginals(paths, probs, e.shape[2]).numpy()
            np.testing.assert_allclose(crf.marginals(posterior, m)[b, :n], marginal, atol=TOL)
            if found[b]:  # each n-best path's probability, computed on its own
                chosen = np.zeros((1, e.shape[1]), dtype=np.int64)
                chosen[0, :n] = found[b][0][0]
                alone = crf.path_probabilities(e[b : b + 1], m[b : b + 1], scores, chosen, posterior.log_z[b : b + 1])
                assert alone[0] == pytest.approx(found[b][0][1], abs=TOL)


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
def test_constrained_decoding_and_kbest_keep_to_the_scheme(scheme):
    tags = tag_set(["PER", "LOC"], scheme)
    generator = torch.Generator().manual_seed(9)
    for problem in random_batches(tags, scheme, generator, range(1, 5)):
        e, m, exact = as_numpy(*problem)
        decoding = crf.Transitions(*(np.maximum(p, crf.NEG) for p in exact))
        best = crf.viterbi(e, m, decoding)
        assert all(not invalid_positions([tags[t] for t in path], scheme) for path in best)
        found = crf.kbest_probabilities(e, m, exact, 7, crf.forward_backward(e, m, exact).log_z)
        assert [f[0][0] for f in found] == best  # the first is the 1-best
        assert all(not invalid_positions([tags[t] for t in path], scheme) for f in found for path, _ in f)


def test_kbest_leaves_out_invalid_sequences():
    generator = torch.Generator().manual_seed(5)
    short = 0
    problems = random_problems(generator, 40, batch=3, tags=range(2, 5), times=range(1, 5), forbid=0.5)
    for problem in problems:
        e, m, scores = as_numpy(*problem)
        got = crf.kbest_viterbi(e, m, scores, 6)
        assert all(math.isfinite(s) for found in got for _, s in found)
        short += sum(len(g) < min(6, e.shape[2] ** int(m[b].sum())) for b, g in enumerate(got))
    assert short > 0  # forbidden sequences did shorten some lists


def test_ties_are_broken_in_the_documented_order():
    # Every sequence scores 0: the order is by last tag, then the tag before it, and so on.
    emissions = np.zeros((2, 3, 3))
    mask = np.array([[True, True, True], [True, True, False]])
    zeros = crf.Transitions(np.zeros(3), np.zeros((3, 3)), np.zeros(3))
    got = crf.kbest_viterbi(emissions, mask, zeros, 30)
    assert [tags for tags, _ in got[0]] == [list(reversed(p)) for p in itertools.product(range(3), repeat=3)]
    assert [tags for tags, _ in got[1]] == [list(reversed(p)) for p in itertools.product(range(3), repeat=2)]
    assert crf.viterbi(emissions, mask, zeros) == [[0, 0, 0], [0, 0]]


def test_empty_batches_and_bad_k():
    plain = crf.Transitions(np.zeros(4), np.zeros((4, 4)), np.zeros(4))
    assert crf.viterbi(np.zeros((0, 3, 4)), np.ones((0, 3), dtype=bool), plain) == []
    assert crf.kbest_viterbi(np.zeros((0, 3, 4)), np.ones((0, 3), dtype=bool), plain, 2) == []
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        crf.kbest_viterbi(np.zeros((2, 3, 4)), np.ones((2, 3), dtype=bool), plain, 0)


def test_constrain_adds_neg_for_decoding_and_minus_infinity_for_probabilities():
    generator = np.random.default_rng(2)
    own = crf.Transitions(*(generator.standard_normal(shape).astype(np.float32) for shape in (3, (3, 3), 3)))
    allowed = crf.Transitions(*(generator.random(shape) < 0.5 for shape in (3, (3, 3), 3)))
    for got, scores, ok in zip(crf.constrain(own, allowed), own, allowed):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, np.where(ok, scores, scores + np.float32(crf.NEG)))
    for got, scores, ok in zip(crf.constrain(own, allowed, exact=True), own, allowed):
        np.testing.assert_array_equal(got, np.where(ok, scores, -np.inf))
    assert crf.constrain(own, None) is own

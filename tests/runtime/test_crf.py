"""The numpy CRF (tagger/runtime/crf.py) against the torch one (tagger/nn/crf.py) on random problems, and against
brute force: identical paths, scores within 1e-4."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tagger.data.schemes import BIOES, tag_set
from tagger.nn import crf as torch_crf
from tagger.runtime import crf
from tests.nn.crf_problems import brute_force, random_problems

TOL = 1e-4


def both(emissions, start, pairs, end):
    theirs = torch_crf.Transitions(start, pairs, end)
    ours = crf.Transitions(start.numpy(), pairs.numpy(), end.numpy())
    return emissions.numpy(), theirs, ours


@pytest.mark.parametrize("forbid", [0.0, 0.3])
def test_viterbi_kbest_and_marginals_equal_torch(forbid):
    generator = torch.Generator().manual_seed(5)
    for emissions, mask, start, pairs, end in random_problems(generator, 40, 4, times=range(1, 7), forbid=forbid):
        e, theirs, ours = both(emissions, start, pairs, end)
        m = mask.numpy()
        if forbid == 0.0:  # Viterbi's decoding scores are finite (NEG, not -inf)
            assert crf.viterbi(e, m, ours) == torch_crf.viterbi(emissions, mask, theirs)
        posterior = crf.forward_backward(e, m, ours)
        reference = torch_crf.forward_backward(emissions, mask, theirs)
        np.testing.assert_allclose(posterior.log_z, reference.log_z.numpy(), atol=TOL)
        np.testing.assert_allclose(crf.marginals(posterior, m), torch_crf.marginals(reference, mask).numpy(), atol=TOL)
        for k in (1, 3, 7):
            got = crf.kbest_probabilities(e, m, ours, k, posterior.log_z)
            want = torch_crf.kbest_probabilities(emissions, mask, theirs, k)
            assert [[p for p, _ in s] for s in got] == [[p for p, _ in s] for s in want]
            np.testing.assert_allclose([q for s in got for _, q in s], [q for s in want for _, q in s], atol=TOL)


def test_nbest_and_marginals_by_brute_force():
    generator = torch.Generator().manual_seed(11)
    for emissions, mask, start, pairs, end in random_problems(generator, 20, 3, times=range(1, 5), forbid=0.2):
        e, _, ours = both(emissions, start, pairs, end)
        m = mask.numpy()
        posterior = crf.forward_backward(e, m, ours)
        found = crf.kbest_probabilities(e, m, ours, 5, posterior.log_z)
        for b in range(e.shape[0]):
            n = int(m[b].sum())
            paths, probs = brute_force(emissions[b, :n], start, pairs, end)
            order = sorted(range(len(probs)), key=lambda i: -float(probs[i]))
            best = [(paths[i].tolist(), float(probs[i])) for i in order[:5] if probs[i] > 0]
            np.testing.assert_allclose([p for _, p in found[b]], [p for _, p in best], atol=TOL)
            token = (probs[:, None, None] * torch.nn.functional.one_hot(paths, e.shape[2])).sum(0).numpy()
            np.testing.assert_allclose(crf.marginals(posterior, m)[b, :n], token, atol=TOL)


def test_constrain_matches_torch():
    tags = tag_set(["PER", "LOC"], BIOES)
    model = torch_crf.CRF(len(tags), torch_crf.scheme_constraints(tags, BIOES))
    allowed = crf.Transitions(*(x.numpy() for x in (model.start_allowed, model.allowed, model.end_allowed)))
    own = crf.Transitions(*(p.detach().numpy() for p in model.scores(constrained=False)))
    for exact in (False, True):
        got = crf.constrain(own, allowed, exact)
        for g, w in zip(got, model.scores(True, exact)):
            np.testing.assert_array_equal(g, w.detach().numpy())

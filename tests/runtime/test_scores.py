"""Entity scores in numpy (tagger/runtime/scores.py) against tagger/nn/scores.py on random constrained problems:
the same kept paths, token, entity and sequence scores within 1e-4, with and without min_score; and without chunk
rules (a plain label set) no entity scores, the same token and sequence scores."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.data.schemes import BIOES, IOB1, IOB2, tag_set
from tagger.nn import crf as torch_crf
from tagger.nn import scores as torch_scores
from tagger.runtime import crf, scores
from tests.nn.crf_problems import random_batches

TOL = 1e-4


def both(emissions, start, pairs, end):
    return (
        emissions.numpy(),
        torch_crf.Transitions(start, pairs, end),
        crf.Transitions(*(p.numpy() for p in (start, pairs, end))),
    )


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
@pytest.mark.parametrize("min_score", [0.0, 0.5])
def test_entity_scores_equal_torch(scheme, min_score):
    tags = tag_set(["PER", "LOC"], scheme)
    import torch

    generator = torch.Generator().manual_seed(3)
    for emissions, mask, start, pairs, end in random_batches(tags, scheme, generator, range(1, 9)):
        e, theirs, ours = both(emissions, start, pairs, end)
        m = mask.numpy()
        decoded = torch_crf.viterbi(emissions, mask, torch_crf.Transitions(*(p.clamp(min=-1e4) for p in theirs)))
        want = torch_scores.decoded_scores(
            emissions, mask, theirs, decoded, torch_scores.ChunkRules(tags, scheme), min_score
        )
        got = scores.decoded_scores(e, m, ours, decoded, scores.ChunkRules(tags, scheme), min_score)
        assert got[0] == want[0]
        for ours_one, theirs_one in zip(got[1], want[1]):
            for key in ("token_scores", "entity_scores", "probability"):
                np.testing.assert_allclose(ours_one[key], theirs_one[key], atol=TOL)


def test_without_chunk_rules_no_entity_scores_and_the_same_token_scores():
    import torch

    tags = tag_set(["PER", "LOC"], BIOES)
    generator = torch.Generator().manual_seed(4)
    for emissions, mask, start, pairs, end in random_batches(tags, BIOES, generator, range(1, 6)):
        e, theirs, ours = both(emissions, start, pairs, end)
        decoded = torch_crf.viterbi(emissions, mask, torch_crf.Transitions(*(p.clamp(min=-1e4) for p in theirs)))
        want = torch_scores.decoded_scores(emissions, mask, theirs, decoded, None)
        got = scores.decoded_scores(e, mask.numpy(), ours, decoded, None)
        assert got[0] == want[0] == [list(p) for p in decoded]
        for ours_one, theirs_one in zip(got[1], want[1]):
            assert ours_one["entity_scores"] == theirs_one["entity_scores"] == []
            np.testing.assert_allclose(ours_one["token_scores"], theirs_one["token_scores"], atol=TOL)
            np.testing.assert_allclose(ours_one["probability"], theirs_one["probability"], atol=TOL)

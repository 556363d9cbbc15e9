"""Entity scores (tagger/runtime/scores.py) against brute-force enumeration of all tag sequences: each chunk's
probability, the decoded paths' token, entity and sequence scores with and without min_score and without chunk rules
(a plain label set); and the calibration error by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tagger.data.schemes import BIOES, IOB1, IOB2, from_spans, tag_set, to_spans
from tagger.runtime.crf import Transitions, forward_backward, viterbi
from tagger.runtime.scores import ChunkRules, calibration_error, decoded_scores, entity_probabilities
from tests.nn.crf_problems import brute_entity_probabilities, brute_force, brute_marginals, random_batches


def as_numpy(emissions, mask, start, transitions, end):
    return emissions.numpy(), mask.numpy(), Transitions(start.numpy(), transitions.numpy(), end.numpy())


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
@pytest.mark.parametrize("constrained", [True, False])
def test_entity_scores_equal_brute_force(scheme, constrained):
    tags = tag_set(["PER", "LOC"], scheme) if scheme != BIOES else tag_set(["PER"], scheme) + ["S-LOC"]
    rules = ChunkRules(tags)
    generator = torch.Generator().manual_seed(40)
    checked = 0
    for problem in random_batches(tags, scheme, generator, [1, 2, 3, 4, 5, 4, 3], constrained):
        emissions, mask, crf = as_numpy(*problem)
        lengths = mask.sum(axis=1).tolist()
        posterior = forward_backward(emissions, mask, crf)
        brute = [brute_force(problem[0][b, :n], *problem[2:]) for b, n in enumerate(lengths)]
        # Score every possible chunk, not only those of the best sequence.
        spans = [[(x, s, e) for x in rules.types for s in range(n) for e in range(s + 1, n + 1)] for n in lengths]
        got = entity_probabilities(posterior, emissions, crf.pairs, spans, lengths, rules)
        for b in range(len(lengths)):
            expected = brute_entity_probabilities(*brute[b], tags)
            for span, p in zip(spans[b], got[b]):
                assert p == pytest.approx(expected.get(span, 0.0), abs=1e-9), (b, span)
                checked += 1
    assert checked > 100


def test_entity_probabilities_of_sentences_without_entities():
    rules = ChunkRules(tag_set(["PER"], BIOES))
    emissions = np.zeros((2, 3, len(rules.tags)))
    mask = np.ones((2, 3), dtype=bool)
    ends, pairs = np.zeros(len(rules.tags)), np.zeros((len(rules.tags), len(rules.tags)))
    posterior = forward_backward(emissions, mask, Transitions(ends, pairs, ends))
    assert entity_probabilities(posterior, emissions, pairs, [[], []], [3, 3], rules) == [[], []]


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
@pytest.mark.parametrize("min_score", [0.0, 0.9])
def test_decoded_scores_equal_brute_force(scheme, min_score):
    """The token scores and probability of the path left (entities below ``min_score`` dropped), and its entities'."""
    tags = tag_set(["PER", "LOC"], scheme)
    rules = ChunkRules(tags, scheme)
    generator = torch.Generator().manual_seed(3)
    dropped = 0
    for problem in random_batches(tags, scheme, generator, range(1, 5)):
        emissions, mask, crf = as_numpy(*problem)
        decoded = viterbi(emissions, mask, Transitions(*(np.maximum(p, -1e4) for p in crf)))
        kept, scored = decoded_scores(emissions, mask, crf, decoded, rules, min_score)
        for b, (path, left, found) in enumerate(zip(decoded, kept, scored)):
            paths, probs = brute_force(problem[0][b, : len(path)], *problem[2:])
            entities = brute_entity_probabilities(paths, probs, tags)
            spans = [s for s in to_spans([tags[t] for t in path]) if entities.get(s, 0.0) >= min_score]
            assert left == [tags.index(t) for t in from_spans(spans, len(path), scheme)]
            dropped += left != path
            whole = {tuple(p): q for p, q in zip(paths.tolist(), probs.tolist())}
            assert found["probability"] == pytest.approx(whole[tuple(left)], abs=1e-9)
            marginal = brute_marginals(paths, probs, len(tags))
            assert found["token_scores"] == pytest.approx([float(marginal[i, t]) for i, t in enumerate(left)], abs=1e-9)
            assert found["entity_scores"] == pytest.approx([entities[s] for s in spans], abs=1e-9)
    assert dropped > 0 or min_score == 0.0


def test_without_chunk_rules_no_entity_scores_and_nothing_dropped():
    tags = tag_set(["PER", "LOC"], BIOES)
    generator = torch.Generator().manual_seed(4)
    for problem in random_batches(tags, BIOES, generator, range(1, 6)):
        emissions, mask, crf = as_numpy(*problem)
        decoded = viterbi(emissions, mask, Transitions(*(np.maximum(p, -1e4) for p in crf)))
        kept, scored = decoded_scores(emissions, mask, crf, decoded, None, min_score=0.9)
        assert kept == decoded and all(found["entity_scores"] == [] for found in scored)


def test_calibration_error_by_hand():
    # Bin [0.9, 1]: scores 0.95 and 1.0, one correct: |0.5 - 0.975| = 0.475, share 2/4.
    # Bin [0.2, 0.3): score 0.25, wrong: gap 0.25, share 1/4. Bin [0.6, 0.7): 0.6, correct: gap 0.4, share 1/4.
    scores, correct = [0.95, 1.0, 0.25, 0.6], [True, False, False, True]
    assert calibration_error(scores, correct) == pytest.approx(0.475 / 2 + 0.25 / 4 + 0.4 / 4)
    assert calibration_error([0.5, 0.5], [True, False]) == pytest.approx(0.0)
    assert calibration_error([], []) == 0.0
    with pytest.raises(ValueError, match="2 scores for 1 outcomes"):
        calibration_error([0.1, 0.2], [True])
    with pytest.raises(ValueError, match="bins must be at least 1"):
        calibration_error([0.1], [True], bins=0)

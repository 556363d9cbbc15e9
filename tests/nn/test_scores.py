"""Entity scores (tagger.nn.scores) against brute-force enumeration of all tag sequences, the Predictor's scores
(token, entity and sequence probabilities, n-best, temperature, min_score) and the calibration error."""

from __future__ import annotations

import pytest
import torch

from tagger.data.schemes import BIOES, IOB1, IOB2, tag_set, to_spans
from tagger.nn.crf import Transitions, forward_backward, viterbi
from tagger.nn.scores import ChunkRules, entity_probabilities, entity_spans
from tests.nn.crf_problems import brute_force, brute_marginals, random_batches
from tests.nn.helpers import SENTENCES, make_model


def brute_entity_probabilities(paths, probs, tags) -> dict:
    """Each chunk's summed probability over the sequences that hold it (as ``to_spans`` reads them)."""
    out: dict = {}
    for path, p in zip(paths.tolist(), probs.tolist()):
        if p > 0:
            for span in to_spans([tags[t] for t in path]):
                out[span] = out.get(span, 0.0) + p
    return out


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
@pytest.mark.parametrize("constrained", [True, False])
def test_entity_scores_equal_brute_force(scheme, constrained):
    tags = tag_set(["PER", "LOC"], scheme) if scheme != BIOES else tag_set(["PER"], scheme) + ["S-LOC"]
    rules = ChunkRules(tags)
    generator = torch.Generator().manual_seed(40)
    checked = 0
    batches = random_batches(tags, scheme, generator, [1, 2, 3, 4, 5, 4, 3], constrained)
    for emissions, mask, start, transitions, end in batches:
        lengths = mask.sum(dim=1).tolist()
        posterior = forward_backward(emissions, mask, Transitions(start, transitions, end))
        brute = [brute_force(emissions[b, :n], start, transitions, end) for b, n in enumerate(lengths)]
        # Score every possible chunk, not only those of the best sequence.
        spans = [[(x, s, e) for x in rules.types for s in range(n) for e in range(s + 1, n + 1)] for n in lengths]
        got = entity_probabilities(posterior, emissions, transitions, spans, lengths, rules)
        for b in range(len(lengths)):
            expected = brute_entity_probabilities(*brute[b], tags)
            for span, p in zip(spans[b], got[b]):
                assert p == pytest.approx(expected.get(span, 0.0), abs=1e-9), (b, span)
                checked += 1
        best = viterbi(emissions, mask, Transitions(start, transitions, end))
        decoded = entity_spans(best, tags)
        assert [len(s) for s in entity_probabilities(posterior, emissions, transitions, decoded, lengths, rules)] == [
            len(s) for s in decoded
        ]
    assert checked > 100


def test_entity_probabilities_of_sentences_without_entities():
    rules = ChunkRules(tag_set(["PER"], BIOES))
    emissions = torch.zeros(2, 3, len(rules.tags))
    mask = torch.ones(2, 3, dtype=torch.bool)
    ends, transitions = torch.zeros(len(rules.tags)), torch.zeros(len(rules.tags), len(rules.tags))
    posterior = forward_backward(emissions, mask, Transitions(ends, transitions, ends))
    assert entity_probabilities(posterior, emissions, transitions, [[], []], [3, 3], rules) == [[], []]


# The Predictor's scores (tagging.Predictor with scores=True, nbest=K) on a small random model


def scored_predictor(scheme: str, out_scheme: str, nbest: int = 0, temperature: float | None = None):
    from tagger.tagging.predictor import Predictor

    model, vocab = make_model(scheme=scheme, seed=4)
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in (model.crf.start_transitions, model.crf.transitions, model.crf.end_transitions):
            p.copy_(torch.randn(p.shape, generator=generator))
    predictor = Predictor(model, vocab, out_scheme, batch_size=2, scores=True, nbest=nbest, temperature=temperature)
    return predictor, model, vocab


SHORT = [["John", "Smith", "lives"], [], ["Paris"], ["Mary", "in", "Berlin"]]


@pytest.mark.parametrize(
    "scheme, out_scheme, temperature", [(BIOES, IOB1, None), (BIOES, BIOES, 1.7), (IOB2, IOB2, None), (IOB1, IOB1, 0.6)]
)
def test_predictor_scores_equal_brute_force_over_the_models_own_scores(scheme, out_scheme, temperature):
    from tagger.data.schemes import convert
    from tagger.data.types import TaggedSentence

    predictor, model, vocab = scored_predictor(scheme, out_scheme, nbest=1000, temperature=temperature)
    scale = temperature or 1.0  # the CRF's scores are divided by the temperature
    sentences = [TaggedSentence(list(tokens), []) for tokens in SHORT]
    predictor.label(sentences, predictor.prepare(SHORT))
    assert [s.tags for s in sentences] == predictor.predict(SHORT)  # the same tags as without scores
    with torch.no_grad():
        start, transitions, end = (p.double() / scale for p in model.crf_parameters(exact=True))
    model.eval()
    for sentence, tokens in zip(sentences, SHORT):
        if not tokens:
            assert sentence.probability == 1.0 and sentence.token_scores == [] and sentence.entity_scores == []
            continue
        prepared = predictor.prepare([tokens])
        with torch.no_grad():
            table = model.form_features(prepared.buckets, prepared.forms)
            emissions = model.emissions(prepared.batches[0][1], table)[0].double() / scale  # shape: (n, tags)
        paths, probs = brute_force(emissions, start, transitions, end)
        as_output = [convert([vocab.tags[t] for t in path], out_scheme) for path in paths.tolist()]
        expected = {tuple(tags): p for tags, p in zip(as_output, probs.tolist()) if p > 0}
        # The emissions of a sentence alone and in a batch differ in the last float32 bits: rel=1e-6.
        assert sentence.probability == pytest.approx(expected[tuple(sentence.tags)], rel=1e-6)
        nbest = sorted(expected.values(), reverse=True)
        assert [n["probability"] for n in sentence.nbest] == pytest.approx(nbest, rel=1e-6)
        assert {tuple(n["tags"]): n["probability"] for n in sentence.nbest} == pytest.approx(expected, rel=1e-6)
        marginal = brute_marginals(paths, probs, len(vocab.tags))
        chosen = [vocab.tags.index(t) for t in convert(sentence.tags, scheme)]
        assert sentence.token_scores == pytest.approx([float(marginal[i, t]) for i, t in enumerate(chosen)], rel=1e-6)
        spans = brute_entity_probabilities(paths, probs, vocab.tags)
        assert sentence.entity_scores == pytest.approx([spans[span] for span in to_spans(sentence.tags)], rel=1e-6)
        assert len(sentence.entity_scores) > 0 or not to_spans(sentence.tags)


def test_predictor_without_scores_computes_none(monkeypatch):
    import tagger.tagging.predictor as tagging
    from tagger.data.types import TaggedSentence

    def fail(*args, **kwargs):
        raise AssertionError("scores computed though not asked for")

    monkeypatch.setattr(tagging, "decoded_scores", fail)
    monkeypatch.setattr(tagging, "kbest_probabilities", fail)
    predictor, model, vocab = scored_predictor(BIOES, IOB1)
    plain = tagging.Predictor(model, vocab, IOB1, batch_size=2)
    sentences = [TaggedSentence(list(tokens), []) for tokens in SHORT]
    plain.label(sentences, plain.prepare(SHORT))
    assert [s.tags for s in sentences] == plain.predict(SHORT)
    fields = ("token_scores", "entity_scores", "probability", "nbest")
    assert all(getattr(s, key, None) is None for s in sentences for key in fields)
    with pytest.raises(AssertionError, match="not asked for"):
        predictor.run_scored(predictor.prepare(SHORT))
    with pytest.raises(ValueError, match="nbest must be 0 .* got -1"):
        tagging.Predictor(model, vocab, IOB1, nbest=-1)
    with pytest.raises(ValueError, match="temperature must be above 0, got 0"):
        tagging.Predictor(model, vocab, IOB1, temperature=0)


def test_a_higher_temperature_gives_less_certain_scores():
    sentences = [["John", "Smith", "lives", "in", "Paris", "."]]
    cold, _, _ = scored_predictor(BIOES, IOB1, temperature=0.5)
    warm, _, _ = scored_predictor(BIOES, IOB1, temperature=3.0)
    a, b = cold.run_scored(cold.prepare(sentences))[0], warm.run_scored(warm.prepare(sentences))[0]
    assert a["tags"] == b["tags"]  # decoding does not use the temperature
    assert a["probability"] > b["probability"]


def test_calibration_error_by_hand():
    from tagger.nn.scores import calibration_error

    # Bin [0.9, 1]: scores 0.95 and 1.0, one correct: |0.5 - 0.975| = 0.475, share 2/4.
    # Bin [0.2, 0.3): score 0.25, wrong: gap 0.25, share 1/4. Bin [0.6, 0.7): 0.6, correct: gap 0.4, share 1/4.
    scores, correct = [0.95, 1.0, 0.25, 0.6], [True, False, False, True]
    assert calibration_error(scores, correct) == pytest.approx(0.475 / 2 + 0.25 / 4 + 0.4 / 4)
    assert calibration_error([0.5, 0.5], [True, False]) == pytest.approx(0.0)
    assert calibration_error([], []) == 0.0
    with pytest.raises(ValueError, match="2 scores for 1 outcomes"):
        calibration_error([0.1, 0.2], [True])


def test_fit_temperature_returns_the_grid_point_with_the_lowest_error():
    from tagger.nn.scores import calibration_error

    predictor, model, vocab = scored_predictor(BIOES, IOB1, temperature=1.0)
    gold = [["I-PER"] * len(s) for s in SENTENCES]  # made-up gold tags: some entities right, most wrong
    grid = (0.5, 1.0, 2.0, 4.0)
    best, error = predictor.fit_temperature(SENTENCES, gold, temperatures=grid)
    assert predictor.temperature == 1.0  # its own is kept
    errors = []
    for temperature in grid:
        predictor.temperature = temperature
        found = predictor.run_scored(predictor.prepare(SENTENCES))
        scores = [p for f in found for p in f["entity_scores"]]
        correct = [span in to_spans(g) for f, g in zip(found, gold) for span in to_spans(f["tags"])]
        errors.append(calibration_error(scores, correct))
    assert error == pytest.approx(min(errors)) and best == grid[errors.index(min(errors))]
    assert len(set(errors)) > 1  # the temperature did change the error
    with pytest.raises(ValueError, match="scores=True"):
        type(predictor)(model, vocab, IOB1).fit_temperature(SENTENCES, gold)


@pytest.mark.parametrize("scheme, out_scheme", [(BIOES, IOB1), (IOB2, IOB2)])
def test_min_score_drops_entities_and_scores_the_sequence_left(scheme, out_scheme):
    from tagger.data.schemes import convert, from_spans
    from tagger.tagging.predictor import Predictor

    predictor, model, vocab = scored_predictor(scheme, out_scheme)
    strict = Predictor(model, vocab, out_scheme, batch_size=2, scores=True, min_score=0.6)
    with torch.no_grad():
        start, transitions, end = (p.double() for p in model.crf_parameters(exact=True))
    model.eval()
    dropped = kept = 0
    for everything, found, tokens in zip(
        predictor.run_scored(predictor.prepare(SHORT)), strict.run_scored(strict.prepare(SHORT)), SHORT
    ):
        spans = to_spans(everything["tags"])
        left = [s for s, p in zip(spans, everything["entity_scores"]) if p >= 0.6]
        assert to_spans(found["tags"]) == left
        assert found["tags"] == from_spans(left, len(tokens), out_scheme)
        assert found["entity_scores"] == [p for p in everything["entity_scores"] if p >= 0.6]
        dropped, kept = dropped + len(spans) - len(left), kept + len(left)
        if not tokens:
            continue
        prepared = predictor.prepare([tokens])
        with torch.no_grad():
            table = model.form_features(prepared.buckets, prepared.forms)
            emissions = model.emissions(prepared.batches[0][1], table)[0].double()  # shape: (n, tags)
        paths, probs = brute_force(emissions, start, transitions, end)
        as_output = [convert([vocab.tags[t] for t in path], out_scheme) for path in paths.tolist()]
        expected = {tuple(tags): p for tags, p in zip(as_output, probs.tolist()) if p > 0}
        assert found["probability"] == pytest.approx(expected[tuple(found["tags"])], rel=1e-6)
        marginal = brute_marginals(paths, probs, len(vocab.tags))
        chosen = [vocab.tags.index(t) for t in convert(found["tags"], scheme)]
        assert found["token_scores"] == pytest.approx([float(marginal[i, t]) for i, t in enumerate(chosen)], rel=1e-6)
    assert dropped > 0 and kept > 0
    with pytest.raises(ValueError, match="min_score needs scores=True"):
        Predictor(model, vocab, out_scheme, min_score=0.5)
    with pytest.raises(ValueError, match="min_score must be between 0 and 1, got 2"):
        Predictor(model, vocab, out_scheme, scores=True, min_score=2)

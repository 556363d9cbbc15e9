"""The CRF (tagger.nn.crf): pytorch-crf's layer and log-likelihood (against brute force too), decoding equal to
pytorch-crf's, Viterbi, marginals, log partition, path probabilities and n-best against brute force over every tag
sequence, constraints, and model-file compatibility."""

from __future__ import annotations

import itertools

import pytest
import torch
import torchcrf

from tagger.data.schemes import BIOES, IOB1, IOB2, PLAIN, invalid_positions, tag_set
from tagger.nn.crf import (
    CRF,
    Transitions,
    forward_backward,
    kbest_probabilities,
    kbest_viterbi,
    log_partition,
    scheme_constraints,
    viterbi,
)
from tests.nn.crf_problems import (
    all_paths,
    brute_force,
    brute_marginals,
    random_batches,
    random_mask,
    random_parameters,
    random_problems,
    sequence_scores,
)
from tests.nn.helpers import make_model


def marginals(posterior, mask: torch.Tensor) -> torch.Tensor:
    """P(y_t = j | sentence) of a posterior, 0 on padding and where no sequence is valid. shape: (batch, time, tags)"""
    valid = torch.isfinite(posterior.log_z)[:, None, None]
    log_z = torch.where(valid, posterior.log_z[:, None, None], 0.0)
    probs = torch.where(valid, posterior.alpha + posterior.beta - log_z, -torch.inf).exp()
    return probs * mask.unsqueeze(2).to(probs.dtype)


def ours(reference: torchcrf.CRF) -> CRF:
    """A CRF of ours with ``reference``'s parameters, loaded from its state_dict."""
    crf = CRF(reference.num_tags)
    crf.load_state_dict(reference.state_dict())
    return crf


# The module: pytorch-crf's parameters, names and initial values


def test_state_dict_has_pytorch_crfs_names_shapes_and_initial_values():
    torch.manual_seed(3)
    reference = torchcrf.CRF(6, batch_first=True)
    torch.manual_seed(3)
    crf = CRF(6)
    assert (
        list(crf.state_dict())
        == list(reference.state_dict())
        == [
            "start_transitions",
            "end_transitions",
            "transitions",
        ]
    )
    for name, value in reference.state_dict().items():
        assert torch.equal(crf.state_dict()[name], value), name
    assert [n for n, _ in crf.named_parameters()] == [n for n, _ in reference.named_parameters()]
    constrained = CRF(len(tag_set(["PER"], BIOES)), scheme_constraints(tag_set(["PER"], BIOES), BIOES))
    assert list(constrained.state_dict()) == list(reference.state_dict())  # the constraints are not saved


def test_bad_numbers_of_tags_and_emissions_are_shown():
    with pytest.raises(ValueError, match="invalid number of tags: 0"):
        CRF(0)
    crf = CRF(3)
    mask = torch.ones(2, 5, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"emissions must have shape \(batch, time, 3\), got \(2, 5, 4\)"):
        crf.decode(torch.randn(2, 5, 4), mask)
    with pytest.raises(ValueError, match=r"got \(5, 3\)"):
        crf.posterior(torch.randn(5, 3), mask)
    with pytest.raises(ValueError, match=r"got \(2, 5, 2\)"):
        crf.nbest(torch.randn(2, 5, 2), mask, 2)


# The loss: pytorch-crf's log-likelihood, values and gradients


def test_the_layer_and_its_log_likelihood_are_pytorch_crfs():
    assert issubclass(CRF, torchcrf.CRF)
    assert CRF.forward is torchcrf.CRF.forward and CRF.reset_parameters is torchcrf.CRF.reset_parameters
    assert CRF(4).batch_first


@pytest.mark.parametrize("seed", range(5))
def test_loss_equals_torchcrf_on_random_inputs(seed):
    """The log-likelihood, values and gradients, of a constrained CRF: a plain torchcrf.CRF's on the same
    parameters (the constraints are for decoding only)."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(40):
        batch, time, _ = (int(torch.randint(1, n, (1,), generator=generator)) for n in (6, 10, 8))
        scheme = (IOB1, IOB2, BIOES)[int(torch.randint(0, 3, (1,), generator=generator))]
        tags = tag_set(["PER", "LOC"][: int(torch.randint(1, 3, (1,), generator=generator))], scheme)
        reference = torchcrf.CRF(len(tags), batch_first=True)
        torch.nn.init.normal_(reference.transitions, generator=generator)
        crf = CRF(len(tags), scheme_constraints(tags, scheme))
        crf.load_state_dict(reference.state_dict())
        emissions = torch.randn(batch, time, len(tags), generator=generator, requires_grad=True)
        gold = torch.randint(0, len(tags), (batch, time), generator=generator)
        lengths = torch.randint(1, time + 1, (batch,), generator=generator)
        mask = torch.arange(time)[None, :] < lengths[:, None]

        for reduction in ("none", "mean"):
            expected = reference(emissions, gold, mask=mask, reduction=reduction)
            got = crf(emissions, gold, mask, reduction=reduction)
            assert torch.equal(got, expected)
            params = [emissions, crf.transitions, crf.start_transitions, crf.end_transitions]
            grads_got = torch.autograd.grad(got.sum(), params, allow_unused=True, materialize_grads=True)
            params = [emissions, reference.transitions, reference.start_transitions, reference.end_transitions]
            grads_expected = torch.autograd.grad(expected.sum(), params, allow_unused=True, materialize_grads=True)
            for a, b in zip(grads_got, grads_expected, strict=True):
                assert torch.equal(a, b)


def test_log_likelihood_equals_brute_force():
    """log P(gold) over every tag sequence of each sentence, padding left out."""
    generator = torch.Generator().manual_seed(8)
    for emissions, mask, start, transitions, end in random_problems(generator, trials=30, batch=3):
        crf = CRF(emissions.shape[2]).double()
        crf.load_state_dict({"start_transitions": start, "end_transitions": end, "transitions": transitions})
        gold = torch.randint(0, emissions.shape[2], mask.shape, generator=generator)
        got = crf(emissions, gold, mask, reduction="none")  # shape: (batch,)
        for b in range(emissions.shape[0]):
            n = int(mask[b].sum())
            paths, probs = brute_force(emissions[b, :n], start, transitions, end)
            expected = probs[(paths == gold[b, :n]).all(dim=1)].log()  # shape: (1,)
            torch.testing.assert_close(got[b : b + 1], expected)


def test_padding_does_not_change_a_sentences_likelihood():
    torch.manual_seed(0)
    crf = CRF(5)
    emissions = torch.randn(1, 4, 5)
    gold = torch.randint(0, 5, (1, 4))
    alone = crf(emissions, gold, torch.ones(1, 4, dtype=torch.bool))
    padded_em = torch.cat([emissions, torch.randn(1, 3, 5)], dim=1)
    padded_tags = torch.cat([gold, torch.randint(0, 5, (1, 3))], dim=1)
    mask = torch.tensor([[True] * 4 + [False] * 3])
    torch.testing.assert_close(crf(padded_em, padded_tags, mask), alone)


def test_loss_ignores_the_constraints():
    tags = tag_set(["PER"], BIOES)
    torch.manual_seed(2)
    free = CRF(len(tags))
    constrained = CRF(len(tags), scheme_constraints(tags, BIOES))
    constrained.load_state_dict(free.state_dict())
    emissions, gold = torch.randn(2, 4, len(tags)), torch.randint(0, len(tags), (2, 4))
    mask = torch.ones(2, 4, dtype=torch.bool)
    assert torch.equal(constrained(emissions, gold, mask), free(emissions, gold, mask))


def test_loss_bad_shapes_are_shown():
    crf = CRF(3)
    with pytest.raises(ValueError, match="expected last dimension of emissions is 3, got 4"):
        crf(torch.randn(2, 5, 4), torch.zeros(2, 5, dtype=torch.long), torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"emissions and tags must match, got \(2, 5\) and \(2, 4\)"):
        crf(torch.randn(2, 5, 3), torch.zeros(2, 4, dtype=torch.long), torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="first timestep"):
        crf(torch.randn(1, 2, 3), torch.zeros(1, 2, dtype=torch.long), torch.tensor([[False, True]]))


# Viterbi: pytorch-crf's decode and brute force


def test_viterbi_matches_pytorch_crf_decode():
    generator = torch.Generator().manual_seed(1234)
    ragged = 0
    for trial in range(200):
        batch = int(torch.randint(1, 7, (1,), generator=generator))
        time = int(torch.randint(1, 9, (1,), generator=generator))
        num_tags = int(torch.randint(1, 8, (1,), generator=generator))
        reference = torchcrf.CRF(num_tags, batch_first=True)
        with torch.no_grad():
            for p in (reference.start_transitions, reference.transitions, reference.end_transitions):
                p.copy_(torch.randn(p.shape, generator=generator) * 2)
        emissions = torch.randn(batch, time, num_tags, generator=generator) * 3
        mask = random_mask(batch, time, generator)
        ragged += int(not bool(mask.all()))
        with torch.no_grad():
            expected = reference.decode(emissions, mask)
            assert ours(reference).decode(emissions, mask) == expected, trial
            own = Transitions(reference.start_transitions, reference.transitions, reference.end_transitions)
            assert viterbi(emissions, mask, own) == expected, trial
    assert ragged > 60  # the trials did exercise padding


def test_viterbi_matches_pytorch_crf_time_major_too():
    generator = torch.Generator().manual_seed(7)
    reference = torchcrf.CRF(5)  # time-major
    emissions = torch.randn(6, 4, 5, generator=generator)  # shape: (time, batch, tags)
    mask = random_mask(4, 6, generator)  # shape: (batch, time)
    with torch.no_grad():
        expected = reference.decode(emissions, mask.t())
        got = ours(reference).decode(emissions.transpose(0, 1), mask)
    assert got == expected


def test_viterbi_finds_the_best_sequence_by_brute_force():
    generator = torch.Generator().manual_seed(99)
    for trial in range(60):
        num_tags = int(torch.randint(1, 5, (1,), generator=generator))
        time = int(torch.randint(1, 5, (1,), generator=generator))
        batch = 3
        emissions = torch.randn(batch, time, num_tags, generator=generator, dtype=torch.float64)
        start, end = torch.randn(2, num_tags, generator=generator, dtype=torch.float64)
        transitions = torch.randn(num_tags, num_tags, generator=generator, dtype=torch.float64)
        mask = random_mask(batch, time, generator)
        decoded = viterbi(emissions, mask, Transitions(start, transitions, end))
        for b in range(batch):
            n = int(mask[b].sum())
            paths = all_paths(num_tags, n)
            scores = sequence_scores(paths, emissions[b, :n], start, transitions, end)
            best = paths[scores.argmax()].tolist()
            assert decoded[b] == best, (trial, b)
            got = sequence_scores(torch.tensor([decoded[b]]), emissions[b, :n], start, transitions, end)
            assert torch.isclose(got[0], scores.max())


def test_viterbi_rejects_bad_input():
    e = torch.zeros(2, 3, 4)
    t, s = torch.zeros(4, 4), torch.zeros(4)
    plain = Transitions(s, t, s)
    with pytest.raises(ValueError, match="first timestep"):
        viterbi(e, torch.tensor([[True, True, True], [False, True, True]]), plain)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\), got \(2, 4\)"):
        viterbi(e, torch.ones(2, 4, dtype=torch.bool), plain)
    with pytest.raises(ValueError, match=r"for 4 tags, .* got \(4,\), \(4,\), \(3, 3\)"):
        viterbi(e, torch.ones(2, 3, dtype=torch.bool), Transitions(s, torch.zeros(3, 3), s))
    with pytest.raises(ValueError, match=r"3 dimensions.*\(3, 4\)"):
        viterbi(e[0], torch.ones(3, dtype=torch.bool), plain)
    assert viterbi(torch.zeros(0, 3, 4), torch.ones(0, 3, dtype=torch.bool), plain) == []


# Constrained decoding


def random_crf(tags: list[str], scheme: str, generator: torch.Generator, scale: float) -> CRF:
    crf = CRF(len(tags), scheme_constraints(tags, scheme))
    with torch.no_grad():
        for p in (crf.start_transitions, crf.transitions, crf.end_transitions):
            p.copy_(torch.randn(p.shape, generator=generator) * scale)
    return crf


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
def test_constrained_viterbi_finds_the_best_valid_sequence_by_brute_force(scheme):
    tags = tag_set(["PER", "LOC"], scheme)
    generator = torch.Generator().manual_seed(5)
    cases = 0
    for trial in range(12):
        crf = random_crf(tags, scheme, generator, 2)
        time = 1 + trial % 4
        emissions = torch.randn(2, time, len(tags), generator=generator) * 3
        mask = torch.ones(2, time, dtype=torch.bool)
        mask[1, time // 2 + 1 :] = False
        with torch.no_grad():
            decoded = crf.decode(emissions, mask)
            for b in range(2):
                n = int(mask[b].sum())
                paths = all_paths(len(tags), n)
                valid = torch.tensor([invalid_positions([tags[i] for i in p], scheme) == [] for p in paths.tolist()])
                scores = sequence_scores(paths, emissions[b, :n], *crf.scores(constrained=False))
                best_valid = paths[scores.masked_fill(~valid, float("-inf")).argmax()].tolist()
                best_any = paths[scores.argmax()].tolist()
                assert decoded[b] == best_valid, (trial, b)
                cases += best_any != best_valid
    assert cases > 0  # the constraints did change some answers


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
def test_constrained_decoding_never_outputs_an_invalid_sequence(scheme):
    model, vocab = make_model(scheme=scheme)
    generator = torch.Generator().manual_seed(11)
    emissions = torch.randn(64, 12, len(vocab.tags), generator=generator) * 4
    mask = random_mask(64, 12, generator)
    invalid_unconstrained = 0
    for _ in range(5):
        with torch.no_grad():
            for p in (model.crf.start_transitions, model.crf.transitions, model.crf.end_transitions):
                p.copy_(torch.randn(p.shape, generator=generator) * 5)
            model.config.constrained = True
            constrained = model.decode_emissions(emissions, mask)
            assert model.crf.decode(emissions, mask) == constrained
            model.config.constrained = False
            free = model.decode_emissions(emissions, mask)
            assert model.crf.decode(emissions, mask, constrained=False) == free
        for ids in constrained:
            assert invalid_positions([vocab.tags[i] for i in ids], scheme) == [], ids
        invalid_unconstrained += sum(bool(invalid_positions([vocab.tags[i] for i in ids], scheme)) for ids in free)
    assert invalid_unconstrained > 0  # without constraints random transitions do give invalid sequences


def test_unconstrained_model_decoding_is_plain_crf_decoding():
    model, vocab = make_model(constrained=False)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in (model.crf.start_transitions, model.crf.transitions, model.crf.end_transitions):
            p.copy_(torch.randn(p.shape, generator=generator) * 3)
    emissions = torch.randn(8, 7, len(vocab.tags), generator=generator)
    mask = random_mask(8, 7, generator)
    reference = torchcrf.CRF(len(vocab.tags), batch_first=True)
    reference.load_state_dict(model.crf.state_dict())
    with torch.no_grad():
        assert model.decode_emissions(emissions, mask) == reference.decode(emissions, mask)


def test_constraints_add_neg_for_decoding_and_minus_infinity_for_probabilities():
    tags = tag_set(["PER"], BIOES)  # O, B-PER, I-PER, E-PER, S-PER
    crf = random_crf(tags, BIOES, torch.Generator().manual_seed(1), 1)
    allowed, may_start, may_end = scheme_constraints(tags, BIOES)
    plain, decoding, exact = crf.scores(constrained=False), crf.scores(), crf.scores(exact=True)
    for free, penalised, strict, ok in zip(plain, decoding, exact, (may_start, allowed, may_end)):
        assert torch.equal(penalised[ok], free[ok]) and torch.equal(strict[ok], free[ok])
        assert torch.equal(penalised[~ok], free[~ok] - 1e4)
        assert bool(torch.isinf(strict[~ok]).all()) and bool((~ok).any())
    assert all(torch.equal(a, b) for a, b in zip(crf.constrain(plain), decoding))
    assert all(torch.equal(a, b) for a, b in zip(CRF(len(tags)).constrain(plain), plain))  # no constraints


@pytest.mark.parametrize("tags", [["NN", "VB", "DT", ","], ["O", "B-X", "I-X"]])
def test_plain_label_sets_decode_unconstrained_by_brute_force(tags):
    """A plain label set's CRF has no constraints, even where its tags look like chunk tags: Viterbi, the
    marginals and the n-best list are those of brute force over every sequence (I-X after O included)."""
    assert scheme_constraints(tags, PLAIN) is None
    generator = torch.Generator().manual_seed(11)
    crf = random_crf(tags, PLAIN, generator, 1).double()
    for trial in range(10):
        time = 1 + trial % 4
        emissions = torch.randn(2, time, len(tags), generator=generator, dtype=torch.float64) * 3
        mask = torch.ones(2, time, dtype=torch.bool)
        mask[1, time // 2 + 1 :] = False
        with torch.no_grad():
            parameters = crf.scores(constrained=True, exact=True)
            decoded = crf.decode(emissions, mask)
            posterior = crf.posterior(emissions, mask)
            best3 = crf.nbest(emissions, mask, 3)
        got = marginals(posterior, mask)
        for b in range(2):
            n = int(mask[b].sum())
            paths, probs = brute_force(emissions[b, :n], *parameters)
            order = probs.argsort(descending=True)
            assert decoded[b] == paths[order[0]].tolist(), (trial, b)
            torch.testing.assert_close(got[b, :n], brute_marginals(paths, probs, len(tags)))
            assert [ids for ids, _ in best3[b]] == [paths[i].tolist() for i in order[:3]]
            probabilities = torch.tensor([p for _, p in best3[b]], dtype=torch.float64)
            torch.testing.assert_close(probabilities, probs[order[:3]])
    if "I-X" in tags:  # a sequence IOB2 forbids (I-X first, after O) is chosen where the emissions want it
        emissions = torch.full((1, 3, len(tags)), -5.0, dtype=torch.float64)
        emissions[0, [0, 1, 2], [tags.index("I-X"), tags.index("O"), tags.index("I-X")]] = 5.0
        (decoded,) = crf.decode(emissions, torch.ones(1, 3, dtype=torch.bool))
        assert [tags[i] for i in decoded] == ["I-X", "O", "I-X"]


# Forward-backward: marginals, log partition


def check_against_brute_force(emissions, mask, start, transitions, end):
    posterior = forward_backward(emissions, mask, Transitions(start, transitions, end))
    got = marginals(posterior, mask)
    assert got.shape == emissions.shape
    for b in range(emissions.shape[0]):
        n = int(mask[b].sum())
        paths, probs = brute_force(emissions[b, :n], start, transitions, end)
        torch.testing.assert_close(got[b, :n], brute_marginals(paths, probs, emissions.shape[2]))
        assert not got[b, n:].any()  # padding is 0
        assert torch.isfinite(got[b]).all()
        sums = got[b, :n].sum(dim=1)
        expected = 1.0 if probs.sum() > 0 else 0.0
        torch.testing.assert_close(sums, torch.full_like(sums, expected))
    return posterior


@pytest.mark.parametrize("seed", range(4))
def test_marginals_equal_brute_force_and_sum_to_one(seed):
    generator = torch.Generator().manual_seed(seed)
    for emissions, mask, *parameters in random_problems(generator, 15, batch=4, scale=2):
        check_against_brute_force(emissions, mask, *parameters)


def test_forbidden_parameters_give_invalid_sequences_probability_zero():
    generator = torch.Generator().manual_seed(21)
    none_valid = some_forbidden = 0
    problems = random_problems(generator, 60, batch=3, tags=range(2, 5), forbid=0.4)
    for emissions, mask, start, transitions, end in problems:
        posterior = check_against_brute_force(emissions, mask, start, transitions, end)
        none_valid += int(torch.isinf(posterior.log_z).sum())
        got = marginals(posterior, mask)
        # A tag no valid sequence can start with has marginal exactly 0 at the first token.
        assert (got[:, 0, torch.isinf(start)] == 0).all()
        some_forbidden += int(torch.isinf(start).any())
    assert none_valid > 0 and some_forbidden > 0  # both cases were exercised


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
def test_marginals_under_real_scheme_constraints(scheme):
    tags = tag_set(["PER", "LOC"], scheme)
    generator = torch.Generator().manual_seed(3)
    for emissions, mask, start, transitions, end in random_batches(tags, scheme, generator, range(1, 5)):
        posterior = check_against_brute_force(emissions, mask, start, transitions, end)
        assert torch.isfinite(posterior.log_z).all()  # all-O is always valid


def test_the_modules_posterior_is_forward_backward_of_its_exact_scores():
    tags = tag_set(["PER", "LOC"], IOB2)
    generator = torch.Generator().manual_seed(6)
    crf = random_crf(tags, IOB2, generator, 1)
    emissions = torch.randn(3, 5, len(tags), generator=generator)
    mask = random_mask(3, 5, generator)
    with torch.no_grad():
        got, expected = crf.posterior(emissions, mask), forward_backward(emissions, mask, crf.scores(exact=True))
        for a, b in zip((got.alpha, got.beta, got.log_z), (expected.alpha, expected.beta, expected.log_z)):
            assert torch.equal(a, b)
        best = kbest_probabilities(emissions, mask, crf.scores(exact=True), 3)
        assert crf.nbest(emissions, mask, 3) == best


def test_float32_works_too_and_log_partition_matches():
    generator = torch.Generator().manual_seed(8)
    emissions = torch.randn(5, 6, 4, generator=generator)
    mask = random_mask(5, 6, generator)
    scores = Transitions(*(p.float() for p in random_parameters(4, generator)))
    posterior = forward_backward(emissions, mask, scores)
    sums = marginals(posterior, mask).sum(dim=2)  # shape: (batch, time)
    torch.testing.assert_close(sums, mask.float(), atol=1e-5, rtol=0)
    torch.testing.assert_close(log_partition(emissions, mask, scores), posterior.log_z)


def test_bad_shapes_are_named():
    e = torch.zeros(2, 3, 4)
    s, t = torch.zeros(4), torch.zeros(4, 4)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\), got \(2, 4\)"):
        forward_backward(e, torch.ones(2, 4, dtype=torch.bool), Transitions(s, t, s))
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        forward_backward(e, torch.ones(2, 3, dtype=torch.bool), Transitions(s, torch.zeros(3, 3), s))
    with pytest.raises(ValueError, match=r"3 dimensions.*\(3, 4\)"):
        forward_backward(e[0], torch.ones(3, dtype=torch.bool), Transitions(s, t, s))
    with pytest.raises(ValueError, match="first timestep"):
        forward_backward(e, torch.tensor([[True, True, True], [False, True, True]]), Transitions(s, t, s))


# K-best Viterbi against the sorted brute-force list of all tag sequences


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


def check_kbest(emissions, mask, start, transitions, end, k):
    got = kbest_probabilities(emissions, mask, Transitions(start, transitions, end), k)
    scored = kbest_viterbi(emissions, mask, Transitions(start, transitions, end), k)
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
        got = check_kbest(emissions, mask, *parameters, k)
        fewer += sum(len(g) < k for g in got)
    if k == 40:
        assert fewer > 0  # K larger than the number of sequences: fewer came back


def test_kbest_leaves_out_invalid_sequences():
    generator = torch.Generator().manual_seed(5)
    short = 0
    problems = random_problems(generator, 40, batch=3, tags=range(2, 5), times=range(1, 5), forbid=0.5)
    for emissions, mask, start, transitions, end in problems:
        num_tags = emissions.shape[2]
        got = check_kbest(emissions, mask, start, transitions, end, 6)
        short += sum(len(g) < min(6, num_tags ** int(mask[b].sum())) for b, g in enumerate(got))
    assert short > 0  # forbidden sequences did shorten some lists


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
def test_kbest_under_real_scheme_constraints(scheme):
    tags = tag_set(["PER", "LOC"], scheme)
    generator = torch.Generator().manual_seed(9)
    for emissions, mask, start, transitions, end in random_batches(tags, scheme, generator, range(1, 5)):
        got = check_kbest(emissions, mask, start, transitions, end, 7)
        best = viterbi(emissions, mask, Transitions(start, transitions, end))
        assert [g[0][0] for g in got] == best  # the first is the 1-best


def test_ties_are_broken_in_the_documented_order():
    # Every sequence scores 0: the order is by last tag, then the tag before it, and so on.
    emissions = torch.zeros(2, 3, 3)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    zeros = Transitions(torch.zeros(3), torch.zeros(3, 3), torch.zeros(3))
    got = kbest_viterbi(emissions, mask, zeros, 30)
    expected = [list(reversed(p)) for p in itertools.product(range(3), repeat=3)]
    assert [tags for tags, _ in got[0]] == expected
    assert [tags for tags, _ in got[1]] == [list(reversed(p)) for p in itertools.product(range(3), repeat=2)]
    assert kbest_viterbi(emissions, mask, zeros, 30) == got  # the same every time


def test_kbest_bad_arguments():
    e, s, t = torch.zeros(2, 3, 4), torch.zeros(4), torch.zeros(4, 4)
    plain = Transitions(s, t, s)
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        kbest_viterbi(e, torch.ones(2, 3, dtype=torch.bool), plain, 0)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\), got \(3, 2\)"):
        kbest_viterbi(e, torch.ones(3, 2, dtype=torch.bool), plain, 2)
    assert kbest_viterbi(torch.zeros(0, 3, 4), torch.ones(0, 3, dtype=torch.bool), plain, 2) == []

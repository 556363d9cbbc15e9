"""The CRF layer (tagger.nn.crf): pytorch-crf's parameters and log-likelihood (against brute force too), and its
scheme constraints, which the numpy decoder (tagger.runtime.crf) keeps to: the best valid sequence by brute force,
never an invalid one, and plain decoding without them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchcrf

from tagger.data.schemes import BIOES, IOB1, IOB2, PLAIN, invalid_positions, tag_set
from tagger.nn.crf import CRF, scheme_constraints
from tagger.runtime.crf import Transitions, constrain, viterbi
from tagger.tagging.model import from_torch
from tests.nn.crf_problems import all_paths, brute_force, random_mask, random_problems, sequence_scores
from tests.nn.helpers import make_model


def decoding(crf: CRF) -> Transitions:
    """The CRF's scores as the numpy decoder takes them: its constraints applied (``runtime.crf.constrain``)."""
    found = crf.constraints()
    own = Transitions(*(p.detach().numpy() for p in crf.scores()))
    return constrain(own, None if found is None else Transitions(*(ok.numpy() for ok in found)))


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


def test_a_bad_number_of_tags_is_shown():
    with pytest.raises(ValueError, match="invalid number of tags: 0"):
        CRF(0)


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


# The constraints, as the numpy decoder applies them


def random_crf(tags: list[str], scheme: str, generator: torch.Generator, scale: float) -> CRF:
    crf = CRF(len(tags), scheme_constraints(tags, scheme))
    with torch.no_grad():
        for p in crf.scores():
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
        decoded = viterbi(emissions.numpy(), mask.numpy(), decoding(crf))
        for b in range(2):
            n = int(mask[b].sum())
            paths = all_paths(len(tags), n)
            valid = torch.tensor([invalid_positions([tags[i] for i in p], scheme) == [] for p in paths.tolist()])
            scores = sequence_scores(paths, emissions[b, :n], *(p.detach() for p in crf.scores()))
            best_valid = paths[scores.masked_fill(~valid, float("-inf")).argmax()].tolist()
            best_any = paths[scores.argmax()].tolist()
            assert decoded[b] == best_valid, (trial, b)
            cases += best_any != best_valid
    assert cases > 0  # the constraints did change some answers


@pytest.mark.parametrize("scheme", [BIOES, IOB2, IOB1])
def test_a_constrained_model_never_decodes_an_invalid_sequence(scheme):
    model, vocab = make_model(scheme=scheme)
    generator = torch.Generator().manual_seed(11)
    emissions = (torch.randn(64, 12, len(vocab.tags), generator=generator) * 4).numpy()
    mask = random_mask(64, 12, generator).numpy()
    invalid_unconstrained = 0
    for _ in range(5):
        with torch.no_grad():
            for p in model.crf.scores():
                p.copy_(torch.randn(p.shape, generator=generator) * 5)
        model.config.constrained = True
        constrained = viterbi(emissions, mask, from_torch(model, vocab, scheme).transitions())
        model.config.constrained = False
        free = viterbi(emissions, mask, from_torch(model, vocab, scheme).transitions())
        for ids in constrained:
            assert invalid_positions([vocab.tags[i] for i in ids], scheme) == [], ids
        invalid_unconstrained += sum(bool(invalid_positions([vocab.tags[i] for i in ids], scheme)) for ids in free)
    assert invalid_unconstrained > 0  # without constraints random transitions do give invalid sequences


def test_an_unconstrained_model_decodes_as_pytorch_crf():
    model, vocab = make_model(constrained=False)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.crf.scores():
            p.copy_(torch.randn(p.shape, generator=generator) * 3)
    emissions = torch.randn(8, 7, len(vocab.tags), generator=generator)
    mask = random_mask(8, 7, generator)
    reference = torchcrf.CRF(len(vocab.tags), batch_first=True)
    reference.load_state_dict(model.crf.state_dict())
    with torch.no_grad():
        expected = reference.decode(emissions, mask)
    assert viterbi(emissions.numpy(), mask.numpy(), from_torch(model, vocab, BIOES).transitions()) == expected


@pytest.mark.parametrize("tags", [["NN", "VB", "DT", ","], ["O", "B-X", "I-X"]])
def test_plain_label_sets_decode_unconstrained(tags):
    """A plain label set's CRF has no constraints, even where its tags look like chunk tags: the best sequence
    of every sequence (I-X after O included)."""
    assert scheme_constraints(tags, PLAIN) is None
    generator = torch.Generator().manual_seed(11)
    crf = random_crf(tags, PLAIN, generator, 1)
    assert crf.constraints() is None
    for emissions, mask, *_ in random_problems(generator, 10, batch=2, tags=range(len(tags), len(tags) + 1)):
        emissions = emissions.float()
        decoded = viterbi(emissions.numpy(), mask.numpy(), decoding(crf))
        for b, path in enumerate(decoded):
            paths, probs = brute_force(emissions[b, : len(path)], *(p.detach() for p in crf.scores()))
            assert probs[paths.tolist().index(path)] == pytest.approx(float(probs.max()), abs=1e-6), b
    if "I-X" in tags:  # a sequence IOB2 forbids (I-X first, after O) is chosen where the emissions want it
        emissions = np.full((1, 3, len(tags)), -5.0, dtype=np.float32)
        emissions[0, [0, 1, 2], [tags.index("I-X"), tags.index("O"), tags.index("I-X")]] = 5.0
        (decoded,) = viterbi(emissions, np.ones((1, 3), dtype=bool), decoding(crf))
        assert [tags[i] for i in decoded] == ["I-X", "O", "I-X"]

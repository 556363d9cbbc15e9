"""The CRF log-likelihood used for training equals pytorch-crf's, values and gradients."""

from __future__ import annotations

import pytest
import torch
from torchcrf import CRF

from tagger.nn.likelihood import log_likelihood


@pytest.mark.parametrize("seed", range(5))
def test_equals_torchcrf_on_random_inputs(seed):
    generator = torch.Generator().manual_seed(seed)
    for _ in range(40):
        batch, time, tags = (int(torch.randint(1, n, (1,), generator=generator)) for n in (6, 10, 8))
        crf = CRF(tags, batch_first=True)
        torch.nn.init.normal_(crf.transitions, generator=generator)
        emissions = torch.randn(batch, time, tags, generator=generator, requires_grad=True)
        gold = torch.randint(0, tags, (batch, time), generator=generator)
        lengths = torch.randint(1, time + 1, (batch,), generator=generator)
        mask = torch.arange(time)[None, :] < lengths[:, None]
        params = [emissions, crf.transitions, crf.start_transitions, crf.end_transitions]

        expected = crf(emissions, gold, mask=mask, reduction="none")
        got = log_likelihood(crf, emissions, gold, mask)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
        grads_expected = torch.autograd.grad(expected.sum(), params, allow_unused=True, materialize_grads=True)
        grads_got = torch.autograd.grad(got.sum(), params, allow_unused=True, materialize_grads=True)
        for a, b in zip(grads_got, grads_expected, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_padding_does_not_change_a_sentences_likelihood():
    torch.manual_seed(0)
    crf = CRF(5, batch_first=True)
    emissions = torch.randn(1, 4, 5)
    gold = torch.randint(0, 5, (1, 4))
    alone = log_likelihood(crf, emissions, gold, torch.ones(1, 4, dtype=torch.bool))
    padded_em = torch.cat([emissions, torch.randn(1, 3, 5)], dim=1)
    padded_tags = torch.cat([gold, torch.randint(0, 5, (1, 3))], dim=1)
    mask = torch.tensor([[True] * 4 + [False] * 3])
    torch.testing.assert_close(log_likelihood(crf, padded_em, padded_tags, mask), alone)


def test_bad_shapes_are_named():
    crf = CRF(3, batch_first=True)
    with pytest.raises(ValueError, match="expected last dimension of emissions is 3, got 4"):
        log_likelihood(
            crf, torch.randn(2, 5, 4), torch.zeros(2, 5, dtype=torch.long), torch.ones(2, 5, dtype=torch.bool)
        )
    with pytest.raises(ValueError, match=r"tags and mask must have shape \(2, 5\)"):
        log_likelihood(
            crf, torch.randn(2, 5, 3), torch.zeros(2, 4, dtype=torch.long), torch.ones(2, 5, dtype=torch.bool)
        )
    with pytest.raises(ValueError, match="first timestep"):
        log_likelihood(crf, torch.randn(1, 2, 3), torch.zeros(1, 2, dtype=torch.long), torch.tensor([[False, True]]))

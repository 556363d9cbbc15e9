"""Viterbi decoding (viterbi.py) against pytorch-crf's decode and against brute force."""

from __future__ import annotations

import pytest
import torch
from torchcrf import CRF

from tagger.nn.viterbi import viterbi_decode
from tests.conftest import all_paths, random_mask, sequence_scores


def test_viterbi_matches_pytorch_crf_decode():
    generator = torch.Generator().manual_seed(1234)
    ragged = 0
    for trial in range(200):
        batch = int(torch.randint(1, 7, (1,), generator=generator))
        time = int(torch.randint(1, 9, (1,), generator=generator))
        num_tags = int(torch.randint(1, 8, (1,), generator=generator))
        crf = CRF(num_tags, batch_first=True)
        with torch.no_grad():
            for p in (crf.start_transitions, crf.transitions, crf.end_transitions):
                p.copy_(torch.randn(p.shape, generator=generator) * 2)
        emissions = torch.randn(batch, time, num_tags, generator=generator) * 3
        mask = random_mask(batch, time, generator)
        ragged += int(not bool(mask.all()))
        with torch.no_grad():
            expected = crf.decode(emissions, mask)
            got = viterbi_decode(emissions, mask, crf.start_transitions, crf.transitions, crf.end_transitions)
        assert got == expected, trial
    assert ragged > 60  # the trials did exercise padding


def test_viterbi_matches_pytorch_crf_time_major_too():
    generator = torch.Generator().manual_seed(7)
    crf = CRF(5)  # time-major
    emissions = torch.randn(6, 4, 5, generator=generator)  # shape: (time, batch, tags)
    mask = random_mask(4, 6, generator)  # shape: (batch, time)
    with torch.no_grad():
        expected = crf.decode(emissions, mask.t())
        got = viterbi_decode(
            emissions.transpose(0, 1), mask, crf.start_transitions, crf.transitions, crf.end_transitions
        )
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
        decoded = viterbi_decode(emissions, mask, start, transitions, end)
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
    with pytest.raises(ValueError, match="first timestep"):
        viterbi_decode(e, torch.tensor([[True, True, True], [False, True, True]]), s, t, s)
    with pytest.raises(ValueError, match="mask"):
        viterbi_decode(e, torch.ones(2, 4, dtype=torch.bool), s, t, s)
    with pytest.raises(ValueError):
        viterbi_decode(e, torch.ones(2, 3, dtype=torch.bool), s, torch.zeros(3, 3), s)
    with pytest.raises(ValueError):
        viterbi_decode(e[0], torch.ones(3, dtype=torch.bool), s, t, s)
    assert viterbi_decode(torch.zeros(0, 3, 4), torch.ones(0, 3, dtype=torch.bool), s, t, s) == []

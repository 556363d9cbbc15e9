"""Random CRF problems and brute force over every tag sequence, which the CRF's dynamic programs (Viterbi,
marginals, n-best) are checked against (test_crf.py, test_scores.py)."""

from __future__ import annotations

import itertools

import torch

NEG_INF = float("-inf")


def random_mask(batch: int, time: int, generator: torch.Generator) -> torch.Tensor:
    """Left-aligned mask of random lengths 1..time, the first sentence full length. shape: (batch, time)"""
    lengths = torch.randint(1, time + 1, (batch,), generator=generator)
    lengths[0] = time
    return torch.arange(time)[None, :] < lengths[:, None]


def random_parameters(num_tags: int, generator: torch.Generator, forbid: float = 0.0):
    """start, transitions, end (float64), with about ``forbid`` of them -inf."""
    start, end = torch.randn(2, num_tags, generator=generator, dtype=torch.float64)
    transitions = torch.randn(num_tags, num_tags, generator=generator, dtype=torch.float64)
    if forbid:
        for p in (start, transitions, end):
            p.masked_fill_(torch.rand(p.shape, generator=generator) < forbid, NEG_INF)
    return start, transitions, end


def scheme_parameters(tags: list[str], scheme: str, generator: torch.Generator):
    """Random parameters with the scheme's constraints as -inf (as ``Model.transitions(exact=True)`` gives)."""
    from tagger.data.schemes import transition_rules

    allowed, may_start, may_end = transition_rules(scheme)
    start, transitions, end = random_parameters(len(tags), generator)
    start = start.masked_fill(~torch.tensor([may_start(t) for t in tags]), NEG_INF)
    end = end.masked_fill(~torch.tensor([may_end(t) for t in tags]), NEG_INF)
    ok = torch.tensor([[allowed(a, b) for b in tags] for a in tags])  # shape: (tags, tags)
    return start, transitions.masked_fill(~ok, NEG_INF), end


def random_problems(generator, trials: int, batch: int, tags=range(1, 5), times=range(1, 6), scale=1.0, forbid=0.0):
    """``trials`` random CRF problems (emissions, mask, start, transitions, end), float64, each with its own number
    of tags (from ``tags``) and sentence length (from ``times``); about ``forbid`` of the parameters -inf."""
    for _ in range(trials):
        num_tags = int(torch.randint(tags.start, tags.stop, (1,), generator=generator))
        time = int(torch.randint(times.start, times.stop, (1,), generator=generator))
        emissions = torch.randn(batch, time, num_tags, generator=generator, dtype=torch.float64) * scale
        mask = random_mask(batch, time, generator)
        yield (emissions, mask, *random_parameters(num_tags, generator, forbid))


def random_batches(tags: list[str], scheme: str, generator: torch.Generator, lengths, constrained: bool = True):
    """For each length: (emissions, mask, start, transitions, end) of 3 random sentences of at most that many
    tokens, with parameters that obey the scheme's constraints (or any, where not ``constrained``)."""
    for time in lengths:
        emissions = torch.randn(3, time, len(tags), generator=generator, dtype=torch.float64) * 2
        mask = random_mask(3, time, generator)
        if constrained:
            yield (emissions, mask, *scheme_parameters(tags, scheme, generator))
        else:
            yield (emissions, mask, *random_parameters(len(tags), generator))


def all_paths(num_tags: int, length: int) -> torch.Tensor:
    """Every tag sequence of ``length`` tags. shape: (num_tags ** length, length)"""
    return torch.tensor(list(itertools.product(range(num_tags), repeat=length)), dtype=torch.long)


def sequence_scores(
    paths: torch.Tensor, emissions: torch.Tensor, start: torch.Tensor, transitions: torch.Tensor, end: torch.Tensor
) -> torch.Tensor:
    """Score of each tag sequence (rows of ``paths``) for one sentence's emissions. shape: (paths,)"""
    steps = torch.arange(paths.shape[1])
    score = start[paths[:, 0]] + end[paths[:, -1]] + emissions[steps, paths].sum(dim=1)
    if paths.shape[1] > 1:
        score = score + transitions[paths[:, :-1], paths[:, 1:]].sum(dim=1)
    return score


def brute_force(emissions, start, transitions, end):
    """Every tag sequence of one sentence (emissions: (n, tags)) and its probability (all 0 if none is valid)."""
    n, num_tags = emissions.shape
    paths = all_paths(num_tags, n)  # shape: (paths, n)
    score = sequence_scores(paths, emissions, start, transitions, end)  # shape: (paths,)
    if torch.isinf(score).all():
        return paths, torch.zeros_like(score)
    return paths, torch.softmax(score, dim=0)


def brute_marginals(paths, probs, num_tags):
    """Each token's tag marginals from the brute-force paths and their probabilities. shape: (n, tags)"""
    n = paths.shape[1]
    out = torch.zeros(n, num_tags, dtype=torch.float64)
    for t in range(n):
        out[t].index_add_(0, paths[:, t], probs)
    return out


def brute_entity_probabilities(paths, probs, tags) -> dict:
    """Each chunk's summed probability over the sequences that hold it (as ``to_spans`` reads them)."""
    from tagger.data.schemes import to_spans

    out: dict = {}
    for path, p in zip(paths.tolist(), probs.tolist()):
        if p > 0:
            for span in to_spans([tags[t] for t in path]):
                out[span] = out.get(span, 0.0) + p
    return out

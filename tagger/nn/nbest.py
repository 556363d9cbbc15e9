"""The K best tag sequences of a linear-chain CRF (K-best Viterbi), batched, exact.

Viterbi keeps, for each tag at each token, the best prefix ending there; this keeps the K best, each
with a back-pointer (previous tag, rank of the prefix there). The K best prefixes ending in tag j at
token t are among the K best ending in each tag i at t-1, extended by j, so keeping K per tag is exact.

Ties are broken deterministically: among sequences of equal score the one whose last tag has the lower
id comes first, then the previous tag, and so on back to the first (the stable sort of the candidates
in (previous tag, rank) order does this at each step, and it is the same order at every length, so
cutting to K along the way keeps the right ones).

Constraints come as -inf scores (``BiLSTMCRF.crf_parameters(exact=True)``): a sequence that takes a
forbidden start, transition or end scores -inf and is left out, so a sentence with fewer than K valid
sequences gets fewer than K.
"""

from __future__ import annotations

import math

import torch

from tagger.nn.marginals import log_partition
from tagger.nn.viterbi import check_inputs


def kbest_viterbi(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
    k: int,
) -> list[list[tuple[list[int], float]]]:
    """The ``k`` best (tag ids, score) of each sentence, best first; -inf scores left out.

    emissions: (batch, time, tags); mask: (batch, time) bool, every sentence's first token on;
    start, end: (tags,); transitions: (tags, tags), ``transitions[i, j]`` for tag j after tag i.
    """
    check_inputs(emissions, mask, start, transitions, end)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    batch, time, num_tags = emissions.shape
    if batch == 0:
        return []
    mask = mask.bool()
    score = emissions.new_full((batch, num_tags, k), -torch.inf)  # shape: (batch, tags, k)
    score[:, :, 0] = start + emissions[:, 0]
    # On padding a (tag, rank) points back to itself: flat index tag * k + rank.
    identity = torch.arange(num_tags * k, device=emissions.device).view(1, num_tags, k).expand(batch, -1, -1)
    history = []
    for t in range(1, time):
        # shape: (batch, j, i, k): the rank-r prefix ending in tag i, extended by tag j
        cand = score.unsqueeze(1) + transitions.t().view(1, num_tags, num_tags, 1)
        cand = cand + emissions[:, t].view(batch, num_tags, 1, 1)
        best, index = _top(cand.reshape(batch, num_tags, num_tags * k), k)  # shape: (batch, j, k), over i * k + r
        on = mask[:, t].view(batch, 1, 1)
        score = torch.where(on, best, score)  # shape: (batch, tags, k)
        history.append(torch.where(on, index, identity))
    final = (score + end.view(1, num_tags, 1)).view(batch, 1, num_tags * k)  # shape: (batch, 1, tags * k)
    best, index = (x.squeeze(1) for x in _top(final, k))  # shape: (batch, k)
    path = [index // k]
    for back in reversed(history):
        index = back.reshape(batch, num_tags * k).gather(1, index)  # shape: (batch, k)
        path.append(index // k)
    path.reverse()
    tags = torch.stack(path, dim=2).tolist()  # shape: (batch, k, time)
    lengths = mask.sum(dim=1).tolist()
    scores = best.tolist()
    return [
        [(row[:n], s) for row, s in zip(rows, sentence_scores) if s != -float("inf")]
        for rows, sentence_scores, n in zip(tags, scores, lengths)
    ]


def _top(cand: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` largest of each row of ``cand`` (..., n) and their indices, by value and then by lower
    index: a stable descending sort cut to ``k``, but by ``topk`` (the whole sort costs more).

    Which of several -inf candidates are kept does not matter: a -inf prefix never ends in a sequence
    that is returned. Only finite ties at the k-th place need the slower choice by index.
    """
    values, index = cand.topk(k, dim=-1)  # shape: (..., k)
    kth = values[..., -1:]  # shape: (..., 1), the k-th largest value
    tied = cand == kth  # shape: (..., n)
    if not bool(((tied.sum(dim=-1, keepdim=True) == 1) | torch.isinf(kth)).all()):
        above = cand > kth
        need = k - above.sum(dim=-1, keepdim=True)  # shape: (..., 1), taken from the ties in index order
        take = above | (tied & (tied.cumsum(dim=-1) <= need))  # exactly k per row
        index = take.nonzero()[:, -1].view(*cand.shape[:-1], k)  # shape: (..., k)
    index = index.sort(dim=-1).values  # ascending, so that the stable sort below keeps ties in index order
    value = cand.gather(-1, index)
    order = value.sort(dim=-1, descending=True, stable=True).indices
    return value.gather(-1, order), index.gather(-1, order)


def kbest_probabilities(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
    k: int,
    log_z: torch.Tensor | None = None,
) -> list[list[tuple[list[int], float]]]:
    """The ``k`` most probable (tag ids, probability) of each sentence, most probable first; ``log_z``:
    ``marginals.log_partition`` of the same inputs, when the caller has it."""
    found = kbest_viterbi(emissions, mask, start, transitions, end, k)
    if log_z is None:
        log_z = log_partition(emissions, mask, start, transitions, end)
    return [[(tags, math.exp(s - z)) for tags, s in sequences] for sequences, z in zip(found, log_z.tolist())]

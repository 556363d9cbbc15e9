"""Viterbi decoding for a linear-chain CRF, batched, with optional transition constraints.

With no constraints this returns exactly what ``torchcrf.CRF.decode`` returns
(same arithmetic, same tie-breaking) but backtracks on tensors, with one
``tolist`` per batch instead of a Python step per token and sentence.
"""

from __future__ import annotations

import torch

NEG = -1e4  # added to the score of a forbidden transition, start or end


def viterbi_decode(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> list[list[int]]:
    """Best tag sequence of each sentence.

    emissions: (batch, time, tags) scores; mask: (batch, time) bool with every
    sentence's first token on; start, end: (tags,); transitions: (tags, tags)
    with ``transitions[i, j]`` the score of tag j following tag i.
    """
    check_inputs(emissions, mask, start, transitions, end)
    batch, time, num_tags = emissions.shape
    if batch == 0:
        return []
    mask = mask.bool()
    score = start + emissions[:, 0]  # shape: (batch, tags)
    identity = torch.arange(num_tags, device=emissions.device).expand(batch, num_tags)
    history = []
    for t in range(1, time):
        # shape: (batch, tags, tags): previous tag i (dim 1) to next tag j (dim 2)
        next_score = score.unsqueeze(2) + transitions + emissions[:, t].unsqueeze(1)
        best, index = next_score.max(dim=1)  # shape: (batch, tags)
        on = mask[:, t].unsqueeze(1)  # shape: (batch, 1)
        score = torch.where(on, best, score)
        history.append(torch.where(on, index, identity))  # padding passes tags through unchanged
    score = score + end
    last = score.argmax(dim=1)  # shape: (batch,)
    path = [last]
    for index in reversed(history):
        last = index.gather(1, last.unsqueeze(1)).squeeze(1)
        path.append(last)
    path.reverse()
    tags = torch.stack(path, dim=1).tolist()  # shape: (batch, time)
    lengths = mask.sum(dim=1).tolist()
    return [row[:n] for row, n in zip(tags, lengths)]


def check_inputs(
    emissions: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, transitions: torch.Tensor, end: torch.Tensor
) -> None:
    """Raise ``ValueError`` naming the bad shapes of a CRF's inputs."""
    if emissions.dim() != 3:
        raise ValueError(f"emissions must have 3 dimensions (batch, time, tags), got shape {tuple(emissions.shape)}")
    batch, time, num_tags = emissions.shape
    if mask.shape != (batch, time):
        raise ValueError(f"mask must have shape {(batch, time)}, got {tuple(mask.shape)}")
    if transitions.shape != (num_tags, num_tags) or start.shape != (num_tags,) or end.shape != (num_tags,):
        raise ValueError(
            f"for {num_tags} tags, start/end must be ({num_tags},) and transitions ({num_tags}, {num_tags}); "
            f"got {tuple(start.shape)}, {tuple(end.shape)}, {tuple(transitions.shape)}"
        )
    if batch and time and not bool(mask[:, 0].all()):
        raise ValueError("mask of the first timestep must all be on")

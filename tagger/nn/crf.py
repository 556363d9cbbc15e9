"""The linear-chain CRF: pytorch-crf's layer, with the tag scheme's constraints and the maths it lacks.

``CRF`` is the module a model holds as ``crf``: a ``torchcrf.CRF`` (its three parameters, their
initialisation and its log-likelihood, the training loss), plus the tag scheme's constraints,
constrained decoding (Viterbi), the posterior (forward-backward, log partition) and the K best
sequences. The dynamic programs are also functions of ``Transitions`` (start, pairwise, end scores),
because an ensemble averages its members' scores and scoring divides them by a temperature.

Conventions: emissions (batch, time, tags); mask (batch, time), every sentence's first token on;
``Transitions.pairs[i, j]`` the score of tag j following tag i. A constrained forbidden start, pair or
end gets ``NEG`` added for decoding (the best path never takes one while a valid path exists, and the
arithmetic stays pytorch-crf's), or is -inf with ``exact`` (for probabilities: an invalid sequence then
has probability exactly 0). A padded step passes every score through unchanged.

Forward-backward, in log space. ``alpha[t, j]`` is the log of the summed exp-scores of all prefixes
``y_0..y_t`` with ``y_t = j`` (the emission at t included); ``beta[t, j]`` the same for all suffixes
after ``y_t = j`` (the end score included). ``log Z = logsumexp(alpha[n-1] + end)`` and
``P(y_t = j) = exp(alpha[t, j] + beta[t, j] - log Z)``. A sentence with no valid sequence at all
(log Z = -inf; not possible with a real scheme, which always allows all-``O``) gets probability 0
everywhere instead of NaN.

K-best Viterbi keeps, for each tag at each token, the K best prefixes ending there, each with a
back-pointer (previous tag, rank of the prefix there); that is exact, since the K best prefixes ending
in tag j at t are among the K best ending in each tag i at t-1, extended by j. Ties go to the sequence
whose last tag has the lower id, then the previous tag, and so on back to the first (a stable sort of
the candidates in (previous tag, rank) order at each step). Sequences scoring -inf are left out, so a
sentence with fewer than K valid sequences gets fewer than K.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torchcrf

from tagger.data.schemes import PLAIN, transition_rules

NEG = -1e4  # added to the score of a forbidden transition, start or end for decoding


class Transitions(NamedTuple):
    """A CRF's scores apart from the emissions."""

    start: torch.Tensor  # shape: (tags,)
    pairs: torch.Tensor  # shape: (tags, tags), pairs[i, j]: tag j after tag i
    end: torch.Tensor  # shape: (tags,)

    def scaled(self, temperature: float) -> Transitions:
        """In double precision, divided by ``temperature`` (as scoring divides the emissions)."""
        return Transitions(*(p.double() / temperature for p in self))


@dataclass
class Posterior:
    """Forward and backward log-scores of a batch of sentences."""

    alpha: torch.Tensor  # shape: (batch, time, tags)
    beta: torch.Tensor  # shape: (batch, time, tags)
    log_z: torch.Tensor  # shape: (batch,) log partition; -inf where no sequence is valid


class CRF(torchcrf.CRF):
    """pytorch-crf's linear-chain CRF over ``num_tags`` tags (batch first), with the scheme's constraints when given.

    The parameters (``start_transitions``, ``end_transitions``, ``transitions``), their initialisation and
    ``forward`` (the log-likelihood of gold tags: the training loss is ``-crf(emissions, tags, mask,
    reduction="mean")``) are the library's, so model files saved with ``torchcrf.CRF`` load unchanged.

    The loss ignores the constraints: the model learns the unconstrained distribution, and decoding forbids
    invalid sequences (``NEG`` added to a forbidden start, pair or end). The library's ``forward`` over
    constrained scores would instead normalise over the valid sequences only (gold tags are valid, so only the
    normaliser differs): another training objective, which would change the models that training makes.

    What the library lacks is added: ``constraints`` (bool masks: allowed pairs (tags, tags), allowed starts
    (tags,), allowed ends (tags,); buffers outside the state_dict, as the tags and scheme rebuild them),
    constrained decoding, the posterior and the K best sequences.
    """

    def __init__(self, num_tags: int, constraints: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None):
        super().__init__(num_tags, batch_first=True)
        allowed, start, end = constraints if constraints is not None else (None, None, None)
        self.register_buffer("allowed", allowed, persistent=False)
        self.register_buffer("start_allowed", start, persistent=False)
        self.register_buffer("end_allowed", end, persistent=False)

    def _check_tags(self, emissions: torch.Tensor) -> None:
        """Raise ``ValueError`` showing the shape of emissions that do not score this CRF's tags."""
        if emissions.dim() != 3 or emissions.shape[2] != self.num_tags:
            raise ValueError(f"emissions must have shape (batch, time, {self.num_tags}), got {tuple(emissions.shape)}")

    def scores(self, constrained: bool = True, exact: bool = False) -> Transitions:
        """The CRF's parameters, with the constraints applied (see the module's docstring) when
        ``constrained`` and the CRF has them."""
        own = Transitions(self.start_transitions, self.transitions, self.end_transitions)
        return self.constrain(own, exact) if constrained else own

    def constrain(self, scores: Transitions, exact: bool = False) -> Transitions:
        """``scores`` (of these tags) with this CRF's constraints: ``NEG`` added to a forbidden start,
        pair or end, or -inf with ``exact``; unchanged without constraints."""
        if self.allowed is None:
            return scores
        forbidden = (~self.start_allowed, ~self.allowed, ~self.end_allowed)
        if exact:
            return Transitions(*(p.masked_fill(f, -torch.inf) for p, f in zip(scores, forbidden)))
        return Transitions(*(p + f * NEG for p, f in zip(scores, forbidden)))

    def decode(
        self, emissions: torch.Tensor, mask: torch.Tensor | None = None, constrained: bool = True
    ) -> list[list[int]]:
        """Best tag ids of each sentence (Viterbi), within the constraints when ``constrained``; without them,
        the library's ``decode`` (same arithmetic and ties), batched. ``mask``: every token on when None."""
        self._check_tags(emissions)
        if mask is None:
            mask = emissions.new_ones(emissions.shape[:2], dtype=torch.bool)
        return viterbi(emissions, mask, self.scores(constrained))

    def posterior(self, emissions: torch.Tensor, mask: torch.Tensor, constrained: bool = True) -> Posterior:
        """Forward-backward of each sentence; invalid sequences have probability 0 when ``constrained``."""
        self._check_tags(emissions)
        return forward_backward(emissions, mask, self.scores(constrained, exact=True))

    def nbest(
        self, emissions: torch.Tensor, mask: torch.Tensor, k: int, constrained: bool = True
    ) -> list[list[tuple[list[int], float]]]:
        """The ``k`` most probable (tag ids, probability) of each sentence, most probable first."""
        self._check_tags(emissions)
        return kbest_probabilities(emissions, mask, self.scores(constrained, exact=True), k)


def scheme_constraints(tags: list[str], scheme: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """The ``CRF`` constraints of ``tags`` in ``scheme``: allowed pairs, starts and ends, as bool masks; None
    for a plain label set, which any tag may follow (decoding is then unconstrained)."""
    if scheme == PLAIN:
        return None
    allowed, may_start, may_end = transition_rules(scheme)
    pairs = torch.tensor([[allowed(a, b) for b in tags] for a in tags], dtype=torch.bool)  # shape: (tags, tags)
    start = torch.tensor([may_start(t) for t in tags], dtype=torch.bool)  # shape: (tags,)
    end = torch.tensor([may_end(t) for t in tags], dtype=torch.bool)  # shape: (tags,)
    return pairs, start, end


def check_inputs(emissions: torch.Tensor, mask: torch.Tensor, scores: Transitions) -> None:
    """Raise ``ValueError`` naming the bad shapes of a CRF's inputs."""
    if emissions.dim() != 3:
        raise ValueError(f"emissions must have 3 dimensions (batch, time, tags), got shape {tuple(emissions.shape)}")
    batch, time, num_tags = emissions.shape
    if mask.shape != (batch, time):
        raise ValueError(f"mask must have shape {(batch, time)}, got {tuple(mask.shape)}")
    start, pairs, end = scores
    if pairs.shape != (num_tags, num_tags) or start.shape != (num_tags,) or end.shape != (num_tags,):
        raise ValueError(
            f"for {num_tags} tags, start/end must be ({num_tags},) and transitions ({num_tags}, {num_tags}); "
            f"got {tuple(start.shape)}, {tuple(end.shape)}, {tuple(pairs.shape)}"
        )
    if batch and time and not bool(mask[:, 0].all()):
        raise ValueError("mask of the first timestep must all be on")


def viterbi(emissions: torch.Tensor, mask: torch.Tensor, scores: Transitions) -> list[list[int]]:
    """Best tag sequence of each sentence.

    With unconstrained scores this is exactly ``torchcrf.CRF.decode`` (same arithmetic, same
    tie-breaking), backtracked on tensors with one ``tolist`` per batch.
    """
    check_inputs(emissions, mask, scores)
    batch, time, num_tags = emissions.shape
    if batch == 0:
        return []
    start, pairs, end = scores
    mask = mask.bool()
    score = start + emissions[:, 0]  # shape: (batch, tags)
    identity = torch.arange(num_tags, device=emissions.device).expand(batch, num_tags)  # shape: (batch, tags)
    history = []
    for t in range(1, time):
        # shape: (batch, tags, tags): previous tag i (dim 1) to next tag j (dim 2)
        next_score = score.unsqueeze(2) + pairs + emissions[:, t].unsqueeze(1)
        best, index = next_score.max(dim=1)  # shape: (batch, tags)
        on = mask[:, t].unsqueeze(1)  # shape: (batch, 1)
        score = torch.where(on, best, score)
        history.append(torch.where(on, index, identity))  # padding passes tags through unchanged
    score = score + end
    last = score.argmax(dim=1)  # shape: (batch,)
    path = [last]
    for index in reversed(history):
        last = index.gather(1, last.unsqueeze(1)).squeeze(1)  # shape: (batch,)
        path.append(last)
    path.reverse()
    tags = torch.stack(path, dim=1).tolist()  # shape: (batch, time)
    lengths = mask.sum(dim=1).tolist()
    return [row[:n] for row, n in zip(tags, lengths)]


def log_partition(emissions: torch.Tensor, mask: torch.Tensor, scores: Transitions) -> torch.Tensor:
    """log Z of each sentence (the forward algorithm alone). shape: (batch,)"""
    check_inputs(emissions, mask, scores)
    return _forward(emissions, mask.bool(), scores)[1]


def _forward(
    emissions: torch.Tensor, mask: torch.Tensor, scores: Transitions
) -> tuple[list[torch.Tensor], torch.Tensor]:
    steps, on = emissions.unbind(1), mask.unbind(1)
    step = LogStep(scores.pairs)
    alphas = [scores.start + steps[0]]  # each shape: (batch, tags)
    for t in range(1, len(steps)):
        nxt = step.forward(alphas[-1]) + steps[t]  # shape: (batch, tags)
        alphas.append(torch.where(on[t].unsqueeze(1), nxt, alphas[-1]))
    return alphas, torch.logsumexp(alphas[-1] + scores.end, dim=1)  # log Z shape: (batch,)


def forward_backward(emissions: torch.Tensor, mask: torch.Tensor, scores: Transitions) -> Posterior:
    """Forward and backward scores of each sentence; see the module's docstring."""
    check_inputs(emissions, mask, scores)
    mask = mask.bool()
    alphas, log_z = _forward(emissions, mask, scores)
    steps, on = emissions.unbind(1), mask.unbind(1)
    step = LogStep(scores.pairs)
    betas = [scores.end.expand_as(alphas[0])]  # built from the last step back; each shape: (batch, tags)
    for t in range(len(steps) - 2, -1, -1):
        nxt = step.backward(steps[t + 1] + betas[-1])  # shape: (batch, tags)
        betas.append(torch.where(on[t + 1].unsqueeze(1), nxt, betas[-1]))
    betas.reverse()
    return Posterior(torch.stack(alphas, dim=1), torch.stack(betas, dim=1), log_z)


class LogStep:
    """``logsumexp`` over one tag of ``scores + pairs``, as a matrix product of exponentials.

    Shifting each row of scores by its maximum (and the pair scores by theirs) keeps the exponentials
    in range; forbidden (-inf) pairs become exact zeros. This is the same sum as
    ``torch.logsumexp(scores.unsqueeze(2) + pairs, dim=1)`` without the (batch, tags, tags)
    tensor of exponentials per step, which dominated the cost of scoring.
    """

    def __init__(self, pairs: torch.Tensor):
        finite = pairs[torch.isfinite(pairs)]
        self.shift = finite.max() if finite.numel() else pairs.new_zeros(())
        self.exp = (pairs - self.shift).exp()  # shape: (tags, tags), 0 where forbidden

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """logsumexp_i scores[b, i] + pairs[i, j]. scores: (batch, tags) -> (batch, tags)"""
        top = _row_max(scores)  # shape: (batch, 1)
        return ((scores - top).exp() @ self.exp).log() + top + self.shift

    def backward(self, scores: torch.Tensor) -> torch.Tensor:
        """logsumexp_j pairs[i, j] + scores[b, j]. scores: (batch, tags) -> (batch, tags)"""
        top = _row_max(scores)  # shape: (batch, 1)
        return ((scores - top).exp() @ self.exp.t()).log() + top + self.shift


def _row_max(scores: torch.Tensor) -> torch.Tensor:
    """Each row's maximum, 0 for a row of -inf (so that subtracting it gives -inf, not NaN). shape: (batch, 1)"""
    top = scores.amax(dim=1, keepdim=True)
    return torch.where(torch.isfinite(top), top, torch.zeros_like(top))


def kbest_viterbi(
    emissions: torch.Tensor, mask: torch.Tensor, scores: Transitions, k: int
) -> list[list[tuple[list[int], float]]]:
    """The ``k`` best (tag ids, score) of each sentence, best first; -inf scores left out."""
    check_inputs(emissions, mask, scores)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    batch, time, num_tags = emissions.shape
    if batch == 0:
        return []
    start, pairs, end = scores
    mask = mask.bool()
    score = emissions.new_full((batch, num_tags, k), -torch.inf)  # shape: (batch, tags, k)
    score[:, :, 0] = start + emissions[:, 0]
    # On padding a (tag, rank) points back to itself: flat index tag * k + rank.
    identity = torch.arange(num_tags * k, device=emissions.device).view(1, num_tags, k).expand(batch, -1, -1)
    history = []
    for t in range(1, time):
        # shape: (batch, j, i, k): the rank-r prefix ending in tag i, extended by tag j
        cand = score.unsqueeze(1) + pairs.t().view(1, num_tags, num_tags, 1)
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
    return [
        [(row[:n], s) for row, s in zip(rows, sentence_scores) if s != -float("inf")]
        for rows, sentence_scores, n in zip(tags, best.tolist(), lengths)
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
    value = cand.gather(-1, index)  # shape: (..., k)
    order = value.sort(dim=-1, descending=True, stable=True).indices  # shape: (..., k)
    return value.gather(-1, order), index.gather(-1, order)


def kbest_probabilities(
    emissions: torch.Tensor, mask: torch.Tensor, scores: Transitions, k: int, log_z: torch.Tensor | None = None
) -> list[list[tuple[list[int], float]]]:
    """The ``k`` most probable (tag ids, probability) of each sentence, most probable first; ``log_z``:
    ``log_partition`` of the same inputs, when the caller has it."""
    found = kbest_viterbi(emissions, mask, scores, k)
    if log_z is None:
        log_z = log_partition(emissions, mask, scores)
    return [[(tags, math.exp(s - z)) for tags, s in sequences] for sequences, z in zip(found, log_z.tolist())]

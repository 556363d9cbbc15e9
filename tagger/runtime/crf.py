"""The linear-chain CRF's decoding in numpy, vectorized over the batch, for every kind of model: constrained
Viterbi, forward-backward and marginals, path probabilities, the K best sequences.

Conventions: emissions (batch, time, tags); mask (batch, time) bool, every sentence's first token on;
``Transitions.pairs[i, j]`` the score of tag j following tag i; a padded step passes every score through unchanged.
``constrain`` adds ``NEG`` to a forbidden start, pair or end for decoding, or -inf with ``exact`` for probabilities.
Viterbi runs in single precision with pytorch-crf's arithmetic and tie-breaking; probabilities run in double.

Forward-backward, in log space: ``alpha[t, j]`` is the log of the summed exp-scores of all prefixes ``y_0..y_t``
with ``y_t = j`` (the emission at t included); ``beta[t, j]`` the same for all suffixes after ``y_t = j`` (the end
score included). ``log Z = logsumexp(alpha[n-1] + end)`` and ``P(y_t = j) = exp(alpha[t, j] + beta[t, j] - log Z)``.
A sentence with no valid sequence (log Z = -inf) gets probability 0 everywhere instead of NaN.

K-best Viterbi keeps, for each tag at each token, the K best prefixes ending there with back-pointers (previous
tag, rank); exact, since the K best ending in j at t extend the K best ending in each i at t-1. Ties go to the
lower last tag id, then the previous tag, and so on back (a stable sort in (previous tag, rank) order). Sequences
scoring -inf are left out, so a sentence with fewer than K valid sequences gets fewer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

NEG = -1e4  # added to the score of a forbidden transition, start or end for decoding


class Transitions(NamedTuple):
    """A CRF's scores apart from the emissions."""

    start: np.ndarray  # shape: (tags,)
    pairs: np.ndarray  # shape: (tags, tags), pairs[i, j]: tag j after tag i
    end: np.ndarray  # shape: (tags,)

    def scaled(self, temperature: float) -> Transitions:
        """In double precision, divided by ``temperature`` (as scoring divides the emissions)."""
        return Transitions(*(p.astype(np.float64) / temperature for p in self))


@dataclass
class Posterior:
    alpha: np.ndarray  # shape: (batch, time, tags)
    beta: np.ndarray  # shape: (batch, time, tags)
    log_z: np.ndarray  # shape: (batch,); -inf where no sequence is valid


def constrain(scores: Transitions, allowed: Transitions | None, exact: bool = False) -> Transitions:
    """``scores`` with ``allowed``'s False entries given ``NEG`` more, or -inf with ``exact``."""
    if allowed is None:
        return scores
    if exact:
        return Transitions(*(np.where(ok, p, -np.inf).astype(p.dtype) for p, ok in zip(scores, allowed)))
    return Transitions(*((p + (~ok) * np.float32(NEG)).astype(p.dtype) for p, ok in zip(scores, allowed)))


def viterbi(emissions: np.ndarray, mask: np.ndarray, scores: Transitions) -> list[list[int]]:
    """Best tag sequence of each sentence."""
    batch, time, num_tags = emissions.shape
    if batch == 0:
        return []
    start, pairs, end = scores
    score = start + emissions[:, 0]  # shape: (batch, tags)
    identity = np.broadcast_to(np.arange(num_tags), (batch, num_tags))
    rows = np.arange(batch)
    following = np.ascontiguousarray(pairs.T)  # shape: (j, i): the previous tag i last, reduced over in place
    history = []
    for t in range(1, time):
        cand = score[:, None, :] + following + emissions[:, t][:, :, None]  # shape: (batch, j, i)
        index = cand.argmax(axis=2)  # shape: (batch, tags)
        best = np.take_along_axis(cand, index[:, :, None], axis=2)[:, :, 0]  # shape: (batch, tags)
        on = mask[:, t][:, None]  # shape: (batch, 1)
        score = np.where(on, best, score)
        history.append(np.where(on, index, identity))
    last = (score + end).argmax(axis=1)  # shape: (batch,)
    path = [last]
    for index in reversed(history):
        last = index[rows, last]  # shape: (batch,)
        path.append(last)
    tags = np.stack(path[::-1], axis=1).tolist()  # shape: (batch, time)
    return [row[:n] for row, n in zip(tags, mask.sum(axis=1).tolist())]


class LogStep:
    """logsumexp over one tag of ``scores + pairs``, as a matrix product of exponentials.

    Each row of scores and the pair scores are shifted by their maxima to keep the exponentials in range; forbidden
    (-inf) pairs become exact zeros. No (batch, tags, tags) array is made at each step."""

    def __init__(self, pairs: np.ndarray):
        finite = pairs[np.isfinite(pairs)]
        self.shift = finite.max() if finite.size else 0.0
        self.exp = np.exp(pairs - self.shift)  # shape: (tags, tags), 0 where forbidden

    def forward(self, scores: np.ndarray) -> np.ndarray:
        top = _row_max(scores)  # shape: (batch, 1)
        with np.errstate(divide="ignore"):
            return np.log(np.exp(scores - top) @ self.exp) + top + self.shift

    def backward(self, scores: np.ndarray) -> np.ndarray:
        top = _row_max(scores)  # shape: (batch, 1)
        with np.errstate(divide="ignore"):
            return np.log(np.exp(scores - top) @ self.exp.T) + top + self.shift

    def masked(self, scores: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """``forward`` with a mask of allowed pairs per row. allowed: (batch, tags, tags) -> (batch, tags)"""
        top = _row_max(scores)  # shape: (batch, 1)
        summed = np.einsum("bi,bij->bj", np.exp(scores - top), self.exp * allowed)  # shape: (batch, tags)
        with np.errstate(divide="ignore"):
            return np.log(summed) + top + self.shift


def _row_max(scores: np.ndarray) -> np.ndarray:
    top = scores.max(axis=1, keepdims=True)
    return np.where(np.isfinite(top), top, 0.0)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(x - top).sum(axis=axis)) + np.squeeze(top, axis=axis)


def forward_backward(emissions: np.ndarray, mask: np.ndarray, scores: Transitions) -> Posterior:
    """Forward and backward log-scores of each sentence (see the module's docstring)."""
    step = LogStep(scores.pairs)
    time = emissions.shape[1]
    alphas = [scores.start + emissions[:, 0]]  # each shape: (batch, tags)
    for t in range(1, time):
        nxt = step.forward(alphas[-1]) + emissions[:, t]
        alphas.append(np.where(mask[:, t][:, None], nxt, alphas[-1]))
    log_z = _logsumexp(alphas[-1] + scores.end, axis=1)  # shape: (batch,)
    betas = [np.broadcast_to(scores.end, alphas[0].shape)]
    for t in range(time - 2, -1, -1):
        nxt = step.backward(emissions[:, t + 1] + betas[-1])
        betas.append(np.where(mask[:, t + 1][:, None], nxt, betas[-1]))
    return Posterior(np.stack(alphas, axis=1), np.stack(betas[::-1], axis=1), log_z)


def probability(log_p: np.ndarray, log_z: np.ndarray) -> np.ndarray:
    """exp(log_p - log_z), 0 where log_z is -inf (no valid sequence) instead of NaN."""
    valid = np.isfinite(log_z)
    shifted = log_p - np.where(valid, log_z, 0.0)
    return np.exp(np.where(valid, shifted, -np.inf))


def marginals(posterior: Posterior, mask: np.ndarray) -> np.ndarray:
    """P(y_t = j | sentence) for every token and tag, 0 on padding. shape: (batch, time, tags)"""
    probs = probability(posterior.alpha + posterior.beta, posterior.log_z[:, None, None])
    return probs * mask[:, :, None]


def path_scores(emissions: np.ndarray, mask: np.ndarray, scores: Transitions, paths: np.ndarray) -> np.ndarray:
    """Score of one tag sequence per sentence (``paths``: (batch, time), anything on padding). shape: (batch,)"""
    start, pairs, end = scores
    gold = np.take_along_axis(emissions, paths[:, :, None], axis=2)[:, :, 0] * mask  # shape: (batch, time)
    steps = np.where(mask[:, 1:], pairs[paths[:, :-1], paths[:, 1:]], 0.0)  # shape: (batch, time - 1)
    last = np.take_along_axis(paths, (mask.sum(axis=1) - 1)[:, None], axis=1)[:, 0]  # shape: (batch,)
    return start[paths[:, 0]] + gold.sum(axis=1) + steps.sum(axis=1) + end[last]


def path_probabilities(emissions, mask, scores: Transitions, paths: np.ndarray, log_z: np.ndarray) -> np.ndarray:
    """P(the sentence's tags are exactly ``paths``). shape: (batch,)"""
    return probability(path_scores(emissions, mask, scores, paths), log_z)


def kbest_viterbi(emissions: np.ndarray, mask: np.ndarray, scores: Transitions, k: int) -> list[list[tuple]]:
    """The ``k`` best (tag ids, score) of each sentence, best first; -inf scores left out (see the module's
    docstring)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    batch, time, num_tags = emissions.shape
    if batch == 0:
        return []
    start, pairs, end = scores
    score = np.full((batch, num_tags, k), -np.inf, dtype=emissions.dtype)  # shape: (batch, tags, k)
    score[:, :, 0] = start + emissions[:, 0]
    identity = np.broadcast_to(np.arange(num_tags * k).reshape(1, num_tags, k), (batch, num_tags, k))
    history = []
    for t in range(1, time):
        # shape: (batch, j, i, k): the rank-r prefix ending in tag i, extended by tag j
        cand = score[:, None] + pairs.T.reshape(1, num_tags, num_tags, 1) + emissions[:, t].reshape(batch, -1, 1, 1)
        best, index = _top(cand.reshape(batch, num_tags, num_tags * k), k)  # shape: (batch, j, k)
        on = mask[:, t].reshape(batch, 1, 1)
        score = np.where(on, best, score)
        history.append(np.where(on, index, identity))
    final = (score + end.reshape(1, num_tags, 1)).reshape(batch, num_tags * k)
    best, index = _top(final, k)  # shape: (batch, k)
    path = [index // k]
    for back in reversed(history):
        index = np.take_along_axis(back.reshape(batch, num_tags * k), index, axis=1)  # shape: (batch, k)
        path.append(index // k)
    tags = np.stack(path[::-1], axis=2).tolist()  # shape: (batch, k, time)
    return [
        [(row[:n], s) for row, s in zip(rows, found) if s != -math.inf]
        for rows, found, n in zip(tags, best.tolist(), mask.sum(axis=1).tolist())
    ]


def _top(cand: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest of each row of ``cand`` (..., n) and their indices, by value and then by lower index: a
    stable descending sort, cut to ``k`` (rows have at least ``k``: tags * k candidates)."""
    index = np.argsort(-cand, axis=-1, kind="stable")[..., :k]  # shape: (..., k)
    return np.take_along_axis(cand, index, axis=-1), index


def kbest_probabilities(emissions, mask, scores: Transitions, k: int, log_z: np.ndarray) -> list[list[tuple]]:
    """The ``k`` most probable (tag ids, probability) of each sentence, most probable first."""
    found = kbest_viterbi(emissions, mask, scores, k)
    return [[(tags, math.exp(s - z)) for tags, s in sequences] for sequences, z in zip(found, log_z.tolist())]

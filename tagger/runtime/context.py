"""Document context in numpy: each token's tag scores joined by the mean of its other mentions' over the window.

The projection being linear, the network gives each token's own scores (``emissions``) and the scores it lends its
other mentions (``mentions``); ``window_emissions`` pools the second over the window's batches and adds it to the
first: the scores training's pooled states give (``tagger.nn.model``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pool_mentions(states: np.ndarray, docs: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """For each of n tokens, the mean of the ``states`` (n, features) of the other tokens with the same ``docs``
    (n,) and ``keys`` (n,), zeros when there is none (training's ``tagger.nn.model.pool_mentions``, in numpy).
    shape: (n, features)"""
    if states.shape[0] == 0:
        return states.copy()
    span = int(keys.max()) + 1
    _, group = np.unique(docs * span + keys, return_inverse=True)  # shape: (n,) group of each token
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")  # shape: (n,) the tokens, group by group, in their order
    counts = np.bincount(group)  # shape: (groups,) every group has a token
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])  # shape: (groups,) where each group's run starts
    sums = np.add.reduceat(states[order], starts, axis=0)  # shape: (groups, features)
    others = np.maximum(counts[group] - 1, 1)[:, None].astype(states.dtype)  # shape: (n, 1)
    return (sums[group] - states) / others  # shape: (n, features); zeros when alone


def window_emissions(
    own: Sequence[np.ndarray],
    mentions: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    docs: Sequence[np.ndarray],
    keys: Sequence[np.ndarray],
) -> list[np.ndarray]:
    """The tag scores of a window's batches: each batch's ``own`` scores (batch, time, tags) plus, at each real
    token (``masks``, (batch, time)), the mean of the ``mentions`` scores (batch, time, tags) of the other tokens
    of its document (``docs``, (batch,), the window's numbering) with its key (``keys``, (batch, time)), over
    all the batches. Each shape: (batch, time, tags)"""
    if not own:  # a window of blank lines only: no batch to score
        return []
    flat_docs = np.concatenate([np.broadcast_to(d[:, None], m.shape)[m] for d, m in zip(docs, masks)])  # (tokens,)
    flat_keys = np.concatenate([k[m] for k, m in zip(keys, masks)])  # shape: (tokens,)
    flat = np.concatenate([y[m] for y, m in zip(mentions, masks)])  # shape: (tokens, tags)
    pooled = pool_mentions(flat, flat_docs, flat_keys)  # shape: (tokens, tags)
    out, at = [], 0
    for scores, mask in zip(own, masks):
        n = int(mask.sum())
        joined = scores.copy()  # shape: (batch, time, tags)
        joined[mask] += pooled[at : at + n]
        out.append(joined)
        at += n
    return out

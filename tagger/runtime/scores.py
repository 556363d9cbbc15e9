"""Entity-level scores of decoded tag sequences: which chunks a sequence holds, each chunk's probability, the
scores written beside the tags, and how well such scores are calibrated. In numpy, batched over the entities.

An entity is a chunk (type X, start s, end e exclusive) as ``schemes.to_spans`` reads the decoded tags; its score
is P(the sequence holds exactly this chunk). Which chunk a sequence holds depends only on neighbouring pairs of
tags (after a tag, an X chunk is open exactly when the tag is B-X or I-X):

- it starts at s: ``y_s`` has type X and is B-/S-, or is I-/E- while ``y_{s-1}`` is not B-X/I-X (or s = 0);
- it goes on at each s < k < e: ``y_k`` is I-X/E-X and ``y_{k-1}`` is B-X/I-X;
- it stops at e: e = n, or not (``y_{e-1}`` is B-X/I-X and ``y_e`` is I-X/E-X).

So the score is one forward pass over the window s-1..e, the pairs breaking these rules set to -inf, started from
``alpha`` and closed with ``beta``: exact for BIOES, IOB2 and IOB1, constrained or not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tagger.data.schemes import BIOES, entity_types, from_spans, split_tag, to_spans
from tagger.runtime.crf import LogStep, Posterior, Transitions, forward_backward, path_probabilities, probability

START, GO_ON, STOP = 0, 1, 2  # the three kinds of step of an entity's window, indexing ``ChunkRules.pairs``


class ChunkRules:
    """The pair rules of the module's docstring for each entity type of a tag list, as masks.

    ``pairs[x, kind, i, j]``: tag j may follow tag i at a START, GO_ON or STOP step of a type-x chunk;
    ``first[x, j]``: tag j starts a type-x chunk at a sentence's first token."""

    def __init__(self, tags: Sequence[str], scheme: str = BIOES):
        self.tags = list(tags)
        self.tag_id = {t: i for i, t in enumerate(self.tags)}
        self.scheme = scheme
        self.types = entity_types(tags)
        self.type_index = {x: n for n, x in enumerate(self.types)}
        prefix = [split_tag(t)[0] for t in tags]
        kind = [split_tag(t)[1] for t in tags]
        self.pairs = np.zeros((len(self.types), 3, len(tags), len(tags)), dtype=bool)
        self.first = np.zeros((len(self.types), len(tags)), dtype=bool)
        for x, name in enumerate(self.types):
            is_x = np.array([k == name for k in kind])  # shape: (tags,)
            opens = is_x & np.array([p in "BI" for p in prefix])
            goes_on = is_x & np.array([p in "IE" for p in prefix])
            begins = is_x & np.array([p in "BS" for p in prefix])
            self.pairs[x, START] = begins[None, :] | (~opens)[:, None] & is_x[None, :]
            self.pairs[x, GO_ON] = opens[:, None] & goes_on[None, :]
            self.pairs[x, STOP] = ~self.pairs[x, GO_ON]
            self.first[x] = is_x


def entity_probabilities(
    posterior: Posterior, emissions: np.ndarray, transitions: np.ndarray, spans, lengths, rules: ChunkRules
) -> list[list[float]]:
    """P(exactly this chunk) for each of each sentence's ``spans`` (type, start, end exclusive; see the module's
    docstring)."""
    events = [(b, x, s, e) for b, found in enumerate(spans) for x, s, e in found]
    if not events:
        return [[] for _ in spans]
    rows = np.array([b for b, _, _, _ in events])  # shape: (entities,)
    types = np.array([rules.type_index[x] for _, x, _, _ in events])
    first = np.array([max(s - 1, 0) for _, _, s, _ in events])  # the window: s-1 (where there is one) .. e
    size = np.array([min(e, lengths[b] - 1) - a + 1 for (b, _, _, e), a in zip(events, first.tolist())])
    longest = int(size.max())
    starts = np.array([s for _, _, s, _ in events])[:, None]  # shape: (entities, 1)
    ends = np.array([e for _, _, _, e in events])[:, None]
    position = first[:, None] + np.arange(1, longest)  # shape: (entities, longest - 1)
    kinds = np.where(position == starts, START, np.where(position < ends, GO_ON, STOP))
    allowed = rules.first[types] | ~(starts == 0)  # shape: (entities, tags)
    v = np.where(allowed, posterior.alpha[rows, first], -np.inf)  # shape: (entities, tags)
    last_time = emissions.shape[1] - 1
    step = LogStep(transitions)
    for k in range(1, longest):
        pair_ok = rules.pairs[types, kinds[:, k - 1]]  # shape: (entities, tags, tags)
        here = emissions[rows, np.minimum(first + k, last_time)]  # shape: (entities, tags)
        v = np.where((k < size)[:, None], step.masked(v, pair_ok) + here, v)
    closing = posterior.beta[rows, first + size - 1]  # shape: (entities, tags)
    x = v + closing
    top = np.where(np.isfinite(x.max(axis=1)), x.max(axis=1), 0.0)
    with np.errstate(divide="ignore"):
        log_p = np.log(np.exp(x - top[:, None]).sum(axis=1)) + top  # shape: (entities,)
    out: list[list[float]] = [[] for _ in spans]
    for (b, _, _, _), p in zip(events, probability(log_p, posterior.log_z[rows]).tolist()):
        out[b].append(p)
    return out


def decoded_scores(
    emissions: np.ndarray,
    mask: np.ndarray,
    crf: Transitions,
    paths: Sequence[Sequence[int]],
    rules: ChunkRules | None,
    min_score: float = 0.0,
    posterior: Posterior | None = None,
) -> tuple[list[list[int]], list[dict]]:
    """The scores of decoded tag sequences (one per sentence, as ``crf.viterbi`` gives them) under the CRF
    scores ``crf``: per sentence ``token_scores`` (the marginal of each chosen tag), ``entity_scores`` (one
    per chunk of ``to_spans``, in order) and ``probability`` (of the whole sequence), as floats; and the
    sequences themselves.

    With ``min_score`` the entities scoring below it are dropped: their tokens become ``O`` (the others
    are written again in ``rules.scheme``), and the token scores and probability are those of the
    sequence that is left. ``posterior``: ``forward_backward`` of the same inputs, when the caller has it.
    ``rules`` None: a plain label set, no chunks: no entity scores (empty lists), nothing dropped.
    """
    lengths = [len(p) for p in paths]
    if posterior is None:
        posterior = forward_backward(emissions, mask, crf)
    paths = [list(p) for p in paths]
    entities: list[list[float]] = [[] for _ in paths]
    if rules is not None:
        spans = [to_spans([rules.tags[t] for t in path]) for path in paths]
        entities = entity_probabilities(posterior, emissions, crf.pairs, spans, lengths, rules)
    if min_score > 0 and rules is not None:
        for b, (found, scores) in enumerate(zip(spans, entities)):
            kept = [(span, p) for span, p in zip(found, scores) if p >= min_score]
            if len(kept) < len(found):
                paths[b] = [rules.tag_id[t] for t in from_spans([s for s, _ in kept], lengths[b], rules.scheme)]
                entities[b] = [p for _, p in kept]
    chosen = np.zeros(mask.shape, dtype=np.int64)  # shape: (batch, time)
    chosen[mask] = [t for p in paths for t in p]
    at_path = np.take_along_axis(posterior.alpha + posterior.beta, chosen[:, :, None], axis=2)[:, :, 0]
    tokens = probability(at_path, posterior.log_z[:, None]).tolist()
    whole = path_probabilities(emissions, mask, crf, chosen, posterior.log_z).tolist()
    return paths, [
        {"token_scores": row[:n], "entity_scores": found, "probability": p}
        for row, n, found, p in zip(tokens, lengths, entities, whole)
    ]


def calibration_error(scores: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error: predictions binned by score into ``bins`` equal bins, each bin's gap
    between its mean score and its fraction correct, weighted by its share of the predictions."""
    if len(scores) != len(correct):
        raise ValueError(f"{len(scores)} scores for {len(correct)} outcomes")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if not scores:
        return 0.0
    score = np.asarray(scores, dtype=np.float64)  # shape: (predictions,)
    which = np.clip((score * bins).astype(np.int64), 0, bins - 1)  # a score of 1 goes in the last bin
    # Each bin's share times its gap is |sum over the bin of (correct - score)| / all predictions.
    gap = np.bincount(which, weights=np.asarray(correct, dtype=np.float64) - score, minlength=bins)  # (bins,)
    return float(np.abs(gap).sum() / len(scores))

"""Entity-level scores of decoded tag sequences: which chunks a sequence holds, each chunk's probability, the
scores written beside the tags, and how well such scores are calibrated.

The CRF's own maths (forward-backward, path probabilities) is ``tagger.nn.crf``'s; this module is about spans
and tag schemes.

Entity scores. An entity is a chunk (type X, start s, end e exclusive) read from the decoded tags as
``schemes.to_spans`` reads them (conlleval's reading; tags rewritten into another scheme go through the same
spans, so they are the entities of the output). Its score is P(the sequence holds exactly this chunk), the
sum over every tag sequence that contains it. Under that reading, which chunk a sequence holds depends only
on neighbouring pairs of tags (after a tag, an X chunk is open exactly when the tag is B-X or I-X):

- it starts at s: ``y_s`` has type X and is B-/S-, or is I-/E- while ``y_{s-1}`` is not B-X/I-X (or s = 0);
- it goes on at each s < k < e: ``y_k`` is I-X/E-X and ``y_{k-1}`` is B-X/I-X;
- it stops at e: e = n, or not (``y_{e-1}`` is B-X/I-X and ``y_e`` is I-X/E-X).

So the score is one forward pass over the window s-1..e only, with the pairs that break these rules set
to -inf, started from ``alpha`` at the window's first token and closed with ``beta`` at its last: exact for
BIOES, IOB2 and IOB1, with decoding constrained or not, and batched over all the entities of a batch. For
the usual constrained BIOES model it comes to P(B-X I-X .. I-X E-X at s..e-1), or P(S-X at s).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from tagger.data.schemes import BIOES, entity_types, from_spans, split_tag, to_spans
from tagger.nn.crf import (
    LogStep,
    Posterior,
    Transitions,
    check_inputs,
    forward_backward,
    path_probabilities,
    probability,
)

START, GO_ON, STOP = 0, 1, 2  # the three kinds of step of an entity's window, indexing ``ChunkRules.pairs``


class ChunkRules:
    """The pair rules of the module's docstring for each entity type of a tag list, as masks.

    ``pairs[x, kind, i, j]``: tag j may follow tag i at a START, GO_ON or STOP step of a type-x chunk;
    ``first[x, j]``: tag j starts a type-x chunk at a sentence's first token.
    """

    def __init__(self, tags: Sequence[str], scheme: str = BIOES):
        self.tags = list(tags)
        self.tag_id = {t: i for i, t in enumerate(self.tags)}
        self.scheme = scheme  # of the tags: what tags are written in where entities are dropped
        self.types = entity_types(tags)
        self.type_index = {x: n for n, x in enumerate(self.types)}
        prefix = [split_tag(t)[0] for t in tags]
        kind = [split_tag(t)[1] for t in tags]
        pairs = torch.zeros(len(self.types), 3, len(tags), len(tags), dtype=torch.bool)
        first = torch.zeros(len(self.types), len(tags), dtype=torch.bool)
        for x, name in enumerate(self.types):
            is_x = torch.tensor([k == name for k in kind])  # shape: (tags,)
            opens = is_x & torch.tensor([p in "BI" for p in prefix])  # an X chunk is open after this tag
            goes_on = is_x & torch.tensor([p in "IE" for p in prefix])  # continues an open X chunk
            begins = is_x & torch.tensor([p in "BS" for p in prefix])  # starts a chunk whatever came before
            pairs[x, START] = begins.unsqueeze(0) | (~opens).unsqueeze(1) & is_x.unsqueeze(0)
            pairs[x, GO_ON] = opens.unsqueeze(1) & goes_on.unsqueeze(0)
            pairs[x, STOP] = ~pairs[x, GO_ON]
            first[x] = is_x
        self.pairs, self.first = pairs, first

    def to(self, device: torch.device | str) -> ChunkRules:
        self.pairs, self.first = self.pairs.to(device), self.first.to(device)
        return self


def entity_spans(paths: Sequence[Sequence[int]], tags: Sequence[str]) -> list[list[tuple[str, int, int]]]:
    """Each sentence's chunks (type, start, end exclusive), as ``schemes.to_spans`` reads its tags."""
    return [to_spans([tags[t] for t in path]) for path in paths]


def entity_probabilities(
    posterior: Posterior,
    emissions: torch.Tensor,
    transitions: torch.Tensor,
    spans: Sequence[Sequence[tuple[str, int, int]]],
    lengths: Sequence[int],
    rules: ChunkRules,
) -> list[list[float]]:
    """P(exactly this chunk) for each of each sentence's ``spans`` (see the module's docstring)."""
    events = [(b, x, s, e) for b, found in enumerate(spans) for x, s, e in found]
    if not events:
        return [[] for _ in spans]
    device = emissions.device
    rows = torch.tensor([b for b, _, _, _ in events], device=device)  # shape: (entities,)
    types = torch.tensor([rules.type_index[x] for _, x, _, _ in events], device=device)
    firsts = [max(s - 1, 0) for _, _, s, _ in events]  # the window: s-1 (where there is one) .. e (or n-1)
    sizes = [min(e, lengths[b] - 1) - a + 1 for (b, _, _, e), a in zip(events, firsts)]
    first = torch.tensor(firsts, device=device)  # shape: (entities,)
    size = torch.tensor(sizes, device=device)
    longest = max(sizes)
    starts = torch.tensor([s for _, _, s, _ in events], device=device).unsqueeze(1)  # shape: (entities, 1)
    ends = torch.tensor([e for _, _, _, e in events], device=device).unsqueeze(1)  # shape: (entities, 1)
    # The kind of each step of the window after its first token (past the window: unused).
    position = first.unsqueeze(1) + torch.arange(1, longest, device=device)  # shape: (entities, longest - 1)
    go_on = torch.where(position < ends, GO_ON, STOP)
    kinds = torch.where(position == starts, START, go_on)  # shape: (entities, longest - 1)
    at_start = starts == 0  # shape: (entities, 1)
    allowed = rules.first[types] | ~at_start  # shape: (entities, tags)
    v = posterior.alpha[rows, first].masked_fill(~allowed, -torch.inf)  # shape: (entities, tags)
    last_time = emissions.shape[1] - 1
    step = LogStep(transitions)
    for k in range(1, longest):
        pair_ok = rules.pairs[types, kinds[:, k - 1]]  # shape: (entities, tags, tags)
        here = emissions[rows, (first + k).clamp(max=last_time)]  # shape: (entities, tags)
        nxt = step.masked(v, pair_ok) + here  # shape: (entities, tags)
        v = torch.where((k < size).unsqueeze(1), nxt, v)
    closing = posterior.beta[rows, first + size - 1]  # shape: (entities, tags)
    log_p = torch.logsumexp(v + closing, dim=1)  # shape: (entities,)
    probs = probability(log_p, posterior.log_z[rows]).tolist()
    out: list[list[float]] = [[] for _ in spans]
    for (b, _, _, _), p in zip(events, probs):
        out[b].append(p)
    return out


def decoded_scores(
    emissions: torch.Tensor,
    mask: torch.Tensor,
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
    check_inputs(emissions, mask, crf)
    mask = mask.bool()
    lengths = [len(p) for p in paths]
    if lengths != mask.sum(dim=1).tolist():
        raise ValueError(f"paths of lengths {lengths} for a mask of lengths {mask.sum(dim=1).tolist()}")
    if posterior is None:
        posterior = forward_backward(emissions, mask, crf)
    paths = [list(p) for p in paths]
    entities: list[list[float]] = [[] for _ in paths]
    if rules is not None:
        spans = entity_spans(paths, rules.tags)
        entities = entity_probabilities(posterior, emissions, crf.pairs, spans, lengths, rules)
    if min_score > 0 and rules is not None:
        for b, (found, scores) in enumerate(zip(spans, entities)):
            kept = [(span, p) for span, p in zip(found, scores) if p >= min_score]
            if len(kept) < len(found):
                paths[b] = [rules.tag_id[t] for t in from_spans([s for s, _ in kept], lengths[b], rules.scheme)]
                entities[b] = [p for _, p in kept]
    chosen = torch.zeros(mask.shape, dtype=torch.long, device=emissions.device)  # shape: (batch, time)
    chosen[mask] = torch.tensor([t for p in paths for t in p], dtype=torch.long, device=emissions.device)
    at_path = (posterior.alpha + posterior.beta).gather(2, chosen.unsqueeze(2)).squeeze(2)  # shape: (batch, time)
    tokens = probability(at_path, posterior.log_z.unsqueeze(1)).tolist()
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
    score = torch.tensor(scores, dtype=torch.float64)  # shape: (predictions,)
    right = torch.tensor(correct, dtype=torch.float64)
    which = (score * bins).long().clamp(0, bins - 1)  # a score of 1 goes in the last bin
    # Each bin's share times its gap is |sum over the bin of (correct - score)| / all predictions.
    gap = torch.zeros(bins, dtype=torch.float64).index_add_(0, which, right - score)  # shape: (bins,)
    return float(gap.abs().sum() / len(scores))

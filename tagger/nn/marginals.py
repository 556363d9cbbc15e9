"""Exact probabilities from a linear-chain CRF: per-token marginals, a tag sequence's probability, entity scores.

The parameters are pytorch-crf's (``start_transitions``, ``transitions``, ``end_transitions``). With the tag
scheme's constraints they come from ``BiLSTMCRF.crf_parameters(exact=True)``, where a forbidden start,
transition or end is -inf rather than decoding's -1e4 penalty: an invalid sequence then has probability
exactly 0, not a tiny nonzero one.

Forward-backward, in log space, batched over padded sentences. ``alpha[t, j]`` is the log of the summed
exp-scores of all prefixes ``y_0..y_t`` with ``y_t = j`` (the emission at t included); ``beta[t, j]`` the same
for all suffixes after ``y_t = j`` (the end score included). ``log Z = logsumexp(alpha[n-1] + end)`` and
``P(y_t = j) = exp(alpha[t, j] + beta[t, j] - log Z)``. A padded step passes both through unchanged, as
Viterbi's does. A sentence with no valid sequence at all (log Z = -inf; not possible with a real scheme,
which always allows all-``O``) gets probability 0 everywhere instead of NaN.

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
from dataclasses import dataclass

import torch

from tagger.data.schemes import BIOES, entity_types, from_spans, split_tag, to_spans
from tagger.nn.viterbi import check_inputs

START, GO_ON, STOP = 0, 1, 2  # the three kinds of step of an entity's window, indexing ``ChunkRules.pairs``


@dataclass
class Posterior:
    """Forward and backward log-scores of a batch of sentences."""

    alpha: torch.Tensor  # shape: (batch, time, tags)
    beta: torch.Tensor  # shape: (batch, time, tags)
    log_z: torch.Tensor  # shape: (batch,) log partition; -inf where no sequence is valid


def log_partition(
    emissions: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, transitions: torch.Tensor, end: torch.Tensor
) -> torch.Tensor:
    """log Z of each sentence (the forward algorithm alone). shape: (batch,)"""
    check_inputs(emissions, mask, start, transitions, end)
    return _forward(emissions, mask.bool(), start, transitions, end)[1]


def _forward(
    emissions: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, transitions: torch.Tensor, end: torch.Tensor
) -> tuple[list[torch.Tensor], torch.Tensor]:
    steps, on = emissions.unbind(1), mask.unbind(1)
    step = _LogStep(transitions)
    alphas = [start + steps[0]]  # each shape: (batch, tags)
    for t in range(1, len(steps)):
        nxt = step.forward(alphas[-1]) + steps[t]  # shape: (batch, tags)
        alphas.append(torch.where(on[t].unsqueeze(1), nxt, alphas[-1]))
    return alphas, torch.logsumexp(alphas[-1] + end, dim=1)  # log Z shape: (batch,)


class _LogStep:
    """``logsumexp`` over one tag of ``scores + transitions``, as a matrix product of exponentials.

    Shifting each row of scores by its maximum (and the transitions by theirs) keeps the exponentials
    in range; forbidden (-inf) transitions become exact zeros. This is the same sum as
    ``torch.logsumexp(scores.unsqueeze(2) + transitions, dim=1)`` without the (batch, tags, tags)
    tensor of exponentials per step, which dominated the cost of scoring.
    """

    def __init__(self, transitions: torch.Tensor):
        finite = transitions[torch.isfinite(transitions)]
        self.shift = finite.max() if finite.numel() else transitions.new_zeros(())
        self.exp = (transitions - self.shift).exp()  # shape: (tags, tags), 0 where forbidden

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """logsumexp_i scores[b, i] + transitions[i, j]. scores: (batch, tags) -> (batch, tags)"""
        top = _row_max(scores)  # shape: (batch, 1)
        return ((scores - top).exp() @ self.exp).log() + top + self.shift

    def backward(self, scores: torch.Tensor) -> torch.Tensor:
        """logsumexp_j transitions[i, j] + scores[b, j]. scores: (batch, tags) -> (batch, tags)"""
        top = _row_max(scores)  # shape: (batch, 1)
        return ((scores - top).exp() @ self.exp.t()).log() + top + self.shift

    def masked(self, scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """``forward`` with a mask of allowed pairs per row. allowed: (batch, tags, tags) -> (batch, tags)"""
        top = _row_max(scores)  # shape: (batch, 1)
        weights = self.exp * allowed  # shape: (batch, tags, tags)
        summed = torch.bmm((scores - top).exp().unsqueeze(1), weights).squeeze(1)  # shape: (batch, tags)
        return summed.log() + top + self.shift


def _row_max(scores: torch.Tensor) -> torch.Tensor:
    """Each row's maximum, 0 for a row of -inf (so that subtracting it gives -inf, not NaN). shape: (batch, 1)"""
    top = scores.amax(dim=1, keepdim=True)
    return torch.where(torch.isfinite(top), top, torch.zeros_like(top))


def forward_backward(
    emissions: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, transitions: torch.Tensor, end: torch.Tensor
) -> Posterior:
    """Forward and backward scores of each sentence; see the module's docstring.

    emissions: (batch, time, tags); mask: (batch, time) bool, every sentence's first token on;
    start, end: (tags,); transitions: (tags, tags), ``transitions[i, j]`` for tag j after tag i.
    """
    check_inputs(emissions, mask, start, transitions, end)
    mask = mask.bool()
    alphas, log_z = _forward(emissions, mask, start, transitions, end)
    steps, on = emissions.unbind(1), mask.unbind(1)
    step = _LogStep(transitions)
    betas = [end.expand_as(alphas[0])]  # built from the last step back; each shape: (batch, tags)
    for t in range(len(steps) - 2, -1, -1):
        nxt = step.backward(steps[t + 1] + betas[-1])  # shape: (batch, tags)
        betas.append(torch.where(on[t + 1].unsqueeze(1), nxt, betas[-1]))
    betas.reverse()
    return Posterior(torch.stack(alphas, dim=1), torch.stack(betas, dim=1), log_z)


def _probability(log_p: torch.Tensor, log_z: torch.Tensor) -> torch.Tensor:
    """exp(log_p - log_z), 0 where log_z is -inf (no valid sequence) instead of NaN."""
    valid = torch.isfinite(log_z)
    shifted = log_p - torch.where(valid, log_z, torch.zeros_like(log_z))
    return torch.where(valid, shifted, torch.full_like(shifted, -torch.inf)).exp()


def marginals(posterior: Posterior, mask: torch.Tensor) -> torch.Tensor:
    """P(y_t = j | sentence) for every token and tag, 0 on padding. shape: (batch, time, tags)"""
    log_p = posterior.alpha + posterior.beta  # shape: (batch, time, tags)
    probs = _probability(log_p, posterior.log_z[:, None, None])
    return probs * mask.unsqueeze(2).to(probs.dtype)


def path_scores(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
    paths: torch.Tensor,
) -> torch.Tensor:
    """Score of one given tag sequence per sentence (``paths``: (batch, time), anything on padding). shape: (batch,)"""
    check_inputs(emissions, mask, start, transitions, end)
    if paths.shape != mask.shape:
        raise ValueError(f"paths must have the mask's shape {tuple(mask.shape)}, got {tuple(paths.shape)}")
    mask = mask.bool()
    on = mask.to(emissions.dtype)  # shape: (batch, time)
    gold = emissions.gather(2, paths.unsqueeze(2)).squeeze(2) * on  # shape: (batch, time)
    steps = transitions[paths[:, :-1], paths[:, 1:]]  # shape: (batch, time - 1)
    steps = torch.where(mask[:, 1:], steps, torch.zeros_like(steps))  # -inf * 0 would be NaN
    last = paths.gather(1, (mask.sum(dim=1) - 1).unsqueeze(1)).squeeze(1)  # shape: (batch,)
    return start[paths[:, 0]] + gold.sum(dim=1) + steps.sum(dim=1) + end[last]


def path_probabilities(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
    paths: torch.Tensor,
    log_z: torch.Tensor,
) -> torch.Tensor:
    """P(the sentence's tags are exactly ``paths``), e.g. of the Viterbi sequence. shape: (batch,)"""
    return _probability(path_scores(emissions, mask, start, transitions, end, paths), log_z)


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
    step = _LogStep(transitions)
    for k in range(1, longest):
        pair_ok = rules.pairs[types, kinds[:, k - 1]]  # shape: (entities, tags, tags)
        here = emissions[rows, (first + k).clamp(max=last_time)]  # shape: (entities, tags)
        nxt = step.masked(v, pair_ok) + here  # shape: (entities, tags)
        v = torch.where((k < size).unsqueeze(1), nxt, v)
    closing = posterior.beta[rows, first + size - 1]  # shape: (entities, tags)
    log_p = torch.logsumexp(v + closing, dim=1)  # shape: (entities,)
    probs = _probability(log_p, posterior.log_z[rows]).tolist()
    out: list[list[float]] = [[] for _ in spans]
    for (b, _, _, _), p in zip(events, probs):
        out[b].append(p)
    return out


def decoded_scores(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
    paths: Sequence[Sequence[int]],
    rules: ChunkRules,
    min_score: float = 0.0,
    posterior: Posterior | None = None,
) -> tuple[list[list[int]], list[dict]]:
    """The scores of decoded tag sequences (one per sentence, as ``viterbi_decode`` gives them): per sentence
    ``token_scores`` (the marginal of each chosen tag), ``entity_scores`` (one per chunk of ``to_spans``,
    in order) and ``probability`` (of the whole sequence), as floats; and the sequences themselves.

    With ``min_score`` the entities scoring below it are dropped: their tokens become ``O`` (the others
    are written again in ``rules.scheme``), and the token scores and probability are those of the
    sequence that is left. ``posterior``: ``forward_backward`` of the same inputs, when the caller has it.
    """
    check_inputs(emissions, mask, start, transitions, end)
    mask = mask.bool()
    lengths = [len(p) for p in paths]
    if lengths != mask.sum(dim=1).tolist():
        raise ValueError(f"paths of lengths {lengths} for a mask of lengths {mask.sum(dim=1).tolist()}")
    if posterior is None:
        posterior = forward_backward(emissions, mask, start, transitions, end)
    spans = entity_spans(paths, rules.tags)
    entities = entity_probabilities(posterior, emissions, transitions, spans, lengths, rules)
    paths = [list(p) for p in paths]
    if min_score > 0:
        for b, (found, scores) in enumerate(zip(spans, entities)):
            kept = [(span, p) for span, p in zip(found, scores) if p >= min_score]
            if len(kept) < len(found):
                paths[b] = [rules.tag_id[t] for t in from_spans([s for s, _ in kept], lengths[b], rules.scheme)]
                entities[b] = [p for _, p in kept]
    chosen = torch.zeros(mask.shape, dtype=torch.long, device=emissions.device)  # shape: (batch, time)
    chosen[mask] = torch.tensor([t for p in paths for t in p], dtype=torch.long, device=emissions.device)
    at_path = (posterior.alpha + posterior.beta).gather(2, chosen.unsqueeze(2)).squeeze(2)  # shape: (batch, time)
    tokens = _probability(at_path, posterior.log_z.unsqueeze(1)).tolist()
    whole = path_probabilities(emissions, mask, start, transitions, end, chosen, posterior.log_z).tolist()
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

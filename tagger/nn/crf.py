"""The linear-chain CRF layer: pytorch-crf's, with the tag scheme's constraints.

Training needs only the layer's log-likelihood (the loss); tagging reads the layer's scores and constraints and
decodes in numpy (``tagger.runtime.crf``, where the dynamic programs and the constraints' arithmetic live).
"""

from __future__ import annotations

import torch
import torchcrf

from tagger.data.schemes import PLAIN, transition_rules

Scores = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # start (tags,), pairs (tags, tags): j after i, end (tags,)


class CRF(torchcrf.CRF):
    """pytorch-crf's linear-chain CRF over ``num_tags`` tags (batch first), with the scheme's constraints when given.

    The parameters, their initialisation and ``forward`` (the log-likelihood: the loss is
    ``-crf(emissions, tags, mask, reduction="mean")``) are the library's. The loss ignores the constraints (the
    model learns the unconstrained distribution); decoding forbids invalid sequences.

    ``constraints``: bool masks of the allowed starts (tags,), pairs (tags, tags) and ends (tags,)
    (``scheme_constraints``); buffers outside the state_dict, as the tags and scheme rebuild them.
    """

    def __init__(self, num_tags: int, constraints: Scores | None = None):
        super().__init__(num_tags, batch_first=True)
        start, pairs, end = constraints if constraints is not None else (None, None, None)
        self.register_buffer("allowed", pairs, persistent=False)
        self.register_buffer("start_allowed", start, persistent=False)
        self.register_buffer("end_allowed", end, persistent=False)

    def scores(self) -> Scores:
        """The start, pair and end scores, unconstrained."""
        return self.start_transitions, self.transitions, self.end_transitions

    def constraints(self) -> Scores | None:
        """The allowed starts, pairs and ends; None when any sequence is allowed."""
        if self.allowed is None:
            return None
        return self.start_allowed, self.allowed, self.end_allowed


def scheme_constraints(tags: list[str], scheme: str) -> Scores | None:
    """The ``CRF`` constraints of ``tags`` in ``scheme``: allowed starts, pairs and ends, as bool masks; None for a
    plain label set, which any tag may follow (decoding is then unconstrained)."""
    if scheme == PLAIN:
        return None
    allowed, may_start, may_end = transition_rules(scheme)
    start = torch.tensor([may_start(t) for t in tags], dtype=torch.bool)  # shape: (tags,)
    pairs = torch.tensor([[allowed(a, b) for b in tags] for a in tags], dtype=torch.bool)  # shape: (tags, tags)
    end = torch.tensor([may_end(t) for t in tags], dtype=torch.bool)  # shape: (tags,)
    return start, pairs, end

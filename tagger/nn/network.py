"""The torch backend of ``tagger.tagging.model``: a ``BiLSTMCRF`` or ``Ensemble`` (its members' scores averaged) run
on a tagging window's arrays, its outputs handed back as numpy for the predictor.

``TorchNetwork`` offers what ``runtime.model.OnnxModel`` does: vocabulary, config, CRF scores and constraints,
``forms`` (a window's character features) and ``run`` (a batch's tag scores, and with document context the scores
lent to other mentions). It wraps a loaded file (``load_network``) or a model in training, read at each call in eval
mode without gradients. On a GPU only the network runs there; the CRF's share runs in numpy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tagger.data.arrays import WindowArrays
from tagger.data.vocabulary import Vocabulary
from tagger.data.windows import WINDOW
from tagger.nn.ensemble import Ensemble, load_models
from tagger.nn.model import BiLSTMCRF
from tagger.nn.tensors import Batch, FormBucket

__all__ = ["TorchNetwork", "load_network"]


class TorchNetwork:
    """A torch model, its vocabulary, the scheme its tags are written back in and its metadata."""

    window = WINDOW  # lines per window: the char encoder runs once per window's forms, and gains from more

    def __init__(self, model: BiLSTMCRF | Ensemble, vocab: Vocabulary, data_scheme: str, metadata: dict):
        self.model, self.vocab, self.data_scheme, self.metadata = model, vocab, data_scheme, metadata
        self.members: list[BiLSTMCRF] = list(model.members) if isinstance(model, Ensemble) else [model]

    @property
    def config(self) -> dict:
        """The model's config (an ensemble's: its first member's, with context if any member reads it)."""
        return self.model.config.to_dict()

    @property
    def chars(self) -> bool:
        return self.model.char_encoder is not None

    @property
    def context(self) -> bool:
        return self.model.config.context == "document"

    @property
    def device(self) -> str:
        return str(next(self.model.parameters()).device)

    @property
    def crf(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The CRF's start (tags,), pair (tags, tags) and end (tags,) scores, unconstrained (an ensemble's
        members' averaged), as they are now."""
        each = zip(*(m.crf.scores() for m in self.members))  # per part, one tensor per member
        return tuple(_numpy(torch.stack(p).mean(dim=0)) for p in each)  # type: ignore[return-value]

    @property
    def allowed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The scheme's allowed starts, pairs and ends (the members share them); None for a plain label set."""
        found = self.members[0].crf.constraints()
        return None if found is None else tuple(_numpy(p) for p in found)  # type: ignore[return-value]

    def forms(self, arrays: WindowArrays) -> list[torch.Tensor | None]:
        """Each member's character features of the window's form table (None for a member without)."""
        buckets = [FormBucket(b.start, _tensor(b.chars).view(-1, b.width)) for b in arrays.buckets]
        with _inference(self.model):
            return [m.form_features(buckets, arrays.forms) for m in self.members]

    def run(self, feed: dict[str, np.ndarray], forms: Sequence[torch.Tensor | None]) -> tuple:
        """The tag scores (batch, time, tags) of one batch's arrays (``feed``: ``words``, ``cases``, ``forms``,
        ``lengths``), the members' averaged; with document context also the scores its tokens lend their other
        mentions (batch, time, tags), a member without context lending none, else None. As numpy float32."""
        batch = _batch(feed, self.device)
        with _inference(self.model):
            found = [_member_scores(m, m.states(batch, table)) for m, table in zip(self.members, forms)]
            own = [scores for scores, _ in found]
            emissions = own[0] if len(own) == 1 else torch.stack(own).mean(dim=0)  # shape: (batch, time, tags)
            if not self.context:
                return _numpy(emissions), None
            lent = [scores for _, scores in found if scores is not None]
            mentions = lent[0] if len(found) == 1 else torch.stack(lent).sum(dim=0) / len(found)
            return _numpy(emissions), _numpy(mentions)


def _member_scores(model: BiLSTMCRF, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A member's tag scores of its ``states`` and, with document context, the scores its tokens lend."""
    if not model.context:
        return model.scores(states), None
    return model.own_and_mentions(states)


@contextmanager
def _inference(model: nn.Module) -> Iterator[None]:
    """``model`` in eval mode without gradients, then back in the mode it was in (training scores dev with it)."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)


def _tensor(values) -> torch.Tensor:
    return torch.frombuffer(values, dtype=torch.long)


def _batch(feed: dict[str, np.ndarray], device: str) -> Batch:
    """A tagging batch of ``feed``'s arrays, without a copy on the CPU."""
    lengths = torch.from_numpy(feed["lengths"])  # shape: (rows,)
    width = feed["words"].shape[1]
    batch = Batch(
        words=torch.from_numpy(feed["words"]),
        cases=torch.from_numpy(feed["cases"]),
        forms=torch.from_numpy(feed["forms"]),
        chars=torch.zeros(0, 0, dtype=torch.long),  # the window's form features stand for them
        mask=torch.arange(width)[None, :] < lengths[:, None],  # shape: (rows, width)
        lengths=lengths,
    )
    return batch if device == "cpu" else batch.to(device)


def _numpy(values: torch.Tensor) -> np.ndarray:
    return values.detach().cpu().numpy()


def load_network(paths: str | Path | Sequence[str | Path], device: str = "cpu") -> TorchNetwork:
    """The model file at ``paths`` (several: an ensemble, ``ensemble.load_models``) on ``device``."""
    loaded = load_models(paths, device=device)
    return TorchNetwork(loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)

"""Ensembles: several models of the same tags and vocabulary tagging as one.

Models trained on the same data with different seeds make different
mistakes; averaging their tag scores (emissions) and their CRF start,
transition and end scores, then running the one constrained Viterbi over the
averages, picks sequences that most of them score well. The members must
agree on what the numbers mean: the same tags in the same order, the same
tag scheme, and the same word and character vocabularies (a batch is built
once, with one vocabulary, and fed to every member).

An ``Ensemble`` offers what a ``BiLSTMCRF`` offers (``form_features``,
``decode``, ``emissions``, ``window_emissions``, ``crf_parameters``,
``config``, ``char_encoder``); tagging runs it through ``nn.network``, as one
model. Each member runs its own network: tagging costs about the members'
count times one model's network time; the Viterbi runs once.

Members may differ in document context (``ModelConfig.context``): when any
member reads it, the ensemble's config says "document", so its batches hold
whole documents with their keys, which a member without context ignores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from tagger.errors import ModelFileError
from tagger.nn.config import ModelConfig
from tagger.nn.crf import Transitions, viterbi
from tagger.nn.model import BiLSTMCRF
from tagger.nn.model_file import LoadedModel, load_model
from tagger.nn.shipped import resolve
from tagger.nn.tensors import Batch, FormBucket

__all__ = ["Ensemble", "load_ensemble", "load_models"]


class Ensemble(nn.Module):
    """Several ``BiLSTMCRF`` of the same tags, scheme and vocabulary; scores averaged before decoding."""

    def __init__(self, members: Sequence[BiLSTMCRF]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(members)
        first = members[0]
        # Decoding follows the first member's constraints (crf_parameters); load_ensemble checks they all agree.
        # Batches carry documents and keys when any member reads them (Predictor reads config.context).
        context = "document" if any(m.config.context == "document" for m in members) else first.config.context
        self.config: ModelConfig = replace(first.config, context=context)

    @property
    def char_encoder(self) -> nn.Module | None:
        """A character encoder when any member has one: the batches must then carry characters."""
        return next((m.char_encoder for m in self.members if m.char_encoder is not None), None)

    def form_features(self, buckets: list[FormBucket], forms: int) -> list[torch.Tensor | None]:
        """Each member's character features of a window's form table (None for a member without)."""
        return [m.form_features(buckets, forms) for m in self.members]

    def emissions(self, batch: Batch, form_features: Sequence[torch.Tensor | None] | None = None) -> torch.Tensor:
        """The members' tag scores, averaged. shape: (batch, time, tags)"""
        tables = form_features if form_features is not None else [None] * len(self.members)
        if len(tables) != len(self.members):
            raise ValueError(f"{len(self.members)} members need as many form tables, got {len(tables)}")
        each = [m.emissions(batch, t) for m, t in zip(self.members, tables)]  # each shape: (batch, time, tags)
        return torch.stack(each).mean(dim=0)  # shape: (batch, time, tags)

    def window_emissions(
        self, batches: list[Batch], form_features: Sequence[torch.Tensor | None] | None = None
    ) -> list[torch.Tensor]:
        """The members' ``window_emissions`` of a window's batches, averaged batch by batch. Each shape:
        (batch, time, tags)"""
        tables = form_features if form_features is not None else [None] * len(self.members)
        each = [m.window_emissions(batches, t) for m, t in zip(self.members, tables)]  # per member, per batch
        return [torch.stack(scores).mean(dim=0) for scores in zip(*each)]  # each shape: (batch, time, tags)

    def crf_parameters(self, exact: bool = False) -> Transitions:
        """The members' CRF start (tags,), transition (tags, tags) and end (tags,) scores, averaged, then
        constrained to the scheme as ``BiLSTMCRF`` constrains its own: ``NEG`` added to a forbidden one
        for decoding, or -inf with ``exact`` (for probabilities)."""
        averaged = self.averaged_crf()
        first = self.members[0]  # the members share tags, scheme and constraints
        return first.crf.constrain(averaged, exact) if first.config.constrained else averaged

    def averaged_crf(self) -> Transitions:
        """The members' CRF start (tags,), transition (tags, tags) and end (tags,) scores, averaged, unconstrained."""
        crfs = [m.crf for m in self.members]
        start = torch.stack([c.start_transitions for c in crfs]).mean(dim=0)  # shape: (tags,)
        trans = torch.stack([c.transitions for c in crfs]).mean(dim=0)  # shape: (tags, tags)
        end = torch.stack([c.end_transitions for c in crfs]).mean(dim=0)  # shape: (tags,)
        return Transitions(start, trans, end)

    def decode_emissions(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        return viterbi(emissions, mask, self.crf_parameters())

    def decode(self, batch: Batch, form_features: Sequence[torch.Tensor | None] | None = None) -> list[list[int]]:
        """Best tag ids for each sentence of the batch under the averaged scores."""
        return self.decode_emissions(self.emissions(batch, form_features), batch.mask)


def load_models(paths: str | Path | Sequence[str | Path], device: str | torch.device = "cpu") -> LoadedModel:
    """One model file as ``model_file.load_model`` loads it, or several as an ensemble.

    The entry point for ``tagger tag -m a.pt -m b.pt`` and friends: a single path (or a list of one)
    gives the plain model, with no ensemble around it.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [resolve(p) for p in paths]  # a shipped model's name, where no file of that name is here
    if len(paths) == 1:
        return load_model(paths[0], device)
    return load_ensemble(paths, device)


def load_ensemble(paths: Sequence[str | Path], device: str | torch.device = "cpu") -> LoadedModel:
    """Load model files as one ``Ensemble`` (in eval mode, on ``device``), after checking that they
    share tags, scheme and vocabulary; a ``LoadedModel`` whose vocabulary, config and output scheme
    are the first file's and whose ``metadata`` lists the members'."""
    if not paths:
        raise ModelFileError("an ensemble needs at least one model file")
    loaded = [load_model(p, device) for p in paths]
    for path, other in zip(paths[1:], loaded[1:]):
        problem = mismatch(loaded[0], other)
        if problem:
            raise ModelFileError(f"cannot be combined with {paths[0]}: {problem}", str(path))
    first = loaded[0]
    ensemble = Ensemble([m.model for m in loaded]).to(device).eval()
    metadata = {"ensemble": [str(p) for p in paths], "members": [m.metadata for m in loaded]}
    return LoadedModel(ensemble, first.vocab, first.config, first.data_scheme, metadata)  # type: ignore[arg-type]


def mismatch(a: LoadedModel, b: LoadedModel) -> str | None:
    """What makes two models' scores mean different things (so they cannot be averaged), or None."""
    if a.vocab.tags != b.vocab.tags:
        return f"the tags differ ({_difference(a.vocab.tags, b.vocab.tags)})"
    for name, what in (("scheme", "tag scheme"), ("constrained", "constrained decoding")):
        mine, theirs = getattr(a.config, name), getattr(b.config, name)
        if mine != theirs:
            return f"the {what} differs ({mine} vs {theirs})"
    if a.data_scheme != b.data_scheme:
        return f"the output tag scheme differs ({a.data_scheme} vs {b.data_scheme})"
    if a.vocab.lowercase != b.vocab.lowercase:
        return f"the word lookup differs (lowercased: {a.vocab.lowercase} vs {b.vocab.lowercase})"
    if a.vocab.words != b.vocab.words:
        return f"the word vocabularies differ ({_difference(a.vocab.words, b.vocab.words)})"
    if a.vocab.chars != b.vocab.chars:
        return f"the character vocabularies differ ({_difference(a.vocab.chars, b.vocab.chars)})"
    return None


def _difference(a: list[str], b: list[str]) -> str:
    """Where two lists first differ, in a few words."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"{len(a)} vs {len(b)} entries; entry {i} is {x!r} vs {y!r}"
    return f"{len(a)} vs {len(b)} entries"

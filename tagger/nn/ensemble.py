"""Ensembles: several models of the same tags and vocabulary tagging as one.

Averaging the members' tag scores and CRF start, pair and end scores, then decoding once, picks sequences most of
them score well. The members must share the tags (same order), the tag scheme, and the word and character
vocabularies (one batch feeds every member). ``nn.network`` runs an ``Ensemble``; ``nn.export`` exports it as one
graph. When any member reads document context, the ensemble's config says "document" (others ignore the keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from tagger.errors import ModelFileError
from tagger.nn.config import ModelConfig
from tagger.nn.model import BiLSTMCRF
from tagger.nn.model_file import LoadedModel, load_model
from tagger.nn.shipped import resolve

__all__ = ["Ensemble", "load_ensemble", "load_models"]


class Ensemble(nn.Module):
    """Several ``BiLSTMCRF`` of the same tags, scheme and vocabulary (``load_ensemble`` checks), tagging as one."""

    def __init__(self, members: Sequence[BiLSTMCRF]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(members)
        first = members[0]
        # Batches carry documents and keys when any member reads them (Predictor reads config.context).
        context = "document" if any(m.config.context == "document" for m in members) else first.config.context
        self.config: ModelConfig = replace(first.config, context=context)

    @property
    def char_encoder(self) -> nn.Module | None:
        """A character encoder when any member has one: the batches must then carry characters."""
        return next((m.char_encoder for m in self.members if m.char_encoder is not None), None)


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

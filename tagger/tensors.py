"""Sentences to padded tensors: for training per batch, for tagging from a window's arrays.

A batch carries word ids, case classes and a mask per token, and the
characters of each *distinct* token form in the batch once: the character
encoder runs over those forms only, and ``forms`` maps each token to its row.
For tagging, ``forms`` index a whole window's form table instead (see
``arrays.window_arrays``) and the batch carries no characters.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .arrays import BatchArrays, Lookup, WindowArrays
from .vocabulary import PAD, Vocabulary


@dataclass
class Batch:
    words: torch.Tensor  # shape: (batch, time) word ids, PAD beyond each length
    cases: torch.Tensor  # shape: (batch, time) case classes
    forms: torch.Tensor  # shape: (batch, time) row of each token in ``chars`` (or in a window's form table)
    chars: torch.Tensor  # shape: (forms, chars) character ids, PAD beyond each form
    mask: torch.Tensor  # shape: (batch, time) True on real tokens
    lengths: torch.Tensor  # shape: (batch,) tokens per sentence
    tags: torch.Tensor | None = None  # shape: (batch, time) tag ids, 0 beyond each length

    def to(self, device: torch.device | str) -> Batch:
        move = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        return Batch(**move)


@dataclass
class FormBucket:
    start: int  # table row of the first form in the bucket
    chars: torch.Tensor  # shape: (forms, chars) character ids, PAD beyond each form


class TensorMaker:
    """Turns token lists into ``Batch`` tensors, looking each distinct token up once."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self._lookup = Lookup(vocab)

    def batch(
        self,
        sentences: Sequence[Sequence[str]],
        tags: Sequence[Sequence[int]] | None = None,
    ) -> Batch:
        """Tensors for ``sentences`` (and their tag ids), with the characters of each distinct
        token form once (as training uses it; tagging uses ``window_tensors``)."""
        if not sentences or any(len(s) == 0 for s in sentences):
            raise ValueError("a batch needs at least one sentence and every sentence at least one token")
        lengths = torch.tensor([len(s) for s in sentences], dtype=torch.long)
        width = int(lengths.max())
        mask = torch.arange(width)[None, :] < lengths[:, None]  # shape: (batch, time)
        flat = [token for tokens in sentences for token in tokens]
        lookup = self._lookup
        entries = [lookup(token) for token in flat]
        form_chars: list[list[int]] = []
        local: dict[str, int] = {}
        rows = []
        for token, entry in zip(flat, entries):
            row = local.get(token)
            if row is None:
                row = local[token] = len(form_chars)
                form_chars.append(entry[2])
            rows.append(row)

        def padded(values: list[int]) -> torch.Tensor:
            out = torch.zeros(len(sentences), width, dtype=torch.long)  # PAD is 0
            out[mask] = torch.tensor(values, dtype=torch.long)
            return out

        longest = max((len(c) for c in form_chars), default=0)
        chars = [c + [PAD] * (longest - len(c)) for c in form_chars]
        tag_tensor = padded([t for seq in tags for t in seq]) if tags is not None else None
        return Batch(
            words=padded([e[0] for e in entries]),
            cases=padded([e[1] for e in entries]),
            forms=padded(rows),
            chars=torch.tensor(chars, dtype=torch.long) if chars else torch.zeros(0, 0, dtype=torch.long),
            mask=mask,
            lengths=lengths,
            tags=tag_tensor,
        )


def window_tensors(arrays: WindowArrays) -> tuple[list[FormBucket], list[tuple[list[int], Batch]]]:
    """The tensors of a window made by ``arrays.window_arrays``: its form table's character
    buckets, and each batch with the window's sentence indices of its rows. The tensors
    share the arrays' memory (no copy)."""
    buckets = [FormBucket(b.start, _view(b.chars, b.width)) for b in arrays.buckets]
    return buckets, [(b.index, _batch(b)) for b in arrays.batches]


def _view(values: array, width: int) -> torch.Tensor:
    return torch.frombuffer(values, dtype=torch.long).view(-1, width)  # shape: (rows, width)


def _batch(b: BatchArrays) -> Batch:
    lengths = torch.frombuffer(b.lengths, dtype=torch.long)  # shape: (rows,)
    return Batch(
        words=_view(b.words, b.width),
        cases=_view(b.cases, b.width),
        forms=_view(b.forms, b.width),
        chars=torch.zeros(0, 0, dtype=torch.long),
        mask=torch.arange(b.width)[None, :] < lengths[:, None],  # shape: (rows, width)
        lengths=lengths,
    )

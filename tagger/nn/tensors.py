"""Batch tensors, made from the arrays of ``arrays.py`` without copying them.

A batch carries word ids, case classes and a mask per token, and each token's row in a table of the distinct token
forms, whose characters the character encoder reads once per form. For training (``TensorMaker.batch``) a batch is
its own form table and carries its characters and tag ids; in a tagging window (``window_tensors``) the batches
share the window's table, whose character buckets travel beside them.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from tagger.data.arrays import BatchArrays, Lookup, WindowArrays, batch_arrays
from tagger.data.vocabulary import PAD, Vocabulary


@dataclass
class Batch:
    words: torch.Tensor  # shape: (batch, time) word ids, PAD beyond each length
    cases: torch.Tensor  # shape: (batch, time) case classes
    forms: torch.Tensor  # shape: (batch, time) row of each token in ``chars`` (or in a window's form table)
    chars: torch.Tensor  # shape: (forms, chars) character ids, PAD beyond each form
    mask: torch.Tensor  # shape: (batch, time) True on real tokens
    lengths: torch.Tensor  # shape: (batch,) tokens per sentence
    tags: torch.Tensor | None = None  # shape: (batch, time) tag ids, 0 beyond each length
    # With document context (arrays.py): each row's document in its window (a training batch is its own window),
    # and each token's lowercased-form key
    docs: torch.Tensor | None = None  # shape: (batch,)
    keys: torch.Tensor | None = None  # shape: (batch, time), 0 beyond each length

    def to(self, device: torch.device | str) -> Batch:
        move = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        return Batch(**move)


@dataclass
class FormBucket:
    start: int  # table row of the first form in the bucket
    chars: torch.Tensor  # shape: (forms, chars) character ids, PAD beyond each form


class TensorMaker:
    """Training batches: token lists (and their tag ids) to a ``Batch``, rows in the order given; with
    ``context``, with their documents (``docs``: a number per sentence, None: each its own) and keys."""

    def __init__(self, vocab: Vocabulary, chars: bool = True, context: bool = False):
        self.vocab = vocab
        self.chars = chars  # off for a model without a character encoder
        self.context = context  # on for a model reading document context
        self.lookup = Lookup(vocab)

    def batch(
        self,
        sentences: Sequence[Sequence[str]],
        tags: Sequence[Sequence[int]] | None = None,
        docs: Sequence[int] | None = None,
    ) -> Batch:
        return batch_tensors(batch_arrays(sentences, self.lookup, self.chars, docs, self.context), tags)


def batch_tensors(arrays: WindowArrays, tags: Sequence[Sequence[int]] | None = None) -> Batch:
    """The tensors of ``arrays.batch_arrays``'s one batch: with its form table's characters, and
    ``tags`` (tag ids, one list per sentence) laid out as the words are."""
    (rows,) = arrays.batches
    batch = _batch(rows)
    if arrays.buckets:
        (bucket,) = arrays.buckets
        batch.chars = _view(bucket.chars, bucket.width)
    if tags is not None:
        batch.tags = _view(_padded_tags(rows, tags), rows.width)
    return batch


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
        docs=torch.frombuffer(b.docs, dtype=torch.long) if b.docs is not None else None,  # shape: (rows,)
        keys=_view(b.keys, b.width) if b.keys is not None else None,  # shape: (rows, width)
    )


def _padded_tags(b: BatchArrays, tags: Sequence[Sequence[int]]) -> array:
    """Row-major (rows, width) tag ids, PAD beyond each length."""
    out = array("q", [PAD]) * (b.width * len(b.index))
    for r, i in enumerate(b.index):
        if len(tags[i]) != b.lengths[r]:
            raise ValueError(f"sentence {i} has {b.lengths[r]} tokens but {len(tags[i])} tags")
        out[r * b.width : r * b.width + b.lengths[r]] = array("q", tags[i])
    return out

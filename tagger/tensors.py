"""Sentences to padded tensors, and sentences grouped into batches by length.

A batch carries word ids, case classes and a mask per token, and the
characters of each *distinct* token form in the batch once: the character
encoder runs over those forms only, and ``forms`` maps each token to its row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from .vocabulary import PAD, Vocabulary, case_of

MAX_WORD_CHARS = 30  # longer tokens keep their first and last characters


@dataclass
class Batch:
    words: torch.Tensor  # shape: (batch, time) word ids, PAD beyond each length
    cases: torch.Tensor  # shape: (batch, time) case classes
    forms: torch.Tensor  # shape: (batch, time) row of each token in ``chars``
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

    def __init__(self, vocab: Vocabulary, cache_size: int = 200_000):
        self.vocab = vocab
        self.cache_size = cache_size
        self._cache: dict[str, tuple[int, int, list[int]]] = {}

    def _lookup(self, token: str) -> tuple[int, int, list[int]]:
        entry = self._cache.get(token)
        if entry is None:
            chars = (
                token if len(token) <= MAX_WORD_CHARS else token[: MAX_WORD_CHARS // 2] + token[-MAX_WORD_CHARS // 2 :]
            )
            entry = (self.vocab.word_id(token), case_of(token), self.vocab.char_ids(chars))
            if len(self._cache) >= self.cache_size:  # keep memory flat on endless input
                self._cache.clear()
            self._cache[token] = entry
        return entry

    def form_table(self, tokens: Iterable[str], bucket: int = 512) -> tuple[dict[str, int], list[FormBucket]]:
        """Rows for the distinct forms among ``tokens``, and their characters in buckets of similar length.

        For tagging: the character encoder then runs once per distinct form of
        a whole window of sentences, with little padding, instead of once per batch.
        """
        forms = sorted(set(tokens), key=len)
        rows = {form: i for i, form in enumerate(forms)}
        buckets = []
        for start in range(0, len(forms), bucket):
            chars = [self._lookup(form)[2] for form in forms[start : start + bucket]]
            longest = max(len(c) for c in chars)
            padded = torch.tensor([c + [PAD] * (longest - len(c)) for c in chars], dtype=torch.long)
            buckets.append(FormBucket(start, padded))
        return rows, buckets

    def batch(
        self,
        sentences: Sequence[Sequence[str]],
        tags: Sequence[Sequence[int]] | None = None,
        form_rows: dict[str, int] | None = None,
    ) -> Batch:
        """Tensors for ``sentences``; with ``form_rows`` (from ``form_table``) ``forms`` index
        that table and the batch carries no characters of its own."""
        if not sentences or any(len(s) == 0 for s in sentences):
            raise ValueError("a batch needs at least one sentence and every sentence at least one token")
        lengths = torch.tensor([len(s) for s in sentences], dtype=torch.long)
        width = int(lengths.max())
        mask = torch.arange(width)[None, :] < lengths[:, None]  # shape: (batch, time)
        flat = [token for tokens in sentences for token in tokens]
        lookup = self._lookup
        entries = [lookup(token) for token in flat]
        form_chars: list[list[int]] = []
        if form_rows is not None:
            try:
                rows = [form_rows[token] for token in flat]
            except KeyError as err:
                raise KeyError(f"token {err.args[0]!r} is not in the form table") from None
        else:
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


def length_batches(lengths: Sequence[int], batch_size: int, order: Sequence[int] | None = None) -> list[list[int]]:
    """Split sentence indices into batches of similar length.

    ``order`` (a permutation, for shuffled training) is cut into windows of
    50 batches; each window is sorted by length and cut into batches, so a
    batch pads little and the data is still visited in a random order.
    """
    order = list(range(len(lengths))) if order is None else list(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return batches

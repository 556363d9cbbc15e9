"""Sentences to the flat integer arrays that batch tensors are made from, without torch (so the reader's
processes can do this work beside the network).

A window becomes a table of its distinct token forms (characters bucketed by length, so the character encoder
runs once per form) and padded batches of word ids, case classes and form rows, all ``array('q')``: it pickles as
bytes and becomes tensors without copying. With ``context`` batches also carry each row's document and each
token's key (its lowercased form's id), so the network pools a word's mentions over its document.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from tagger.data.vocabulary import PAD, Vocabulary, case_of

MAX_WORD_CHARS = 30  # longer tokens keep their first and last characters
FORM_BUCKET = 512  # forms per character bucket
# A document is cut after this many lines or sentences, everywhere: every CoNLL-2003 document fits (the longest
# has 197 sentences), and memory stays flat on input with no blank line at all.
DOC_MAX = 256


class Lookup:
    """Word id, case class and character ids of a token, looked up once per distinct token."""

    def __init__(self, vocab: Vocabulary, cache_size: int = 200_000):
        self.vocab = vocab
        self.cache_size = cache_size
        self._cache: dict[str, tuple[int, int, list[int]]] = {}

    def __call__(self, token: str) -> tuple[int, int, list[int]]:
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


def length_batches(lengths: Sequence[int], batch_size: int, order: Sequence[int] | None = None) -> list[list[int]]:
    """Sentence indices in batches of similar length: ``order`` (a permutation, for shuffled training) is cut
    into windows of 50 batches, each sorted by length, so batches pad little and still come in random order."""
    order = list(range(len(lengths))) if order is None else list(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return batches


def documents(count: int, docs: Sequence[int] | None = None) -> list[list[int]]:
    """Sentence indices ``0 .. count - 1`` grouped into documents: runs of equal ``docs`` numbers, cut
    after ``DOC_MAX`` sentences (None: each sentence a document of its own)."""
    if docs is None:
        return [[i] for i in range(count)]
    if len(docs) != count:
        raise ValueError(f"{count} sentences but {len(docs)} document numbers")
    groups: list[list[int]] = []
    for i, doc in enumerate(docs):
        if i and doc == docs[i - 1] and len(groups[-1]) < DOC_MAX:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def document_batches(groups: Sequence[Sequence[int]], batch_size: int) -> list[list[Sequence[int]]]:
    """Whole documents (``groups`` of sentence indices) in batches of about ``batch_size`` sentences (at most 1.5
    times as many); a longer document is a batch of its own."""
    batches: list[list[Sequence[int]]] = []
    current: list[Sequence[int]] = []
    size = 0
    for group in groups:
        if not group:
            continue
        if current and (2 * size + len(group) > 2 * batch_size or len(group) > batch_size):
            batches.append(current)
            current, size = [], 0
        current.append(group)
        size += len(group)
    if current:
        batches.append(current)
    return batches


@dataclass
class CharBucket:
    start: int  # form-table row of the bucket's first form
    width: int  # characters per row (the longest form's)
    chars: array  # shape: (rows, width) character ids, row-major, PAD beyond each form


@dataclass
class BatchArrays:
    index: list[int]  # the window's sentence indices, one per row
    width: int  # tokens per row (the longest sentence's)
    words: array  # shape: (rows, width) word ids, PAD beyond each length
    cases: array  # shape: (rows, width) case classes
    forms: array  # shape: (rows, width) form-table row of each token
    lengths: array  # shape: (rows,) tokens per sentence
    docs: array | None = None  # shape: (rows,) document of each row, numbered from 0 in the window (context only)
    keys: array | None = None  # shape: (rows, width) id of each token's lowercased form, PAD beyond (context only)


@dataclass
class WindowArrays:
    sentences: int  # sentences in the window, the empty ones included (they get no batch)
    forms: int  # rows of the form table
    buckets: list[CharBucket]
    batches: list[BatchArrays]


class WindowMaker:
    """``window_arrays`` with a model's vocabulary, batch size and context; picklable as its arguments."""

    def __init__(self, vocab: Vocabulary, batch_size: int, chars: bool = True, context: bool = False):
        self.vocab, self.batch_size, self.chars, self.context = vocab, batch_size, chars, context
        self.lookup = Lookup(vocab)

    def __reduce__(self):  # the vocabulary travels in its compact file form; the lookup cache stays here
        return _window_maker, (self.vocab.to_dict(), self.batch_size, self.chars, self.context)

    def __call__(self, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None = None) -> WindowArrays:
        return window_arrays(sentences, self.lookup, self.batch_size, self.chars, docs, self.context)


def _window_maker(vocab: dict, batch_size: int, chars: bool, context: bool = False) -> WindowMaker:
    return WindowMaker(Vocabulary.from_dict(vocab), batch_size, chars, context)


def window_arrays(
    sentences: Sequence[Sequence[str]],
    lookup: Lookup,
    batch_size: int,
    chars: bool = True,
    docs: Sequence[int] | None = None,
    context: bool = False,
) -> WindowArrays:
    """The arrays for tagging ``sentences``: a form table and batches of similar length. ``docs``: runs of equal
    numbers are documents (None: each sentence its own); ``chars`` False: no characters."""
    lengths = [len(s) for s in sentences]
    todo = [i for i, n in enumerate(lengths) if n > 0]
    table = FormTable(sentences, todo, lookup, chars, context=context)
    numbers = None
    if context:  # each sentence's document, numbered in the window: runs of equal ``docs`` numbers
        numbers = [0] * len(sentences)
        for number, group in enumerate(documents(len(sentences), docs)):
            for i in group:
                numbers[i] = number
    batches = [
        table.batch(sentences, [todo[g] for g in group], numbers)
        for group in length_batches([lengths[i] for i in todo], batch_size)
    ]
    return WindowArrays(len(sentences), len(table.forms), table.buckets, batches)


def batch_arrays(
    sentences: Sequence[Sequence[str]],
    lookup: Lookup,
    chars: bool = True,
    docs: Sequence[int] | None = None,
    context: bool = False,
) -> WindowArrays:
    """``sentences`` as one batch (training's), rows in order, characters in one bucket; as ``window_arrays``."""
    if not sentences or any(len(s) == 0 for s in sentences):
        raise ValueError(
            f"a batch needs at least one sentence and every sentence a token, got lengths {[len(s) for s in sentences]}"
        )
    if docs is not None and len(docs) != len(sentences):
        raise ValueError(f"{len(sentences)} sentences but {len(docs)} document numbers")
    todo = list(range(len(sentences)))
    table = FormTable(sentences, todo, lookup, chars, bucket=0, context=context)
    numbers = None
    if context:  # documents numbered in order of first row
        seen: dict[int, int] = {}
        numbers = [seen.setdefault(d, len(seen)) for d in docs] if docs is not None else todo
    return WindowArrays(len(sentences), len(table.forms), table.buckets, [table.batch(sentences, todo, numbers)])


class FormTable:
    """The distinct token forms of some sentences, stably by length, with word ids, case classes and characters
    in buckets of ``bucket`` forms (0: one bucket)."""

    def __init__(
        self,
        sentences: Sequence[Sequence[str]],
        todo: Sequence[int],
        lookup: Lookup,
        chars: bool,
        bucket: int = FORM_BUCKET,
        context: bool = False,
    ):
        self.forms = sorted(dict.fromkeys(token for i in todo for token in sentences[i]), key=len)
        self.rows = {form: row for row, form in enumerate(self.forms)}
        entries = list(map(lookup, self.forms))
        self.words = [e[0] for e in entries]
        self.cases = [e[1] for e in entries]
        # With context: each form's key, the id (from 1; PAD is 0) of its lowercased form in this table
        self.keys: list[int] | None = None
        if context:
            ids: dict[str, int] = {}
            self.keys = [ids.setdefault(form.lower(), len(ids) + 1) for form in self.forms]
        self.buckets = []
        size = bucket or max(len(entries), 1)
        for start in range(0, len(entries) if chars else 0, size):
            ids = [e[2] for e in entries[start : start + size]]
            width = max(len(c) for c in ids)
            flat = array("q", [PAD]) * (width * len(ids))
            for r, c in enumerate(ids):
                flat[r * width : r * width + len(c)] = array("q", c)
            self.buckets.append(CharBucket(start, width, flat))

    def batch(
        self, sentences: Sequence[Sequence[str]], index: list[int], docs: Sequence[int] | None = None
    ) -> BatchArrays:
        """The batch of ``sentences[i] for i in index``, padded; with context, the rows' documents and keys."""
        width = max(len(sentences[i]) for i in index)
        padded = array("q", [PAD]) * (width * len(index))
        words, cases, form_rows = padded, array("q", padded), array("q", padded)
        keys = array("q", padded) if self.keys is not None else None
        for r, i in enumerate(index):
            row_ids = list(map(self.rows.__getitem__, sentences[i]))
            at = slice(r * width, r * width + len(row_ids))
            form_rows[at] = array("q", row_ids)
            words[at] = array("q", map(self.words.__getitem__, row_ids))
            cases[at] = array("q", map(self.cases.__getitem__, row_ids))
            if keys is not None:
                keys[at] = array("q", map(self.keys.__getitem__, row_ids))
        lengths = array("q", [len(sentences[i]) for i in index])
        rows = BatchArrays(index, width, words, cases, form_rows, lengths)
        if keys is not None:
            rows.docs = array("q", (docs[i] for i in index))
            rows.keys = keys
        return rows

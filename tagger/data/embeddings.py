"""Pretrained word vectors in GloVe / word2vec text format, plain or gzip.

Only the vectors of the words asked for, plus the ``keep`` first (most
frequent) words of the file, are parsed: a table of hundreds of thousands of
words is mostly skipped, line by line, without converting its numbers.
"""

from __future__ import annotations

import gzip
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tagger.data.vocabulary import word_key
from tagger.errors import DataError


@dataclass
class Vectors:
    """Vectors by word key (``vocabulary.word_key``), in file order."""

    keys: list[str]
    values: array  # float32, words x dim, row by row (the network's room makes a tensor of it without a copy)
    path: str
    dim: int
    file_words: int  # how many words the file holds

    def __post_init__(self) -> None:
        self.index = {k: i for i, k in enumerate(self.keys)}


def _open(path: Path):
    with path.open("rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else path.open("rb")


def read_vectors(path: str | Path, wanted: Iterable[str] = (), keep: int = 0) -> Vectors:
    """Vectors for the tokens in ``wanted`` (looked up as given, lowercased, then as word keys)
    and for the first ``keep`` words of the file (all of them when ``keep`` < 0)."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise DataError("no such embeddings file", name)
    forms = {}
    for token in wanted:
        for form in (token, token.lower(), word_key(token)):
            forms.setdefault(form, word_key(token))
    keys: list[str] = []
    rows: list[bytes] = []
    seen: set[str] = set()
    dim = 0
    count = 0
    try:
        with _open(path) as f:
            for number, line in enumerate(f, 1):
                head, _, rest = line.rstrip().partition(b" ")
                if number == 1 and rest.count(b" ") == 0 and head.isdigit() and rest.isdigit():
                    continue  # word2vec header: "<words> <dim>"
                count += 1
                try:
                    word = head.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                key = forms.get(word)
                if key is None and (keep < 0 or count <= keep):
                    key = word_key(word)
                if key is None or key in seen:
                    continue
                width = rest.count(b" ") + 1
                if dim == 0:
                    dim = width
                elif width != dim:
                    raise DataError(f"a vector of {width} numbers where the file's have {dim}", name, number)
                seen.add(key)
                keys.append(key)
                rows.append(rest)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"cannot read the embeddings: {err}", name) from None
    if not keys:
        raise DataError("no vectors read (is it GloVe or word2vec text format?)", name)
    try:
        flat = array("f", map(float, b" ".join(rows).split()))
    except ValueError:
        raise DataError("a vector holds something that is not a number", name) from None
    return Vectors(keys, flat, name, dim, count)

"""Read CoNLL column files (and plain text lines) into sentences.

Columns are separated by spaces or tabs; the token is the first column and
the tag the last (or ``tag_column``). A blank line, or one of only spaces and
tabs, ends a sentence; ``-DOCSTART-`` lines divide documents and are skipped.
Files are UTF-8; a byte-order mark at the start and CRLF line ends are fine.
Every problem is a ``DataError`` naming the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import DataError
from .schemes import tag_problem

_COLUMN_SEP = re.compile(r"[ \t]+")
_BLANK = " \t\r\n\f\v"
DOCSTART = "-DOCSTART-"


@dataclass
class Sentence:
    """One sentence: tokens, tags (None when the input has none) and where it came from."""

    tokens: list[str]
    tags: list[str] | None = None
    line: int = 0  # 1-based line number of the first token (tokens sit on consecutive lines)


def decoded_lines(stream: Iterable[bytes], name: str) -> Iterator[tuple[int, str, int]]:
    """Yield (line number, text without line end, length with line end) for each line.

    Text is decoded strictly as UTF-8 line by line, so a bad byte is reported
    with its line; a byte-order mark on the first line is dropped.
    """
    for number, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                f"bytes that are not UTF-8 (byte 0x{raw[err.start]:02x} at column {err.start + 1})",
                name,
                number,
            ) from None
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        length = len(text)
        yield number, text.rstrip("\r\n"), length


def iter_conll(
    stream: Iterable[bytes],
    name: str,
    tag_column: int = -1,
    with_tags: bool = True,
) -> Iterator[Sentence]:
    """Yield the sentences of a CoNLL column stream, one at a time."""
    tokens: list[str] = []
    tags: list[str] = []
    columns = 0
    first = 0
    for number, text, _ in decoded_lines(stream, name):
        stripped = text.strip(_BLANK)
        if not stripped or _COLUMN_SEP.split(stripped, 1)[0] == DOCSTART:
            if tokens:
                yield Sentence(tokens, tags if with_tags else None, first)
                tokens, tags = [], []
            continue
        fields = _COLUMN_SEP.split(stripped)
        if not tokens:
            columns, first = len(fields), number
        elif len(fields) != columns:
            raise DataError(
                f"{len(fields)} columns where this sentence has {columns} (line {first} starts it)",
                name,
                number,
            )
        tokens.append(fields[0])
        if with_tags:
            if len(fields) < 2:
                raise DataError("a token with no tag column (expected 'token ... tag')", name, number)
            try:
                tag = fields[tag_column]
            except IndexError:
                raise DataError(
                    f"no column {tag_column} for the tag: the line has {len(fields)} columns",
                    name,
                    number,
                ) from None
            problem = tag_problem(tag)
            if problem:
                raise DataError(problem, name, number)
            tags.append(tag)
    if tokens:
        yield Sentence(tokens, tags if with_tags else None, first)


def open_binary(path: str | Path) -> BinaryIO:
    """Open a data file for reading, with one-line errors for the usual mistakes."""
    path = Path(path)
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise DataError("no such file", str(path)) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", str(path)) from None
    except PermissionError:
        raise DataError("permission denied", str(path)) from None
    except OSError as err:
        raise DataError(err.strerror or str(err), str(path)) from None


def read_conll(path: str | Path, tag_column: int = -1, with_tags: bool = True) -> list[Sentence]:
    """All sentences of a CoNLL file; an error if it holds none."""
    with open_binary(path) as stream:
        sentences = list(iter_conll(stream, str(path), tag_column, with_tags))
    if not sentences:
        raise DataError("no sentences (the file is empty, or holds only blank and -DOCSTART- lines)", str(path))
    return sentences


def split_token_line(text: str) -> list[str]:
    """The tokens of a line of pre-tokenized input (separated by spaces or tabs); none for a blank line."""
    stripped = text.strip(_BLANK)
    return _COLUMN_SEP.split(stripped) if stripped else []

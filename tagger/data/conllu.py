"""Read CoNLL-U files (Universal Dependencies) into sentences of syntactic words and their tags.

A CoNLL-U line holds ten tab-separated columns: ID, FORM, LEMMA, UPOS, XPOS, FEATS, HEAD, DEPREL, DEPS, MISC.
As UD specifies, the words tagged are the syntactic words, whose ID is an integer (1, 2, ...): a multiword
token's range line (``1-2``, the surface form, such as Spanish "del" for the words "de" "el") and empty
nodes (``8.1``, enhanced dependencies only) are skipped. The tokens are the words' FORMs, so "del" is read
as "de el"; the surface text (``# text = ...`` and the ranges' forms) is not used. The tag is UPOS unless
another column is chosen (``FIELDS``: xpos, deprel). Comment lines start with ``#``; ``# newdoc`` starts
a document (read by document context); before the first, each sentence is a document of its own, as in
``reader.iter_conll``. A blank line ends a sentence.

The file is read line by line, as the CoNLL reader reads (``reader.decoded_lines``: any encoding, a
byte-order mark and CRLF tolerated), so memory holds one sentence at a time and every problem is a
``DataError`` naming the file and line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from tagger.data.reader import STDIN, UTF8, Sentence, decoded_lines, open_binary, text_encoding
from tagger.errors import DataError, counted

COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
FIELDS = ("upos", "xpos", "deprel")  # the columns that can be the tag (--conllu-field)
_NEWDOC = "newdoc"


class _Words:
    """The sentence being read: its words, tags and their lines."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.tags: list[str] = []
        self.lines: list[int] = []

    def sentence(self, with_tags: bool, doc: int) -> Sentence:
        first = self.lines[0]
        # The lines are kept only where a range or an empty node comes between words (a list of ints per
        # sentence doubles a corpus' memory); else each word's line is the first's plus its index.
        consecutive = self.lines[-1] - first == len(self.lines) - 1
        return Sentence(self.tokens, self.tags if with_tags else None, first, doc, None if consecutive else self.lines)


def iter_conllu(
    stream: Iterable[bytes | None],
    name: str,
    field: str = "upos",
    with_tags: bool = True,
    encoding: str = UTF8,
) -> Iterator[Sentence | None]:
    """Yield the sentences of a CoNLL-U stream, one at a time, their tags from the column ``field``
    (one of ``FIELDS``), and ``None`` for each pause in the input (from a ``reader.LineFeed``)."""
    if field not in FIELDS:
        raise DataError(f"unknown CoNLL-U field {field!r}; expected one of {', '.join(FIELDS)}")
    column = COLUMNS.index(field)
    words = _Words()
    doc, marked = -1, False  # as iter_conll: -1 before the first sentence; a # newdoc has been seen
    for line in decoded_lines(stream, name, encoding):
        if line is None:
            yield None
            continue
        number, text, _ = line
        if not text.strip(" \t"):
            if words.tokens:
                doc += 0 if marked else 1
                yield words.sentence(with_tags, doc)
                words = _Words()
        elif text.startswith("#"):
            if _is_newdoc(text) and not words.tokens:
                doc, marked = doc + 1, True
        else:
            _add_word(words, text, column, with_tags, name, number)
    if words.tokens:
        yield words.sentence(with_tags, doc + (0 if marked else 1))


def _is_newdoc(comment: str) -> bool:
    """Whether a comment line is ``# newdoc`` or ``# newdoc id = ...``."""
    words = comment[1:].split(maxsplit=1)
    return bool(words) and (words[0] == _NEWDOC or words[0].startswith(_NEWDOC + "="))


def _add_word(words: _Words, text: str, column: int, with_tags: bool, name: str, number: int) -> None:
    """Add the word of a word line to ``words``; a range line (``1-2``) or an empty node (``8.1``) adds none."""
    fields = text.split("\t")
    if len(fields) != len(COLUMNS):
        hint = " (CoNLL-U columns are separated by tabs)" if len(fields) == 1 and " " in text else ""
        raise DataError(f"{counted(len(fields), 'column')} where CoNLL-U has {len(COLUMNS)}{hint}", name, number)
    word_id = fields[0]
    if not word_id.isdigit():
        if _is_range(word_id) or _is_empty_node(word_id):
            return
        expected = "expected 1, 2, ..., a range 1-2 or an empty node 1.1"
        raise DataError(f"{word_id!r} is not a word ID ({expected})", name, number)
    expected = len(words.tokens) + 1
    if int(word_id) != expected:
        problem = f"word ID {word_id} where {expected} was expected (a blank line must end a sentence)"
        raise DataError(problem, name, number)
    tag = fields[column]
    if with_tags and (tag == "_" or not tag):
        problem = f"no {COLUMNS[column].upper()} for the word {fields[1]!r} ('_'); --conllu-field picks another column"
        raise DataError(problem, name, number)
    words.tokens.append(fields[1])
    words.tags.append(sys.intern(tag))  # a few dozen tags: one string each, not one per word
    words.lines.append(number)


def _is_range(word_id: str) -> bool:
    first, _, last = word_id.partition("-")
    return first.isdigit() and last.isdigit()


def _is_empty_node(word_id: str) -> bool:
    whole, _, part = word_id.partition(".")
    return whole.isdigit() and part.isdigit()


def read_conllu(path: str | Path, field: str = "upos", with_tags: bool = True, encoding: str = UTF8) -> list[Sentence]:
    """All sentences of a CoNLL-U file (stdin for ``-``) in ``encoding``; an error if it holds none."""
    text_encoding(encoding)
    if str(path) == "-":
        sentences = list(iter_conllu(sys.stdin.buffer, STDIN, field, with_tags, encoding))
        path = STDIN
    else:
        with open_binary(path) as stream:
            sentences = list(iter_conllu(stream, str(path), field, with_tags, encoding))
    if not sentences:
        raise DataError("no sentences (the file is empty, or holds only comments and blank lines)", str(path))
    return sentences

"""The formats of tagged data files, and reading a file in its format into sentences: ``read_tagged``.

``conll``: column files (``reader``); ``conllu``: Universal Dependencies' CoNLL-U (``conllu``); ``json``: JSON
lines or a JSON array of records with character spans from doccano or Label Studio, or ``tag --format jsonl``
output (``annotations``). ``auto`` picks by the file's extension: ``.conllu``, ``.jsonl`` and ``.json``, else
``conll`` (so stdin is CoNLL unless a format is given).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tagger.data.annotations import read_annotations
from tagger.data.conllu import read_conllu
from tagger.data.reader import STDIN, UTF8, Sentence, read_conll
from tagger.errors import DataError, counted

DATA_FORMATS = ("auto", "conll", "conllu", "json")
_BY_SUFFIX = {".conllu": "conllu", ".jsonl": "json", ".json": "json"}


def data_format(path: str | Path, given: str = "auto") -> str:
    """The format of a data file: ``given``, or with ``auto`` the one its extension names (else conll)."""
    if given not in DATA_FORMATS:
        raise DataError(f"unknown data format {given!r}; expected one of {', '.join(DATA_FORMATS)}")
    if given != "auto":
        return given
    return _BY_SUFFIX.get(Path(str(path)).suffix.lower(), "conll")


@dataclass
class ReadData:
    """A file's sentences; the (line, problem) of each record left out for a bad span (``json``, not strict);
    notes for stderr."""

    sentences: list[Sentence]
    skipped: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_tagged(
    path: str | Path,
    fmt: str = "auto",
    tag_column: int = -1,
    conllu_field: str = "upos",
    encoding: str = UTF8,
    strict: bool = True,
) -> ReadData:
    """The tagged sentences of a data file (stdin for ``-``) in format ``fmt`` (``DATA_FORMATS``).
    ``tag_column``: the tag's column of a CoNLL file; ``conllu_field``: the CoNLL-U column of the tag.
    Tags are kept as they are (the caller checks them against the scheme it detects: part-of-speech tags are
    tags too); ``strict=False`` leaves out records with a bad span (counted by the caller), where each would be
    an error naming its line."""
    fmt = data_format(path, fmt)
    if fmt == "conllu":
        return ReadData(read_conllu(path, conllu_field, encoding=encoding))
    if fmt == "json":
        found = read_annotations(path, encoding, strict=strict)
        name = STDIN if str(path) == "-" else str(path)
        unannotated = found.unannotated
        notes = [f"{name}: left out {counted(unannotated, 'task')} with no annotation"] if unannotated else []
        return ReadData(found.sentences, found.skipped, notes)
    return ReadData(read_conll(path, tag_column=tag_column, encoding=encoding, check_tags=False))

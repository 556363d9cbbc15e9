"""``tagger tag --jobs N``'s input cut into chunks for the workers, in the parent: whole lines as bytes.

Chunks end only where a document ends, as ``inputs.read_windows`` cuts windows, so a model that reads context
sees whole documents whatever ``--jobs``; the parent never loads the model, so it cuts so for every model. Chunks
are checked to be UTF-8 here (errors name their lines); CoNLL is parsed here and sent on as token lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter, itemgetter
from typing import BinaryIO

from tagger.data.chunks import BLANK, cut_chunks, line_documents, numbered_documents
from tagger.data.reader import LINE_PIECE, LineFeed, iter_conll, numbered_pieces, undecodable_line

BOM = "\ufeff"  # a byte-order mark: no text where it opens the input (as the reader reads it), text elsewhere


def line_chunks(stream: BinaryIO, name: str, window: int, kind: str = "text") -> Iterator[tuple[bytes, int]]:
    """Chunks of whole input lines (raw text: or a long line's pieces) as bytes, ending where documents end, each
    with the character offset of its first line in the input."""
    piece = LINE_PIECE if kind == "text" else None
    found = line_documents(_blank_marked(stream, name, piece), blank=itemgetter(1), number=itemgetter(2))
    starts = itemgetter(1)
    position, offset = 0, 0  # characters and bytes before the chunk
    for kept, _ in cut_chunks(found, window, window, lambda pair: len(pair[0][0]), starts, wait=False):
        data, chars = _checked([line for line, _ in kept], name, position == 0, offset)
        yield data, position
        position, offset = position + chars, offset + len(data)


def _blank_marked(stream: BinaryIO, name: str, piece: int | None) -> Iterator[tuple[bytes, bool, int, int]]:
    """Each input line (or piece, with ``piece``) with whether it is blank as the workers' reader reads it, its
    number and column."""
    blank = BLANK.encode("ascii")  # ASCII bytes, never part of a longer UTF-8 character
    first = True
    for item in numbered_pieces(LineFeed(stream, piece=piece), name):
        if item is not None:  # a file on disk never pauses
            number, raw, column = item
            text = raw.removeprefix(BOM.encode("utf-8")) if first else raw
            first = False
            yield raw, not text.strip(blank), number, column


def _checked(lines: list[tuple[bytes, bool, int, int]], name: str, first: bool, offset: int) -> tuple[bytes, int]:
    """The chunk's bytes (from byte ``offset``) and its length in characters, an opening byte-order mark not
    counted; a ``DataError`` naming a line that is not UTF-8."""
    data = b"".join(raw for raw, _, _, _ in lines)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        for raw, _, number, column in lines:
            error = undecodable_line(raw, name, number, offset, column)
            if error is not None:
                raise error from None
            offset += len(raw)
        raise
    return data, len(text) - (first and text.startswith(BOM))


def conll_chunks(stream: BinaryIO, name: str, window: int) -> Iterator[tuple[bytes, int]]:
    """CoNLL sentences, ``window`` at a time as token lines ending where documents end, with a blank line where
    a document starts inside a chunk."""
    sentences = iter_conll(stream, name, with_tags=False)
    pairs = numbered_documents(sentences, attrgetter("doc"))
    for found, _ in cut_chunks(pairs, window, window, lambda _: 0, starts=itemgetter(1), wait=False):
        lines = [("\n" if start and at else "") + " ".join(s.tokens) + "\n" for at, (s, start) in enumerate(found)]
        yield "".join(lines).encode("utf-8"), 0

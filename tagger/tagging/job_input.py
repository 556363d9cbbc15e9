"""``tagger tag --jobs N``'s input cut into chunks for the workers, in the parent: whole lines as bytes.

Chunks end only where a document ends (as ``inputs.read_windows`` cuts its windows for a model that reads
context, by the same ``chunks.cut_chunks``): a model that reads context (``ModelConfig.context``) tags each
sentence with the others of its document, so every worker sees whole documents and the output is the same
whatever ``--jobs``; CoNLL sentences go with a blank line where a new document starts (a blank line ends a
document of token lines). The parent does this for every model: it never loads the model (nor imports torch),
so it cannot ask whether the model reads context, and a model that does not tags each sentence alone, so
where its chunks end changes nothing in its output (a chunk is at most ``arrays.DOC_MAX`` lines longer; the
parent's cost is ~0.5 us a line).

Each chunk of raw text or token lines is decoded once here, to check it is UTF-8 (naming the line when it is
not) and to count its characters (JSON lines' offsets count from the start of the input). CoNLL input is
parsed here (``reader.iter_conll``, so its errors name their lines as without ``--jobs``) and sent on as token
lines. A line of raw text longer than ``reader.LINE_PIECE`` bytes is read in pieces, as ``inputs.read_windows``
reads it: a chunk may end inside such a line, at a piece's end, and the worker given the rest of it cuts the
same pieces (``reader.line_pieces``).
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter, itemgetter
from typing import BinaryIO

from tagger.data.chunks import BLANK, cut_chunks, line_documents, numbered_documents
from tagger.data.reader import LINE_PIECE, LineFeed, iter_conll, numbered_pieces, undecodable_line

BOM = "\ufeff"  # a byte-order mark: no text where it opens the input (as the reader reads it), text elsewhere


def line_chunks(stream: BinaryIO, name: str, window: int, kind: str = "text") -> Iterator[tuple[bytes, int]]:
    """Chunks of whole input lines as bytes (cut as ``chunks.cut_chunks`` cuts, by their bytes), each with
    the character offset of its first line in the input, ending where documents end (raw text: a long line's
    pieces too, ``chunks.line_documents``)."""
    piece = LINE_PIECE if kind == "text" else None
    found = line_documents(_blank_marked(stream, name, piece), blank=itemgetter(1), number=itemgetter(2))
    starts = itemgetter(1)
    position, offset = 0, 0  # characters and bytes before the chunk
    for kept, _ in cut_chunks(found, window, window, lambda pair: len(pair[0][0]), starts, wait=False):
        data, chars = _checked([line for line, _ in kept], name, position == 0, offset)
        yield data, position
        position, offset = position + chars, offset + len(data)


def _blank_marked(stream: BinaryIO, name: str, piece: int | None) -> Iterator[tuple[bytes, bool, int, int]]:
    """Each input line with whether it is blank as ``reader.decoded_lines`` and ``windows`` read it (a
    byte-order mark opening the input is no text), its number and column (``reader.numbered_pieces``): the
    documents cut here are those of the workers. With ``piece``, a long line comes in pieces, as
    ``inputs.read_windows`` reads raw text (and a worker given some of them cuts them alike); a cut in a
    run with no space is said here, once per line."""
    blank = BLANK.encode("ascii")  # ASCII bytes, never part of a longer UTF-8 character
    first = True
    for item in numbered_pieces(LineFeed(stream, piece=piece), name):
        if item is not None:  # a file on disk never pauses
            number, raw, column = item
            text = raw.removeprefix(BOM.encode("utf-8")) if first else raw
            first = False
            yield raw, not text.strip(blank), number, column


def _checked(lines: list[tuple[bytes, bool, int, int]], name: str, first: bool, offset: int) -> tuple[bytes, int]:
    """The chunk's bytes and its length in characters as ``reader.decoded_lines`` counts them
    (a byte-order mark opening the input not counted); an error naming the line that is not UTF-8, and
    the byte's offset in the input (the chunk starts at byte ``offset``)."""
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
    """CoNLL sentences, parsed here (errors name their lines), ``window`` at a time as token lines (a token
    holds no space or tab), ending where documents end, and a blank line where a document starts inside
    a chunk (the worker's documents are then the reader's, and cut at the same ``DOC_MAX``: a blank line
    comes before each cut)."""
    sentences = iter_conll(stream, name, with_tags=False)
    pairs = numbered_documents(sentences, attrgetter("doc"))
    for found, _ in cut_chunks(pairs, window, window, lambda _: 0, starts=itemgetter(1), wait=False):
        lines = [("\n" if start and at else "") + " ".join(s.tokens) + "\n" for at, (s, start) in enumerate(found)]
        yield "".join(lines).encode("utf-8"), 0

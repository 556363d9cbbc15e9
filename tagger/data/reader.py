"""Read CoNLL column files (and plain text lines) into sentences.

The token is the first column and the tag the last (or ``tag_column``); a blank line ends a sentence,
``-DOCSTART-`` a document. Every problem is a ``DataError`` naming the file and line. Slow input is read as it
comes (``LineFeed``), saying where it paused; a line longer than ``LINE_PIECE`` bytes is read in pieces.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import select
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tagger.data.schemes import tag_problem
from tagger.errors import DataError, TaggerError, counted

_COLUMN_SEP = re.compile(r"[ \t]+")
_BLANK = " \t\r\n\f\v"
DOCSTART = "-DOCSTART-"
PAUSE = 0.05  # seconds without new input after which the input counts as paused
READ_SIZE = 1 << 16  # bytes per read of a file descriptor
LINE_PIECE = 100_000  # bytes of a raw text line read, tokenized and tagged at once at most (a cut line's pieces)
_CUT_AFTER = b" \t\f\v"  # a long line is cut after one of these where it can be (never inside a UTF-8 character)


@dataclass
class Sentence:
    """One sentence: tokens, tags (None when the input has none) and where it came from."""

    tokens: list[str]
    tags: list[str] | None = None
    line: int = 0  # 1-based line number of the first token
    doc: int = 0  # document number, increasing through the stream (``iter_conll``: -DOCSTART- starts one)
    lines: list[int] | None = None  # each token's line, where tokens do not sit on consecutive lines (CoNLL-U, JSON)

    def token_line(self, index: int) -> int:
        """The line of token ``index`` (for errors that name it)."""
        return self.lines[index] if self.lines is not None else self.line + index


class InputStopped(Exception):
    """Reading was stopped from another thread (``LineFeed.stop``) while it waited for input."""


class LineFeed:
    """The lines of a binary stream (line end included) as they arrive, and ``None`` once per pause (no new bytes
    for ``pause`` seconds). With ``piece``, a longer line comes as its pieces (``line_pieces``).

    A file descriptor is read with ``poll`` and ``os.read``, not through its buffer, so ``stop()`` from another
    thread ends a wait at once (a thread blocked in a buffered read of stdin aborts the interpreter at exit).
    Give a stream nothing has read from yet.
    """

    def __init__(self, stream: Iterable[bytes], pause: float = PAUSE, piece: int | None = None):
        self.stream = stream
        self.pause = pause
        self.piece = piece
        self._lock = threading.Lock()  # the wake-up pipe is closed by the reading thread, written by others
        self._wake: tuple[int, int] | None = None  # (read end, write end) while reading waits on the stream
        self._stopped = False

    def stop(self) -> None:
        """Make a read waiting for input (in any thread) give up with ``InputStopped``; safe at any time."""
        with self._lock:
            self._stopped = True
            if self._wake is not None:
                try:
                    os.write(self._wake[1], b"x")
                except BlockingIOError:  # the pipe is full of earlier wake-ups: the reader wakes anyway
                    pass

    def stopped(self) -> bool:
        """Whether ``stop()`` was called."""
        return self._stopped

    def __iter__(self) -> Iterator[bytes | None]:
        fd = _file_descriptor(self.stream)
        if fd is None:
            for line in self.stream:
                yield from self._pieces(line)
            return
        with self._lock:
            if self._stopped:
                raise InputStopped
            self._wake = os.pipe()
            os.set_blocking(self._wake[1], False)
        try:
            yield from self._lines(fd)
        finally:
            with self._lock:
                for end in self._wake:
                    os.close(end)
                self._wake = None

    def _lines(self, fd: int) -> Iterator[bytes | None]:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.register(self._wake[0], select.POLLIN)
        partial: list[bytes] = []  # a line not ended yet, in pieces
        paused = False  # a pause was said and no byte has come since: wait without a time limit
        while True:
            events = poller.poll(None if paused else self.pause * 1000)
            if not events:
                paused = True
                yield None
                continue
            if any(ready == self._wake[0] for ready, _ in events):
                raise InputStopped
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:  # stdin left non-blocking by another program: nothing there after all
                continue
            paused = False
            if not data:  # end of input
                if partial:
                    yield from self._pieces(b"".join(partial))
                return
            if b"\n" not in data:
                partial.append(data)
                if self.piece and sum(map(len, partial)) > self.piece + 3:
                    rest = yield from _leading_pieces(b"".join(partial), self.piece)
                    partial = [rest]
                continue
            lines = data.split(b"\n")
            if partial:
                lines[0] = b"".join(partial) + lines[0]
            rest = lines.pop()
            partial = [rest] if rest else []
            for line in lines:
                yield from self._pieces(line + b"\n")

    def _pieces(self, line: bytes) -> Iterable[bytes]:
        return line_pieces(line, self.piece) if self.piece and len(line) > self.piece else (line,)


def _piece_end(data: bytes, start: int, piece: int) -> int:
    """Where the piece from ``start`` ends: after the last blank in its ``piece`` bytes, else at the next character
    boundary. Only those bytes (and 3 more) decide it, so a reader starting at any piece cuts the same pieces."""
    limit = start + piece
    last = max(data.rfind(space, start, limit) for space in (b" ", b"\t", b"\f", b"\v"))
    if last >= 0:
        return last + 1
    while limit < len(data) and data[limit] & 0xC0 == 0x80:  # a UTF-8 continuation byte: inside a character
        limit += 1
    return limit


def _leading_pieces(data: bytes, piece: int, margin: int = 3) -> Iterator[bytes]:
    """Yield the pieces of ``data`` (a line's start) that are sure to be whole; returns the rest."""
    start = 0
    while len(data) - start > piece + margin:
        end = _piece_end(data, start, piece)
        yield data[start:end]
        start = end
    return data[start:]


def line_pieces(line: bytes, piece: int = LINE_PIECE) -> Iterator[bytes]:
    """A whole line (its end included, if any) in pieces of about ``piece`` bytes (``_piece_end``)."""
    rest = yield from _leading_pieces(line, piece, 0)
    if rest:
        yield rest


def _file_descriptor(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        return None


UTF8 = "utf-8"
ENCODINGS_HINT = "Python's codec names: utf-8, latin-1, cp1252, utf-16, shift_jis, ..."
STDIN = "<stdin>"


def text_encoding(encoding: str) -> str:
    """The codec name of a text encoding; a ``TaggerError`` for an unknown one or a codec such as ``base64``."""
    try:
        found = codecs.lookup(encoding).name
        "".encode(encoding)  # refuses a bytes-to-bytes or str-to-str codec
    except (LookupError, TypeError):
        raise TaggerError(f"unknown text encoding {encoding!r} ({ENCODINGS_HINT})") from None
    return found


def _undecodable(bad: int, name: str, line: int | None, offset: int, encoding: str, column: int | None) -> DataError:
    """The error for a byte that does not decode, at its offset (and column)."""
    shown = "UTF-8" if text_encoding(encoding) == UTF8 else encoding
    where = f"at column {column}, byte offset {offset}" if column is not None else f"at byte offset {offset}"
    return DataError(
        f"bytes that are not {shown} (byte 0x{bad:02x} {where}); --encoding reads another encoding", name, line
    )


def undecodable_line(raw: bytes, name: str, number: int, offset: int, column: int = 0) -> DataError | None:
    """The error for the UTF-8 line (or piece from byte ``column``) ``raw`` at byte ``offset``; None if it decodes."""
    try:
        raw.decode(UTF8)
    except UnicodeDecodeError as err:
        return _undecodable(raw[err.start], name, number, offset + err.start, UTF8, column + err.start + 1)
    return None


def decoded_lines(
    stream: Iterable[bytes | None], name: str, encoding: str = UTF8, warn: bool = True
) -> Iterator[tuple[int, str, int] | None]:
    """(line number, text without line end, length with line end) for each line or piece, ``None`` for each pause;
    a byte-order mark is dropped. Another ``encoding`` than UTF-8 is decoded as a stream (its lines are not cut)."""
    if text_encoding(encoding) not in (UTF8, "utf-8-sig"):
        yield from _first_line_unmarked(_decoded_any(stream, name, encoding))
        return
    first, offset = True, 0
    for item in numbered_pieces(stream, name, warn):
        if item is None:
            yield None
            continue
        number, raw, column = item
        try:
            text = raw.decode(UTF8)
        except UnicodeDecodeError:
            raise undecodable_line(raw, name, number, offset, column) from None
        offset += len(raw)
        if first and text.startswith("\ufeff"):
            text = text[1:]
        first = False
        length = len(text)
        yield number, text.rstrip("\r\n"), length


def _first_line_unmarked(lines: Iterator[str | None]) -> Iterator[tuple[int, str, int] | None]:
    """``decoded_lines``' entries for decoded lines."""
    number = 0
    for text in lines:
        if text is None:
            yield None
            continue
        number += 1
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield number, text.rstrip("\r\n"), len(text)


def _decoded_any(stream: Iterable[bytes | None], name: str, encoding: str) -> Iterator[str | None]:
    """The lines of a stream of bytes in ``encoding``, decoded as they come; None for each pause."""
    decoder = codecs.getincrementaldecoder(encoding)()
    at = {"lines": 0, "offset": 0}  # lines given; bytes given to the decoder
    pending = ""  # text of a line not ended yet

    def decode(raw: bytes, final: bool) -> str:
        state = decoder.getstate()
        try:
            text = decoder.decode(raw, final=final)
        except UnicodeDecodeError as err:
            raise _stream_error(err, state, raw, encoding, name, at["lines"] + 1, at["offset"]) from None
        at["offset"] += len(raw)
        return text

    for raw in stream:
        if raw is None:
            yield None
            continue
        *lines, pending = (pending + decode(raw, False)).split("\n")
        for line in lines:
            at["lines"] += 1
            yield line + "\n"
    pending += decode(b"", True)  # bytes held at the end: a character cut short is an error
    if pending:
        yield pending


def _stream_error(
    err: UnicodeDecodeError, state: tuple, raw: bytes, encoding: str, name: str, line: int, offset: int
) -> DataError:
    """The error for bytes of ``raw`` (at byte ``offset``) that do not decode from the decoder's ``state``."""
    held = len(state[0])
    before = max(err.start - held, 0)
    decoder = codecs.getincrementaldecoder(encoding)()
    decoder.setstate(state)
    try:  # the line: the line feeds of the text before the bad byte
        line += decoder.decode(raw[:before]).count("\n")
    except UnicodeDecodeError:
        pass
    return _undecodable(err.object[err.start], name, line, offset - held + err.start, encoding, None)


def numbered_pieces(
    stream: Iterable[bytes | None], name: str, warn: bool = True
) -> Iterator[tuple[int, bytes, int] | None]:
    """(line number, bytes, byte column) for each line or piece, ``None`` for each pause; ``warn``: say once a line
    cut inside a run with no space."""
    number = warned = column = 0
    last = b"\n"  # the previous item: a line's end, or a piece of a line that goes on
    for raw in stream:
        if raw is None:
            yield None
            continue
        if last.endswith(b"\n"):
            number, column = number + 1, 0
        else:
            column += len(last)
            if warn and warned != number and last[-1:] not in _CUT_AFTER:
                warn_cut(name, number)
                warned = number
        last = raw
        yield number, raw, column


def warn_cut(name: str, number: int) -> None:
    """The one warning for a line with a run of ``LINE_PIECE`` bytes and no space in it."""
    sys.stderr.write(
        f"warning: {name}:{number}: a run of more than {LINE_PIECE:,} bytes with no space or tab: "
        f"cut every {LINE_PIECE:,} bytes (a token that long is split)\n"
    )
    sys.stderr.flush()


def iter_conll(
    stream: Iterable[bytes | None],
    name: str,
    tag_column: int = -1,
    with_tags: bool = True,
    check_tags: bool = True,
    encoding: str = UTF8,
) -> Iterator[Sentence | None]:
    """The sentences of a CoNLL stream, ``None`` for each pause. Token lines must have the columns of the file's
    first (without tags: of their sentence's first). Before the first -DOCSTART-, each sentence is a document.
    ``check_tags=False`` keeps malformed tags instead of raising."""
    tokens: list[str] = []
    tags: list[str] = []
    first = 0  # the sentence's first line's number
    columns = file_first = 0  # the columns token lines have, and the line that set them
    doc = -1  # the current document's number; -1 before the first sentence or -DOCSTART-
    marked = False  # a -DOCSTART- has been seen: sentences share the current document
    for line in decoded_lines(stream, name, encoding):
        if line is None:
            yield None
            continue
        number, text, _ = line
        stripped = text.strip(_BLANK)
        docstart = bool(stripped) and _COLUMN_SEP.split(stripped, 1)[0] == DOCSTART
        if not stripped or docstart:  # the sentence ends
            if tokens:
                yield Sentence(tokens, tags if with_tags else None, first, doc)
                tokens, tags = [], []
            if docstart:
                doc, marked = doc + 1, True
            continue
        fields = _COLUMN_SEP.split(stripped)
        if not columns or not (tokens or with_tags):
            columns, file_first = len(fields), number
        if len(fields) != columns and (len(fields) > 1 or not with_tags):  # a lone token: _tag says what is missing
            raise _columns_differ(len(fields), columns, first if tokens else file_first, bool(tokens), name, number)
        if not tokens:  # the sentence starts
            first = number
            if not marked:
                doc += 1
        tokens.append(fields[0])
        if with_tags:
            tags.append(_tag(fields, tag_column, check_tags, name, number))
    if tokens:
        yield Sentence(tokens, tags if with_tags else None, first, doc)


def _columns_differ(found: int, columns: int, first: int, inside: bool, name: str, number: int) -> DataError:
    """A token line with other columns than its sentence's (``inside`` one) or the file's, set at line ``first``."""
    sentence = f"this sentence has {columns} (line {first} starts it)"
    where = sentence if inside else f"the file has {columns} (line {first} sets them for every sentence)"
    return DataError(f"{counted(found, 'column')} where {where}", name, number)


def _tag(fields: list[str], tag_column: int, check_tags: bool, name: str, number: int) -> str:
    """The tag in a token line's ``fields``, or a ``DataError``."""
    if len(fields) < 2:
        raise DataError("a token with no tag column (expected 'token ... tag')", name, number)
    try:
        tag = fields[tag_column]
    except IndexError:
        raise DataError(
            f"no column {tag_column} for the tag: the line has {len(fields)} columns", name, number
        ) from None
    problem = tag_problem(tag) if check_tags else None
    if problem:
        raise DataError(problem, name, number)
    return tag


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


def check_inputs(paths: Iterable[str | Path]) -> None:
    """Each input file (``-``: stdin) exists and is no folder, checked before any work is done."""
    for path in paths:
        if str(path) == "-":
            continue
        if not os.path.exists(path):
            raise DataError("no such file", str(path))
        if os.path.isdir(path):
            raise DataError("is a directory, not a file", str(path))


def read_conll(
    path: str | Path, tag_column: int = -1, with_tags: bool = True, encoding: str = UTF8, check_tags: bool = True
) -> list[Sentence]:
    """All sentences of a CoNLL file (stdin for ``-``); an error if it holds none."""
    text_encoding(encoding)  # an unknown name is refused before the file is opened
    if str(path) == "-":
        sentences = list(iter_conll(sys.stdin.buffer, STDIN, tag_column, with_tags, check_tags, encoding))
        path = STDIN
    else:
        with open_binary(path) as stream:
            sentences = list(iter_conll(stream, str(path), tag_column, with_tags, check_tags, encoding))
    if not sentences:
        raise DataError("no sentences (the file is empty, or holds only blank and -DOCSTART- lines)", str(path))
    return sentences


def split_token_line(text: str) -> list[str]:
    """The tokens of a line of pre-tokenized input (separated by spaces or tabs); none for a blank line."""
    stripped = text.strip(_BLANK)
    return _COLUMN_SEP.split(stripped) if stripped else []

"""Reading CoNLL column files (separators, sentence breaks, encodings, errors, schemes) and input as it arrives;
a write and read round trip and any bytes (hypothesis)."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger.data.corpus import load_tagged
from tagger.data.inputs import read_sentences
from tagger.data.reader import DOCSTART, InputStopped, LineFeed, Sentence, decoded_lines, iter_conll, read_conll
from tagger.data.schemes import BIOES, IOB1, IOB2, detect_scheme
from tagger.data.types import TaggedSentence
from tagger.errors import DataError
from tagger.tagging.writer import format_conll
from tests.data.helpers import lines, tags
from tests.properties import FAST


def write(tmp_path: Path, content: str | bytes, name: str = "data.txt") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def read(tmp_path: Path, content: str | bytes, **kwargs) -> list[tuple[list[str], list[str] | None, int]]:
    return [(s.tokens, s.tags, s.line) for s in read_conll(write(tmp_path, content), **kwargs)]


def data_error(tmp_path: Path, content: str | bytes, **kwargs) -> tuple[DataError, Path]:
    path = write(tmp_path, content)
    with pytest.raises(DataError) as info:
        load_tagged(path, **kwargs)
    return info.value, path


# Columns


@pytest.mark.parametrize("sep", [" ", "\t", "  ", " \t ", "\t\t"])
def test_spaces_and_tabs_both_separate_columns(tmp_path, sep):
    content = f"John{sep}NNP{sep}B-PER\nlives{sep}VBZ{sep}O\n"
    assert read(tmp_path, content) == [(["John", "lives"], ["B-PER", "O"], 1)]


def test_token_is_first_column_and_tag_last(tmp_path):
    content = "John NNP B-NP B-PER\nParis NNP I-NP B-LOC\n"
    assert read(tmp_path, content) == [(["John", "Paris"], ["B-PER", "B-LOC"], 1)]


@pytest.mark.parametrize("column", [1, -2])
def test_tag_column_picks_another_column(tmp_path, column):
    content = "John B-PER NNP\nParis B-LOC NNP\n"
    sentences = read_conll(write(tmp_path, content), tag_column=column)
    assert sentences[0].tags == ["B-PER", "B-LOC"]
    assert sentences[0].tokens == ["John", "Paris"]


def test_tag_column_beyond_the_line_is_an_error_with_line(tmp_path):
    path = write(tmp_path, "John B-PER\n")
    with pytest.raises(DataError) as info:
        read_conll(path, tag_column=5)
    assert str(info.value).startswith(f"{path}:1:")


def test_trailing_spaces_and_tabs_are_ignored(tmp_path):
    assert read(tmp_path, "John B-PER \t\nlives O  \n") == [(["John", "lives"], ["B-PER", "O"], 1)]


# Sentence breaks


def test_blank_lines_end_sentences(tmp_path):
    content = "John B-PER\nlives O\n\nParis B-LOC\n\n\n\nMary B-PER\n"
    assert read(tmp_path, content) == [
        (["John", "lives"], ["B-PER", "O"], 1),
        (["Paris"], ["B-LOC"], 4),
        (["Mary"], ["B-PER"], 8),
    ]


@pytest.mark.parametrize("blank", [" ", "\t", "  \t  ", "\t \r"])
def test_whitespace_only_lines_end_sentences(tmp_path, blank):
    content = f"John B-PER\n{blank}\nParis B-LOC\n"
    assert read(tmp_path, content) == [(["John"], ["B-PER"], 1), (["Paris"], ["B-LOC"], 3)]


def test_docstart_followed_by_blank_line(tmp_path):
    content = "-DOCSTART- -X- -X- O\n\nJohn B-PER\n\n-DOCSTART- -X- -X- O\n\nParis B-LOC\n"
    assert read(tmp_path, content) == [(["John"], ["B-PER"], 3), (["Paris"], ["B-LOC"], 7)]


def test_docstart_without_blank_line_still_divides(tmp_path):
    content = "-DOCSTART- O\nJohn B-PER\nlives O\n-DOCSTART- O\nParis B-LOC\n"
    assert read(tmp_path, content) == [(["John", "lives"], ["B-PER", "O"], 2), (["Paris"], ["B-LOC"], 5)]


def test_docstart_is_never_a_token(tmp_path):
    content = "-DOCSTART-\nJohn B-PER\n"
    assert read(tmp_path, content) == [(["John"], ["B-PER"], 2)]


def docs(tmp_path: Path, content: str) -> list[int]:
    return [s.doc for s in read_conll(write(tmp_path, content))]


def test_docstart_starts_a_document(tmp_path):
    content = "-DOCSTART- O\n\nJohn B-PER\n\nlives O\n\n-DOCSTART- O\n\nParis B-LOC\n\nis O\n"
    assert docs(tmp_path, content) == [0, 0, 1, 1]


def test_without_docstart_every_sentence_is_its_own_document(tmp_path):
    assert docs(tmp_path, "John B-PER\n\nlives O\n\nParis B-LOC\n") == [0, 1, 2]


def test_sentences_before_the_first_docstart_are_documents_of_their_own(tmp_path):
    content = "John B-PER\n\nlives O\n-DOCSTART- O\nParis B-LOC\n\nis O\n-DOCSTART- O\nRome B-LOC\n"
    assert docs(tmp_path, content) == [0, 1, 2, 2, 3]


def test_document_numbers_increase_over_empty_documents(tmp_path):
    content = "-DOCSTART- O\n\n-DOCSTART- O\n\nJohn B-PER\n\n-DOCSTART- O\nParis B-LOC\n"
    found = docs(tmp_path, content)
    assert found[0] < found[1]


def test_last_sentence_without_final_newline(tmp_path):
    assert read(tmp_path, "John B-PER\nlives O") == [(["John", "lives"], ["B-PER", "O"], 1)]


# Encodings


def test_utf8_bom_at_start_is_dropped(tmp_path):
    content = "\ufeffJohn B-PER\nlives O\n".encode()
    assert read(tmp_path, content) == [(["John", "lives"], ["B-PER", "O"], 1)]


def test_utf8_bom_before_docstart(tmp_path):
    content = "\ufeff-DOCSTART- -X- O\n\nJohn B-PER\n".encode()
    assert read(tmp_path, content) == [(["John"], ["B-PER"], 3)]


def test_crlf_line_ends(tmp_path):
    content = b"John B-PER\r\nSmith I-PER\r\n\r\nParis B-LOC\r\n"
    assert read(tmp_path, content) == [(["John", "Smith"], ["B-PER", "I-PER"], 1), (["Paris"], ["B-LOC"], 4)]


def test_zero_width_characters_inside_the_file_are_kept_in_tokens(tmp_path):
    content = "John B-PER\nPa\u200bris B-LOC\n\n\ufeffMary B-PER\nx\u200d\u2060y O\n"
    assert read(tmp_path, content) == [
        (["John", "Pa\u200bris"], ["B-PER", "B-LOC"], 1),
        (["\ufeffMary", "x\u200d\u2060y"], ["B-PER", "O"], 4),
    ]


def test_non_ascii_tokens(tmp_path):
    assert read(tmp_path, "Zürich B-LOC\n東京 B-LOC\n") == [(["Zürich", "東京"], ["B-LOC", "B-LOC"], 1)]


# Errors


def test_ragged_column_counts(tmp_path):
    error, path = data_error(tmp_path, "John NNP B-PER\nlives VBZ O\nin O\n")
    assert str(error).startswith(f"{path}:3:")
    assert "columns" in str(error)


def test_a_whole_sentence_without_the_last_column_is_an_error_naming_its_line(tmp_path):
    """The column count is the file's: a sentence of 3 columns in a 4-column file would train on the chunk tags."""
    content = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP\nBlackburn NNP I-NP\n"
    error, path = data_error(tmp_path, content)
    assert str(error) == f"{path}:4: 3 columns where the file has 4 (line 1 sets them for every sentence)"
    error, path = data_error(tmp_path, "-DOCSTART- -X- -X- O\n\nEU B-ORG\n\nPeter NNP B-PER\n")
    assert str(error) == f"{path}:5: 3 columns where the file has 2 (line 3 sets them for every sentence)"


def test_a_line_of_one_column_is_said_in_the_singular(tmp_path):
    path = write(tmp_path, "John B-PER\nlives O\nin\n")
    with pytest.raises(DataError) as info:
        read_conll(path, with_tags=False)
    assert str(info.value) == f"{path}:3: 1 column where this sentence has 2 (line 1 starts it)"
    error, path = data_error(tmp_path, "John B-PER\n\nlives\n")  # with tags: what is missing is the tag
    assert str(error) == f"{path}:3: a token with no tag column (expected 'token ... tag')"


def test_a_token_without_tag_column(tmp_path):
    error, path = data_error(tmp_path, "John\nlives\n")
    assert str(error).startswith(f"{path}:1:")


@pytest.mark.parametrize("tag", ["0", "PER", "B_PER", "B-", "b-PER", "X-PER", "I-", "-PER", "o"])
def test_tags_that_are_not_tags(tmp_path, tag):
    error, path = data_error(tmp_path, f"John B-PER\nSmith O\n\nParis {tag}\n")
    assert str(error).startswith(f"{path}:4:")
    assert repr(tag) in str(error)


@pytest.mark.parametrize(
    "content", ["", "\n\n", " \t\n\n", "-DOCSTART- -X- O\n", "-DOCSTART- -X- O\n\n-DOCSTART- O\n\n"]
)
def test_no_sentences_is_an_error_naming_the_file(tmp_path, content):
    error, path = data_error(tmp_path, content)
    assert str(error).startswith(f"{path}")
    assert "no sentences" in str(error)


def test_non_utf8_bytes(tmp_path):
    error, path = data_error(tmp_path, "John B-PER\n\nZ\xfcrich B-LOC\n".encode("latin-1"))
    assert str(error).startswith(f"{path}:3:")
    assert "UTF-8" in str(error)
    assert "0xfc" in str(error)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(DataError) as info:
        load_tagged(path)
    assert str(info.value).startswith(f"{path}:")


def test_error_str_is_one_line(tmp_path):
    error, _ = data_error(tmp_path, "John NNP B-PER\nlives O\n")
    assert "\n" not in str(error)


# Schemes


IOB1_TEXT = "John I-PER\nSmith I-PER\nMary B-PER\nin O\nParis I-LOC\n\nBerlin I-LOC\n"
IOB2_TEXT = "John B-PER\nSmith I-PER\nMary B-PER\nin O\nParis B-LOC\n\nBerlin B-LOC\n"
BIOES_TEXT = "John B-PER\nSmith E-PER\nMary S-PER\nin O\nParis S-LOC\n\nBerlin S-LOC\n"


@pytest.mark.parametrize("content, scheme", [(IOB1_TEXT, IOB1), (IOB2_TEXT, IOB2), (BIOES_TEXT, BIOES)])
def test_scheme_is_detected(tmp_path, content, scheme):
    data = load_tagged(write(tmp_path, content))
    assert data.scheme == scheme
    assert data.warnings == []
    assert data.types() == {"PER", "LOC"}


def test_all_schemes_read_to_the_same_entities(tmp_path):
    converted = {
        scheme: load_tagged(write(tmp_path, content, f"{scheme}.txt")).tags_in(IOB2)
        for scheme, content in ((IOB1, IOB1_TEXT), (IOB2, IOB2_TEXT), (BIOES, BIOES_TEXT))
    }
    assert converted[IOB1] == converted[IOB2] == converted[BIOES]
    assert converted[IOB2] == [["B-PER", "I-PER", "B-PER", "O", "B-LOC"], ["B-LOC"]]


def test_detect_scheme_directly():
    assert detect_scheme([["I-PER", "I-PER", "O", "I-LOC"]]) == IOB1
    assert detect_scheme([["I-PER", "B-PER"]]) == IOB1
    assert detect_scheme([["B-PER", "I-PER", "O", "B-LOC"]]) == IOB2
    assert detect_scheme([["B-PER", "B-PER"]]) == IOB2
    assert detect_scheme([["B-PER", "E-PER"]]) == BIOES
    assert detect_scheme([["O"], ["S-LOC"]]) == BIOES
    assert detect_scheme([["O", "O"]]) == IOB2


def test_iob2_with_a_stray_i_start_stays_iob2_and_warns_with_line(tmp_path):
    content = "John B-PER\nlives O\n\nin O\nParis I-LOC\n\nMary B-PER\n\nBob B-PER\n"
    path = write(tmp_path, content)
    data = load_tagged(path)
    assert data.scheme == IOB2
    assert len(data.warnings) == 1
    assert data.warnings[0].startswith(f"{path}:5:")
    assert data.tags_in(IOB2)[1] == ["O", "B-LOC"]


@pytest.mark.parametrize(
    "scheme, content, line",
    [
        (IOB2, "John B-PER\nSmith I-PER\n\nParis S-LOC\n", 4),
        (IOB1, "John I-PER\nSmith E-PER\n", 2),
        (IOB2, "John B-PER\n\nin O\nBerlin E-LOC\n", 4),
    ],
)
def test_given_scheme_with_tags_of_another_scheme_is_an_error_with_line(tmp_path, scheme, content, line):
    error, path = data_error(tmp_path, content, scheme=scheme)
    assert str(error).startswith(f"{path}:{line}:")
    assert scheme.upper() in str(error)


def test_given_scheme_is_used_instead_of_detected(tmp_path):
    # Only I- starts: detection says IOB1, but the user says IOB2 (read as conlleval reads it).
    path = write(tmp_path, "John I-PER\nSmith I-PER\n")
    assert load_tagged(path).scheme == IOB1
    data = load_tagged(path, scheme=IOB2)
    assert data.scheme == IOB2
    assert data.warnings and data.warnings[0].startswith(f"{path}:1:")


def test_unknown_scheme_is_an_error(tmp_path):
    with pytest.raises(DataError, match="unknown tag scheme"):
        load_tagged(write(tmp_path, IOB2_TEXT), scheme="bilou")


# Input as it arrives: LineFeed


@pytest.fixture
def pipe():
    """A pipe's read end as a binary stream, and its write end (closed at the end if still open)."""
    read_end, write_end = os.pipe()
    stream = os.fdopen(read_end, "rb")
    ends = {"write": write_end}
    yield stream, ends
    stream.close()
    if ends["write"] is not None:
        os.close(ends["write"])


def close_write(ends: dict) -> None:
    os.close(ends["write"])
    ends["write"] = None


def test_line_feed_gives_each_line_as_it_arrives_and_says_where_the_input_paused(pipe):
    stream, ends = pipe
    lines = iter(LineFeed(stream))
    os.write(ends["write"], b"one\ntw")
    assert next(lines) == b"one\n"
    assert next(lines) is None  # "tw" is not a line yet, and nothing more came
    os.write(ends["write"], b"o\nthree\r\n\n")
    assert [next(lines) for _ in range(3)] == [b"two\n", b"three\r\n", b"\n"]
    assert next(lines) is None
    # One pause is said once: the next item is the next line, however long it takes.
    threading.Timer(0.2, os.write, (ends["write"], b"four\n")).start()
    assert next(lines) == b"four\n"
    os.write(ends["write"], b"no line end")
    close_write(ends)
    assert list(lines) == [b"no line end"]


def test_line_feed_stop_ends_a_wait_for_input_in_another_thread(pipe):
    stream, ends = pipe
    feed = LineFeed(stream)
    got: list = []

    def read() -> None:
        try:
            got.extend(feed)
        except InputStopped:
            got.append("stopped")

    reader = threading.Thread(target=read)
    reader.start()
    os.write(ends["write"], b"a line\n")
    time.sleep(0.3)  # the reader has said the pause and waits for more, with no time limit
    feed.stop()
    reader.join(timeout=1)
    assert not reader.is_alive()
    assert got == [b"a line\n", None, "stopped"]
    feed.stop()  # after the reading ended: nothing to wake, no error


def test_line_feed_stopped_before_it_reads(pipe):
    feed = LineFeed(pipe[0])
    feed.stop()
    with pytest.raises(InputStopped):
        next(iter(feed))


@pytest.mark.parametrize(
    "data",
    [b"", b"a\nb\n", b"a\r\nb", b"\n\n\n", b"x\ry\n", ("z" * 100_000 + "\n").encode() * 3 + b"end", b"\xff\xfe\n"],
    ids=["empty", "lines", "crlf-no-end", "blank", "lone-cr", "long", "not-utf8"],
)
def test_line_feed_reads_a_file_into_the_lines_of_the_stream(tmp_path, data):
    """Read through the file descriptor (a long line over many reads), the lines are the lines of
    the buffered stream, byte for byte; a file never pauses."""
    path = write(tmp_path, data)
    with path.open("rb") as stream:
        got = list(LineFeed(stream))
    assert got == list(io.BytesIO(data))


def test_line_feed_of_a_stream_in_memory_is_the_stream():
    assert list(LineFeed(io.BytesIO(b"a\nb"))) == [b"a\n", b"b"]


def test_pauses_pass_through_decoding_and_conll_sentences():
    """A pause keeps line numbers and does not end a sentence (only a blank line does)."""
    feed = [None, b"Mary O\n", None, b"lives O\n", b"\n", None]
    assert list(iter_conll(feed, "x", with_tags=False)) == [None, None, Sentence(["Mary", "lives"], None, 1), None]
    with pytest.raises(DataError, match=r"^x:3: bytes that are not UTF-8"):
        list(decoded_lines([b"a\n", None, b"b\n", None, b"\xff\n"], "x"))


def test_line_feed_reads_again_when_a_non_blocking_read_finds_nothing(pipe, monkeypatch):
    """Stdin can be left non-blocking by another program sharing it, which may also take the bytes
    that were ready: the read finds nothing (EAGAIN), and the feed waits again."""
    stream, ends = pipe
    real_read, calls = os.read, []

    def read_once_too_late(fd: int, size: int) -> bytes:
        calls.append(fd)
        if len(calls) == 1:
            raise BlockingIOError
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", read_once_too_late)
    os.write(ends["write"], b"line\n")
    assert next(iter(LineFeed(stream))) == b"line\n"
    assert len(calls) == 2


# Characters a CoNLL token cannot hold: the column and line separators, and what the reader strips.
NOT_IN_TOKENS = " \t\r\n\f\v\ufeff"


tokens = st.text(
    alphabet=st.characters(blacklist_characters=NOT_IN_TOKENS, blacklist_categories=("Cs",)), min_size=1, max_size=8
).filter(lambda t: t != DOCSTART)


# Reading and writing CoNLL


@FAST
@given(
    sentences=st.lists(st.lists(st.tuples(tokens, tags), min_size=1, max_size=6), min_size=1, max_size=5),
    crlf=st.booleans(),
    bom=st.booleans(),
    separator=st.sampled_from(["\t", " ", " \t "]),
)
def test_conll_read_write_round_trip(sentences, crlf, bom, separator):
    text = "".join(format_conll(TaggedSentence([t for t, _ in s], [g for _, g in s])) for s in sentences)
    text = text.replace("\t", separator)
    if crlf:
        text = text.replace("\n", "\r\n")
    data = ("\ufeff" if bom else "") + text
    read = list(iter_conll(io.BytesIO(data.encode("utf-8")), "x"))
    assert [r.tokens for r in read] == [[t for t, _ in s] for s in sentences]
    assert [r.tags for r in read] == [[g for _, g in s] for s in sentences]
    # each sentence starts where the writer put it: one line a token, one blank line after
    starts = [1]
    for s in sentences[:-1]:
        starts.append(starts[-1] + len(s) + 1)
    assert [r.line for r in read] == starts


@FAST
@given(body=st.one_of(st.binary(max_size=200), lines.map(b"\n".join), lines.map(b"\r\n".join)))
def test_reader_raises_only_data_errors_on_any_bytes(body):
    for read in (
        lambda s: list(iter_conll(s, "x")),
        lambda s: list(iter_conll(s, "x", with_tags=False)),
        lambda s: list(iter_conll(s, "x", tag_column=1)),
        lambda s: list(read_sentences(s, "x", "tokens")),
        lambda s: list(read_sentences(s, "x")),
    ):
        try:
            read(io.BytesIO(body))
        except DataError as err:
            assert str(err).startswith("x:")
            assert "\n" not in str(err)


# --encoding (issue 20)

ENCODED_TEXT = "José lives in Zürich .\r\n\nŁódź Ψ 東京 .\nlast line without an end"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "shift_jis", "utf-8-sig"])
@given(cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6))
@FAST
def test_any_encoding_reads_the_lines_utf8_gives_wherever_its_bytes_are_cut(encoding, cuts):
    text = ENCODED_TEXT
    if encoding in ("latin-1", "cp1252"):
        text = text.replace("Łódź Ψ 東京", "Ñandú")
    elif encoding == "shift_jis":
        text = text.replace("José", "Jose").replace("Zürich", "Zurich").replace("Łódź Ψ", "Ψ")
    data = text.encode(encoding)
    pieces, at = [], 0
    for cut in sorted({min(c, len(data)) for c in cuts}):  # pieces of bytes that end anywhere, as a pipe gives them
        pieces.append(data[at:cut])
        at = cut
    pieces = [p for p in [*pieces, data[at:]] if p]
    if encoding == "utf-8-sig":  # read as UTF-8, a line at a time, as LineFeed gives it
        pieces = io.BytesIO(data)
    expected = list(decoded_lines(io.BytesIO(text.encode("utf-8")), "x"))
    assert list(decoded_lines(pieces, "x", encoding)) == expected
    assert list(decoded_lines(io.BytesIO(data), "x", encoding)) == expected  # as lines


@pytest.mark.parametrize(
    ("data", "encoding", "message"),
    [
        (b"ok\nJos\xe9\n", "utf-8", "x:2: bytes that are not UTF-8 (byte 0xe9 at column 4, byte offset 6)"),
        (b"\xff", "utf-8", "x:1: bytes that are not UTF-8 (byte 0xff at column 1, byte offset 0)"),
        (b"ok\n\xc3", "utf-8", "x:2: bytes that are not UTF-8 (byte 0xc3 at column 1, byte offset 3)"),  # cut short
        ("a\nb\n".encode("utf-16-le") + b"\x00\xdc", "utf-16-le", "x:3: bytes that are not utf-16-le (byte 0x00 at "),
        ("a\nb\n".encode("utf-16-le") + b"\x00\xdc", "utf-16-le", "at byte offset 8)"),
        ("ab\n".encode("utf-16") + b"c", "utf-16", "x:2: bytes that are not utf-16 (byte 0x63 at byte offset 8)"),
        (b"a\n\x82\x00", "shift_jis", "x:2: bytes that are not shift_jis (byte 0x82 at byte offset 2)"),
    ],
)
def test_a_byte_that_does_not_decode_names_its_line_and_byte_offset(data, encoding, message):
    with pytest.raises(DataError) as info:
        list(decoded_lines(io.BytesIO(data), "x", encoding))
    assert message in str(info.value)
    assert str(info.value).endswith("; --encoding reads another encoding")


@pytest.mark.parametrize("name", ["nope", "base64", "rot13", ""])
def test_an_unknown_or_non_text_encoding_is_refused(tmp_path, name):
    from tagger.errors import TaggerError

    with pytest.raises(TaggerError, match="unknown text encoding"):
        read_conll(write(tmp_path, "Mary B-PER\n"), encoding=name)


def test_a_conll_file_in_utf16_reads_as_its_utf8_twin(tmp_path):
    text = "\ufeffJosé B-PER\r\nlives O\n\n-DOCSTART- O\n\nZürich B-LOC\n"
    twin = read_conll(write(tmp_path, text, "utf8.txt"))
    assert read_conll(write(tmp_path, text.encode("utf-16"), "utf16.txt"), encoding="utf-16") == twin
    assert twin[0].tokens == ["José", "lives"] and twin[1].line == 6


def test_a_dash_reads_stdin(monkeypatch):
    class Stdin:
        buffer = io.BytesIO("Mary B-PER\nlives O\n".encode("latin-1"))

    monkeypatch.setattr("sys.stdin", Stdin)
    (sentence,) = read_conll("-", encoding="latin-1")
    assert sentence.tokens == ["Mary", "lives"]
    Stdin.buffer = io.BytesIO(b"\n")
    with pytest.raises(DataError, match="^<stdin>: no sentences"):
        read_conll("-")


# Long lines of raw text: read in pieces (LINE_PIECE), never whole


def _pieces_read(data: bytes, piece: int, read_size: int) -> list[bytes]:
    """The items a LineFeed gives for ``data`` through a pipe, ``read_size`` bytes per read."""
    from tagger.data import reader

    read, write = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write, data), os.close(write)))
    writer.start()
    with pytest.MonkeyPatch.context() as patch, os.fdopen(read, "rb") as stream:
        patch.setattr(reader, "READ_SIZE", read_size)
        items = [item for item in LineFeed(stream, piece=piece) if item is not None]
    writer.join()
    return items


long_lines = st.lists(
    st.lists(st.sampled_from(["ab", " ", "\t", "é", "€", "😀", "x" * 7, "  ", "Paris.", "\r"]), max_size=30).map(
        lambda parts: "".join(parts)
    ),
    min_size=1,
    max_size=4,
).map(lambda found: "\n".join(found).encode("utf-8"))


@FAST
@given(data=long_lines, piece=st.integers(4, 12), read_size=st.integers(1, 9))
def test_long_lines_come_in_pieces_that_any_reader_cuts_alike(data, piece, read_size):
    """Each line's pieces join back to it, hold whole characters, are at most ``piece`` bytes (3 more
    where a character crosses a cut in a run with no space) and end after a space or tab where their
    bytes have one; read through a pipe or from memory, or from any piece on (a worker of --jobs given
    some of a line's pieces), the same pieces come."""
    from tagger.data.reader import line_pieces

    items = _pieces_read(data, piece, read_size)
    assert items == list(LineFeed(io.BytesIO(data), piece=piece))
    assert b"".join(items) == data
    line: list[bytes] = []
    for item in items:
        item.decode("utf-8")
        assert 0 < len(item) <= piece + 3
        line.append(item)
        if item.endswith(b"\n") or item is items[-1]:
            for at, cut in enumerate(line[:-1]):
                assert cut[-1:] in b" \t\f\v" or not any(space in cut for space in b" \t\f\v"), (cut, line)
                assert list(line_pieces(b"".join(line[at:]), piece)) == line[at:]  # from any piece on
                assert list(line_pieces(b"".join(line[at : at + 1]), piece)) == [cut]  # a chunk ending at a cut
            line = []


def test_a_long_line_is_read_a_piece_at_a_time():
    """A line of 2 MB through a pipe: no item bigger than a piece (and the bytes of one read) is held."""
    data = b"word " * 400_000 + b"\n"
    items = _pieces_read(data, 1000, 1 << 16)
    assert b"".join(items) == data and max(map(len, items)) <= 1000 and len(items) >= 2000


def test_pieces_of_a_line_share_its_number_and_a_cut_with_no_space_is_said_once(capsys):
    items = list(LineFeed(io.BytesIO("\ufeffab cd ef\nx\n".encode() + b"y" * 25 + b" z\nok\n"), piece=8))
    found = list(decoded_lines(items, "in.txt"))  # the byte-order mark: 3 of the first piece's 8 bytes, no text
    assert [(number, text) for number, text, _ in found] == [
        (1, "ab "), (1, "cd ef"), (2, "x"), (3, "yyyyyyyy"), (3, "yyyyyyyy"), (3, "yyyyyyyy"), (3, "y z"), (4, "ok")
    ]  # fmt: skip
    assert sum(length for _, _, length in found) == len("ab cd ef\nx\n") + 25 + len(" z\nok\n")
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and warning.startswith("warning: in.txt:3: a run of more than ")
    assert "with no space or tab: cut every" in warning
    list(decoded_lines(items, "in.txt", warn=False))
    assert capsys.readouterr().err == ""


def test_bytes_that_are_not_utf8_in_a_later_piece_name_their_line_and_column():
    items = list(LineFeed(io.BytesIO(b"ok\n" + b"abc " * 5 + b"\xff\n"), piece=8))
    with pytest.raises(DataError, match="0xff at column 21") as caught:
        list(decoded_lines(items, "in.txt"))
    assert str(caught.value).startswith("in.txt:2: ")

"""Reading CoNLL column files: separators, sentence breaks, encodings, errors, schemes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger.corpus import load_tagged
from tagger.errors import DataError
from tagger.reader import read_conll
from tagger.schemes import BIOES, IOB1, IOB2, detect_scheme


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

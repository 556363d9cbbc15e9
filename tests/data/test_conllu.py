"""CoNLL-U: the syntactic words and their tags as UD specifies (ranges and empty nodes skipped), documents from
``# newdoc``, the column chosen, and one-line errors naming file and line for anything else."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given

from tagger.data.conllu import iter_conllu, read_conllu
from tagger.data.inputs import read_sentences
from tagger.errors import DataError
from tests.data.helpers import lines
from tests.properties import FAST

UD = Path(__file__).parent / "fixtures" / "ud"
TRAIN = UD / "xx_tiny-ud-train.conllu"
WORD = "1\tSue\tsue\tPROPN\tNNP\t_\t0\troot\t_\t_"


def write(tmp_path: Path, text: str, name: str = "x.conllu") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_words_of_a_multiword_token_are_tagged_and_its_range_is_skipped():
    first = read_conllu(TRAIN)[0]
    assert first.tokens == ["I", "do", "n't", "like", "rain", "."]  # the surface "don't" (2-3) is not a token
    assert first.tags == ["PRON", "AUX", "PART", "VERB", "NOUN", "PUNCT"]
    assert [first.token_line(i) for i in range(6)] == [4, 6, 7, 8, 9, 10]  # line 5 is the range 2-3


def test_an_empty_node_is_skipped_and_the_words_keep_their_lines():
    spanish = read_conllu(TRAIN)[2]
    assert spanish.tokens == ["a", "el", "final", ",", "Juan", "bebe", "té", "y", "María", "café", "."]
    assert spanish.token_line(8) == 35  # María, after the empty node 8.1 on line 34
    assert spanish.token_line(7) == 33


def test_xpos_and_deprel_are_chosen_by_field():
    assert read_conllu(TRAIN, "xpos")[0].tags == ["PRP", "VBP", "RB", "VB", "NN", "."]
    assert read_conllu(TRAIN, "deprel")[0].tags == ["nsubj", "aux", "advmod", "root", "obj", "punct"]


def test_newdoc_starts_a_document_and_without_one_each_sentence_is_its_own():
    assert [s.doc for s in read_conllu(TRAIN)] == [0, 0, 0, 1]
    plain = "\n".join([f"# sent_id = {i}\n{WORD}\n" for i in range(3)])
    assert [s.doc for s in iter_conllu(io.BytesIO(plain.encode()), "x")] == [0, 1, 2]


def test_untagged_words_for_tag_input(tmp_path):
    path = write(tmp_path, "1\tSue\t_\t_\t_\t_\t_\t_\t_\t_\n\n")
    assert [(s.tokens, s.tags) for s in read_conllu(path, with_tags=False)] == [(["Sue"], None)]
    with open(TRAIN, "rb") as stream:
        assert [s.tokens for s in read_sentences(stream, "x", "conllu")][1][-2:] == ["tea", "."]


def test_a_word_form_may_hold_a_space_a_bom_and_crlf_are_tolerated(tmp_path):
    path = tmp_path / "x.conllu"
    path.write_bytes(b"\xef\xbb\xbf# text = Viet Nam\r\n1\tVi\xe1\xbb\x87t Nam\t_\tPROPN\t_\t_\t0\troot\t_\t_\r\n")
    (sentence,) = read_conllu(path)
    assert sentence.tokens == ["Việt Nam"] and sentence.tags == ["PROPN"]


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("1\tSue\tsue\tPROPN\tNNP\t_\t0\troot\t_\n", 1, "9 columns where CoNLL-U has 10"),
        ("# c\n1 Sue sue PROPN NNP _ 0 root _ _\n", 2, "1 column where CoNLL-U has 10 (CoNLL-U columns"),
        (WORD + "\nx\tSue\t_\tX\t_\t_\t_\t_\t_\t_\n", 2, "'x' is not a word ID"),
        (WORD + "\n" + WORD + "\n", 2, "word ID 1 where 2 was expected"),
        ("1\tSue\tsue\t_\tNNP\t_\t0\troot\t_\t_\n", 1, "no UPOS for the word 'Sue'"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as caught:
        read_conllu(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize("text", ["", "\n\n", "# newdoc\n# text = nothing\n\n"])
def test_a_file_without_words_is_one_error(tmp_path, text):
    with pytest.raises(DataError, match="no sentences"):
        read_conllu(write(tmp_path, text))


def test_odd_bytes_name_line_and_offset(tmp_path):
    path = tmp_path / "x.conllu"
    path.write_bytes(WORD.encode() + b"\n2\t\xff\t_\tX\t_\t_\t_\t_\t_\t_\n")
    with pytest.raises(DataError, match=r"x.conllu:2: bytes that are not UTF-8 \(byte 0xff"):
        read_conllu(path)


def test_an_unknown_field_is_refused():
    with pytest.raises(DataError, match="unknown CoNLL-U field 'feats'"):
        read_conllu(TRAIN, "feats")


@FAST
@given(lines)
def test_any_bytes_give_sentences_or_a_data_error(chunks):
    data = b"\n".join(chunk.replace(b" ", b"\t") for chunk in chunks)
    try:
        sentences = list(iter_conllu(io.BytesIO(data), "x"))
    except DataError as err:
        assert str(err).startswith("x")
        return
    assert all(len(s.tokens) == len(s.tags) == len(s.lines or s.tokens) for s in sentences)

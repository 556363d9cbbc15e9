"""The format of a data file: by its extension or as given, and each read into tagged sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger.data.formats import data_format, read_tagged
from tagger.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    "name, given, expected",
    [
        ("en_ewt-ud-train.conllu", "auto", "conllu"),
        ("X.CONLLU", "auto", "conllu"),
        ("admin.jsonl", "auto", "json"),
        ("project-1.json", "auto", "json"),
        ("train.txt", "auto", "conll"),
        ("eng.testa", "auto", "conll"),
        ("-", "auto", "conll"),
        ("-", "conllu", "conllu"),
        ("train.txt", "json", "json"),
    ],
)
def test_the_format_is_the_extensions_unless_given(name, given, expected):
    assert data_format(name, given) == expected


def test_an_unknown_format_is_refused():
    with pytest.raises(DataError, match="unknown data format 'xml'; expected one of auto, conll, conllu, json"):
        data_format("x.xml", "xml")


def test_each_format_reads_tagged_sentences(tmp_path):
    ud = read_tagged(FIXTURES / "ud" / "xx_tiny-ud-dev.conllu", conllu_field="xpos")
    assert ud.sentences[0].tags == ["NNP", "VBD", "DT", "NN", "."]
    studio = read_tagged(FIXTURES / "label_studio.json")
    assert studio.sentences[0].tags[0] == "B-PER" and studio.notes == [
        f"{FIXTURES / 'label_studio.json'}: left out 1 task with no annotation"
    ]
    skipped = read_tagged(FIXTURES / "doccano.jsonl", strict=False)
    assert [line for line, _ in skipped.skipped] == [3, 4]
    conll = tmp_path / "x.conllu.txt"
    conll.write_text("John B-PER\n", encoding="utf-8")
    assert read_tagged(conll).sentences[0].tags == ["B-PER"]
    assert read_tagged(conll, "conll").sentences[0].tokens == ["John"]

"""Tagged data: finding the files of `tagger train DIR` (which file plays which role, what is said about the
choice), odd but valid files read as meant, invalid IOB2 repaired as conlleval reads it, and nothing but
DataError on any bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger.data.corpus import ROLES, data_files, load_tagged
from tagger.data.schemes import IOB2, PLAIN, SCHEMES, invalid_positions
from tagger.errors import DataError
from tests.corpora import GOOD, conll
from tests.data.helpers import lines
from tests.helpers import run_cli
from tests.properties import FAST


def folder_with(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("John B-PER\n", encoding="utf-8")
    return folder


# Moved from test_reader.py (they test corpus.py): which file plays which role.


@pytest.mark.parametrize(
    "names, expected",
    [
        (["train.txt", "dev.txt", "test.txt"], ("train.txt", "dev.txt", "test.txt")),
        (["train.txt", "valid.txt", "test.txt"], ("train.txt", "valid.txt", "test.txt")),
        (["train.txt", "testa.txt", "testb.txt"], ("train.txt", "testa.txt", "testb.txt")),
        (["train.conll", "eng.testa", "eng.testb"], ("train.conll", "eng.testa", "eng.testb")),
        (["train.txt"], ("train.txt", None, None)),
        (["train.txt", "testa.txt"], ("train.txt", "testa.txt", None)),
        (["train.txt", ".test.txt.swp", "README"], ("train.txt", None, None)),
    ],
)
def test_data_files_of_a_folder(tmp_path, names, expected):
    folder = folder_with(tmp_path, names)
    found = data_files(folder)
    got = tuple(path.name if path else None for path in (found.train, found.dev, found.test))
    assert got == expected
    for path in (found.train, found.dev, found.test):
        assert path is None or path.parent == folder


def test_data_files_ignore_subfolders(tmp_path):
    folder = folder_with(tmp_path, ["train.txt"])
    (folder / "test").mkdir()
    assert data_files(folder).test is None


def test_data_files_in_a_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        data_files(tmp_path / "nope")


def test_data_files_given_a_file(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("John B-PER\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        data_files(path)
    assert str(info.value).startswith(f"{path}:")


# The files of a run, and the notes on how they were picked


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["train.txt", "dev.txt", "test.txt"], ("train.txt", "dev.txt", "test.txt")),
        (["eng.train", "eng.testa", "eng.testb"], ("eng.train", "eng.testa", "eng.testb")),
        (["esp.train", "esp.testa", "esp.testb"], ("esp.train", "esp.testa", "esp.testb")),
        (["train.txt", "valid.txt"], ("train.txt", "valid.txt", None)),
    ],
)
def test_the_usual_layouts_need_no_note(tmp_path, names, expected):
    files = data_files(folder_with(tmp_path, names))
    assert tuple(p.name if p else None for p in (files.train, files.dev, files.test)) == expected
    assert files.notes == []


@pytest.mark.parametrize(
    ("names", "role", "picked", "others"),
    [
        (["train.txt", "train.txt.bak"], "train", "train.txt", "train.txt.bak"),
        (["train.txt", "train.orig"], "train", "train.txt", "train.orig"),
        (["train.txt", "dev.txt", "dev-old.txt"], "dev", "dev.txt", "dev-old.txt"),
        (["train-small.txt", "train.txt.orig"], "train", "train-small.txt", "train.txt.orig"),
        (["x-ud-train.conllu", "x-ud-train.conllu.orig"], "train", "x-ud-train.conllu", "x-ud-train.conllu.orig"),
        (["wnut17train.conll", "wnut17train.conll~"], "train", "wnut17train.conll", "wnut17train.conll~"),
        (["train.txt", "test.txt", "test.txt~"], "test", "test.txt", "test.txt~"),
    ],
)
def test_several_matching_files_are_named_in_a_note(tmp_path, names, role, picked, others):
    folder = folder_with(tmp_path, names)
    files = data_files(folder)
    assert getattr(files, role).name == picked
    kind = {"train": "training", "dev": "development", "test": "test"}[role]
    assert files.notes == [f"{folder} has 2 {kind} files: using {picked}, not {others} (--{role} FILE picks another)"]


@pytest.mark.parametrize(
    ("names", "role", "tied"),
    [
        (["train.txt", "train.conll"], "train", "train.conll, train.txt"),
        (["train.txt", "eng.train"], "train", "eng.train, train.txt"),
        (["train.txt", "dev.txt", "testa.txt"], "dev", "dev.txt, testa.txt"),
        (["train.orig", "train.bak"], "train", "train.bak, train.orig"),
    ],
)
def test_files_equally_like_a_role_are_refused_in_one_line_naming_them(tmp_path, names, role, tied):
    """No name says which is meant (a copy, a conversion): the user picks, rather than the alphabet."""
    folder = folder_with(tmp_path, names)
    kind = {"train": "training", "dev": "development", "test": "test"}[role]
    with pytest.raises(DataError) as info:
        data_files(folder)
    assert str(info.value) == f"{folder}: 2 files could be the {kind} file: {tied} (pick one with --{role} FILE)"
    data_files(folder, **{role: folder / names[0]})  # the file given settles it


def test_a_given_file_beats_the_folder_and_needs_no_note(tmp_path):
    folder = folder_with(tmp_path, ["train.txt", "train.txt.bak", "dev.txt"])
    mine = tmp_path / "mine.txt"
    files = data_files(folder, train=mine, test=str(mine))
    assert (files.train, files.dev, files.test) == (mine, folder / "dev.txt", mine)
    assert files.notes == []


def test_given_files_without_a_folder(tmp_path):
    files = data_files(None, train=tmp_path / "a.txt", dev=tmp_path / "b.txt")
    assert (files.train, files.dev, files.test, files.notes) == (tmp_path / "a.txt", tmp_path / "b.txt", None, [])


def test_no_training_file_names_every_pattern_looked_for(tmp_path):
    folder = folder_with(tmp_path, ["dev.txt", "test.txt"])
    with pytest.raises(DataError) as info:
        data_files(folder)
    assert str(info.value) == f"no training file in {folder} (looked for train*, *train*; or give --train FILE)"
    assert all(pattern in str(info.value) for pattern in ROLES["train"])
    with pytest.raises(DataError, match=r"give DIR or --train FILE"):
        data_files(None)


def test_every_pattern_in_the_message_is_one_that_finds_a_training_file(tmp_path):
    for i, pattern in enumerate(ROLES["train"]):
        name = pattern.replace("*", "x") + ".txt" if pattern.endswith("*") else pattern.replace("*", "x")
        folder = tmp_path / str(i)
        folder.mkdir()
        (folder / name).write_text("John B-PER\n", encoding="utf-8")
        assert data_files(folder).train == folder / name, pattern


# Odd but valid data files: read as meant


@pytest.mark.usefixtures("cli_env")
def test_bom_crlf_tab_lines_and_zero_width_spaces_are_read(tmp_path, trained_model):
    from tagger.data.corpus import load_tagged

    text = "\ufeffMary\tB-PER\r\nlives\tO\r\n\t\r\nThe\u200b\tO\r\nPar\u200bis\tB-LOC\r\n \t \r\n\u200b\tO\r\n"
    path = tmp_path / "odd.txt"
    path.write_bytes(text.encode("utf-8"))
    data = load_tagged(path)
    assert [s.tokens for s in data.sentences] == [["Mary", "lives"], ["The\u200b", "Par\u200bis"], ["\u200b"]]
    assert [s.tags for s in data.sentences] == [["B-PER", "O"], ["O", "B-LOC"], ["O"]]
    assert [s.line for s in data.sentences] == [1, 4, 7]
    assert data.warnings == []
    result = run_cli("evaluate", path, "--model", trained_model, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sentences"] == 3
    assert result.stderr == ""


@pytest.mark.usefixtures("cli_env")
def test_iob2_with_i_after_o_is_repaired_as_conlleval_reads_it_with_a_warning(tmp_path, trained_model):
    from tagger.data.corpus import load_tagged

    broken = "The\tO\nUnited\tI-ORG\nNations\tI-ORG\nmet\tO\nin\tO\nParis\tB-LOC"
    path = tmp_path / "gold.txt"
    path.write_bytes(conll(GOOD, "John\tB-PER\nSmith\tI-PER\nleft\tO", broken))
    data = load_tagged(path)
    assert data.scheme == "iob2"
    assert len(data.warnings) == 1
    assert data.warnings[0].startswith(f"{path}:12: 1 sentence has tag sequences")
    assert "not valid IOB2" in data.warnings[0]
    assert data.tags_in("iob2")[2] == ["O", "B-ORG", "I-ORG", "O", "O", "B-LOC"]
    assert data.tags_in("bioes")[2] == ["O", "B-ORG", "E-ORG", "O", "O", "S-LOC"]

    result = run_cli("evaluate", path, "--model", trained_model, "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"warning: {path}:12: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(result.stdout)["support"] == 5  # the repaired ORG counts as an entity


@FAST
@given(body=lines.map(b"\n".join), skip_bad=st.booleans())
def test_loading_a_tagged_file_raises_only_data_errors(scratch, body, skip_bad):
    path = scratch / "data.txt"
    path.write_bytes(body)
    try:
        data = load_tagged(path, skip_bad=skip_bad)
    except DataError as err:
        assert str(err).startswith(str(path))
        return
    for scheme in SCHEMES:
        for sentence, converted in zip(data.sentences, data.tags_in(scheme)):
            assert len(converted) == len(sentence.tokens)
            assert invalid_positions(converted, scheme) == []


# One bad tag among thousands (issue 20): an error by default, or its sentence left out with --skip-bad-sentences

TYPO = conll(GOOD, "John\tB-PER\nruns\t0", GOOD, "Ann\tB_PER\nruns\tO", GOOD)  # bad tags at lines 8 and 16


def test_a_bad_tag_is_an_error_naming_its_line_unless_its_sentence_is_skipped(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(TYPO)
    with pytest.raises(DataError, match="'0' is not a tag") as raised:
        load_tagged(path)
    assert str(raised.value).startswith(f"{path}:8: ")
    data = load_tagged(path, skip_bad=True)
    assert [s.line for s in data.sentences] == [1, 10, 19]
    (warning,) = data.warnings
    assert warning.startswith(f"{path}:8: left out 2 sentences with a tag that is not a tag, the first here: '0'")
    assert "--skip-bad-sentences" in warning


def test_skipping_leaves_out_tags_of_another_scheme_than_the_one_given(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(conll(GOOD, "Ann\tS-PER\nruns\tO"))
    data = load_tagged(path, scheme="iob2", skip_bad=True)
    assert len(data.sentences) == 1
    assert data.warnings[0].startswith(f"{path}:7: left out 1 sentence with a tag that is not a tag, the first here: ")
    assert "'S-PER' is not a tag of the IOB2 scheme" in data.warnings[0]


def test_a_file_of_only_bad_sentences_is_still_an_error(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(conll("John\tB-PER\nruns\t0", "Ann\tB_PER"))
    with pytest.raises(DataError, match="every sentence has a tag that is not a tag") as raised:
        load_tagged(path, skip_bad=True)
    assert str(raised.value).startswith(f"{path}:2: ")


@pytest.mark.slow
@pytest.mark.usefixtures("cli_env")
def test_train_skip_bad_sentences_trains_and_says_so_once(tmp_path, tiny_dir):
    from tests.helpers import TINY_NET

    data = tmp_path / "train.txt"
    data.write_bytes(tiny_dir.joinpath("train.txt").read_bytes() + b"\n" + TYPO)
    args = ["train", "--train", data, "--dev", tiny_dir / "dev.txt", "-m", tmp_path / "m.pt", "--epochs", "1"]
    args += TINY_NET
    refused = run_cli(*args)
    assert refused.exit_code == 2 and "'0' is not a tag" in refused.stderr
    result = run_cli(*args, "--skip-bad-sentences")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "left out" in line]
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: {data}:")
    assert "left out 2 sentences" in warnings[0]


# Other formats: a UD treebank's folder, CoNLL-U and JSON records read by load_tagged.

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_ud_treebank_folder_gives_its_conllu_files_not_their_raw_text():
    files = data_files(FIXTURES / "ud")
    assert (files.train.name, files.dev.name, files.test.name) == (
        "xx_tiny-ud-train.conllu",
        "xx_tiny-ud-dev.conllu",
        "xx_tiny-ud-test.conllu",
    )
    assert files.notes == []  # xx_tiny-ud-train.txt, the raw text beside it, is no second training file


def test_a_bad_tag_in_conllu_names_the_words_line_past_ranges_and_empty_nodes(tmp_path):
    word = "{}\t{}\t_\t_\t{}\t_\t_\t_\t_\t_"
    lines = ["1-2\tAl\t_\t_\t_\t_\t_\t_\t_\t_", word.format(1, "a", "O"), word.format(2, "el", "B-PER")]
    lines += ["2.1\tx\t_\t_\t_\t_\t_\t_\t_\t_", word.format(3, "Juan", "X-PER")]
    path = tmp_path / "x.conllu"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x.conllu:5: 'X-PER' is not a tag"):
        load_tagged(path, conllu_field="xpos")


def test_json_records_with_bad_spans_are_left_out_with_one_warning():
    data = load_tagged(FIXTURES / "doccano.jsonl", skip_bad=True)
    assert data.scheme == "iob2" and data.types() == {"PER", "LOC", "ORG"}
    (warning,) = data.warnings
    assert warning.startswith(f"{FIXTURES / 'doccano.jsonl'}:3: left out 2 records with a bad span, the first here: ")
    with pytest.raises(DataError, match="doccano.jsonl:3: span"):
        load_tagged(FIXTURES / "doccano.jsonl")
    studio = load_tagged(FIXTURES / "label_studio.json", data_format="json")
    assert studio.warnings == [f"{FIXTURES / 'label_studio.json'}: left out 1 task with no annotation"]


# Plain label sets: CoNLL-2003's columns (part of speech, chunks) read without editing the file

POS = Path(__file__).parent / "pos"


def test_the_part_of_speech_column_is_a_plain_label_set_and_the_chunk_column_iob2():
    pos = load_tagged(POS / "train.txt", tag_column=1)
    assert pos.scheme == PLAIN and pos.plain and pos.warnings == []
    assert {"$", ",", ".", "(", ")", "NNP", "VBD"} <= pos.types()
    assert pos.tags_in(PLAIN)[0] == pos.sentences[0].tags  # kept as they are
    chunks = load_tagged(POS / "train.txt", tag_column=2)
    assert chunks.scheme == IOB2 and not chunks.plain and chunks.types() == {"NP", "VP", "PP", "ADVP"}


def test_a_few_stray_tags_among_chunk_tags_are_still_an_error_naming_the_line(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(conll(GOOD, "John\tB-PER\nruns\tVBZ", GOOD))
    with pytest.raises(DataError, match="'VBZ' is not a tag") as raised:
        load_tagged(path)
    assert str(raised.value).startswith(f"{path}:8: ")


def test_scheme_plain_reads_chunk_shaped_or_mixed_tags_as_labels(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(conll(GOOD, "John\tB-PER\nruns\tVBZ", GOOD))
    data = load_tagged(path, scheme=PLAIN)
    assert data.plain and "VBZ" in data.types() and "B-PER" in data.types()
    assert load_tagged(POS / "train.txt", tag_column=2, scheme=PLAIN).types() == {
        "B-NP",
        "I-NP",
        "B-VP",
        "B-PP",
        "B-ADVP",
        "O",
    }

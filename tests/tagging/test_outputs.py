"""tagger.tagging.outputs: where several inputs' outputs go. The naming rule of an output per input (Dask's and
`tagger tag -o DIR/`'s), jsonl records that name their input, and what a folder refuses before any work; the command
line's behaviour is in tests/cli/test_tag.py."""

from __future__ import annotations

import io
import json

import pytest

from tagger.errors import DataError, TaggerError
from tagger.tagging.outputs import NamedRecords, is_folder, named_records, output_paths, per_input


def test_output_paths_one_per_input_in_order(tmp_path):
    outs = output_paths(["a/x.txt", "b/y.txt"], tmp_path, "jsonl")
    assert outs == [tmp_path / "x.txt.jsonl", tmp_path / "y.txt.jsonl"]


def test_output_paths_refuse_two_inputs_with_one_name(tmp_path):
    with pytest.raises(DataError, match="two inputs would write x.txt.conll"):
        output_paths(["a/x.txt", "b/x.txt"], tmp_path)


def test_output_paths_never_name_an_input_even_by_a_link(tmp_path):
    (tmp_path / "a.txt").write_text("Mary\n")
    (tmp_path / "a.txt.conll").write_text("Mary\tB-PER\n")
    with pytest.raises(TaggerError, match="out_dir names an input file"):  # Dask's tag_files would replace it
        output_paths([tmp_path / "a.txt", tmp_path / "a.txt.conll"], tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "b.txt.conll").hardlink_to(tmp_path / "a.txt.conll")
    with pytest.raises(TaggerError, match="--output names an input file"):
        output_paths([tmp_path / "b.txt", tmp_path / "in" / "b.txt.conll"], tmp_path / "in", option="--output")


@pytest.mark.parametrize(("path", "folder"), [("out/", True), ("out", False), (".", True), ("out.jsonl", False)])
def test_a_folder_is_one_that_exists_or_a_path_ending_in_a_slash(path, folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert is_folder(path) is folder


def test_per_input_refuses_stdin_before_making_the_folder(tmp_path):
    with pytest.raises(TaggerError, match="stdin has no name"):
        per_input(tmp_path / "out", ["a.txt", "-"], "conll")
    assert not (tmp_path / "out").exists()


def test_named_records_start_with_their_input_and_one_input_is_left_alone():
    out = io.StringIO()
    assert named_records(out, ["a.txt"], "jsonl") is out
    assert named_records(out, ["a.txt", "b.txt"], "conll") is out
    opener = named_records(out, ["a.txt", "-"], "jsonl")
    with opener("a.txt") as first:
        first.write('{"tokens": ["Mary"], "tags": ["S-PER"]}\n{"tokens": ["Bob"],')  # a record in two writes
        first.write(' "tags": ["O"]}\n')
    with opener("-") as second:
        second.write('{"tokens": ["x"], "tags": ["O"]}\n')
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["file"], r["tokens"]) for r in records] == [("a.txt", ["Mary"]), ("a.txt", ["Bob"]), ("<stdin>", ["x"])]
    assert all(list(r) == ["file", "tokens", "tags"] for r in records)


@pytest.mark.parametrize("name", ["Zürich\u2028.txt", "bad-\udce9.txt"])
def test_a_file_name_of_any_characters_is_one_line_of_json(name):
    out = io.StringIO()
    with NamedRecords(out, name) as records:
        records.write('{"tokens": ["x"]}\n')
    (line,) = out.getvalue().encode("utf-8").decode("utf-8").splitlines()  # UTF-8, and no line break inside
    assert json.loads(line) == {"file": name, "tokens": ["x"]}

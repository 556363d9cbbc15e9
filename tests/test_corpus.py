"""Finding the files of `tagger train DIR`: which file plays which role, and what is said about the choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger.corpus import ROLES, data_files, find_data_files
from tagger.errors import DataError


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
        (["train.txt", "dev.txt", "testa.txt", "test.txt"], ("train.txt", "dev.txt", "test.txt")),
        (["train.txt"], ("train.txt", None, None)),
        (["train.txt", "testa.txt"], ("train.txt", "testa.txt", None)),
        (["dev.txt", "test.txt"], (None, "dev.txt", "test.txt")),
        (["train.txt", ".test.txt.swp", "README"], ("train.txt", None, None)),
    ],
)
def test_find_data_files(tmp_path, names, expected):
    folder = folder_with(tmp_path, names)
    found = find_data_files(folder)
    assert set(found) == {"train", "dev", "test"}
    got = tuple(found[role].name if found[role] else None for role in ("train", "dev", "test"))
    assert got == expected
    for path in found.values():
        assert path is None or path.parent == folder


def test_find_data_files_ignores_subfolders(tmp_path):
    folder = folder_with(tmp_path, ["train.txt"])
    (folder / "test").mkdir()
    assert find_data_files(folder)["test"] is None


def test_find_data_files_in_a_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        find_data_files(tmp_path / "nope")


def test_find_data_files_given_a_file(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("John B-PER\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        find_data_files(path)
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
        (["train.txt", "eng.train"], "train", "train.txt", "eng.train"),
        (["train.txt", "dev.txt", "dev-old.txt"], "dev", "dev-old.txt", "dev.txt"),
        (["train.txt", "test.txt", "test.txt~"], "test", "test.txt", "test.txt~"),
    ],
)
def test_several_matching_files_are_named_in_a_note(tmp_path, names, role, picked, others):
    folder = folder_with(tmp_path, names)
    files = data_files(folder)
    assert getattr(files, role).name == picked
    kind = {"train": "training", "dev": "development", "test": "test"}[role]
    assert files.notes == [f"{folder} has 2 {kind} files: using {picked}, not {others} (--{role} FILE picks another)"]


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


def test_find_data_files_agrees_with_data_files(tmp_path):
    folder = folder_with(tmp_path, ["train.txt", "train.txt.bak", "eng.testa", "test.txt"])
    files = data_files(folder)
    assert find_data_files(folder) == {"train": files.train, "dev": files.dev, "test": files.test}

"""The checkpoint layout: model file and resume file through one writer and one reader; atomic writes, the umask."""

from __future__ import annotations

import os

import pytest
import torch

from tagger.errors import ModelFileError
from tagger.nn.checkpoint import FORMAT, FORMAT_VERSION, TRAIN_STATE, make_checkpoint, read_checkpoint, resume_path
from tagger.nn.model_file import load_model, save_model

LAYOUT = {"format", "format_version", "config", "vocab", "data_scheme", "metadata", "state_dict"}


def test_model_file_and_resume_file_share_the_layout_and_the_reader(trained_model, tmp_path):
    loaded = load_model(trained_model)
    train_state = {
        "progress": {"epoch": 3, "best_f1": 0.5, "best_epoch": 2, "bad_epochs": 1, "history": []},
        "optimizer": {"parts": []},
        "shuffler": torch.Generator().manual_seed(3).get_state(),
        "rng": torch.get_rng_state(),
        "best_state_dict": loaded.model.state_dict(),
        "average": None,
        "keeps_previous": False,
    }
    assert set(train_state) == set(TRAIN_STATE)
    model = save_model(tmp_path / "m.pt", loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)
    resume = save_model(
        resume_path(model), loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata, train_state
    )
    assert resume.name == "m.pt.resume"
    as_model, as_resume = read_checkpoint(model), read_checkpoint(resume)
    assert set(as_model) == LAYOUT and set(as_resume) == LAYOUT | {"train_state"}
    assert (as_model["format"], as_model["format_version"]) == (FORMAT, FORMAT_VERSION)
    for key in LAYOUT - {"state_dict"}:
        assert as_model[key] == as_resume[key], key
    assert as_resume["train_state"]["progress"] == train_state["progress"]
    assert torch.equal(as_resume["train_state"]["shuffler"], train_state["shuffler"])
    # the resume file loads as a model too, with its train_state beside it
    again = load_model(resume)
    assert again.train_state["progress"]["epoch"] == 3 and load_model(model).train_state is None
    assert again.vocab == loaded.vocab and again.config == loaded.config


def test_a_resume_file_of_the_earlier_layout_is_read_into_train_state(trained_model, tmp_path):
    """Before train_state, a resume file held its parts at the top level, and the best epoch's
    metadata apart; read, it has today's layout."""
    checkpoint = read_checkpoint(trained_model)
    old = {**checkpoint, "metadata": {}, "progress": {"epoch": 2}, "optimizer": {"parts": []}, "average": None}
    old["best_metadata"] = {"best_epoch": 1, "dev_scores": {"f1": 0.5}}
    path = tmp_path / "old.pt.resume"
    torch.save(old, path)
    read = read_checkpoint(path)
    assert set(read) == LAYOUT | {"train_state"}
    assert read["train_state"] == {"progress": {"epoch": 2}, "optimizer": {"parts": []}, "average": None}
    assert read["metadata"] == {"best_epoch": 1, "dev_scores": {"f1": 0.5}}


def test_make_checkpoint_moves_the_weights_to_the_cpu_and_detaches_them():
    weight = torch.nn.Parameter(torch.ones(2, 2))
    checkpoint = make_checkpoint({}, {}, "iob2", {}, {"w": weight})
    assert not checkpoint["state_dict"]["w"].requires_grad
    assert "train_state" not in checkpoint


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_are_written_with_the_mode_the_umask_gives(trained_model, tmp_path, umask, mode):
    loaded = load_model(trained_model)
    previous = os.umask(umask)
    try:
        path = save_model(tmp_path / "m.pt", loaded.model, loaded.vocab, loaded.data_scheme, {})
        save_model(path, loaded.model, loaded.vocab, loaded.data_scheme, {})  # over an existing file too
        assert os.umask(umask) == umask  # the umask is left as it was
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"-DOCSTART- O\n\nEU B-ORG\nrejects O\n", "not a readable model file: this is a text file"),
        (b"hello\n", "not a readable model file: this is a text file"),  # torch.load's own error: KeyError 101
        ("Zürich B-LOC\n".encode() * 100, "not a readable model file: this is a text file"),
        (b"", "not a readable model file: the file is empty"),
        (bytes(range(256)) * 4, "not a readable model file (damaged"),
    ],
    ids=["conll", "hello", "utf-8", "empty", "binary"],
)
def test_a_file_that_is_no_model_says_what_it_is(tmp_path, content, message):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        read_checkpoint(path)
    assert str(info.value).startswith(f"{path}: {message}")
    assert not any(c.isdigit() for c in str(info.value)[len(str(path)) :])  # no number a user cannot place

"""The model file: round trips, what it holds, loading safely on the CPU, one-line errors."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import torch

import tagger
from tagger.errors import ModelFileError
from tagger.model import ModelConfig
from tagger.model_file import (
    FORMAT,
    FORMAT_VERSION,
    check_writable,
    default_model_path,
    load_model,
    read_checkpoint,
    save_model,
)
from tagger.tagging import Predictor
from tagger.tensors import TensorMaker

SENTENCES = [
    ["John", "Smith", "lives", "in", "Paris", "."],
    ["Acme", "Corp", "hired", "Angela", "Merkel", "."],
    ["Unseen", "Wordz", "near", "Lake", "Tahoe"],
    ["Mary"],
]


def raw_checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_save_and_load_give_identical_predictions(trained_model, tmp_path):
    loaded = load_model(trained_model)
    copy = tmp_path / "copy.pt"
    save_model(copy, loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)
    again = load_model(copy)
    batch = TensorMaker(loaded.vocab).batch(SENTENCES)
    with torch.no_grad():
        assert torch.equal(loaded.model.emissions(batch), again.model.emissions(batch))
    first = Predictor.from_loaded(loaded).predict(SENTENCES)
    assert first == Predictor.from_loaded(again).predict(SENTENCES)
    assert first[0] == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]
    assert again.config == loaded.config
    assert again.vocab.to_dict() == loaded.vocab.to_dict()
    assert again.data_scheme == loaded.data_scheme
    assert again.metadata == loaded.metadata
    for (name, a), (_, b) in zip(loaded.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_loaded_model_is_on_cpu_in_eval_mode(trained_model):
    loaded = load_model(trained_model)
    assert not loaded.model.training
    assert all(p.device.type == "cpu" for p in loaded.model.parameters())
    assert all(b.device.type == "cpu" for b in loaded.model.buffers())


def test_loading_uses_weights_only_and_maps_to_cpu(trained_model, monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_model(trained_model)
    assert calls, "the model file was not read with torch.load"
    for kwargs in calls:
        assert kwargs.get("weights_only") is True
        assert str(kwargs.get("map_location")) == "cpu"


def test_checkpoint_contents(trained_model, tiny_dir):
    checkpoint = raw_checkpoint(trained_model)
    assert checkpoint["format"] == FORMAT
    assert checkpoint["format_version"] == FORMAT_VERSION
    config = ModelConfig.from_dict(checkpoint["config"])
    assert (config.word_dim, config.char_size, config.hidden_size) == (20, 10, 16)
    vocab = checkpoint["vocab"]
    assert set(vocab) >= {"words", "chars", "tags"}
    assert config.num_tags == len(vocab["tags"])
    assert {"B-PER", "I-LOC", "O"} <= set(vocab["tags"])
    assert checkpoint["data_scheme"] == "iob2"  # the tiny data is IOB2; the model trains in BIOES
    assert config.scheme == "bioes"
    assert all(isinstance(v, torch.Tensor) for v in checkpoint["state_dict"].values())

    meta = checkpoint["metadata"]
    assert meta["tagger_version"] == tagger.__version__
    created = datetime.fromisoformat(meta["created"])
    assert created.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - created) < timedelta(hours=2)
    assert Path(meta["train_file"]) == tiny_dir / "train.txt"
    assert Path(meta["dev_file"]) == tiny_dir / "dev.txt"
    assert Path(meta["test_file"]) == tiny_dir / "test.txt"
    assert meta["train_config"]["epochs"] == 15  # the training options of the conftest fixture
    assert meta["train_config"]["lr"] == 0.05
    for key in ("dev_scores", "test_scores"):
        scores = meta[key]
        assert {"precision", "recall", "f1", "per_type"} <= set(scores)
        assert 0.0 <= scores["f1"] <= 1.0
        assert set(scores["per_type"]) == {"PER", "LOC", "ORG"}


def test_saved_scores_are_those_of_the_saved_weights(trained_model, tiny_dir):
    from tagger.evaluation import evaluate

    meta = raw_checkpoint(trained_model)["metadata"]
    assert evaluate(tiny_dir / "test.txt", trained_model)["f1"] == pytest.approx(meta["test_scores"]["f1"])
    assert evaluate(tiny_dir / "dev.txt", trained_model)["f1"] == pytest.approx(meta["dev_scores"]["f1"])


def test_checkpoint_holds_only_plain_data(trained_model):
    def check(value, where="checkpoint"):
        if isinstance(value, dict):
            for k, v in value.items():
                assert isinstance(k, str), where
                check(v, f"{where}[{k!r}]")
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                check(v, f"{where}[{i}]")
        else:
            assert value is None or isinstance(value, (str, bytes, int, float, bool, torch.Tensor)), where

    check(raw_checkpoint(trained_model))


class Payload:
    """Unpickling this would touch a file: a stand-in for code run by a malicious model file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class Custom:
    def __init__(self):
        self.x = 1


@pytest.mark.parametrize("payload", ["reduce", "custom"])
def test_a_file_holding_a_custom_class_is_refused(trained_model, tmp_path, payload):
    checkpoint = raw_checkpoint(trained_model)
    marker = tmp_path / "ran"
    checkpoint["metadata"]["evil"] = Payload(marker) if payload == "reduce" else Custom()
    path = tmp_path / "evil.pt"
    torch.save(checkpoint, path)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "refused" in str(info.value)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_missing_model_file(tmp_path):
    path = tmp_path / "nope.pt"
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "no model file" in str(info.value)


def test_a_directory_is_not_a_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="directory"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a model at all\n", b"PK\x03\x04 broken zip", bytes(range(256)) * 4],
    ids=["empty", "text", "broken-zip", "binary"],
)
def test_damaged_files(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_truncated_model_file(trained_model, tmp_path):
    path = tmp_path / "model.pt"
    data = trained_model.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(path)


@pytest.mark.parametrize("obj", [{"a": torch.zeros(2)}, torch.zeros(3), [1, 2], {"format": "other"}])
def test_pytorch_files_of_other_programs(tmp_path, obj):
    path = tmp_path / "other.pt"
    torch.save(obj, path)
    with pytest.raises(ModelFileError, match="not a tagger model"):
        load_model(path)


def test_newer_format_version_is_refused(trained_model, tmp_path):
    checkpoint = raw_checkpoint(trained_model)
    checkpoint["format_version"] = FORMAT_VERSION + 1
    path = tmp_path / "new.pt"
    torch.save(checkpoint, path)
    with pytest.raises(ModelFileError, match="newer"):
        load_model(path)


@pytest.mark.parametrize("change", ["drop-vocab", "drop-state", "wrong-shape", "bad-config"])
def test_damaged_checkpoints(trained_model, tmp_path, change):
    checkpoint = raw_checkpoint(trained_model)
    if change == "drop-vocab":
        del checkpoint["vocab"]
    elif change == "drop-state":
        del checkpoint["state_dict"]
    elif change == "wrong-shape":
        checkpoint["state_dict"]["project.weight"] = torch.zeros(3, 3)
    else:
        checkpoint["config"]["cell"] = "transformer"
    path = tmp_path / "damaged.pt"
    torch.save(checkpoint, path)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert "damaged" in str(info.value)
    assert "\n" not in str(info.value)


def test_read_checkpoint_returns_the_dict(trained_model):
    checkpoint = read_checkpoint(trained_model)
    assert checkpoint["format"] == FORMAT
    assert "state_dict" in checkpoint


def test_save_leaves_no_temporary_files(trained_model, tmp_path):
    loaded = load_model(trained_model)
    target = tmp_path / "out.pt"
    save_model(target, loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)
    save_model(target, loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)  # over an existing file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pt"]
    assert load_model(target).data_scheme == loaded.data_scheme


def test_default_model_path(monkeypatch, tmp_path):
    monkeypatch.setenv("TAGGER_MODEL", str(tmp_path / "mine.pt"))
    assert default_model_path() == tmp_path / "mine.pt"
    monkeypatch.delenv("TAGGER_MODEL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_model_path() == tmp_path / "data" / "tagger" / "model.pt"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_model_path() == tmp_path / "home" / ".local" / "share" / "tagger" / "model.pt"


def test_check_writable(tmp_path):
    assert check_writable(tmp_path / "a" / "b" / "model.pt") == tmp_path / "a" / "b" / "model.pt"
    assert (tmp_path / "a" / "b").is_dir()
    with pytest.raises(ModelFileError, match="directory"):
        check_writable(tmp_path)


def test_check_writable_read_only_folder(tmp_path, monkeypatch):
    """A folder the user may not write (simulated: root may write anywhere, so chmod proves nothing)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != folder and real_access(path, mode))
    with pytest.raises(ModelFileError, match="cannot be written"):
        check_writable(folder / "model.pt")
    assert check_writable(tmp_path / "model.pt") == tmp_path / "model.pt"


def test_vocabulary_is_packed_in_the_model_file_and_old_lists_still_load(trained_model):
    from tagger.vocabulary import Vocabulary

    checkpoint = read_checkpoint(trained_model)
    vocab = load_model(trained_model).vocab
    # One string and one block of bytes: the loader reads each in one step, not one per word.
    assert isinstance(checkpoint["vocab"]["words"], str)
    assert isinstance(checkpoint["vocab"]["word_counts"], bytes)
    assert Vocabulary.from_dict(vocab.to_dict()) == vocab
    lists = {**vocab.to_dict(), "words": list(vocab.words), "word_counts": list(vocab.word_counts)}
    assert Vocabulary.from_dict(lists) == vocab  # a model file written before the packing
    odd = Vocabulary(["<pad>", "<unk>", "a\nb", "c"], ["<pad>", "<unk>"], ["O"], [0, 0, 2, 1])
    assert isinstance(odd.to_dict()["words"], list)  # a word with a newline keeps the list
    assert Vocabulary.from_dict(odd.to_dict()) == odd

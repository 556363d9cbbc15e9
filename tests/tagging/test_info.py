"""tagger.tagging.info: what a model file holds, read as plain data without building the network."""

from __future__ import annotations

import json

import pytest

import tagger
from tagger.data.vocabulary import Vocabulary
from tagger.errors import ModelFileError
from tagger.nn.model_file import load_model
from tagger.tagging.info import model_info
from tests.helpers import TRAINED_EPOCHS, raw_checkpoint


def test_info_reads_every_field_without_building_the_network(trained_model, tiny_dir, no_network):
    info = model_info(trained_model)
    checkpoint = raw_checkpoint(trained_model)
    vocab = Vocabulary.from_dict(checkpoint["vocab"])
    meta = checkpoint["metadata"]
    assert info["path"] == str(trained_model)
    assert info["size_bytes"] == trained_model.stat().st_size
    assert (info["format"], info["format_version"]) == ("tagger-model", 2)
    assert info["tagger_version"] == tagger.__version__
    assert info["created"] == meta["created"]
    assert info["tags"] == vocab.tags
    assert info["types"] == ["LOC", "ORG", "PER"]
    assert (info["scheme"], info["data_scheme"]) == ("bioes", "iob2")
    assert info["vocabulary"] == {
        "words": len(vocab.words) - 2,  # less padding and the unknown word
        "training_words": len(vocab.words) - 2,  # no embeddings: every word is a training word
        "embedding_only_words": 0,
        "characters": len(vocab.chars) - 2,
        "lowercase": True,
    }
    assert info["embeddings"] == {"file": None, "dim": 20}
    assert info["network"] == checkpoint["config"]
    assert info["network"]["hidden_size"] == 16
    assert info["training"]["train_file"] == str(tiny_dir / "train.txt")
    assert info["training"]["test_file"] == str(tiny_dir / "test.txt")
    assert info["training"]["options"]["epochs"] == TRAINED_EPOCHS
    assert 1 <= info["best_epoch"] <= TRAINED_EPOCHS
    for split in ("dev", "test"):
        assert set(info[split]["per_type"]) == {"PER", "LOC", "ORG"}
        assert 0.0 <= info[split]["f1"] <= 1.0
    json.dumps(info)  # plain data: what `tagger info --format json` prints


def test_parameter_count_is_that_of_the_network(trained_model):
    info = model_info(trained_model)
    model = load_model(trained_model).model
    assert info["parameters"]["trained"] == sum(p.numel() for p in model.parameters())
    assert info["parameters"]["frozen"] == model.extra_vectors.numel()


def test_a_trained_model_keeps_its_history(trained_model):
    history = model_info(trained_model)["history"]
    assert [row["epoch"] for row in history] == list(range(1, TRAINED_EPOCHS + 1))
    assert all({"loss", "dev"} <= set(row) for row in history)


def test_not_a_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="no model file"):
        model_info(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        model_info(tmp_path / "junk.pt")


def _exported(pt, path):
    from tagger.nn.export import export_model

    return export_model(load_model(pt), path)


@pytest.mark.slow  # trains an epoch
def test_an_exported_models_frozen_vectors_are_counted_apart(tiny_dir, tmp_path):
    """A model with pretrained vectors: the export counts them as frozen, as info counts the .pt's."""
    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.training.loop import train

    vectors, pt = tmp_path / "vectors.txt", tmp_path / "m.pt"
    vectors.write_text("".join(f"extra{i} " + " ".join(["0.5"] * 10) + "\n" for i in range(30)), encoding="utf-8")
    net = ModelConfig(word_dim=10, hidden_size=8, char_encoder="none")
    train(tiny_dir / "train.txt", pt, model_config=net, config=TrainConfig(epochs=1, embeddings=str(vectors)))
    ours, theirs = model_info(_exported(pt, tmp_path / "m.onnx")), model_info(pt)
    assert ours["parameters"] == theirs["parameters"] and ours["parameters"]["frozen"] > 0

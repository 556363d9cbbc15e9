"""Pretrained word vectors: reading GloVe / word2vec text, and how a model uses them."""

from __future__ import annotations

import gzip

import pytest
import torch

from tagger.data.embeddings import read_vectors
from tagger.data.vocabulary import word_key
from tagger.errors import DataError
from tagger.nn.config import ModelConfig, TrainConfig
from tagger.nn.model_file import load_model
from tagger.training.loop import train

VECTORS = {
    "the": [0.1, 0.2, 0.3, 0.4],
    "paris": [1.0, 0.0, 0.0, 1.0],
    "mary": [0.0, 1.0, 1.0, 0.0],
    "lives": [0.5, 0.5, 0.5, 0.5],
    "tokyo": [0.9, 0.1, 0.0, 0.9],  # in no data file: must still reach tag time
    "0000": [0.3, 0.3, 0.3, 0.3],
}


def write_vectors(path, header=False, gz=False):
    lines = [f"{len(VECTORS)} 4"] if header else []
    lines += [w + " " + " ".join(str(x) for x in v) for w, v in VECTORS.items()]
    data = ("\n".join(lines) + "\n").encode()
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("header,gz", [(False, False), (True, False), (False, True), (True, True)])
def test_reads_glove_and_word2vec_text_plain_or_gzip(tmp_path, header, gz):
    vectors = read_vectors(write_vectors(tmp_path / "v.txt", header, gz), wanted=["Paris", "1999"], keep=2)
    assert vectors.dim == 4 and vectors.file_words == len(VECTORS)
    # the first `keep` words of the file, plus the wanted ones (by word, lowercase, then digits folded)
    assert set(vectors.keys) == {"the", "paris", "0000"}
    row = vectors.index["paris"]
    assert list(vectors.values[row * 4 : (row + 1) * 4]) == VECTORS["paris"]


def test_keep_all_and_bad_files(tmp_path):
    assert len(read_vectors(write_vectors(tmp_path / "v.txt"), keep=-1).keys) == len(VECTORS)
    with pytest.raises(DataError, match="no such embeddings file"):
        read_vectors(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2 3\nb 1 2\n")
    with pytest.raises(DataError, match=r"bad.txt:2: a vector of 2 numbers where the file's have 3"):
        read_vectors(bad, keep=-1)


@pytest.mark.slow
@pytest.mark.parametrize("freeze", [False, True])
def test_model_uses_vectors_for_words_outside_the_training_data(tiny_dir, tmp_path, freeze):
    path = tmp_path / "m.pt"
    vectors_file = write_vectors(tmp_path / "v.txt.gz", gz=True)
    train(
        tiny_dir / "train.txt",
        path,
        dev_file=tiny_dir / "dev.txt",
        model_config=ModelConfig(char_size=8, hidden_size=8),
        config=TrainConfig(epochs=2, embeddings=str(vectors_file), freeze_vectors=freeze, seed=3),
    )
    loaded = load_model(path)
    config, vocab, model = loaded.config, loaded.vocab, loaded.model
    assert config.embeddings == "v.txt.gz" and config.word_dim == 4
    # "Tokyo" is in no data file but in the vectors: at tag time it is a known word with its vector
    tokyo = vocab.word_id("Tokyo")
    assert tokyo >= config.num_words
    assert torch.equal(model.embed_words(torch.tensor([tokyo]))[0], torch.tensor(VECTORS["tokyo"]))
    # a training word with a vector starts from it, and stays there when frozen
    paris = vocab.word_id("Paris")
    assert paris < config.num_words and vocab.words[paris] == word_key("Paris")
    moved = not torch.equal(model.embed_words(torch.tensor([paris]))[0], torch.tensor(VECTORS["paris"]))
    assert moved is not freeze


@pytest.mark.slow
def test_training_words_that_keep_case_start_from_their_lowercase_vector(tiny_dir, tmp_path):
    path = tmp_path / "m.pt"
    train(
        tiny_dir / "train.txt",
        path,
        dev_file=tiny_dir / "dev.txt",
        model_config=ModelConfig(char_size=8, hidden_size=8),
        config=TrainConfig(
            epochs=1, embeddings=str(write_vectors(tmp_path / "v.txt")), freeze_vectors=True, lowercase=False
        ),
    )
    loaded = load_model(path)
    vocab, model = loaded.vocab, loaded.model
    assert vocab.lowercase is False
    paris = vocab.word_id("Paris")
    assert paris < loaded.config.num_words and vocab.words[paris] == "Paris"
    assert torch.equal(model.embed_words(torch.tensor([paris]))[0], torch.tensor(VECTORS["paris"]))

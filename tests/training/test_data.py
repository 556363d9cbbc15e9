"""tagger.training.data: the warnings about data too small to learn from."""

from __future__ import annotations

from tagger.data.corpus import load_tagged
from tagger.training.data import MIN_SENTENCES, too_little_data
from tests.corpora import make_sentences, write_conll


def test_warns_about_data_too_small_to_learn_from(tiny_dir, tmp_path):
    small = load_tagged(write_conll(tmp_path / "small.txt", make_sentences(MIN_SENTENCES - 1, 4)))
    no_entities = load_tagged(write_conll(tmp_path / "o.txt", [[("nice", "O"), ("day", "O")]]))
    dev = load_tagged(tiny_dir / "dev.txt")
    (message,) = too_little_data(small, dev)
    assert f"only {MIN_SENTENCES - 1} training sentences" in message and "more training data" in message
    (message,) = too_little_data(load_tagged(tiny_dir / "train.txt"), no_entities)
    assert "holds no entities" in message and "--dev" in message
    assert too_little_data(load_tagged(tiny_dir / "train.txt"), dev) == []  # the conftest model's data

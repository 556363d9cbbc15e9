"""Sentences the model-file and ensemble tests tag with the small trained model; a small random network."""

from __future__ import annotations

import numpy as np
import torch

from tagger.data.schemes import BIOES

# Names it was trained on, words it never saw, a single token.
SENTENCES_TO_TAG = [
    ["John", "Smith", "lives", "in", "Paris", "."],
    ["Acme", "Corp", "hired", "Angela", "Merkel", "in", "New", "York", "."],
    ["Unseen", "Wordz", "near", "Lake", "Tahoe"],
    ["Mary"],
]


# A small random network over a few sentences (the model, marginals and n-best tests).

SENTENCES = [
    ["John", "Smith", "lives", "in", "Paris", "."],
    ["Acme", "hired", "Mary"],
    ["Internationalization", "of", "the", "United", "Nations", "happened", "in", "New", "York", "yesterday", "."],
    ["Berlin"],
    ["ok", "ok", "ok", "OK", "Ok"],
]


def make_model(scheme: str = BIOES, cell: str = "lstm", char_encoder: str = "cnn", seed: int = 0, **config):
    """A (BiLSTMCRF, Vocabulary) over SENTENCES with the types PER and LOC, random weights from ``seed``."""
    from tagger.data.schemes import tag_set
    from tagger.data.vocabulary import Vocabulary
    from tagger.nn.config import ModelConfig
    from tagger.nn.model import BiLSTMCRF

    tags = tag_set(["PER", "LOC"], scheme)
    vocab = Vocabulary.build(SENTENCES, tags)
    torch.manual_seed(seed)
    sizes = dict(word_dim=8, char_dim=6, char_size=5, hidden_size=7, case_dim=3, dropout=0.5)
    sizes.update(config)
    model = BiLSTMCRF(
        ModelConfig(
            num_words=len(vocab.words),
            num_chars=len(vocab.chars),
            num_tags=len(tags),
            cell=cell,
            char_encoder=char_encoder,
            scheme=scheme,
            **sizes,
        ),
        vocab.tags,
    )
    return model, vocab


def decode(model, vocab, batch) -> list[list[int]]:
    """Best tag ids of each sentence of a batch from the training path's emissions (``BiLSTMCRF.emissions``),
    decoded as tagging decodes them (the model's constraints, ``runtime.crf.viterbi``)."""
    from tagger.runtime.crf import viterbi
    from tagger.tagging.model import from_torch

    with torch.inference_mode():
        emissions = model.emissions(batch).numpy()
    return viterbi(emissions, batch.mask.numpy(), from_torch(model, vocab, model.config.scheme).transitions())


FEED = ("words", "cases", "forms")  # a batch's arrays that the networks read, with its lengths


def window_of(network, sentences, docs=None, batch_size: int = 2):
    """A window's arrays as tagging lays them out for ``network`` (a backend of ``tagging.model``)."""
    from tagger.data.arrays import WindowMaker

    return WindowMaker(network.vocab, batch_size, chars=network.chars, context=network.context)(sentences, docs)


def run_window(network, arrays) -> list[tuple]:
    """The network's outputs of each batch of the window: (emissions, mentions or None)."""
    forms = network.forms(arrays)
    found = []
    for b in arrays.batches:
        feed = {name: np.frombuffer(getattr(b, name), np.int64).reshape(-1, b.width) for name in FEED}
        feed["lengths"] = np.frombuffer(b.lengths, dtype=np.int64)
        found.append(network.run(feed, forms))
    return found

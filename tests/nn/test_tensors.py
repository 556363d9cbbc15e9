"""Batch tensors: training's batches are laid out as tagging's, with characters and tags added."""

from __future__ import annotations

import pytest
import torch

from tagger.data.arrays import Lookup, window_arrays
from tagger.nn.model_file import load_model
from tagger.nn.tensors import TensorMaker, window_tensors

# sorted by length, as training's batches are (length_batches)
BY_LENGTH = [["Mary"], ["Bob", "met", "Mary"], ["Mary", "lives", "in", "Paris", "."], ["a" * 40, "Zürich"] * 3]


def test_a_training_batch_is_what_tagging_builds_for_its_sentences(trained_model):
    """Tagging a window of one batch gives the very arrays a training batch is made of: the same
    word ids, cases, form-table rows, mask and lengths, and the form table's characters."""
    vocab = load_model(trained_model).vocab
    tags = [[i % len(vocab.tags) for i in range(len(s))] for s in BY_LENGTH]
    batch = TensorMaker(vocab).batch(BY_LENGTH, tags)
    buckets, [(index, tagging)] = window_tensors(window_arrays(BY_LENGTH, Lookup(vocab), batch_size=len(BY_LENGTH)))
    assert index == list(range(len(BY_LENGTH)))
    for name in ("words", "cases", "forms", "mask", "lengths"):
        assert torch.equal(getattr(batch, name), getattr(tagging, name)), name
    (bucket,) = buckets
    assert torch.equal(batch.chars, bucket.chars)
    for r, sentence in enumerate(BY_LENGTH):
        assert batch.tags[r, : len(sentence)].tolist() == tags[r]
        assert not batch.tags[r, len(sentence) :].any()
        for t, token in enumerate(sentence):
            chars = [c for c in batch.chars[int(batch.forms[r, t])].tolist() if c]
            assert chars == vocab.char_ids(token if len(token) <= 30 else token[:15] + token[-15:])


def test_rows_keep_the_order_given(trained_model):
    vocab = load_model(trained_model).vocab
    maker = TensorMaker(vocab)
    batch = maker.batch(BY_LENGTH[::-1])
    assert batch.lengths.tolist() == [len(s) for s in BY_LENGTH[::-1]]
    assert batch.words[0, 0] == vocab.word_id(BY_LENGTH[-1][0])


def test_without_a_character_encoder_no_characters_are_built(trained_model):
    batch = TensorMaker(load_model(trained_model).vocab, chars=False).batch(BY_LENGTH)
    assert batch.chars.shape == (0, 0)


def test_bad_batches_say_what_is_wrong(trained_model):
    maker = TensorMaker(load_model(trained_model).vocab)
    with pytest.raises(ValueError, match=r"every sentence a token, got lengths \[1, 0\]"):
        maker.batch([["Mary"], []])
    with pytest.raises(ValueError, match="sentence 1 has 3 tokens but 2 tags"):
        maker.batch(BY_LENGTH[:2], [[0], [0, 0]])


def test_context_batches_carry_documents_and_keys_sharing_the_arrays_memory(trained_model):
    vocab = load_model(trained_model).vocab
    plain = TensorMaker(vocab).batch(BY_LENGTH)
    assert plain.docs is None and plain.keys is None
    batch = TensorMaker(vocab, context=True).batch(BY_LENGTH, docs=[5, 5, 6, 6])
    assert batch.docs.tolist() == [0, 0, 1, 1]
    assert batch.keys.shape == batch.words.shape and not batch.keys[~batch.mask].any()
    assert batch.keys[0, 0] == batch.keys[1, 2] == batch.keys[2, 0]  # "Mary" in each
    arrays = window_arrays(BY_LENGTH, Lookup(vocab), batch_size=4, docs=[0, 0, 1, 1], context=True)
    _, [(_, tagging)] = window_tensors(arrays)
    assert tagging.keys.data_ptr() == arrays.batches[0].keys.buffer_info()[0]  # a view, not a copy
    assert tagging.docs.tolist() == [0, 0, 1, 1]
    moved = tagging.to("cpu")
    assert torch.equal(moved.keys, tagging.keys) and torch.equal(moved.docs, tagging.docs)

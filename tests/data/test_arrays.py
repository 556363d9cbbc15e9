"""Arrays of a window or a batch: a table of distinct forms, and batches indexing it."""

from __future__ import annotations

import pickle

import pytest
import torch

from tagger.data.arrays import (
    FORM_BUCKET,
    Lookup,
    WindowMaker,
    batch_arrays,
    document_batches,
    documents,
    length_batches,
    window_arrays,
)
from tagger.data.vocabulary import Vocabulary
from tagger.nn.model_file import load_model
from tagger.nn.tensors import TensorMaker

VOCAB = Vocabulary.build([["Mary", "lives", "in", "Paris", "."]], ["O", "S-PER", "S-LOC"])


def test_a_window_is_cut_into_batches_of_similar_length_and_empty_sentences_get_none():
    sentences = [["x"] * 5, [], ["y"], ["x", "y"], ["z"] * 4]
    arrays = window_arrays(sentences, Lookup(VOCAB), batch_size=2)
    assert arrays.sentences == 5 and arrays.forms == 3
    assert [b.index for b in arrays.batches] == [[2, 3], [4, 0]]
    assert [b.width for b in arrays.batches] == [2, 5]


def test_a_batch_keeps_its_rows_in_order_and_its_characters_in_one_bucket():
    sentences = [[f"w{i}" for i in range(n)] for n in (3, 1, 2)] + [[f"{i:04d}" for i in range(FORM_BUCKET + 1)]]
    arrays = batch_arrays(sentences, Lookup(VOCAB))
    (batch,) = arrays.batches
    assert batch.index == [0, 1, 2, 3] and list(batch.lengths) == [3, 1, 2, FORM_BUCKET + 1]
    (bucket,) = arrays.buckets  # more forms than a tagging bucket holds
    assert bucket.start == 0 and bucket.width == 4 and len(bucket.chars) == 4 * arrays.forms
    assert len(window_arrays(sentences, Lookup(VOCAB), batch_size=4).buckets) == 2
    assert batch_arrays(sentences, Lookup(VOCAB), chars=False).buckets == []


def test_length_batches_visit_every_sentence_once():
    lengths = [5, 1, 4, 2, 3, 9, 7]
    batches = length_batches(lengths, 3, order=[6, 5, 4, 3, 2, 1, 0])
    assert sorted(i for b in batches for i in b) == list(range(7))
    assert all([lengths[i] for i in b] == sorted(lengths[i] for i in b) for b in batches)


def test_without_context_batches_carry_no_documents_or_keys():
    sentences = [["Mary", "lives"], ["in", "Paris"]]
    for arrays in (window_arrays(sentences, Lookup(VOCAB), 2, docs=[0, 0]), batch_arrays(sentences, Lookup(VOCAB))):
        assert all(b.docs is None and b.keys is None for b in arrays.batches)


def test_documents_are_runs_of_equal_numbers_or_each_sentence_its_own():
    assert documents(5, [3, 3, 4, 4, 4]) == [[0, 1], [2, 3, 4]]
    assert documents(3) == [[0], [1], [2]]
    with pytest.raises(ValueError, match="3 sentences but 2 document numbers"):
        documents(3, [0, 0])


def test_document_batches_hold_whole_documents_of_about_the_batch_size():
    groups = [[0, 1], [2, 3, 4], [5], [6, 7, 8, 9, 10, 11, 12], [13], [14, 15]]
    batches = document_batches(groups, 4)
    assert batches == [[[0, 1], [2, 3, 4]], [[5]], [[6, 7, 8, 9, 10, 11, 12]], [[13], [14, 15]]]
    assert document_batches([[0], [], [1]], 1) == [[[0]], [[1]]]
    assert document_batches([[0], [1, 2, 3, 4, 5]], 4) == [[[0]], [[1, 2, 3, 4, 5]]]  # a longer one alone


def test_with_context_a_windows_batches_carry_window_document_numbers_and_keys():
    sentences = [["Paris", "is"], ["PARIS", "x"], [], ["paris"], ["Mary", "in", "Paris"], ["is"]]
    docs = [7, 7, 7, 8, 9, 9]
    arrays = window_arrays(sentences, Lookup(VOCAB), batch_size=3, docs=docs, context=True)
    plain = window_arrays(sentences, Lookup(VOCAB), batch_size=3)
    assert [b.index for b in arrays.batches] == [b.index for b in plain.batches]  # still cut by length
    assert sorted(i for b in arrays.batches for i in b.index) == [0, 1, 3, 4, 5]  # the empty sentence gets no row
    numbers = {i: d for b in arrays.batches for i, d in zip(b.index, b.docs)}
    assert numbers == {0: 0, 1: 0, 3: 1, 4: 2, 5: 2}  # runs of equal numbers, from 0 in the window
    keys = {}  # token -> its key, the same for every mention of a lowercased form, PAD beyond each length
    for b in arrays.batches:
        for r, i in enumerate(b.index):
            row = list(b.keys[r * b.width : (r + 1) * b.width])
            assert row[len(sentences[i]) :] == [0] * (b.width - len(sentences[i]))
            for token, key in zip(sentences[i], row):
                assert keys.setdefault(token.lower(), key) == key and key > 0
    assert len(set(keys.values())) == len(keys)
    alone = window_arrays(sentences, Lookup(VOCAB), batch_size=3, context=True)  # no docs: each its own
    assert {i: d for b in alone.batches for i, d in zip(b.index, b.docs)} == {0: 0, 1: 1, 3: 3, 4: 4, 5: 5}


def test_a_context_batch_numbers_its_documents_in_order_of_first_row():
    sentences = [["a"], ["b"], ["c"]]
    (batch,) = batch_arrays(sentences, Lookup(VOCAB), docs=[40, 12, 40], context=True).batches
    assert list(batch.docs) == [0, 1, 0]
    (alone,) = batch_arrays(sentences, Lookup(VOCAB), context=True).batches
    assert list(alone.docs) == [0, 1, 2]


def test_a_window_maker_pickles_with_its_context():
    maker = pickle.loads(pickle.dumps(WindowMaker(VOCAB, 8, chars=False, context=True)))
    assert (maker.batch_size, maker.chars, maker.context) == (8, False, True)
    (batch,) = maker([["Paris"], ["paris"]], [1, 1]).batches
    assert list(batch.docs) == [0, 0] and batch.keys[0] == batch.keys[1]


def test_window_arrays_give_the_tensors_training_makes(trained_model):
    """A window's batches hold the same word ids, cases and mask as ``TensorMaker.batch`` of their
    sentences, and each token's form-table row holds that token's characters."""
    from tagger.data.arrays import Lookup, window_arrays
    from tagger.nn.tensors import window_tensors

    vocab = load_model(trained_model).vocab
    sentences = [["Mary", "lives", "in", "Paris", "."], [], ["x"] * 9, ["Bob", "met", "Mary"], ["a" * 40, "Zürich"]]
    arrays = window_arrays(sentences, Lookup(vocab), batch_size=2)
    buckets, batches = window_tensors(arrays)
    table = {}
    for bucket in buckets:
        for r, row in enumerate(bucket.chars.tolist()):
            table[bucket.start + r] = [c for c in row if c != 0]
    assert arrays.sentences == len(sentences) and arrays.forms == len(table) == 10
    assert sorted(i for index, _ in batches for i in index) == [0, 2, 3, 4]  # the empty sentence gets none
    maker = TensorMaker(vocab)
    for index, batch in batches:
        expected = maker.batch([sentences[i] for i in index])
        for name in ("words", "cases", "mask", "lengths"):
            assert torch.equal(getattr(batch, name), getattr(expected, name)), name
        for r, i in enumerate(index):
            for t in range(len(sentences[i])):
                ours = table[int(batch.forms[r, t])]
                assert ours == [c for c in expected.chars[int(expected.forms[r, t])].tolist() if c != 0]
                assert len(ours) == min(len(sentences[i][t]), 30)
    # Without a character encoder the table has no characters.
    assert window_arrays(sentences, Lookup(vocab), batch_size=2, chars=False).buckets == []


def test_a_document_is_cut_after_doc_max_sentences():
    from tagger.data.arrays import DOC_MAX, documents

    groups = documents(DOC_MAX + 3, [7] * (DOC_MAX + 3))
    assert [len(g) for g in groups] == [DOC_MAX, 3]
    assert [i for g in groups for i in g] == list(range(DOC_MAX + 3))

"""Arrays of a window or a batch: a table of distinct forms, and batches indexing it."""

from __future__ import annotations

from tagger.arrays import FORM_BUCKET, Lookup, batch_arrays, length_batches, window_arrays
from tagger.vocabulary import Vocabulary

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

"""The tagging path: the tokenizer worker, the window-level form table, streaming order."""

from __future__ import annotations

import io
import time

import pytest
import torch

from tagger.model_file import load_model
from tagger.schemes import convert
from tagger.tagging import Predictor, tag_stream
from tagger.tensors import TensorMaker
from tagger.tokenizer import tokenize_flat
from tagger.windows import FIRST_WINDOW, TaggedSentence, read_sentences, read_windows


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["text", "tokens"])
def test_worker_process_reads_exactly_like_inline(trained_model, kind):
    lines = [f"Line {i}: Mary met Dr. Smith in Paris. They didn't stay!\n" for i in range(FIRST_WINDOW + 300)]
    data = "".join(lines).encode()
    maker = Predictor.from_loaded(load_model(trained_model)).window_maker

    def read(workers):
        windows = list(read_windows(io.BytesIO(data), "<test>", kind, maker, workers=workers, window=200))
        for sentences, arrays in windows:  # each window's arrays are its sentences'
            assert arrays == maker([s.tokens for s in sentences])
        return windows, [(s.tokens, list(s.offsets or []), s.text) for w, _ in windows for s in w]

    (_, inline), (parallel_windows, parallel) = read(0), read(1)
    assert parallel == inline
    assert len(parallel_windows) > 2  # the worker did some
    assert len(inline) == len(lines) * (2 if kind == "text" else 1)
    if kind == "text":
        tokens, flat = tokenize_flat(lines[0])[0]
        pairs = list(zip(flat[::2], flat[1::2]))
        assert inline[0][:2] == (tokens, pairs)


def test_window_arrays_give_the_tensors_training_makes(trained_model):
    """A window's batches hold the same word ids, cases and mask as ``TensorMaker.batch`` of their
    sentences, and each token's form-table row holds that token's characters."""
    from tagger.arrays import Lookup, window_arrays
    from tagger.tensors import window_tensors

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


def test_offsets_point_at_the_tokens_across_lines():
    text = "Mary lives in Paris.\r\n\nBob works at Acme Corp. He likes it.\nÜber café — ok\n"
    sentences = list(read_sentences(io.BytesIO(text.encode()), "<test>"))
    assert [s.tokens[0] for s in sentences] == ["Mary", "Bob", "He", "Über"]
    for s in sentences:
        for token, (start, end) in zip(s.tokens, s.offsets, strict=True):
            assert text[start:end] == token


def test_form_table_path_gives_the_per_batch_result(trained_model):
    loaded = load_model(trained_model)
    predictor = Predictor.from_loaded(loaded, batch_size=3)
    sentences = [["Mary", "lives", "in", "Paris", "."], ["Bob", "works", "for", "Acme", "Corp", "."], ["x"] * 9]
    predicted = predictor.predict(sentences)
    with torch.inference_mode():
        for tokens, tags in zip(sentences, predicted, strict=True):
            batch = TensorMaker(loaded.vocab).batch([tokens])  # characters encoded per batch, as in training
            ids = loaded.model.decode(batch)[0]
            assert len(tags) == len(tokens)
            assert convert([loaded.vocab.tags[i] for i in ids], loaded.data_scheme) == tags


def test_stream_keeps_input_order_across_windows(trained_model):
    predictor = Predictor.from_loaded(load_model(trained_model), batch_size=2)
    text = "".join(f"{'word ' * (1 + i % 7)}Mary .\n" for i in range(23))
    windows = read_windows(io.BytesIO(text.encode()), "<test>", "text", predictor.window_maker, window=5)
    tagged = list(tag_stream(predictor, windows))
    assert [len(s.tokens) for s in tagged] == [2 + 1 + i % 7 for i in range(23)]
    assert all(len(s.tags) == len(s.tokens) for s in tagged)


BIOES_TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]


def valid_bioes_sequences(count: int) -> list[list[int]]:
    """``count`` random tag id sequences (1 to 8 tags) that are valid BIOES, as constrained decoding gives."""
    import random

    from tagger.schemes import BIOES, invalid_positions

    rng = random.Random(0)
    found = []
    while len(found) < count:
        ids = [rng.randrange(len(BIOES_TAGS)) for _ in range(rng.randint(1, 8))]
        if not invalid_positions([BIOES_TAGS[i] for i in ids], BIOES):
            found.append(ids)
    return found


def test_per_tag_rewrite_matches_convert_on_valid_sequences(trained_model):
    from tagger.schemes import BIOES, IOB2
    from tagger.tagging import _per_tag_map

    model = load_model(trained_model).model
    mapping = _per_tag_map(model, BIOES_TAGS, IOB2)
    assert model.config.scheme == BIOES and mapping is not None
    for ids in valid_bioes_sequences(300):
        assert [mapping[i] for i in ids] == convert([BIOES_TAGS[i] for i in ids], IOB2)


def test_iob1_rewrite_matches_convert_on_valid_sequences(trained_model):
    from tagger.schemes import BIOES, IOB1
    from tagger.tagging import _bioes_to_iob1

    model = load_model(trained_model).model
    rewrite = _bioes_to_iob1(model, BIOES_TAGS, IOB1)
    assert model.config.scheme == BIOES and rewrite is not None
    b_tags = 0
    for ids in valid_bioes_sequences(500):
        expected = convert([BIOES_TAGS[i] for i in ids], IOB1)
        assert rewrite(ids) == expected, [BIOES_TAGS[i] for i in ids]
        b_tags += sum(t.startswith("B-") for t in expected)
    assert b_tags > 20  # the case that needs context came up


def test_stopping_early_waits_for_the_reader_thread(trained_model):
    """`tagger tag | head -1`: the thread preparing the next window must not be inside torch when the
    interpreter exits (that aborts the process with status 134), so closing the stream waits for it."""
    import threading

    predictor = Predictor.from_loaded(load_model(trained_model))
    tensors = predictor.tensors

    def slow_tensors(arrays):
        time.sleep(0.3)  # the reader thread is still preparing when the stream is closed
        return tensors(arrays)

    predictor.tensors = slow_tensors
    sentence = ["Mary", "lives", "in", "Paris", "."]
    windows = (([TaggedSentence(sentence, []) for _ in range(500)], None) for _ in range(20))
    stream = tag_stream(predictor, windows)
    for _ in range(3):
        next(stream)
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "tagger-reader"]

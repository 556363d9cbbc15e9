"""The tagging path: the tokenizer worker, the window-level form table, streaming order."""

from __future__ import annotations

import io
import time

import torch

from tagger.model_file import load_model
from tagger.schemes import convert
from tagger.tagging import Predictor, iter_text, tag_stream
from tagger.tokenizer import LINES_PER_TASK, tokenize_all, tokenize_text


def test_worker_process_tokenizes_exactly_like_inline():
    lines = [f"Line {i}: Mary met Dr. Smith in Paris. They didn't stay!" for i in range(3 * LINES_PER_TASK + 7)]

    def plain(results):
        return [[(tokens, list(flat)) for tokens, flat in line] for line in results]

    inline = plain(tokenize_all(lines, workers=0))
    parallel = plain(tokenize_all(lines, workers=1))
    assert parallel == inline
    assert len(inline) == len(lines)
    tokens, pairs = tokenize_text(lines[0])[0]
    assert inline[0][0] == (tokens, [x for pair in pairs for x in pair])


def test_offsets_point_at_the_tokens_across_lines():
    text = "Mary lives in Paris.\r\n\nBob works at Acme Corp. He likes it.\nÜber café — ok\n"
    sentences = list(iter_text(io.BytesIO(text.encode()), "<test>"))
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
            batch = predictor.maker.batch([tokens])  # characters encoded per batch, as in training
            ids = loaded.model.decode(batch)[0]
            assert len(tags) == len(tokens)
            assert convert([loaded.vocab.tags[i] for i in ids], loaded.data_scheme) == tags


def test_stream_keeps_input_order_across_windows(trained_model):
    predictor = Predictor.from_loaded(load_model(trained_model), batch_size=2)
    text = "".join(f"{'word ' * (1 + i % 7)}Mary .\n" for i in range(23))
    sentences = list(iter_text(io.BytesIO(text.encode()), "<test>"))
    tagged = list(tag_stream(predictor, iter(sentences), window=5))
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

    from tagger.tagging import TaggedSentence

    predictor = Predictor.from_loaded(load_model(trained_model))
    prepare = predictor.prepare

    def slow_prepare(sentences):
        time.sleep(0.3)  # the reader thread is still preparing when the stream is closed
        return prepare(sentences)

    predictor.prepare = slow_prepare
    sentences = (TaggedSentence(["Mary", "lives", "in", "Paris", "."], []) for _ in range(10_000))
    stream = tag_stream(predictor, sentences, window=500)
    for _ in range(3):
        next(stream)
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "tagger-reader"]

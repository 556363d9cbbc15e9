"""The tagging path: the window-level form table, streaming order, tag rewrites, offsets of any text
(hypothesis), a sentence of 100000 tokens; the predictor's scores (token, entity and sequence probabilities, n-best,
temperature, min_score, the fitted temperature) against brute force over a small random model's own scores."""

from __future__ import annotations

import io
import json
import time

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tagger.data.inputs import read_windows
from tagger.data.schemes import BIOES, IOB1, IOB2, convert, invalid_positions, to_spans
from tagger.data.types import TaggedSentence
from tagger.nn.device import configure_torch
from tagger.nn.model_file import load_model
from tagger.nn.tensors import TensorMaker
from tagger.tagging.model import from_torch, open_model
from tagger.tagging.predictor import Predictor
from tagger.tagging.stream import tag_stream
from tagger.tagging.writer import format_jsonl
from tests.helpers import torch_model
from tests.nn.crf_problems import brute_entity_probabilities, brute_force, brute_marginals
from tests.nn.helpers import SENTENCES, decode, make_model
from tests.properties import SLOW


def test_form_table_path_gives_the_per_batch_result(trained_model):
    loaded = load_model(trained_model)
    predictor = Predictor(torch_model(loaded), batch_size=3)
    sentences = [["Mary", "lives", "in", "Paris", "."], ["Bob", "works", "for", "Acme", "Corp", "."], ["x"] * 9]
    predicted = predictor.predict(sentences)
    with torch.inference_mode():
        for tokens, tags in zip(sentences, predicted, strict=True):
            batch = TensorMaker(loaded.vocab).batch([tokens])  # characters encoded per batch, as in training
            ids = decode(loaded.model, loaded.vocab, batch)[0]
            assert len(tags) == len(tokens)
            assert convert([loaded.vocab.tags[i] for i in ids], loaded.data_scheme) == tags


def test_stream_keeps_input_order_across_windows(trained_model):
    predictor = Predictor(open_model(trained_model), batch_size=2)
    text = "".join(f"{'word ' * (1 + i % 7)}Mary .\n" for i in range(23))
    windows = read_windows(io.BytesIO(text.encode()), "<test>", "text", predictor.window_maker, window=5)
    tagged = list(tag_stream(predictor, windows))
    assert [len(s.tokens) for s in tagged] == [2 + 1 + i % 7 for i in range(23)]
    assert all(len(s.tags) == len(s.tokens) for s in tagged)


BIOES_TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]


def valid_bioes_sequences(count: int) -> list[list[int]]:
    """``count`` random tag id sequences (1 to 8 tags) that are valid BIOES, as constrained decoding gives."""
    import random

    from tagger.data.schemes import invalid_positions

    rng = random.Random(0)
    found = []
    while len(found) < count:
        ids = [rng.randrange(len(BIOES_TAGS)) for _ in range(rng.randint(1, 8))]
        if not invalid_positions([BIOES_TAGS[i] for i in ids], BIOES):
            found.append(ids)
    return found


def test_per_tag_rewrite_matches_convert_on_valid_sequences(trained_model):
    from tagger.tagging.rewrite import per_tag_map

    model = load_model(trained_model).model
    mapping = per_tag_map(BIOES_TAGS, model.config.scheme, model.config.constrained, IOB2)
    assert model.config.scheme == BIOES and mapping is not None
    for ids in valid_bioes_sequences(300):
        assert [mapping[i] for i in ids] == convert([BIOES_TAGS[i] for i in ids], IOB2)


def test_iob1_rewrite_matches_convert_on_valid_sequences(trained_model):
    from tagger.tagging.rewrite import bioes_to_iob1

    model = load_model(trained_model).model
    rewrite = bioes_to_iob1(BIOES_TAGS, model.config.scheme, model.config.constrained, IOB1)
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

    predictor = Predictor(open_model(trained_model))
    feeds = predictor.feeds

    def slow_feeds(arrays):
        time.sleep(0.3)  # the reader thread is still preparing when the stream is closed
        return feeds(arrays)

    predictor.feeds = slow_feeds
    sentence = ["Mary", "lives", "in", "Paris", "."]
    windows = (([TaggedSentence(sentence, []) for _ in range(500)], None) for _ in range(20))
    stream = tag_stream(predictor, windows)
    for _ in range(3):
        next(stream)
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "tagger-reader"]


@pytest.mark.slow
def test_sentence_of_100000_tokens(tmp_path, trained_model):
    from tagger.tagging.files import tag_file
    from tagger.tagging.options import TagOptions

    words = "Mary lives in Paris and John Smith works for Google in Berlin".split()
    path = tmp_path / "long.txt"
    path.write_text(" ".join(words[i % len(words)] for i in range(100_000)) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    with out.open("w", encoding="utf-8") as f:
        assert tag_file(str(path), f, trained_model, TagOptions(input_kind="tokens", threads=1)) == 1
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 100_001 and lines[-1] == ""
    assert [line.split("\t")[0] for line in lines[:4]] == words[:4]
    assert all(line.split("\t")[1][0] in "OBI" for line in lines[:-1])


# Tagging raw text: one tag per token, offsets that point at the token


@pytest.fixture(scope="module")
def predictor(trained_model):

    configure_torch(1)
    return Predictor(open_model(trained_model), batch_size=16)


PIECES = [
    "Mary",
    "Paris",
    "John Smith",
    "don't",
    "n't",
    "O'Neil",
    "y'all",
    "can’t",
    "U.S.",
    "Mr.",
    "a.m.",
    "e-mail",
    "http://example.com/a?b=c",
    "ann@example.org",
    "&amp;",
    "&lt;3",
    "&#39;",
    "$5.00",
    "10,000",
    ":-)",
    "...",
    "?!",
    "“quoted”",
    "(x)",
    "東京",
    "مرحبا",
    "😀",
    "👍🏽",
    "e\u0301",
    "ﬁ",
    "\u200b",
    "\u00a0",
    "\u3000",
    "\u2028",
    "\x85",
    "\ufeff",
    " ",
    "  ",
    "\t",
    "\r",
    "\r\n",
    "\n",
    ". ",
]


texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=14).map("".join)


@SLOW
@given(text=texts)
def test_tagging_any_text_gives_a_tag_per_token_and_true_offsets(predictor, text):
    data = text.encode("utf-8")
    reference = data.decode("utf-8")
    if reference.startswith("\ufeff"):  # the reader drops a byte-order mark
        reference = reference[1:]
    windows = read_windows(io.BytesIO(data), "<text>", "text", predictor.window_maker, window=8)
    for sentence in tag_stream(predictor, windows):
        record = json.loads(format_jsonl(sentence))
        assert len(record["tags"]) == len(record["tokens"]) == len(record["offsets"]) > 0
        for token, (start, end) in zip(record["tokens"], record["offsets"]):
            assert token and reference[start:end] == token
        assert invalid_positions(record["tags"], predictor.out_scheme) == []
        for entity in record["entities"]:
            assert reference[entity["char_start"] : entity["char_end"]] == entity["text"]
            assert entity["char_start"] == record["offsets"][entity["start"]][0]


# Predictor with document context


def test_a_context_model_tags_each_document_as_it_would_alone(context_model, context_dir):
    from tagger.data.corpus import load_tagged

    loaded = load_model(context_model)
    sentences = load_tagged(context_dir / "test.txt").sentences
    tokens, docs = [s.tokens for s in sentences], [s.doc for s in sentences]
    predictor = Predictor(torch_model(loaded), batch_size=7)
    assert predictor.window_maker.context
    batches = predictor.prepare(tokens, docs).batches
    assert len(batches) == 3 and all("keys" in feed for _, feed, _ in batches)
    # a document's sentences spread over the window's batches (cut by length), pooled across them
    assert any(len({i // 5 for i in index}) > 1 for index, _, _ in batches)
    together = predictor.predict(tokens, docs)
    model = loaded.model.eval()
    for d in sorted(set(docs)):  # each document alone, as one batch
        rows = [i for i, e in enumerate(docs) if e == d]
        batch = TensorMaker(loaded.vocab, context=True).batch([tokens[i] for i in rows], docs=[0] * len(rows))
        with torch.inference_mode():
            ids = decode(model, loaded.vocab, batch)
        for i, found in zip(rows, ids):
            assert together[i] == convert([loaded.vocab.tags[t] for t in found], loaded.data_scheme)


def test_a_context_model_scores_what_it_tags(context_model, context_dir):
    from tagger.data.corpus import load_tagged

    sentences = load_tagged(context_dir / "test.txt").sentences
    tokens, docs = [s.tokens for s in sentences], [s.doc for s in sentences]
    loaded = load_model(context_model)
    scored = Predictor(torch_model(loaded), batch_size=7, scores=True, nbest=2).run_scored(
        Predictor(torch_model(loaded), batch_size=7).prepare(tokens, docs)
    )
    assert [found["tags"] for found in scored] == Predictor(torch_model(loaded)).predict(tokens, docs)
    assert all(0 < found["probability"] <= 1 and len(found["nbest"]) == 2 for found in scored)


def test_a_context_model_tags_empty_input(context_model):
    predictor = Predictor(open_model(context_model))
    assert predictor.predict([]) == [] and predictor.predict([[], []], [0, 1]) == [[], []]
    assert predictor.predict([["Mary"], [], ["Mary"]], [0, 0, 0])[1] == []


def test_a_model_without_context_ignores_documents(trained_model):
    predictor = Predictor(open_model(trained_model), batch_size=2)
    assert not predictor.window_maker.context
    sentences = [["Mary", "lives", "in", "Paris", "."], ["Mary", "Smith"], ["x"] * 3]
    assert predictor.predict(sentences, [0, 0, 1]) == predictor.predict(sentences)
    prepared = predictor.prepare(sentences, [0, 0, 1])
    assert all("docs" not in feed and "keys" not in feed for _, feed, _ in prepared.batches)


# The Predictor's scores (tagging.Predictor with scores=True, nbest=K) on a small random model


def scored_predictor(scheme: str, out_scheme: str, nbest: int = 0, temperature: float | None = None):
    """A predictor with scores over a small random model whose CRF scores are random too, and the model."""
    model, vocab = make_model(scheme=scheme, seed=4)
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in (model.crf.start_transitions, model.crf.transitions, model.crf.end_transitions):
            p.copy_(torch.randn(p.shape, generator=generator))
    wrapped = from_torch(model, vocab, out_scheme)
    predictor = Predictor(wrapped, batch_size=2, scores=True, nbest=nbest, temperature=temperature)
    return predictor, wrapped, vocab


def sentence_scores(model, tokens, scale: float = 1.0):
    """One sentence's emissions, alone in its batch, and the CRF's exact scores, in double precision divided by
    ``scale`` (the temperature)."""
    predictor = Predictor(model)
    prepared = predictor.prepare([tokens])
    ((_, feed, _),) = prepared.batches
    emissions = torch.from_numpy(model.run(feed, model.forms(prepared.arrays))[0][0]).double() / scale  # (n, tags)
    return emissions, [torch.from_numpy(p).double() / scale for p in model.transitions(exact=True)]


SHORT = [["John", "Smith", "lives"], [], ["Paris"], ["Mary", "in", "Berlin"]]


@pytest.mark.parametrize(
    "scheme, out_scheme, temperature", [(BIOES, IOB1, None), (BIOES, BIOES, 1.7), (IOB2, IOB2, None), (IOB1, IOB1, 0.6)]
)
def test_predictor_scores_equal_brute_force_over_the_models_own_scores(scheme, out_scheme, temperature):
    from tagger.data.types import TaggedSentence

    predictor, model, vocab = scored_predictor(scheme, out_scheme, nbest=1000, temperature=temperature)
    scale = temperature or 1.0  # the CRF's scores are divided by the temperature
    sentences = [TaggedSentence(list(tokens), []) for tokens in SHORT]
    predictor.label(sentences, predictor.prepare(SHORT))
    assert [s.tags for s in sentences] == predictor.predict(SHORT)  # the same tags as without scores
    for sentence, tokens in zip(sentences, SHORT):
        if not tokens:
            assert sentence.probability == 1.0 and sentence.token_scores == [] and sentence.entity_scores == []
            continue
        emissions, crf = sentence_scores(model, tokens, scale)
        paths, probs = brute_force(emissions, *crf)
        as_output = [convert([vocab.tags[t] for t in path], out_scheme) for path in paths.tolist()]
        expected = {tuple(tags): p for tags, p in zip(as_output, probs.tolist()) if p > 0}
        # The emissions of a sentence alone and in a batch differ in the last float32 bits: rel=1e-6.
        assert sentence.probability == pytest.approx(expected[tuple(sentence.tags)], rel=1e-6)
        nbest = sorted(expected.values(), reverse=True)
        assert [n["probability"] for n in sentence.nbest] == pytest.approx(nbest, rel=1e-6)
        assert {tuple(n["tags"]): n["probability"] for n in sentence.nbest} == pytest.approx(expected, rel=1e-6)
        marginal = brute_marginals(paths, probs, len(vocab.tags))
        chosen = [vocab.tags.index(t) for t in convert(sentence.tags, scheme)]
        assert sentence.token_scores == pytest.approx([float(marginal[i, t]) for i, t in enumerate(chosen)], rel=1e-6)
        spans = brute_entity_probabilities(paths, probs, vocab.tags)
        assert sentence.entity_scores == pytest.approx([spans[span] for span in to_spans(sentence.tags)], rel=1e-6)
        assert len(sentence.entity_scores) > 0 or not to_spans(sentence.tags)


def test_predictor_without_scores_computes_none(monkeypatch):
    import tagger.tagging.predictor as tagging
    from tagger.data.types import TaggedSentence

    def fail(*args, **kwargs):
        raise AssertionError("scores computed though not asked for")

    monkeypatch.setattr(tagging, "decoded_scores", fail)
    monkeypatch.setattr(tagging, "kbest_probabilities", fail)
    predictor, model, vocab = scored_predictor(BIOES, IOB1)
    plain = tagging.Predictor(model, batch_size=2)
    sentences = [TaggedSentence(list(tokens), []) for tokens in SHORT]
    plain.label(sentences, plain.prepare(SHORT))
    assert [s.tags for s in sentences] == plain.predict(SHORT)
    fields = ("token_scores", "entity_scores", "probability", "nbest")
    assert all(getattr(s, key, None) is None for s in sentences for key in fields)
    with pytest.raises(AssertionError, match="not asked for"):
        predictor.run_scored(predictor.prepare(SHORT))
    with pytest.raises(ValueError, match="nbest must be 0 .* got -1"):
        tagging.Predictor(model, nbest=-1)
    with pytest.raises(ValueError, match="temperature must be above 0, got 0"):
        tagging.Predictor(model, temperature=0)


def test_a_higher_temperature_gives_less_certain_scores():
    sentences = [["John", "Smith", "lives", "in", "Paris", "."]]
    cold, _, _ = scored_predictor(BIOES, IOB1, temperature=0.5)
    warm, _, _ = scored_predictor(BIOES, IOB1, temperature=3.0)
    a, b = cold.run_scored(cold.prepare(sentences))[0], warm.run_scored(warm.prepare(sentences))[0]
    assert a["tags"] == b["tags"]  # decoding does not use the temperature
    assert a["probability"] > b["probability"]


def test_fit_temperature_returns_the_grid_point_with_the_lowest_error():
    from tagger.runtime.scores import calibration_error

    predictor, model, vocab = scored_predictor(BIOES, IOB1, temperature=1.0)
    gold = [["I-PER"] * len(s) for s in SENTENCES]  # made-up gold tags: some entities right, most wrong
    grid = (0.5, 1.0, 2.0, 4.0)
    best, error = predictor.fit_temperature(SENTENCES, gold, temperatures=grid)
    assert predictor.temperature == 1.0  # its own is kept
    errors = []
    for temperature in grid:
        predictor.temperature = temperature
        found = predictor.run_scored(predictor.prepare(SENTENCES))
        scores = [p for f in found for p in f["entity_scores"]]
        correct = [span in to_spans(g) for f, g in zip(found, gold) for span in to_spans(f["tags"])]
        errors.append(calibration_error(scores, correct))
    assert error == pytest.approx(min(errors)) and best == grid[errors.index(min(errors))]
    assert len(set(errors)) > 1  # the temperature did change the error
    with pytest.raises(ValueError, match="scores=True"):
        Predictor(model).fit_temperature(SENTENCES, gold)


@pytest.mark.parametrize("scheme, out_scheme", [(BIOES, IOB1), (IOB2, IOB2)])
def test_min_score_drops_entities_and_scores_the_sequence_left(scheme, out_scheme):
    from tagger.data.schemes import from_spans

    predictor, model, vocab = scored_predictor(scheme, out_scheme)
    strict = Predictor(model, batch_size=2, scores=True, min_score=0.6)
    dropped = kept = 0
    for everything, found, tokens in zip(
        predictor.run_scored(predictor.prepare(SHORT)), strict.run_scored(strict.prepare(SHORT)), SHORT
    ):
        spans = to_spans(everything["tags"])
        left = [s for s, p in zip(spans, everything["entity_scores"]) if p >= 0.6]
        assert to_spans(found["tags"]) == left
        assert found["tags"] == from_spans(left, len(tokens), out_scheme)
        assert found["entity_scores"] == [p for p in everything["entity_scores"] if p >= 0.6]
        dropped, kept = dropped + len(spans) - len(left), kept + len(left)
        if not tokens:
            continue
        emissions, crf = sentence_scores(model, tokens)
        paths, probs = brute_force(emissions, *crf)
        as_output = [convert([vocab.tags[t] for t in path], out_scheme) for path in paths.tolist()]
        expected = {tuple(tags): p for tags, p in zip(as_output, probs.tolist()) if p > 0}
        assert found["probability"] == pytest.approx(expected[tuple(found["tags"])], rel=1e-6)
        marginal = brute_marginals(paths, probs, len(vocab.tags))
        chosen = [vocab.tags.index(t) for t in convert(found["tags"], scheme)]
        assert found["token_scores"] == pytest.approx([float(marginal[i, t]) for i, t in enumerate(chosen)], rel=1e-6)
    assert dropped > 0 and kept > 0
    with pytest.raises(ValueError, match="min_score needs scores=True"):
        Predictor(model, min_score=0.5)
    with pytest.raises(ValueError, match="min_score must be between 0 and 1, got 2"):
        Predictor(model, scores=True, min_score=2)

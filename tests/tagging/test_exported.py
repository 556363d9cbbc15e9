"""tagger/tagging/exported.py: an exported model tags as its torch model does (identical tags on a test file, entity
and token scores within 1e-4, the same n-best paths) for an LSTM + char CNN and a GRU + char BiLSTM model, through
the predictor, the API and the command line; and that path never imports torch (checked in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tagger.nn.export import export_model
from tagger.nn.model_file import load_model
from tagger.runtime.model import load_onnx
from tagger.tagging.exported import OnnxPredictor
from tagger.tagging.predictor import Predictor
from tests.helpers import ROOT, TRAINED_EPOCHS, run_cli
from tests.nn.helpers import SENTENCES_TO_TAG

TOL = 1e-4


@pytest.fixture(scope="module")
def gru_model(tiny_dir, tmp_path_factory):
    """A GRU + char BiLSTM model trained on tiny_dir as trained_model is."""
    from tagger.nn.model import ModelConfig
    from tagger.training.loop import TrainConfig, train

    path = tmp_path_factory.mktemp("gru") / "model.pt"
    train(
        tiny_dir / "train.txt",
        path,
        dev_file=tiny_dir / "dev.txt",
        model_config=ModelConfig(word_dim=20, char_size=10, hidden_size=16, cell="gru", char_encoder="lstm"),
        config=TrainConfig(epochs=TRAINED_EPOCHS, batch_size=8, lr=0.05, patience=0, seed=1),
    )
    return path


@pytest.fixture(scope="module", params=["lstm_cnn", "gru_char_lstm"])
def pair(request, trained_model, gru_model, tmp_path_factory):
    """A trained .pt model and its export."""
    pt = trained_model if request.param == "lstm_cnn" else gru_model
    onnx = tmp_path_factory.mktemp("exported") / "model.onnx"
    export_model(load_model(pt), onnx)
    return pt, onnx


def sentences(tiny_dir) -> list[list[str]]:
    from tagger.data.corpus import load_tagged

    return [s.tokens for s in load_tagged(tiny_dir / "test.txt").sentences] + SENTENCES_TO_TAG


def both(pair, **options):
    pt, onnx = pair
    return Predictor.from_loaded(load_model(pt), 4, **options), OnnxPredictor(load_onnx(onnx), 4, **options)


def test_identical_tags_on_a_test_file(pair, tiny_dir):
    torch_predictor, onnx_predictor = both(pair)
    tokens = sentences(tiny_dir)
    assert onnx_predictor.predict(tokens) == torch_predictor.predict(tokens)


def test_scores_within_tolerance_and_the_same_nbest(pair, tiny_dir):
    torch_predictor, onnx_predictor = both(pair, scores=True, nbest=4)
    tokens = sentences(tiny_dir)
    want = torch_predictor.run_scored(torch_predictor.prepare(tokens))
    got = onnx_predictor.run_scored(onnx_predictor.prepare(tokens))
    for ours, theirs in zip(got, want):
        assert ours["tags"] == theirs["tags"]
        assert ours["entity_scores"] == pytest.approx(theirs["entity_scores"], abs=TOL)
        assert ours["token_scores"] == pytest.approx(theirs["token_scores"], abs=TOL)
        assert ours["probability"] == pytest.approx(theirs["probability"], abs=TOL)
        assert [n["tags"] for n in ours["nbest"]] == [n["tags"] for n in theirs["nbest"]]
        assert [n["probability"] for n in ours["nbest"]] == pytest.approx(
            [n["probability"] for n in theirs["nbest"]], abs=TOL
        )


def test_min_score_drops_the_same_entities(pair, tiny_dir):
    torch_predictor, onnx_predictor = both(pair, scores=True, min_score=0.9)
    tokens = sentences(tiny_dir)
    want = torch_predictor.run_scored(torch_predictor.prepare(tokens))
    got = onnx_predictor.run_scored(onnx_predictor.prepare(tokens))
    assert [g["tags"] for g in got] == [w["tags"] for w in want]


def test_the_api_and_the_command_line_give_the_torch_models_output(pair, tiny_dir, cli_env):
    from tagger import Tagger

    pt, onnx = pair
    text = "John Smith lives in Paris .\nAcme Corp hired Angela Merkel in New York .\n"
    ours, theirs = Tagger.load(onnx, scores=True)(text).entities, Tagger.load(pt, scores=True)(text).entities
    assert [(e.type, e.start, e.end) for e in ours] == [(e.type, e.start, e.end) for e in theirs]
    assert [e.score for e in ours] == pytest.approx([e.score for e in theirs], abs=TOL)
    for args in ([], ["--format", "jsonl", "--scores", "tokens", "--nbest", "2"]):
        want = run_cli("tag", "-m", pt, "--input", "tokens", *args, tiny_dir / "test.txt")
        got = run_cli("tag", "-m", onnx, "--input", "tokens", *args, tiny_dir / "test.txt")
        assert got.exit_code == 0, got.stderr
        if not args:
            assert got.stdout == want.stdout
        else:
            for ours, theirs in zip(got.stdout.splitlines(), want.stdout.splitlines(), strict=True):
                ours, theirs = json.loads(ours), json.loads(theirs)
                assert ours["tags"] == theirs["tags"]
                assert ours["token_scores"] == pytest.approx(theirs["token_scores"], abs=TOL)
    scored = run_cli("evaluate", tiny_dir / "test.txt", "-m", onnx, "--format", "json")
    assert (
        json.loads(scored.stdout)["f1"]
        == json.loads(run_cli("evaluate", tiny_dir / "test.txt", "-m", pt, "--format", "json").stdout)["f1"]
    )


NO_TORCH = """
import sys
from tagger import Tagger
doc = Tagger.load(sys.argv[1], scores=True, nbest=2)("John Smith lives in Paris .")
assert doc.sentences[0].tags, doc
from tagger.cli import main
try:
    main.app(["tag", "-m", sys.argv[1], "--scores", "entities", "--format", "jsonl", sys.argv[2]])
except SystemExit as end:
    assert end.code in (0, None), end.code
try:
    main.app(["evaluate", sys.argv[2], "-m", sys.argv[1]])
except SystemExit as end:
    assert end.code in (0, None), end.code
print(sorted({"torch", "seqeval", "sklearn"} & set(sys.modules)) or "no torch")
"""


@pytest.mark.slow
def test_tagging_with_an_exported_model_never_imports_torch(pair, tiny_dir):
    _, onnx = pair
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(onnx), str(tiny_dir / "test.txt")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "no torch"

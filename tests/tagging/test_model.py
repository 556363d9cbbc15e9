"""tagger/tagging/model.py: one interface over every kind of model. ``open_model`` opens a .pt, its export, a shipped
name and an ensemble alike (the same vocabulary, schemes, context and CRF scores for a .pt and its .onnx), refuses an
exported model in an ensemble and a GPU for an exported model in one line, reads $TAGGER_THREADS; every kind tags blank
input as nothing. Through the one predictor an exported model tags as its torch model does (identical tags on a test
file, entity and token scores within 1e-4, the same n-best paths) for an LSTM + char CNN, a GRU + char BiLSTM, a
document-context model and an ensemble of a model with context and one without (one graph), through the predictor, the
API and the command line, and for random models of other kinds (char BiLSTM, GRU, two layers, no case, words only); a
plain label set's output is the torch model's; and the exported model's path never imports torch (a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tagger.errors import ModelFileError
from tagger.nn.ensemble import load_models
from tagger.nn.export import export_model
from tagger.tagging.model import is_exported, model_files, open_model, thread_count
from tagger.tagging.predictor import Predictor
from tests.helpers import POS_DIR, ROOT, TRAINED_EPOCHS, run_cli, torch_model
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


@pytest.fixture(scope="module", params=["lstm_cnn", "gru_char_lstm", "context", "ensemble"])
def pair(request, trained_model, gru_model, context_model, tiny_dir, context_dir, tmp_path_factory):
    """Trained .pt models (several: an ensemble), their export, and the folder of their data (with documents
    for a model reading context)."""
    pts = {
        "lstm_cnn": [trained_model],
        "gru_char_lstm": [gru_model],
        "context": [context_model],
        "ensemble": [context_model, trained_model],
    }[request.param]
    onnx = tmp_path_factory.mktemp("exported") / "model.onnx"
    export_model(load_models(pts), onnx)
    return pts, onnx, tiny_dir if request.param in ("lstm_cnn", "gru_char_lstm") else context_dir


def sentences(folder) -> tuple[list[list[str]], list[int]]:
    """The test file's sentences and their documents, and SENTENCES_TO_TAG in a document of their own."""
    from tagger.data.corpus import load_tagged

    found = load_tagged(folder / "test.txt").sentences
    last = max((s.doc for s in found), default=0) + 1
    return [s.tokens for s in found] + SENTENCES_TO_TAG, [s.doc for s in found] + [last] * len(SENTENCES_TO_TAG)


def both(pair, **options):
    pts, onnx, _ = pair
    return Predictor(open_model(pts), 4, **options), Predictor(open_model(onnx), 4, **options)


def test_identical_tags_on_a_test_file(pair):
    torch_predictor, onnx_predictor = both(pair)
    tokens, docs = sentences(pair[2])
    assert onnx_predictor.predict(tokens, docs) == torch_predictor.predict(tokens, docs)


def test_scores_within_tolerance_and_the_same_nbest(pair):
    torch_predictor, onnx_predictor = both(pair, scores=True, nbest=4)
    tokens, docs = sentences(pair[2])
    want = torch_predictor.run_scored(torch_predictor.prepare(tokens, docs))
    got = onnx_predictor.run_scored(onnx_predictor.prepare(tokens, docs))
    for ours, theirs in zip(got, want):
        assert ours["tags"] == theirs["tags"]
        assert ours["entity_scores"] == pytest.approx(theirs["entity_scores"], abs=TOL)
        assert ours["token_scores"] == pytest.approx(theirs["token_scores"], abs=TOL)
        assert ours["probability"] == pytest.approx(theirs["probability"], abs=TOL)
        assert [n["tags"] for n in ours["nbest"]] == [n["tags"] for n in theirs["nbest"]]
        assert [n["probability"] for n in ours["nbest"]] == pytest.approx(
            [n["probability"] for n in theirs["nbest"]], abs=TOL
        )


def test_a_batch_run_in_parts_gives_the_same_tags_and_scores(pair, monkeypatch):
    """A batch longer than RUN_TOKENS padded tokens runs in parts of fewer rows (here of one or two sentences)."""
    import tagger.runtime.model

    monkeypatch.setattr(tagger.runtime.model, "RUN_TOKENS", 40)
    torch_predictor, onnx_predictor = both(pair, scores=True, nbest=2)
    tokens, docs = sentences(pair[2])
    want = torch_predictor.run_scored(torch_predictor.prepare(tokens, docs))
    got = onnx_predictor.run_scored(onnx_predictor.prepare(tokens, docs))
    assert [g["tags"] for g in got] == [w["tags"] for w in want]
    assert [n["tags"] for g in got for n in g["nbest"]] == [n["tags"] for w in want for n in w["nbest"]]
    for ours, theirs in zip(got, want):
        assert ours["token_scores"] == pytest.approx(theirs["token_scores"], abs=TOL)


def test_min_score_drops_the_same_entities(pair):
    torch_predictor, onnx_predictor = both(pair, scores=True, min_score=0.9)
    tokens, docs = sentences(pair[2])
    want = torch_predictor.run_scored(torch_predictor.prepare(tokens, docs))
    got = onnx_predictor.run_scored(onnx_predictor.prepare(tokens, docs))
    assert [g["tags"] for g in got] == [w["tags"] for w in want]


def test_the_api_and_the_command_line_give_the_torch_models_output(pair, cli_env):
    from tagger import Tagger

    pts, onnx, folder = pair
    models = [arg for pt in pts for arg in ("-m", pt)]
    text = "John Smith lives in Paris .\nAcme Corp hired Angela Merkel in New York .\n"
    ours, theirs = Tagger.load(onnx, scores=True)(text).entities, Tagger.load(pts, scores=True)(text).entities
    assert [(e.type, e.start, e.end) for e in ours] == [(e.type, e.start, e.end) for e in theirs]
    assert [e.score for e in ours] == pytest.approx([e.score for e in theirs], abs=TOL)
    for args in ([], ["--format", "jsonl", "--scores", "tokens", "--nbest", "2"]):
        want = run_cli("tag", *models, "--input", "conll", *args, folder / "test.txt")
        got = run_cli("tag", "-m", onnx, "--input", "conll", *args, folder / "test.txt")
        assert got.exit_code == 0, got.stderr
        if not args:
            assert got.stdout == want.stdout
        else:
            for ours, theirs in zip(got.stdout.splitlines(), want.stdout.splitlines(), strict=True):
                ours, theirs = json.loads(ours), json.loads(theirs)
                assert ours["tags"] == theirs["tags"]
                assert ours["token_scores"] == pytest.approx(theirs["token_scores"], abs=TOL)
    scored = run_cli("evaluate", folder / "test.txt", "-m", onnx, "--format", "json")
    assert (
        json.loads(scored.stdout)["f1"]
        == json.loads(run_cli("evaluate", folder / "test.txt", *models, "--format", "json").stdout)["f1"]
    )


RANDOM_MODELS = {
    "lstm, char BiLSTM": dict(cell="lstm", char_encoder="lstm"),
    "gru, char BiLSTM, 2 layers": dict(cell="gru", char_encoder="lstm", layers=2),
    "gru, char CNN, no case": dict(cell="gru", char_encoder="cnn", case_dim=0),
    "gru, words only, context": dict(cell="gru", char_encoder="none", context="document"),
    "lstm, char BiLSTM, context": dict(cell="lstm", char_encoder="lstm", context="document"),
}


@pytest.mark.parametrize("config", RANDOM_MODELS.values(), ids=RANDOM_MODELS.keys())
def test_random_models_of_every_kind_tag_and_score_as_torch(tmp_path, config):
    from tagger.nn.model_file import LoadedModel
    from tests.nn.helpers import SENTENCES, make_model

    model, vocab = make_model(**config, seed=2)
    loaded = LoadedModel(model.eval(), vocab, model.config, "iob2", {})
    torch_predictor = Predictor(torch_model(loaded), 2, scores=True, nbest=3)
    onnx_predictor = Predictor(open_model(export_model(loaded, tmp_path / "m.onnx")), 2, scores=True, nbest=3)
    tokens = SENTENCES + SENTENCES_TO_TAG + [["Berlin", "ok", "Paris"]]
    docs = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
    want = torch_predictor.run_scored(torch_predictor.prepare(tokens, docs))
    got = onnx_predictor.run_scored(onnx_predictor.prepare(tokens, docs))
    for ours, theirs in zip(got, want, strict=True):
        assert ours["tags"] == theirs["tags"]
        for key in ("token_scores", "entity_scores"):
            assert ours[key] == pytest.approx(theirs[key], abs=TOL)
        assert [n["tags"] for n in ours["nbest"]] == [n["tags"] for n in theirs["nbest"]]
        assert [n["probability"] for n in ours["nbest"]] == pytest.approx(
            [n["probability"] for n in theirs["nbest"]], abs=TOL
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
tagged = sorted({"torch", "seqeval", "sklearn"} & set(sys.modules))  # tagging: neither torch nor seqeval's stack
try:
    main.app(["evaluate", sys.argv[2], "-m", sys.argv[1]])  # scoring brings seqeval (the evaluate extra), not torch
except SystemExit as end:
    assert end.code in (0, None), end.code
print(tagged or sorted({"torch"} & set(sys.modules)) or "no torch")
"""


@pytest.mark.slow
def test_tagging_with_an_exported_model_never_imports_torch(pair):
    _, onnx, folder = pair
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(onnx), str(folder / "test.txt")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "no torch"


@pytest.fixture(scope="module")
def plain_pair(pos_model, tmp_path_factory):
    """A part-of-speech model (a plain label set) and its export."""
    onnx = tmp_path_factory.mktemp("plain") / "pos.onnx"
    export_model(load_models([pos_model]), onnx)
    return pos_model, onnx


def test_a_plain_label_set_has_the_same_tags_token_scores_and_nbest_and_no_entities(plain_pair):
    from tagger.data.corpus import load_tagged

    tokens = [s.tokens for s in load_tagged(POS_DIR / "test.txt", 1).sentences] + SENTENCES_TO_TAG
    torch_predictor, onnx_predictor = both((*plain_pair, None), scores=True, nbest=3)
    want = torch_predictor.run_scored(torch_predictor.prepare(tokens))
    got = onnx_predictor.run_scored(onnx_predictor.prepare(tokens))
    for ours, theirs in zip(got, want, strict=True):
        assert ours.keys() == theirs.keys()
        assert ours["tags"] == theirs["tags"] and ours["entity_scores"] == theirs["entity_scores"] == []
        assert ours["token_scores"] == pytest.approx(theirs["token_scores"], abs=TOL)
        assert ours["probability"] == pytest.approx(theirs["probability"], abs=TOL)
        assert [n["tags"] for n in ours["nbest"]] == [n["tags"] for n in theirs["nbest"]]
    assert onnx_predictor.predict(tokens) == torch_predictor.predict(tokens)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--format", "inline"],
        ["--format", "html"],
        ["--format", "jsonl"],
        ["--format", "jsonl", "--scores", "tokens", "--nbest", "3"],
    ],
)
def test_a_plain_label_sets_output_is_the_torch_models(plain_pair, args, cli_env):
    pos, onnx = plain_pair
    want = run_cli("tag", "-m", pos, "--input", "conll", *args, POS_DIR / "test.txt")
    got = run_cli("tag", "-m", onnx, "--input", "conll", *args, POS_DIR / "test.txt")
    assert got.exit_code == 0, got.stderr
    if "--scores" not in args:
        assert got.stdout == want.stdout
    for ours, theirs in zip(got.stdout.splitlines(), want.stdout.splitlines(), strict=True):
        if "--scores" in args:
            ours, theirs = json.loads(ours), json.loads(theirs)
            assert ours.keys() == theirs.keys() and "entities" not in ours
            assert ours["tags"] == theirs["tags"] and [n["tags"] for n in ours["nbest"]] == [
                n["tags"] for n in theirs["nbest"]
            ]
            assert ours["token_scores"] == pytest.approx(theirs["token_scores"], abs=TOL)


def test_a_plain_label_set_through_the_api_and_evaluate(plain_pair, cli_env):
    from tagger import Tagger

    pos, onnx = plain_pair
    text = "The plan cost $ 5 , Acme said ."
    exported = Tagger.load(onnx, scores=True)
    ours, theirs = exported(text), Tagger.load(pos, scores=True)(text)
    assert exported.plain and ours.to_dict().keys() == theirs.to_dict().keys()
    assert ours.tags == theirs.tags and not ours.entities and ours.sentences[0].plain
    evaluated = [
        run_cli("evaluate", POS_DIR / "test.txt", "-m", m, "--tag-column", "1", "--format", "json") for m in plain_pair
    ]
    assert json.loads(evaluated[0].stdout)["accuracy"] == json.loads(evaluated[1].stdout)["accuracy"]


# One interface: every kind opened alike


def test_a_pt_and_its_export_open_as_the_same_model(pair):
    pts, onnx, _ = pair
    ours, theirs = open_model(onnx), open_model(pts)
    assert ours.vocab.tags == theirs.vocab.tags and ours.vocab.words == theirs.vocab.words
    assert (ours.scheme, ours.data_scheme, ours.constrained) == (theirs.scheme, theirs.data_scheme, theirs.constrained)
    assert (ours.context, ours.chars, ours.temperature) == (theirs.context, theirs.chars, theirs.temperature)
    for exact in (False, True):
        for a, b in zip(ours.transitions(exact), theirs.transitions(exact)):
            assert a.dtype == b.dtype and (a == b).all()
    assert ours.device == theirs.device == "cpu"


def test_models_name_their_files_and_refuse_an_exported_member(trained_model, onnx_model):
    assert model_files("en-news").suffix == ".onnx" and is_exported("en-news.ONNX") and not is_exported("m.pt")
    assert model_files([onnx_model]) == onnx_model and model_files([trained_model]) == [trained_model]
    with pytest.raises(ModelFileError, match="an exported model tags alone, not in an ensemble"):
        open_model([trained_model, onnx_model])


def test_an_exported_model_refuses_a_device_other_than_the_cpu(onnx_model, trained_model):
    with pytest.raises(ValueError, match=r"^an exported model \(.onnx\) runs on the CPU; device 'cuda' needs the .pt"):
        open_model(onnx_model, device="cuda")
    with pytest.raises(ValueError, match=r"device must be cpu, cuda or cuda:N; 'gpu' is not a torch device"):
        open_model(trained_model, "gpu")


def test_threads_are_the_environments_for_0_and_at_most_the_cores(monkeypatch):
    monkeypatch.setenv("TAGGER_THREADS", "1")
    assert thread_count(0) == 1 and thread_count(10_000) == __import__("os").cpu_count()
    monkeypatch.setenv("TAGGER_THREADS", "many")
    assert thread_count(0) == 1
    monkeypatch.delenv("TAGGER_THREADS")
    assert thread_count(0) == 1 and thread_count(1) == 1


# Blank input: nothing to tag, for every kind (an exported model with context failed on it once)

KINDS = ["pt", "onnx", "context.pt", "context.onnx", "ensemble.pt", "ensemble.onnx"]


@pytest.fixture(scope="module")
def kinds(trained_model, onnx_model, context_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kinds")
    return {
        "pt": trained_model,
        "onnx": onnx_model,
        "context.pt": context_model,
        "context.onnx": export_model(load_models([context_model]), folder / "context.onnx"),
        "ensemble.pt": [context_model, trained_model],
        "ensemble.onnx": export_model(load_models([context_model, trained_model]), folder / "ensemble.onnx"),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_tags_blank_input_as_nothing(kinds, kind):
    from tagger import Tagger

    tagger = Tagger.load(kinds[kind], scores=True, nbest=2)
    assert [len(tagger(text).sentences) for text in ("", "\n\n", " \n\t\n")] == [0, 0, 0]
    assert [len(doc.sentences) for doc in tagger.pipe(["", "John lives in Paris .", "\n"])] == [0, 1, 0]
    tagged = tagger("John lives in Paris .\n\n\nMary works in Berlin .\n")
    assert [len(s.tags) for s in tagged.sentences] == [5, 5]
    predictor = Predictor(open_model(kinds[kind]), scores=True, nbest=2)
    assert predictor.predict([[], []], [0, 1]) == [[], []] and predictor.predict([]) == []
    assert predictor.run_scored(predictor.prepare([[]]))[0]["probability"] == 1.0


@pytest.mark.parametrize("kind", ["context.onnx", "ensemble.onnx"])
def test_blank_lines_on_the_command_line_write_nothing_and_exit_0(kinds, kind, cli_env):
    done = run_cli("tag", "-m", kinds[kind], input="\n\n")
    assert done.exit_code == 0 and done.stdout == "", done.stderr
    done = run_cli("tag", "-m", kinds[kind], "--format", "inline", input="John lives in Paris .\n\nMary is here .\n")
    assert done.exit_code == 0 and len(done.stdout.splitlines()) == 2, done.stderr


@pytest.mark.slow
def test_a_blank_line_in_a_paused_stream_ends_nothing(kinds):
    """`(echo A; sleep; echo; sleep; echo B) | tagger tag`: each line is tagged when it comes, the blank one included
    (a window of blank lines only), and the line after it too (an exported model with context stopped there)."""
    import time

    proc = subprocess.Popen(
        [sys.executable, "cli.py", "tag", "-m", str(kinds["context.onnx"]), "--format", "inline"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for line in ("John Smith lives in Paris .\n", "\n", "Bob Jones works in Berlin .\n"):
        proc.stdin.write(line)
        proc.stdin.flush()
        time.sleep(1.0)  # past the reader's pause: what came is tagged before more comes
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    tagged = [line for line in out.splitlines() if line.strip()]
    assert len(tagged) == 2 and "John Smith" in tagged[0] and "Berlin" in tagged[1], out

"""The Python API: Tagger against the command line, pickling, pipe, argument and model errors."""

from __future__ import annotations

import inspect
import json
import multiprocessing
import pickle
import queue
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import tagger
from tagger import Tagger
from tagger.data.types import Doc, Entity
from tagger.errors import ModelFileError, TaggerError
from tagger.nn.model_file import read_checkpoint
from tagger.training.evaluation import evaluate
from tests.contextual import needs_context, save_context_model
from tests.helpers import run_cli
from tests.properties import examples

TEXTS = [
    "Apple is opening a new store in Paris next week.",
    "John Smith lives in New York .\nMary works for Google in Berlin. Bob met Ana Lopez.",
    "",
    "  \n\n\t\n",
    "Angela Merkel  visited\tMadrid\r\nand Lake Tahoe with «Acme Corp» ,\n\nthen  Paris",
    "\n\nBob\n",
    "e\u0301 \u00a0 Mary 😀 lives in Berlin\u2028 ok\x85",
]


pytestmark = pytest.mark.usefixtures("cli_env")


@pytest.fixture(scope="module")
def model(trained_model) -> Tagger:
    return Tagger.load(trained_model)


def cli_records(model_path: Path, data: str, *args: str) -> list[dict]:
    result = run_cli("tag", "--model", model_path, "--format", "jsonl", *args, input=data.encode("utf-8"))
    assert result.exit_code == 0, result.stderr
    # JSON Lines end each record with "\n" only: a U+2028 inside a string is not a line break (splitlines() says it is)
    return [json.loads(line) for line in result.stdout.split("\n") if line]


def cli_error(args: list[str]) -> str:
    result = run_cli(*args, input="Mary lives in Paris .\n")
    assert result.exit_code == 2
    return result.stderr.strip()


def records(doc: Doc) -> list[dict]:
    return [sentence.to_dict() for sentence in doc.sentences]


# What the issue promises, and the same answers as the command line


def test_the_three_line_example(trained_model):
    t = Tagger.load(trained_model)
    doc = t("Apple is opening a new store in Paris next week.")
    assert doc.entities[0] == Entity("ORG", "Apple", 0, 1, 0, 5)
    assert all(isinstance(e, Entity) for e in doc.entities)
    assert [(e.type, e.text) for e in doc.entities if e.type == "LOC"] == [("LOC", "Paris")]


def test_load_sets_torchs_threads_as_the_command_line_does(trained_model):
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        Tagger.load(trained_model, threads=None)
        assert torch.get_num_threads() == 2
        Tagger.load(trained_model, threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_default_model_path_is_used(trained_model, monkeypatch):
    monkeypatch.setenv("TAGGER_MODEL", str(trained_model))
    assert Tagger.load().path == Path(trained_model).resolve()


@pytest.mark.parametrize("text", TEXTS)
def test_a_text_is_tagged_as_the_command_line_tags_it(model, trained_model, text):
    doc = model(text)
    assert doc.text == text
    assert records(doc) == cli_records(trained_model, text)
    for entity in doc.entities:
        assert text[entity.char_start : entity.char_end] == entity.text
    for sentence in doc.sentences:
        assert [text[a:b] for a, b in sentence.offsets] == sentence.tokens


texts = st.lists(
    st.one_of(
        st.sampled_from(["Mary", "John Smith", "Paris", "New York", "Acme Corp", "Google", "lives in", "met", "."]),
        st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\n\n", ". ", "\u00a0", "\u2028", "\ufeff", "😀", "n't"]),
        st.text(max_size=4),
    ),
    max_size=12,
).map("".join)


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=texts)
@example(text="\ufeffMary lives in Paris .\nBob")
@example(text="Bob\r\n\ufeffMary")
@example(text="\ufeff. Mary")  # a space in the mark's place would make segtok split ". Mary" otherwise
@example(text="\ufeff\ufeff")  # a second mark is a character of the text, as for the command line
def test_any_text_gets_the_tags_entities_and_offsets_of_the_command_line(model, trained_model, text):
    """Offsets count from the text's start; a byte-order mark that starts it counts too (the command
    line drops one at the start of its input, so its offsets are one less)."""
    expected = cli_records(trained_model, text)
    if text.startswith("\ufeff"):
        for record in expected:
            record["offsets"] = [[a + 1, b + 1] for a, b in record["offsets"]]
            for entity in record["entities"]:
                entity["char_start"] += 1
                entity["char_end"] += 1
    assert records(model(text)) == expected


def test_pipe_gives_each_text_the_command_lines_answer_on_all_of_them(model, trained_model):
    docs = list(model.pipe(TEXTS, batch_size=3))
    assert [d.text for d in docs] == TEXTS
    joined = "".join(t if t.endswith("\n") or not t else t + "\n" for t in TEXTS)
    expected = cli_records(trained_model, joined)
    at = 0
    got = []
    for doc in docs:
        for record in records(doc):  # move each text's offsets to where it is in the joined input
            record["offsets"] = [[a + at, b + at] for a, b in record["offsets"]]
            for entity in record["entities"]:
                entity["char_start"] += at
                entity["char_end"] += at
            got.append(record)
        at += len(doc.text) + (0 if doc.text.endswith("\n") or not doc.text else 1)
    assert got == expected


def test_tag_tokens_is_the_command_lines_token_input(model, trained_model):
    sentences = [["John", "lives", "in", "Paris"], ["Mary", "works", "for", "Acme", "Corp", "."], ["Bob"]]
    tagged = model.tag_tokens(sentences)
    expected = cli_records(trained_model, "".join(" ".join(s) + "\n" for s in sentences), "--input", "tokens")
    assert [s.to_dict() for s in tagged] == expected
    assert [s.tokens for s in tagged] == sentences
    assert tagged[0].entities[-1] == Entity("LOC", "Paris", 3, 4)
    assert model.tag_tokens([]) == []
    assert model.tag_tokens([[]])[0].tags == []
    assert model.tag_tokens((("Mary",),))[0].tokens == ["Mary"]


def test_empty_and_blank_texts_give_no_sentences(model):
    for text in ("", " ", "\n\n", "\r\n \t\n"):
        doc = model(text)
        assert doc.sentences == [] and doc.entities == []
        assert doc.to_dict() == {"text": text, "sentences": [], "entities": []}


def test_evaluate_is_the_command_lines_evaluate(model, trained_model, tiny_dir):
    result = model.evaluate(tiny_dir / "test.txt")
    assert result == evaluate(tiny_dir / "test.txt", trained_model)
    assert result["f1"] > 0.5 and set(result["per_type"]) == {"PER", "LOC", "ORG"}


# pipe: order, laziness, flat memory


def test_pipe_keeps_the_input_order(model):
    texts = [f"{name} lives in {place} ." for name in ("Mary", "Bob", "John Smith") for place in ("Paris", "Berlin")]
    texts = texts * 3 + ["", "Mary"]
    assert [d.to_dict() for d in model.pipe(texts, batch_size=4)] == [model(t).to_dict() for t in texts]


def test_pipe_is_lazy_and_reads_ahead_at_most_one_batch(model):
    pulled = []

    def endless():
        while True:
            pulled.append(1)
            yield "Mary lives in Paris ."

    docs = model.pipe(endless(), batch_size=5)
    assert pulled == []  # nothing is read before the first result is asked for
    for taken in range(1, 13):
        assert next(docs).entities[0].text == "Mary"
        assert len(pulled) - taken < 5
    docs.close()


def test_pipe_gives_results_before_a_failing_input_fails(model):
    def failing():
        yield "Mary lives in Paris ."
        raise RuntimeError("the input broke after one text")

    docs = model.pipe(failing(), batch_size=1)
    assert next(docs).entities[0].text == "Mary"
    with pytest.raises(RuntimeError, match="broke"):
        next(docs)


def test_pipe_answers_each_text_of_a_slow_stream_before_the_next_comes(model):
    given: queue.Queue = queue.Queue()

    def slow():  # texts as they come from a queue, a socket or a user
        while (text := given.get(timeout=10)) is not None:
            yield text

    docs = model.pipe(slow(), batch_size=64)
    for name in ("Mary", "Bob", "Ana Lopez"):
        given.put(f"{name} lives in Paris .")
        started = time.monotonic()
        doc = next(docs)  # before the next text is given (before: it waited for 64 texts, or the end)
        assert time.monotonic() - started < 2
        assert [e.text for e in doc.entities] == [name, "Paris"]
    for i in range(3):  # texts that come together are tagged together, in order
        given.put(f"Text {i} : Bob lives in Berlin .")
    given.put(None)
    assert [d.text for d in docs] == [f"Text {i} : Bob lives in Berlin ." for i in range(3)]


# Pickling


def test_pickle_round_trip_tags_the_same(model):
    copy = pickle.loads(pickle.dumps(model))
    assert copy.path == model.path and copy.batch_size == model.batch_size
    assert [copy(t).to_dict() for t in TEXTS] == [model(t).to_dict() for t in TEXTS]


def test_a_tagger_from_a_checkpoint_carries_it_when_pickled(model, trained_model, tmp_path):
    path = tmp_path / "model.pt"
    shutil.copy(trained_model, path)
    from_memory = Tagger.from_checkpoint(read_checkpoint(path), batch_size=8)
    path.unlink()  # the copy cannot reload the file: it must carry the weights
    copy = pickle.loads(pickle.dumps(from_memory))
    assert copy.path is None and copy.batch_size == 8
    assert [copy(t).to_dict() for t in TEXTS] == [model(t).to_dict() for t in TEXTS]
    assert "checkpoint" in repr(copy)


def test_a_pickled_tagger_carries_the_models_path_not_its_weights(trained_model, tmp_path):
    from tagger.errors import ModelFileError

    path = tmp_path / "model.pt"
    shutil.copy(trained_model, path)
    data = pickle.dumps(Tagger.load(path))
    assert len(data) < 1000 and str(path).encode() in data  # the absolute path, never the weights
    path.unlink()
    with pytest.raises(ModelFileError, match="no model file here"):  # the copy loads the file again
        pickle.loads(data)


@pytest.mark.slow
def test_a_pickled_tagger_tags_in_another_process(model):
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        docs = pool.map(model, TEXTS)
    assert [d.to_dict() for d in docs] == [model(t).to_dict() for t in TEXTS]


# Errors


def test_a_missing_or_damaged_model_is_the_error_the_command_line_reports(tmp_path):
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a model at all")
    for path in (tmp_path / "missing.pt", damaged, tmp_path):
        with pytest.raises(ModelFileError) as info:
            Tagger.load(path)
        assert isinstance(info.value, TaggerError)
        assert cli_error(["tag", "--model", path]) == f"tagger: error: {info.value}"


def test_a_damaged_checkpoint_is_a_model_file_error():
    with pytest.raises(ModelFileError, match=r"^<checkpoint>: not a tagger model file"):
        Tagger.from_checkpoint({"format": "something else"})


@pytest.mark.parametrize(
    ("call", "error", "shown"),
    [
        (lambda t: t(b"Mary lives in Paris"), TypeError, "bytes b'Mary lives in Paris'"),
        (lambda t: t(["Mary", "Paris"]), TypeError, "list ['Mary', 'Paris'] (pipe() tags many texts"),
        (lambda t: t(None), TypeError, "NoneType None"),
        (lambda t: t("\ud800 lone surrogate"), ValueError, "'\\ud800' at character 0"),
        (lambda t: t.tag_tokens("John lives"), TypeError, "str 'John lives'"),
        (lambda t: t.tag_tokens(["John", "lives"]), TypeError, "sentence 0 is not a list of tokens: str 'John'"),
        (lambda t: t.tag_tokens([["John", 7]]), TypeError, "sentence 0 has a token that is not a str: int 7"),
        (lambda t: t.tag_tokens([["a"], ["John", ""]]), ValueError, "sentence 1 has an empty token: list ['John', '']"),
        (lambda t: t.pipe("Mary lives in Paris"), TypeError, "not one text; got str 'Mary lives in Paris'"),
        (lambda t: t.pipe(42), TypeError, "iterable of texts; got int 42"),
        (lambda t: list(t.pipe(["Mary", 3.5])), TypeError, "text 1 is not a str: float 3.5"),
        (lambda t: t.pipe(["Mary"], batch_size=0), ValueError, "batch_size must be at least 1; got 0"),
        (lambda t: t.pipe(["Mary"], batch_size="8"), TypeError, "batch_size must be an int; got str '8'"),
        (lambda t: t.evaluate(None), TypeError, "NoneType None"),
    ],
)
def test_wrong_arguments_say_what_was_passed(model, call, error, shown):
    with pytest.raises(error) as info:
        call(model)
    assert shown in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "shown"),
    [
        ({"path": 3}, TypeError, "int 3"),
        ({"device": "gpu"}, ValueError, "device must be cpu, cuda or cuda:N; 'gpu' is not a torch device"),
        ({"device": 0.5}, TypeError, "float 0.5"),
        ({"batch_size": True}, TypeError, "bool True"),
        ({"batch_size": -2}, ValueError, "got -2"),
        ({"threads": "2"}, TypeError, "str '2'"),
        ({"threads": -1}, ValueError, "got -1"),
    ],
)
def test_wrong_load_arguments_say_what_was_passed(trained_model, kwargs, error, shown):
    kwargs.setdefault("path", trained_model)
    with pytest.raises(error) as info:
        Tagger.load(**kwargs)
    assert shown in str(info.value)
    with pytest.raises(TypeError, match=r"got list \[1\]"):
        Tagger.from_checkpoint([1])


# Scores and n-best (issue 12)


@pytest.fixture(scope="module")
def scored(trained_model) -> Tagger:
    return Tagger.load(trained_model, scores=True, nbest=3)


def test_entities_carry_the_command_lines_scores(scored, trained_model):
    text = TEXTS[1]
    doc = scored(text)
    assert doc.entities and all(0.0 <= e.score <= 1.0 for e in doc.entities)
    expected = cli_records(trained_model, text, "--scores", "tokens", "--nbest", "3")
    assert [s.to_dict() for s in doc.sentences] == expected
    assert "score" in doc.to_dict()["entities"][0]


def test_entities_carry_no_score_unless_asked(model):
    doc = model(TEXTS[1])
    assert doc.entities and all(e.score is None for e in doc.entities)
    assert all(s.token_scores is None and s.nbest is None for s in doc.sentences)


def test_tag_tokens_carries_scores_and_nbest(scored):
    (sentence,) = scored.tag_tokens([["John", "Smith", "lives", "in", "Paris", "."]])
    assert [e.type for e in sentence.entities] == ["PER", "LOC"] and all(e.score for e in sentence.entities)
    assert sentence.nbest[0]["tags"] == sentence.tags and 1 <= len(sentence.nbest) <= 3


def test_min_score_drops_entities_and_turns_scores_on(trained_model, model):
    strict = Tagger.load(trained_model, min_score=1.0)
    assert strict.scores
    before = model.tag_tokens([s.split() for s in TEXTS[1].replace(".", " .").splitlines()])
    after = strict.tag_tokens([s.tokens for s in before])
    assert sum(len(s.entities) for s in after) < sum(len(s.entities) for s in before)
    assert all(e.score >= 1.0 for s in after for e in s.entities)


def test_a_pickled_tagger_keeps_its_score_options(scored):
    copy = pickle.loads(pickle.dumps(scored))
    assert (copy.scores, copy.nbest, copy.min_score) == (True, 3, 0.0)
    assert repr(copy) == repr(scored) and "scores=True, nbest=3" in repr(copy)
    assert records(copy(TEXTS[0])) == records(scored(TEXTS[0]))


@pytest.mark.parametrize(
    ("kwargs", "error", "shown"),
    [
        ({"scores": "entities"}, TypeError, "str 'entities'"),
        ({"nbest": -1}, ValueError, "got -1"),
        ({"nbest": 2.0}, TypeError, "float 2.0"),
        ({"min_score": 1.5}, ValueError, "got 1.5"),
        ({"min_score": "0.5"}, TypeError, "str '0.5'"),
    ],
)
def test_wrong_score_arguments_say_what_was_passed(trained_model, kwargs, error, shown):
    with pytest.raises(error) as info:
        Tagger.load(trained_model, **kwargs)
    assert shown in str(info.value)


# The package's face


def test_the_package_exports_the_api():
    from tagger.api import train  # options by keyword (training.train takes the configs)

    assert tagger.Tagger is Tagger and tagger.TaggerError is TaggerError
    assert tagger.train is train and tagger.evaluate is evaluate
    assert {"Tagger", "train", "evaluate", "TaggerError"} <= set(dir(tagger))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = tagger.nothing


def test_train_and_evaluate_take_the_model_by_one_keyword_defaulting_to_the_default_model():
    """tagger.train(..., model="m.pt") worked and tagger.evaluate(..., model="m.pt") raised TypeError (issue 30)."""
    for function in (tagger.train, tagger.evaluate):
        model = inspect.signature(function).parameters["model"]
        assert model.default is None, function


def test_every_public_method_is_documented():
    public = [name for name in vars(Tagger) if not name.startswith("_")]
    assert {"load", "from_checkpoint", "tag_tokens", "pipe", "evaluate"} <= set(public)
    for name in [*public, "__call__", "__init__"]:
        assert (getattr(Tagger, name).__doc__ or "").strip(), name


@pytest.mark.slow
def test_importing_the_package_does_not_import_torch():
    code = "import sys, tagger; tagger.TaggerError; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent, timeout=60)


# Documents, for a model that reads context


class RecordingMaker:
    """A maker that reads context, standing in for one (``arrays.WindowMaker(..., context=True)``): it records
    the documents it is given and makes the arrays the model's own maker makes."""

    context = True

    def __init__(self, maker):
        self.maker = maker
        self.got: list[tuple[list[str], list[int]]] = []  # (first token of each sentence, its document) per window

    def __call__(self, sentences, docs=None):
        self.got.append(([s[0] if s else "" for s in sentences], None if docs is None else list(docs)))
        return self.maker(sentences)


@pytest.fixture
def recorded(trained_model, monkeypatch):
    tagger = Tagger.load(trained_model)
    maker = RecordingMaker(tagger._predictor.window_maker)
    monkeypatch.setattr(tagger._predictor, "window_maker", maker)
    return tagger, maker


def documents(got: list) -> list[list[str]]:
    found: list[list[str]] = []
    for firsts, docs in got:
        last = None
        for first, doc in zip(firsts, docs):
            if doc != last:
                found.append([])
                last = doc
            found[-1].append(first)
    return found


def test_a_texts_documents_are_its_blank_line_blocks_and_texts_never_share_one(recorded):
    tagger, maker = recorded
    doc = tagger("Mary met Bob. He left.\nAna stayed.\n\n \nParis is big.\n\nBerlin too")
    assert [s.tokens[0] for s in doc.sentences] == ["Mary", "He", "Ana", "Paris", "Berlin"]
    assert documents(maker.got) == [["Mary", "He", "Ana"], ["Paris"], ["Berlin"]]
    maker.got.clear()
    docs = list(tagger.pipe(["Mary left.", "Bob too.\nAna stayed.", "", "Paris"]))
    assert [s.tokens[0] for d in docs for s in d.sentences] == ["Mary", "Bob", "Ana", "Paris"]
    assert documents(maker.got) == [["Mary"], ["Bob", "Ana"], ["Paris"]]
    assert docs[1].sentences[1].offsets[0] == (9, 12)  # offsets count in each text, as before


def test_tag_tokens_takes_each_sentences_document(recorded):
    tagger, maker = recorded
    sentences = [["Mary"], ["Bob"], ["Ana"], ["Paris"]]
    assert [s.tokens for s in tagger.tag_tokens(sentences, docs=["a", "a", 7, "a"])] == sentences
    assert documents(maker.got) == [["Mary", "Bob"], ["Ana"], ["Paris"]]
    maker.got.clear()
    tagger.tag_tokens(sentences)  # no docs: one document
    assert documents(maker.got) == [["Mary", "Bob", "Ana", "Paris"]]


def test_tag_tokens_docs_must_give_one_document_per_sentence(model):
    with pytest.raises(ValueError, match=r"tag_tokens\(\): 1 document numbers \(docs\) for 2 sentences"):
        model.tag_tokens([["Mary"], ["Bob"]], docs=[0])
    with pytest.raises(TypeError, match="docs must be a list of document numbers, one per sentence; got str 'ab'"):
        model.tag_tokens([["Mary"], ["Bob"]], docs="ab")
    assert model.tag_tokens([["Mary"], ["Bob"]], docs=[0, 1]) == model.tag_tokens([["Mary"], ["Bob"]])  # no context


@needs_context
def test_with_a_context_model_each_block_is_tagged_as_the_predictor_tags_its_document(tmp_path):
    """The API against the model: a text's blocks, ``pipe``'s texts and ``tag_tokens``' docs are the
    documents ``Predictor.predict`` is given; the command line gives the same answers."""
    from tagger.tagging.predictor import Predictor

    path = save_context_model(tmp_path / "context.pt")
    tagger = Tagger.load(path)
    predictor: Predictor = tagger._predictor
    text = "Mary met Paris Hilton. Paris left.\nBob met Mary in Berlin.\n\nParis is in France. Mary was not.\n"
    doc = tagger(text)
    sentences = [s.tokens for s in doc.sentences]
    docs = [0] * 3 + [1] * 2
    assert [s.tags for s in doc.sentences] == predictor.predict(sentences, docs)
    assert [s.tags for s in tagger.tag_tokens(sentences, docs)] == predictor.predict(sentences, docs)
    alone = list(range(len(sentences)))
    assert [s.tags for s in tagger.tag_tokens(sentences, alone)] == predictor.predict(sentences, alone)
    piped = list(tagger.pipe([text, text.replace("\n\n", "\n")]))
    assert [s.tags for s in piped[0].sentences] == [s.tags for s in doc.sentences]
    assert [s.tags for s in piped[1].sentences] == predictor.predict(sentences, [0] * 5)
    assert records(doc) == cli_records(path, text)


def test_evaluate_writes_predictions_and_reads_another_encoding(model, tiny_dir, tmp_path):
    gold = tmp_path / "gold.txt"
    gold.write_bytes((tiny_dir / "test.txt").read_text(encoding="utf-8").encode("utf-16"))
    result = model.evaluate(gold, encoding="utf-16", predictions=tmp_path / "predictions.txt")
    assert result == {**model.evaluate(tiny_dir / "test.txt"), "file": str(gold)}
    rows = (tmp_path / "predictions.txt").read_text(encoding="utf-8").splitlines()
    assert len([row for row in rows if row]) == result["tokens"] and all(len(r.split()) in (0, 3) for r in rows)


# train() with the command's options by keyword, and to_dict() against --format jsonl (issue 20)


def test_train_refuses_an_unknown_option_naming_the_closest(tiny_dir, tmp_path):
    with pytest.raises(TypeError, match=r"unknown options: 'epoch' \(did you mean 'epochs'\?\), 'zzz'$"):
        tagger.train(tiny_dir, model=tmp_path / "m.pt", epoch=3, zzz=1)
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.slow
def test_train_takes_the_commands_options_by_keyword(tiny_dir, tmp_path):
    from tests.helpers import run_cli

    options = {"epochs": 2, "seed": 2, "hidden_size": 8, "word_dim": 10, "char_encoder": "none", "batch_size": 8}
    result = tagger.train(tiny_dir, model=tmp_path / "api.pt", **options, scheme="iob2", train_scheme="bioes")
    flags = [x for name, value in options.items() for x in (f"--{name.replace('_', '-')}", value)]
    command = run_cli("train", tiny_dir, "-m", tmp_path / "cli.pt", *flags, "--scheme", "iob2", "--format", "json")
    assert command.exit_code == 0, command.output
    same = ("epoch", "loss", "dev", "lr", "best")  # the same run, seed for seed (timings aside)
    runs = (result["history"], json.loads(command.stdout)["history"])
    assert [[row[k] for k in same] for row in runs[0]] == [[row[k] for k in same] for row in runs[1]]
    loaded = tagger.Tagger.load(tmp_path / "api.pt")
    assert loaded._model.config["hidden_size"] == 8 and loaded.metadata["train_config"]["batch_size"] == 8


JSONL_CASES = [([], {}), (["--scores", "tokens"], {"scores": True}), (["--nbest", "2"], {"nbest": 2})]


@pytest.mark.parametrize(("flags", "options"), JSONL_CASES, ids=["plain", "scores", "nbest"])
def test_to_dict_has_the_keys_of_a_jsonl_record_for_text_and_tokens(trained_model, flags, options):
    from tests.helpers import run_cli

    text = "Mary lives in Paris . Bob works for Acme Corp .\nJohn Smith met Ana Lopez ."
    model = Tagger.load(trained_model, **options)
    for kind, got in (("text", model(text).to_dict()["sentences"]), ("tokens", None)):
        if got is None:
            tokens = [line.split() for line in text.splitlines()]
            got = [s.to_dict() for s in model.tag_tokens(tokens)]
        result = run_cli("tag", "-m", trained_model, "--input", kind, "--format", "jsonl", *flags, input=text)
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert [set(r) for r in got] == [set(r) for r in lines], kind
        assert [[sorted(e) for e in r["entities"]] for r in got] == [[sorted(e) for e in r["entities"]] for r in lines]
        assert [(r["tokens"], r["tags"]) for r in got] == [(r["tokens"], r["tags"]) for r in lines]


def test_a_plain_label_set_through_the_api(pos_model):
    tagger = Tagger.load(pos_model)
    assert tagger.plain
    (sentence,) = tagger.tag_tokens([["Smith", "bought", "the", "dog", "."]])
    assert sentence.tags == ["NNP", "VBD", "DT", "NN", "."] and sentence.entities == []
    doc = tagger("The plan cost $ 5, Ana said.")
    assert doc.tags[:3] == ["DT", "NN", "VBD"] and len(doc.tags) == len(doc.tokens) and doc.entities == []
    assert "entities" not in doc.to_dict()


def test_a_chunk_model_is_not_plain(trained_model):
    assert not Tagger.load(trained_model).plain

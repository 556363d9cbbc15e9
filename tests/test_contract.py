"""The contract every model kind keeps through every face (issue 29, step 6), as flair's model tests run one suite
for every model: the same inputs through each kind of model and each way in.

Kinds: a ``.pt`` and its exported ``.onnx``, the same with document context, a plain label set (part-of-speech tags)
as both, an ensemble of two ``.pt`` and its exported ``.onnx``, and the shipped ``en-news`` by name.
Faces: the command line on files, on stdin, with ``--input tokens`` and ``--input conll``; the API (a call,
``tag_tokens``, ``pipe``); the service (``text``, ``texts``, ``tokens``); and, as real processes (slow), a paused
stream on stdin, ``--jobs 2`` and Dask's ``tag_files``.

What a user relies on: blank input writes nothing and exits 0 on the command line; a face that takes a list
returns one (empty) result per blank item; the service still answers 422 to a request with no text at all; every
sentence typed is tagged, in order (also after a blank line in a paused stream); every face gives each kind the
same sentences, tokens and tags; a ``.pt`` and its ``.onnx`` give the same tags.

It spans the rooms (cli, api, service, tagging), so it sits at the top of tests/ rather than in one room.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tagger import Tagger
from tests.helpers import ROOT, run_cli, run_cli_process

pytestmark = pytest.mark.usefixtures("cli_env")

# Inputs: each a list of documents, a document a list of sentences, a sentence its tokens. As text: a sentence a
# line, a blank line between documents (an empty document is one more blank line); in CoNLL: -DOCSTART- before each.
WORDS = ["Mary", "met", "John", "Smith", "in", "Paris", "and"]
INPUTS = {
    "one-token": [[["Paris"]]],
    "1000-tokens": [[[WORDS[i % len(WORDS)] for i in range(1000)]]],
    "non-ascii": [
        [["Zoë", "Ångström", "flew", "to", "Zürich", "."], ["Σωκράτης", "visited", "Москва", "and", "東京", "🙂", "."]]
    ],
    "empty-document-between-two": [
        [["Mary", "lives", "in", "Paris", "."]],
        [],
        [["Bob", "works", "for", "Google", "."]],
    ],
}
# Blank inputs: nothing to tag.
BLANK = {"empty": "", "blank-lines": "\n\n", "whitespace": " \t\n  \n\t\n"}


def as_text(docs: list) -> str:
    return "\n\n".join("\n".join(" ".join(sentence) for sentence in doc) for doc in docs) + "\n"


def as_conll(docs: list) -> str:
    return "".join("-DOCSTART-\n\n" + "".join("\n".join(s) + "\n\n" for s in doc) for doc in docs)


def sentences_of(docs: list) -> list[list[str]]:
    return [sentence for doc in docs for sentence in doc]


EXPECTED = [sentence for docs in INPUTS.values() for sentence in sentences_of(docs)]


# The kinds of model


@dataclass(frozen=True)
class Kind:
    name: str
    models: tuple  # what -m is given, once for each (an ensemble: two)

    @property
    def model(self):
        """What Tagger.load and the service take: one path or name, or a list for an ensemble."""
        return self.models[0] if len(self.models) == 1 else list(self.models)

    def cli_models(self) -> list:
        return [part for model in self.models for part in ("-m", model)]


def _export(models: list[Path], path: Path) -> Path:
    from tagger.nn.ensemble import load_models
    from tagger.nn.export import export_model

    return export_model(load_models(models if len(models) > 1 else models[0]), path)


KINDS = ["pt", "onnx", "context-pt", "context-onnx", "pos-pt", "pos-onnx", "ensemble-pt", "ensemble-onnx", "en-news"]
PAIRS = [("pt", "onnx"), ("context-pt", "context-onnx"), ("pos-pt", "pos-onnx"), ("ensemble-pt", "ensemble-onnx")]


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """The exported .onnx of the .pt models here, each made once (an export costs a second or more)."""
    made: dict = {}

    def export(name: str, models: list[Path]) -> Path:
        if name not in made:
            made[name] = _export(models, tmp_path_factory.mktemp("contract") / f"{name}.onnx")
        return made[name]

    return export


def make_kind(name: str, request) -> Kind:
    get = request.getfixturevalue
    if name == "en-news":
        return Kind(name, ("en-news",))
    if name == "onnx":
        return Kind(name, (get("onnx_model"),))
    trained = {"pt": ["trained_model"], "context": ["context_model"], "pos": ["pos_model"]}
    trained["ensemble"] = ["trained_model", "second_seed_model"]
    models = [get(fixture) for fixture in trained[name.removesuffix("-pt").removesuffix("-onnx")]]
    if name.endswith("onnx"):
        models = [get("exported")(name, models)]
    return Kind(name, tuple(models))


@pytest.fixture(scope="session", params=KINDS)
def kind(request) -> Kind:
    return make_kind(request.param, request)


_TAGGERS: dict = {}


def loaded(kind: Kind) -> Tagger:
    """The kind's Tagger, loaded once per session."""
    if kind.name not in _TAGGERS:
        _TAGGERS[kind.name] = Tagger.load(kind.model)
    return _TAGGERS[kind.name]


@pytest.fixture(scope="session")
def clients():
    """A service (Starlette's TestClient, in this process) per kind, started once per session."""
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from tagger.nn.shipped import resolve_all
    from tagger.service.app import create_app
    from tagger.service.model import ServiceModel

    started: dict = {}

    def client(kind: Kind):
        if kind.name not in started:
            model = ServiceModel(resolve_all(kind.model))  # a shipped model's name: as `tagger serve -m NAME` finds it
            found = TestClient(create_app(model, info={"path": kind.name}))
            started[kind.name] = (found, found.__enter__())
        return started[kind.name][1]

    yield client
    for found, _ in started.values():
        found.__exit__(None, None, None)


# The faces: each tags every input and gives its sentences, in order, as (tokens, tags)


def records(stdout: str) -> list[tuple[list, list]]:
    """(tokens, tags) of each --format jsonl record (split at "\\n" only: a U+2028 in a string is no line end)."""
    found = [json.loads(line) for line in stdout.split("\n") if line]
    return [(r["tokens"], r["tags"]) for r in found]


def cli(kind: Kind, *args, input: str | None = None) -> list[tuple[list, list]]:
    result = run_cli("tag", "--format", "jsonl", *kind.cli_models(), *args, input=input)
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return records(result.stdout)


def files(folder: Path, render, blank: bool = False) -> list[Path]:
    """Each input in a file of its own; ``blank``: a blank file between each two."""
    paths = []
    for i, (name, docs) in enumerate(INPUTS.items()):
        if blank and i:
            paths.append(folder / f"blank{i}.txt")
            paths[-1].write_text(list(BLANK.values())[i % len(BLANK)], encoding="utf-8")
        paths.append(folder / f"{name}.txt")
        paths[-1].write_text(render(docs), encoding="utf-8")
    return paths


def cli_file(kind, folder):
    return cli(kind, *files(folder, as_text))


def cli_stdin(kind, folder):
    return cli(kind, input="\n".join(as_text(docs) for docs in INPUTS.values()))


def cli_tokens(kind, folder):
    return cli(kind, "--input", "tokens", *files(folder, as_text))


def cli_conll(kind, folder):
    return cli(kind, "--input", "conll", *files(folder, as_conll))


def pairs(sentences) -> list[tuple[list, list]]:
    return [(list(s.tokens), list(s.tags)) for s in sentences]


def api_call(kind, folder):
    tagger = loaded(kind)
    return [pair for docs in INPUTS.values() for pair in pairs(tagger(as_text(docs)).sentences)]


def api_pipe(kind, folder):
    docs = list(loaded(kind).pipe([as_text(docs) for docs in INPUTS.values()]))
    assert len(docs) == len(INPUTS)
    return [pair for doc in docs for pair in pairs(doc.sentences)]


def api_tag_tokens(kind, folder):
    found = []
    for docs in INPUTS.values():  # each input apart: a batch pads its sentences to its longest
        numbers = [number for number, doc in enumerate(docs) for _ in doc]  # each sentence's document
        found += pairs(loaded(kind).tag_tokens(sentences_of(docs), docs=numbers))
    return found


def service_text(kind, client):
    answers = [client.post("/tag", json={"text": as_text(docs)}) for docs in INPUTS.values()]
    assert [a.status_code for a in answers] == [200] * len(INPUTS), [a.text for a in answers]
    return [(r["tokens"], r["tags"]) for a in answers for r in a.json()["sentences"]]


def service_texts(kind, client):
    answer = client.post("/tag", json={"texts": [as_text(docs) for docs in INPUTS.values()]})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == len(INPUTS)
    return [(r["tokens"], r["tags"]) for result in results for r in result["sentences"]]


def service_tokens(kind, client):
    # A request's token lists are one document: a request for each.
    answers = [client.post("/tag", json={"tokens": doc}) for docs in INPUTS.values() for doc in docs if doc]
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    return [(r["tokens"], r["tags"]) for a in answers for r in a.json()["sentences"]]


FACES = {
    "cli-file": cli_file,
    "cli-stdin": cli_stdin,
    "cli-input-tokens": cli_tokens,
    "cli-input-conll": cli_conll,
    "api-call": api_call,
    "api-pipe": api_pipe,
    "api-tag_tokens": api_tag_tokens,
    "service-text": service_text,
    "service-texts": service_texts,
    "service-tokens": service_tokens,
}
_FACED: dict = {}


def faced(kind: Kind, face: str, tmp_path_factory, clients) -> list[tuple[list, list]]:
    """What ``face`` gives for every input with ``kind``, worked out once per session."""
    if (kind.name, face) not in _FACED:
        where = clients(kind) if face.startswith("service") else tmp_path_factory.mktemp(face)
        _FACED[kind.name, face] = FACES[face](kind, where)
    return _FACED[kind.name, face]


def check_tags(kind: Kind, found: list[tuple[list, list]]) -> None:
    """Each token has one tag of the model's; a plain label set's are no entity tags."""
    known = set(loaded(kind)._model.vocab.tags)
    for tokens, tags in found:
        assert len(tags) == len(tokens)
        assert set(tags) <= known, set(tags) - known


@pytest.mark.parametrize("face", FACES)
def test_every_face_tags_every_sentence_in_order(kind, face, tmp_path_factory, clients):
    found = faced(kind, face, tmp_path_factory, clients)
    assert [tokens for tokens, _ in found] == EXPECTED
    check_tags(kind, found)


@pytest.mark.parametrize("face", [f for f in FACES if f != "api-call"])
def test_every_face_gives_the_tags_of_the_api(kind, face, tmp_path_factory, clients):
    assert faced(kind, face, tmp_path_factory, clients) == faced(kind, "api-call", tmp_path_factory, clients)


@pytest.mark.parametrize(("pt", "onnx"), PAIRS, ids=[f"{a}-vs-{b}" for a, b in PAIRS])
@pytest.mark.parametrize("face", ["cli-file", "api-call", "service-texts"])
def test_a_pt_and_its_onnx_give_the_same_tags(pt, onnx, face, request, tmp_path_factory, clients):
    torch_kind, exported_kind = make_kind(pt, request), make_kind(onnx, request)
    torch_found = faced(torch_kind, face, tmp_path_factory, clients)
    assert faced(exported_kind, face, tmp_path_factory, clients) == torch_found


# Blank input


# How each blank input goes in: stdin takes each, the others one; CoNLL also a file of documents with no sentence.
BLANK_WAYS = {f"stdin-{name}": ("stdin", text) for name, text in BLANK.items()}
BLANK_WAYS["file-whitespace"] = ("file", BLANK["whitespace"])
BLANK_WAYS["tokens-blank-lines"] = ("tokens", BLANK["blank-lines"])
BLANK_WAYS["conll-docstart-only"] = ("conll", "-DOCSTART-\n\n-DOCSTART-\n\n")


@pytest.mark.parametrize(("how", "blank"), list(BLANK_WAYS.values()), ids=list(BLANK_WAYS))
def test_blank_input_writes_nothing_and_exits_0(kind, how, blank, tmp_path):
    args = [] if how in ("stdin", "file") else ["--input", how]
    if how == "file":
        (tmp_path / "blank.txt").write_text(blank, encoding="utf-8")
        args.append(tmp_path / "blank.txt")
    result = run_cli("tag", *kind.cli_models(), *args, input=blank if how != "file" else None)
    assert (result.exit_code, result.stdout) == (0, ""), result.stderr


def test_blank_files_between_others_are_skipped(kind, tmp_path, tmp_path_factory, clients):
    found = cli(kind, *files(tmp_path, as_text, blank=True))
    assert found == faced(kind, "cli-file", tmp_path_factory, clients)


@pytest.mark.parametrize("blank", BLANK)
def test_the_api_gives_an_empty_doc_for_a_blank_text(kind, blank):
    doc = loaded(kind)(BLANK[blank])
    assert (doc.text, doc.sentences) == (BLANK[blank], [])


def test_pipe_gives_one_empty_doc_per_blank_text_and_tags_the_others(kind):
    texts = ["Mary lives in Paris .\n", *BLANK.values(), "Bob works for Google .\n", ""]
    docs = list(loaded(kind).pipe(texts))
    assert [doc.text for doc in docs] == texts
    assert [[s.tokens for s in doc.sentences] for doc in docs] == [
        ["Mary lives in Paris .".split()],
        [],
        [],
        [],
        ["Bob works for Google .".split()],
        [],
    ]


def test_tag_tokens_of_no_sentences_is_empty(kind):
    assert loaded(kind).tag_tokens([]) == []


def test_the_service_gives_an_empty_result_for_each_blank_text(kind, clients):
    texts = ["Mary lives in Paris .", *BLANK.values(), "Bob works for Google ."]
    answer = clients(kind).post("/tag", json={"texts": texts})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [[r["tokens"] for r in result["sentences"]] for result in results] == [
        ["Mary lives in Paris .".split()],
        [],
        [],
        [],
        ["Bob works for Google .".split()],
    ]


NO_TEXT = [{}, {"text": ""}, {"text": " \n\t"}, {"texts": []}, {"tokens": []}]


@pytest.mark.parametrize("body", NO_TEXT, ids=[json.dumps(b) for b in NO_TEXT])
def test_the_service_answers_422_to_a_request_with_no_text_at_all(kind, clients, body):
    answer = clients(kind).post("/tag", json=body)
    assert answer.status_code == 422, answer.text
    assert set(answer.json()) == {"error"}


# The faces that are processes: once per kind (slow)

FIRST, SECOND = "Mary lives in Paris .", "Bob works for Google ."


def _lines(proc: subprocess.Popen) -> queue.Queue:
    """stdout's lines as they come (None at its end), read by a thread."""
    found: queue.Queue = queue.Queue()

    def read():
        for line in proc.stdout:
            found.put(line)
        found.put(None)

    threading.Thread(target=read, daemon=True).start()
    return found


def _send(proc: subprocess.Popen, text: str) -> None:
    try:
        proc.stdin.write(text)
        proc.stdin.flush()
    except BrokenPipeError:  # it has exited: its status and stderr say why
        pass


@pytest.mark.slow
def test_a_paused_stream_tags_every_sentence_also_after_a_blank_line(kind):
    """As one types: a sentence, a pause, an empty line (a new paragraph), a pause, a sentence."""
    command = [sys.executable, "cli.py", "tag", "--format", "jsonl", *map(str, kind.cli_models())]
    proc = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = _lines(proc)
        _send(proc, FIRST + "\n")
        written = [lines.get(timeout=120)]  # answered while the input is still open
        _send(proc, "\n")
        time.sleep(1)  # a pause after the blank line
        _send(proc, SECOND + "\n")
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        code = proc.wait(60)
        while written[-1] is not None:
            written.append(lines.get(timeout=10))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0, proc.stderr.read()
    found = records("".join(written[:-1]))
    assert [tokens for tokens, _ in found] == [FIRST.split(), SECOND.split()]
    assert found == pairs(loaded(kind)(f"{FIRST}\n\n{SECOND}\n").sentences)


def three_files(folder: Path) -> list[Path]:
    """The inputs in two files, documents apart, with a blank file between (the --jobs workers start for each)."""
    names = list(INPUTS)
    texts = ["\n".join(as_text(INPUTS[name]) for name in part) for part in (names[:2], names[2:])]
    for name, text in zip(["first.txt", "blank.txt", "rest.txt"], [texts[0], BLANK["whitespace"], texts[1]]):
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in ["first.txt", "blank.txt", "rest.txt"]]


@pytest.mark.slow
def test_jobs_2_tags_as_one_process_does(kind, tmp_path):
    paths = three_files(tmp_path)
    result = run_cli_process("tag", "--jobs", "2", "--format", "jsonl", *kind.cli_models(), *paths)
    assert result.returncode == 0, result.stderr
    assert result.stdout == run_cli("tag", "--format", "jsonl", *kind.cli_models(), *paths).stdout
    assert [tokens for tokens, _ in records(result.stdout)] == EXPECTED


@pytest.mark.slow
def test_dask_tags_each_file_as_tag_does_and_a_blank_file_to_nothing(kind, cluster, tmp_path):
    from tagger.tagging.dask import tag_files

    if len(kind.models) > 1:
        pytest.skip("tag_files takes one model file; an ensemble goes to Dask exported (ensemble-onnx)")
    paths = files(tmp_path, as_text, blank=True)
    outputs = tag_files(cluster, paths, kind.model, tmp_path / "out", output_format="jsonl")
    for path, output in zip(paths, outputs):
        expected = run_cli("tag", "--format", "jsonl", *kind.cli_models(), path)
        assert expected.exit_code == 0, expected.stderr
        assert output.read_text(encoding="utf-8") == expected.stdout, path.name
    assert [tokens for out in outputs for tokens, _ in records(out.read_text(encoding="utf-8"))] == EXPECTED

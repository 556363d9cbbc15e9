"""The command line, run in-process with Typer's CliRunner (real processes where a test says so)."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import pytest
import typer
from conftest import one_line_error, run_cli, run_cli_process

from tagger import commands, evaluation, tagging, training

TINY_TRAIN = ["--epochs", "1", "--hidden-size", "8", "--word-dim", "10", "--batch-size", "8"]

pytestmark = pytest.mark.usefixtures("cli_env")


def run(args: list, input: str | bytes | None = None):
    return run_cli(*args, input=input)


# train


def test_train_on_a_folder_writes_a_model_and_prints_a_summary(tiny_dir, tmp_path):
    from tagger.model_file import load_model

    model = tmp_path / "sub" / "model.pt"
    result = run(["train", tiny_dir, "-m", model, *TINY_TRAIN])
    assert result.exit_code == 0, result.output
    assert model.is_file()
    out = result.stdout
    assert f"model: {model}" in out
    assert "best epoch: 1 of 1" in out
    assert re.search(r"^dev: +precision [\d.]+% +recall [\d.]+% +F1 [\d.]+%$", out, re.M), out
    assert re.search(r"^test: +precision [\d.]+% +recall [\d.]+% +F1 [\d.]+%$", out, re.M), out
    assert re.search(r"^time: [\d.]+ s$", out, re.M), out
    assert f"train: {tiny_dir / 'train.txt'}" in result.stderr
    assert f"dev: {tiny_dir / 'dev.txt'}" in result.stderr
    assert f"test: {tiny_dir / 'test.txt'}" in result.stderr
    loaded = load_model(model)
    assert loaded.config.hidden_size == 8 and loaded.config.word_dim == 10
    assert Path(loaded.metadata["train_file"]) == tiny_dir / "train.txt"
    assert not model.with_name("model.pt.resume").exists()


def test_train_with_a_train_file_and_no_folder(tiny_dir, tmp_path, monkeypatch):
    """Also: with no --model, train writes the default model and tag reads it."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    model = tmp_path / "share" / "tagger" / "model.pt"
    result = run(["train", "--train", tiny_dir / "train.txt", "--format", "json", *TINY_TRAIN])
    assert result.exit_code == 0, result.output
    assert model.is_file()
    summary = json.loads(result.stdout)
    assert summary["model"] == str(model)
    assert summary["epochs_run"] == 1
    assert summary["files"] == {"train": str(tiny_dir / "train.txt"), "dev": None, "test": None}
    assert "test" not in summary
    assert set(summary["dev"]) == {"precision", "recall", "f1"}
    assert "holding out" in result.stderr
    tagged = run(["tag", "--format", "conll"], input="Mary lives in Paris .\n")
    assert tagged.exit_code == 0, tagged.output
    assert [line.split("\t")[0] for line in tagged.stdout.splitlines() if line] == ["Mary", "lives", "in", "Paris", "."]


def test_train_without_data_is_an_error(tmp_path):
    one_line_error(run(["train", "-m", tmp_path / "m.pt"]), "--train")


def test_train_on_a_folder_without_train_file_names_every_pattern_looked_for(tmp_path):
    from tagger.corpus import ROLES

    (tmp_path / "dev.txt").write_text("John B-PER\n", encoding="utf-8")
    line = one_line_error(run(["train", tmp_path, "-m", tmp_path / "m.pt"]), "no training file", str(tmp_path))
    assert f"looked for {', '.join(ROLES['train'])}" in line
    assert "*train*" in line  # eng.train is a training file too


def test_train_with_given_scheme_and_tags_of_another(tmp_path):
    data = tmp_path / "bioes.txt"
    data.write_text("John B-PER\nSmith E-PER\n\nParis S-LOC\n", encoding="utf-8")
    result = run(["train", "--train", data, "--scheme", "iob2", "-m", tmp_path / "m.pt", *TINY_TRAIN])
    assert result.exit_code == 2, result.output
    # train logs the files it uses first; the error is one line, the last.
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [result.stderr.strip().splitlines()[-1]]
    assert errors[0].startswith(f"tagger: error: {data}:2: ")
    assert "IOB2" in errors[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "m.pt").exists()


# evaluate


def test_evaluate_json(trained_model, tiny_dir):
    result = run(["evaluate", tiny_dir / "test.txt", "-m", trained_model, "--format", "json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    for key in ("precision", "recall", "f1"):
        assert isinstance(scores[key], float) and 0.0 <= scores[key] <= 1.0
    assert scores["f1"] > 0.9
    assert set(scores["per_type"]) == {"PER", "LOC", "ORG"}
    for kind, s in scores["per_type"].items():
        assert set(s) >= {"precision", "recall", "f1", "support"}, kind
        assert isinstance(s["support"], int) and s["support"] > 0
        assert 0.0 <= s["f1"] <= 1.0
    assert scores["support"] == sum(s["support"] for s in scores["per_type"].values())
    assert scores["sentences"] == 20


def test_evaluate_table(trained_model, tiny_dir):
    json_result = json.loads(run(["evaluate", tiny_dir / "test.txt", "-m", trained_model, "--format", "json"]).stdout)
    result = run(["evaluate", tiny_dir / "test.txt", "-m", trained_model])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for header in ("type", "precision %", "recall %", "F1 %", "support"):
        assert header in out
    for kind, s in json_result["per_type"].items():
        row = next(line for line in out.splitlines() if re.search(rf"\b{kind}\b", line))
        assert f"{100 * s['f1']:.2f}" in row
        assert str(s["support"]) in row
    micro = next(line for line in out.splitlines() if "all (micro)" in line)
    assert f"{100 * json_result['f1']:.2f}" in micro
    assert str(json_result["support"]) in micro
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


# tag

SENTENCE = "John Smith lives in Paris ."


def test_tag_stdin_inline(trained_model):
    result = run(["tag", "-m", trained_model, "--format", "inline"], input=SENTENCE + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n"
    assert result.stderr.splitlines() == ["tagged 1 sentence"]


def test_tag_stdin_conll(trained_model):
    text = SENTENCE + "\nAcme Corp hired Mary .\n"
    result = run(["tag", "-m", trained_model, "--format", "conll"], input=text)
    assert result.exit_code == 0, result.output
    blocks = result.stdout.split("\n\n")
    assert blocks[-1] == ""  # every sentence ends with a blank line
    rows = [[line.split("\t") for line in block.splitlines()] for block in blocks[:-1]]
    assert [[r[0] for r in block] for block in rows] == [SENTENCE.split(), "Acme Corp hired Mary .".split()]
    assert all(len(r) == 2 for block in rows for r in block)
    assert [r[1] for r in rows[0]] == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]


def test_tag_stdin_jsonl_offsets_index_the_input(trained_model):
    text = "John Smith lives in Paris .\r\n\nZoë met Angela Merkel in New York .  Acme Corp hired Bob .\n"
    result = run(["tag", "-m", trained_model, "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) >= 2
    assert records[0]["tokens"] == SENTENCE.split()
    assert records[0]["tags"] == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]
    assert [(e["type"], e["start"], e["end"]) for e in records[0]["entities"]] == [("PER", 0, 2), ("LOC", 4, 5)]
    entities = 0
    for record in records:
        assert len(record["tokens"]) == len(record["tags"])
        for (start, end), token in zip(record["offsets"], record["tokens"]):
            assert text[start:end] == token
        for e in record["entities"]:
            assert set(e) >= {"type", "start", "end", "char_start", "char_end"}
            assert 0 <= e["start"] < e["end"] <= len(record["tokens"])
            assert text[e["char_start"] : e["char_end"]] == e["text"]
            assert e["text"] == " ".join(record["tokens"][e["start"] : e["end"]])
            entities += 1
    assert entities >= 4
    later = [e for r in records[1:] for e in r["entities"]]
    assert any(e["text"] == "Angela Merkel" and e["char_start"] == text.index("Angela") for e in later)


def test_tag_formats_agree(trained_model):
    text = "Angela Merkel works for Google in Berlin .\nYesterday Mary met Bob .\n"
    outputs = {}
    for fmt in ("conll", "inline", "jsonl"):
        result = run(["tag", "-m", trained_model, "--format", fmt], input=text)
        assert result.exit_code == 0, result.output
        outputs[fmt] = result.stdout
    records = [json.loads(line) for line in outputs["jsonl"].splitlines()]
    conll = [[line.split("\t") for line in block.splitlines()] for block in outputs["conll"].split("\n\n") if block]
    assert [[r[1] for r in block] for block in conll] == [r["tags"] for r in records]
    inline = []
    for r in records:
        words = list(r["tokens"])
        for e in reversed(r["entities"]):
            words[e["start"] : e["end"]] = [f"[{e['type']} " + " ".join(words[e["start"] : e["end"]]) + "]"]
        inline.append(" ".join(words))
    assert outputs["inline"].splitlines() == inline


def test_tag_a_file_argument(trained_model, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text(SENTENCE + "\n", encoding="utf-8")
    result = run(["tag", path, "-m", trained_model, "--format", "inline"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n"


def test_tag_input_tokens(trained_model):
    text = "John Smith lives in Paris.\n\n  Mary\tmet Bob  \n"
    result = run(["tag", "-m", trained_model, "--input", "tokens", "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    # One sentence a line, split at spaces and tabs only (no tokenizer); blank lines skipped.
    assert [r["tokens"] for r in records] == [["John", "Smith", "lives", "in", "Paris."], ["Mary", "met", "Bob"]]
    assert all(len(r["tags"]) == len(r["tokens"]) for r in records)


def test_tag_input_conll(trained_model, tiny_dir):
    from tagger.reader import read_conll

    gold = read_conll(tiny_dir / "test.txt")
    result = run(["tag", tiny_dir / "test.txt", "-m", trained_model, "--input", "conll", "--format", "conll"])
    assert result.exit_code == 0, result.output
    blocks = [block for block in result.stdout.split("\n\n") if block]
    assert len(blocks) == len(gold)
    tokens = [[line.split("\t")[0] for line in block.splitlines()] for block in blocks]
    assert tokens == [s.tokens for s in gold]
    assert result.stderr.splitlines() == [f"tagged {len(gold)} sentences"]


def test_tag_input_conll_from_stdin_without_tags(trained_model):
    text = "-DOCSTART-\n\nJohn\nSmith\nlives\nin\nParis\n.\n\nMary NNP\nsmiled VBD\n"
    result = run(["tag", "-m", trained_model, "--input", "conll", "--format", "inline"], input=text)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "[PER John Smith] lives in [LOC Paris] ."
    assert lines[1].endswith("smiled") and "Mary" in lines[1]
    assert len(lines) == 2


def test_tagger_model_env_var_picks_the_default_model(trained_model, monkeypatch):
    monkeypatch.setenv("TAGGER_MODEL", str(trained_model))
    result = run(["tag", "--format", "inline"], input=SENTENCE + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n"


def test_tagger_model_env_var_pointing_nowhere(tmp_path, monkeypatch):
    missing = tmp_path / "elsewhere.pt"
    monkeypatch.setenv("TAGGER_MODEL", str(missing))
    one_line_error(run(["tag"], input=SENTENCE + "\n"), str(missing), "no model file")


def test_model_option_beats_env_var(trained_model, tmp_path, monkeypatch):
    monkeypatch.setenv("TAGGER_MODEL", str(tmp_path / "elsewhere.pt"))
    result = run(["tag", "-m", trained_model, "--format", "inline"], input=SENTENCE + "\n")
    assert result.exit_code == 0, result.output


# errors


@pytest.mark.parametrize(
    "content, line",
    [
        ("John NNP B-PER\nSmith I-PER\n", 2),
        ("John B-PER\n\nParis PER\n", 3),
        (b"John B-PER\n\nZ\xfcrich B-LOC\n", 3),
        ("John B-PER\nSmith B_PER\n", 2),
    ],
    ids=["ragged", "not-a-tag", "latin-1", "underscore"],
)
def test_evaluate_malformed_file(trained_model, tmp_path, content, line):
    path = tmp_path / "bad.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    one_line_error(run(["evaluate", path, "-m", trained_model]), f"{path}:{line}:")


def test_tag_malformed_conll_from_stdin(trained_model):
    result = run(["tag", "-m", trained_model, "--input", "conll"], input="John NNP\nSmith\n")
    assert result.exit_code == 2
    assert "<stdin>:2:" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_tag_non_utf8_input(trained_model, tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Paris\nZ\xfcrich\n".encode("latin-1"))
    result = run(["tag", path, "-m", trained_model])
    assert result.exit_code == 2
    assert f"{path}:2:" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["tag", "evaluate"])
def test_missing_model_file(tiny_dir, tmp_path, command):
    missing = tmp_path / "nope.pt"
    args = ["tag", "-m", missing] if command == "tag" else ["evaluate", tiny_dir / "test.txt", "-m", missing]
    one_line_error(run(args, input=SENTENCE + "\n"), str(missing))


def test_model_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "model.pt"
    path.write_text("hello\n", encoding="utf-8")
    one_line_error(run(["tag", "-m", path], input=SENTENCE + "\n"), str(path))


@pytest.mark.parametrize(
    "args",
    [["tag", "--format", "xml"], ["evaluate", "x.txt", "--format", "csv"], ["tag", "--input", "html"]],
    ids=["tag-format", "evaluate-format", "tag-input"],
)
def test_unknown_option_values(trained_model, args):
    result = run([*args, "-m", trained_model], input=SENTENCE + "\n")
    line = one_line_error(result, args[-1])
    assert args[-2] in line


def test_missing_input_file(trained_model, tmp_path):
    missing = tmp_path / "nope.txt"
    one_line_error(run(["tag", missing, "-m", trained_model]), str(missing), "no such file")


def test_evaluate_missing_data_file(trained_model, tmp_path):
    missing = tmp_path / "nope.txt"
    one_line_error(run(["evaluate", missing, "-m", trained_model]), str(missing))


@pytest.mark.parametrize("file", [None, "-", "empty.txt"])
def test_empty_input_writes_nothing_and_exits_0_with_a_note(monkeypatch, tmp_path, file):
    """A filter given nothing gives nothing (tag_file returns 0 for empty or blank input)."""
    calls = []
    monkeypatch.setattr(tagging, "tag_file", lambda *args, **kwargs: calls.append(args) or 0)
    args = ["tag", "-m", tmp_path / "m.pt"] + ([] if file is None else [file])
    result = run(args, input="\n  \n")
    assert (result.exit_code, result.stdout) == (0, ""), result.output
    name = "<stdin>" if file in (None, "-") else file
    assert result.stderr.splitlines() == [f"tagged 0 sentences: {name} is empty or blank, nothing was written"]
    assert len(calls) == 1


def test_unknown_command_and_option():
    result = run(["frobnicate"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    result = run(["tag", "--no-such-option"])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_version():
    from tagger import __version__

    result = run(["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"tagger {__version__}"


def flat(text: str) -> str:
    """Help text with its line breaks undone (the formatter wraps long lines)."""
    return " ".join(text.split())


# Every option checked before any work (issue 15, item 3)

NO_CUDA = not __import__("torch").cuda.is_available()
BAD_VALUES = {
    "epochs": ["0", "-1"],
    "batch_size": ["0", "-1"],
    "optimizer": ["rmsprop", ""],
    "lr": ["0", "-0.1", "nan", "inf"],
    "lr_decay": ["-0.1", "nan", "inf"],
    "momentum": ["-0.1", "1", "nan"],
    "clip": ["-1", "nan", "inf"],
    "word_dropout": ["-0.1", "1", "nan"],
    "seed": ["-1", str(2**64)],
    "cell": ["rnn", "LSTM"],
    "layers": ["0", "-1"],
    "hidden_size": ["0", "-1"],
    "word_dim": ["0", "-1"],
    "char_encoder": ["bert"],
    "dropout": ["-0.1", "1", "1.5", "nan"],
    "patience": ["-1"],
    "data_scheme": ["bilou"],
    "scheme": ["bilou"],
    "keep_vectors": ["-2"],
    "average": ["-0.5", "1", "nan"],
    "device": ["mps", "xpu", "meta", "foo", "tpu:7", "cuda:99", *(["cuda", "cuda:0"] if NO_CUDA else [])],
    "threads": ["-1"],
    "workers": ["-2"],
    "output": ["xml", "csv"],
    "input_kind": ["html"],
}
# Options with a value that no check can refuse before the data is read.
NOT_CHECKED_BEFORE_WORK = {
    "tag_column": "any column can be the tag column of some file; the file's lines are checked as they are read",
    "embeddings": "a file, read (and checked) as the work begins",
    "file": "the input file, opened as the work begins",
}


def _options(command: str) -> dict[str, typer.core.TyperOption]:
    """The options of a command whose value is a number or a word (flags and paths are not), by parameter name."""
    function = getattr(commands, command)
    hints = typing.get_type_hints(function)
    params = commands.command(command).params
    return {p.name: p for p in params if hints[p.name] in (int, float, str, str | None)}


def _bad_cases():
    for command in ("train", "evaluate", "tag"):
        for name, param in _options(command).items():
            for value in BAD_VALUES.get(name, []):
                yield pytest.param(command, max(param.opts, key=len), value, id=f"{command}-{name}-{value}")


def test_every_numeric_and_choice_option_is_tried_with_bad_values():
    for command in ("train", "evaluate", "tag"):
        untried = set(_options(command)) - set(BAD_VALUES) - set(NOT_CHECKED_BEFORE_WORK)
        assert not untried, f"{command}: options without bad values to try: {sorted(untried)}"


@pytest.mark.parametrize(("command", "flag", "value"), list(_bad_cases()))
def test_bad_option_value_is_one_line_before_any_work(tmp_path, monkeypatch, command, flag, value):
    def work(*args, **kwargs):
        raise AssertionError("the work began before the options were checked")

    for module, name in ((training, "train"), (evaluation, "evaluate"), (tagging, "tag_file")):
        monkeypatch.setattr(module, name, work)
    model = tmp_path / "no-such-model.pt"
    where = {"train": [tmp_path / "no-such-folder"], "evaluate": [tmp_path / "gold.txt"], "tag": [tmp_path / "in.txt"]}
    result = run([command, *where[command], "-m", model, flag, value], input="Mary lives in Paris .\n")
    line = one_line_error(result, flag, value)
    assert "no-such" not in line and "gold.txt" not in line  # not the model or the data: they were never opened
    assert line.endswith(f" {command} --help')")


def test_a_cuda_device_is_accepted_where_there_is_one(monkeypatch, trained_model):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    seen = []
    monkeypatch.setattr(tagging, "tag_file", lambda *args, **kwargs: seen.append(kwargs["device"]) or 1)
    for device in ("cuda", "cuda:1"):
        assert run(["tag", "-m", trained_model, "--device", device], input="Mary\n").exit_code == 0
    assert seen == ["cuda", "cuda:1"]
    one_line_error(run(["tag", "-m", trained_model, "--device", "cuda:2"]), "--device", "cuda:2", "2 found")


# Defaults and configs come from the library, by field name

FAKE_RESULT = {
    "model": "m.pt",
    "best_epoch": 2,
    "epochs_run": 3,
    "dev": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3},
    "seconds": 1.25,
    "warnings": [],
}


@pytest.fixture
def train_calls(monkeypatch) -> list[dict]:
    """``training.train`` replaced by a stub that records its arguments and returns FAKE_RESULT."""
    calls: list[dict] = []

    def fake(train_file, model_path, **kwargs):
        calls.append({"train_file": train_file, "model_path": model_path, **kwargs})
        return json.loads(json.dumps(FAKE_RESULT))

    monkeypatch.setattr(training, "train", fake)
    return calls


def test_every_train_option_is_a_config_field_or_an_argument_of_train():
    import inspect
    from dataclasses import fields

    from tagger.model import ModelConfig
    from tagger.training import TrainConfig

    options = set(inspect.signature(commands.train).parameters) - {"ctx"}
    known = {f.name for f in fields(TrainConfig)} | {f.name for f in fields(ModelConfig)}
    known |= set(inspect.signature(training.train).parameters)
    files_and_output = {"data", "train_file", "dev_file", "test_file", "model", "output"}
    assert options - known - files_and_output == set()


NON_DEFAULT_TRAIN = {
    "--epochs": ("7", "epochs", 7),
    "--batch-size": ("5", "batch_size", 5),
    "--optimizer": ("sgd", "optimizer", "sgd"),
    "--lr": ("0.5", "lr", 0.5),
    "--lr-decay": ("0.125", "lr_decay", 0.125),
    "--momentum": ("0.5", "momentum", 0.5),
    "--clip": ("2.5", "clip", 2.5),
    "--word-dropout": ("0.125", "word_dropout", 0.125),
    "--seed": ("9", "seed", 9),
    "--patience": ("3", "patience", 3),
    "--train-scheme": ("iob2", "scheme", "iob2"),
    "--embeddings": ("vectors.txt", "embeddings", "vectors.txt"),
    "--keep-vectors": ("-1", "keep_vectors", -1),
    "--freeze-vectors": (None, "freeze_vectors", True),
    "--average": ("0.5", "average", 0.5),
    "--no-lowercase": (None, "lowercase", False),
    "--threads": ("1", "threads", 1),
    "--device": ("cpu:0", "device", "cpu:0"),
    "--cell": ("gru", "cell", "gru"),
    "--layers": ("2", "layers", 2),
    "--hidden-size": ("12", "hidden_size", 12),
    "--word-dim": ("14", "word_dim", 14),
    "--char-encoder": ("lstm", "char_encoder", "lstm"),
    "--dropout": ("0.25", "dropout", 0.25),
    "--no-constrained": (None, "constrained", False),
}


def test_train_options_reach_the_configs_by_field_name(tiny_dir, tmp_path, train_calls):
    from tagger.model import ModelConfig
    from tagger.training import TrainConfig

    args = [a for flag, (value, _, _) in NON_DEFAULT_TRAIN.items() for a in (flag, value) if a is not None]
    result = run(["train", tiny_dir, "-m", tmp_path / "m.pt", "--scheme", "iob2", "--tag-column", "1", *args])
    assert result.exit_code == 0, result.output
    (call,) = train_calls
    config, model_config = call["config"], call["model_config"]
    defaults = {**ModelConfig().to_dict(), **TrainConfig().__dict__}
    for flag, (_, field, value) in NON_DEFAULT_TRAIN.items():
        owner = config if field in TrainConfig.__dataclass_fields__ else model_config
        assert getattr(owner, field) == value, flag
        assert defaults[field] != value, f"{flag}: the test should give a value other than the default"
    assert (call["data_scheme"], call["tag_column"], call["resume"]) == ("iob2", 1, False)
    assert (call["train_file"], call["dev_file"], call["test_file"]) == tuple(
        tiny_dir / f"{role}.txt" for role in ("train", "dev", "test")
    )


def test_train_with_no_options_uses_the_library_defaults(tiny_dir, tmp_path, train_calls):
    from tagger.model import ModelConfig
    from tagger.training import TrainConfig

    assert run(["train", tiny_dir, "-m", tmp_path / "m.pt"]).exit_code == 0
    (call,) = train_calls
    assert call["config"] == TrainConfig()
    assert call["model_config"] == ModelConfig()


# Units, help, notes (issue 15, items 6 and 7)


def test_help_states_the_units_of_scores():
    assert "percentages in tables and summaries, fractions 0-1 in JSON" in flat(run(["--help"]).stdout)
    for command in ("train", "evaluate"):
        text = flat(run([command, "--help"]).stdout)
        assert "percentages in the" in text and "fractions 0-1 in --format json" in text, command
    assert "are fractions 0-1" in flat(run(["tag", "--help"]).stdout)


def test_help_lists_every_exit_status():
    from tagger.exit_status import EX_IOERR, EXIT_STATUSES

    text = run(["--help"]).stdout
    for code, meaning in EXIT_STATUSES:
        assert re.search(rf"^ +{code} +{re.escape(meaning)}$", text, re.M), (code, text)
    assert {0, 1, 2, EX_IOERR, 130} == {code for code, _ in EXIT_STATUSES}


@pytest.mark.parametrize("command", ["train", "evaluate", "tag"])
def test_help_shows_the_default_model_path_as_the_environment_sets_it(tmp_path, monkeypatch, command):
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    text = "".join(run([command, "--help"]).stdout.split())  # the path may be wrapped anywhere
    assert f"[default:{home / 'tagger' / 'model.pt'}]" in text
    assert ".local/share" not in text
    monkeypatch.setenv("TAGGER_MODEL", str(tmp_path / "chosen.pt"))
    assert f"[default:{tmp_path / 'chosen.pt'}]" in "".join(run([command, "--help"]).stdout.split())


def test_train_says_which_of_several_matching_files_it_picked(tiny_dir, tmp_path, train_calls):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("train.txt", "train.txt.bak", "dev.txt"):
        (folder / name).write_bytes((tiny_dir / name.removesuffix(".bak")).read_bytes())
    result = run(["train", folder, "-m", tmp_path / "m.pt"])
    assert result.exit_code == 0, result.output
    note = f"{folder} has 2 training files: using train.txt, not train.txt.bak (--train FILE picks another)"
    assert result.stderr.splitlines() == [note]
    assert train_calls[0]["train_file"] == folder / "train.txt"
    assert run(["train", folder, "-m", tmp_path / "m.pt", "--train", folder / "train.txt"]).stderr == ""


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_train_warnings_go_to_stderr_and_into_the_summary(tiny_dir, tmp_path, monkeypatch, fmt):
    warning = "the best dev F1 is 0: the model learned nothing (try more data, --epochs or --patience)"
    monkeypatch.setitem(FAKE_RESULT, "warnings", [warning])
    monkeypatch.setattr(training, "train", lambda *args, **kwargs: json.loads(json.dumps(FAKE_RESULT)))
    result = run(["train", tiny_dir, "-m", tmp_path / "m.pt", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"warning: {warning}"]
    if fmt == "json":
        assert json.loads(result.stdout)["warnings"] == [warning]
    else:
        assert result.stdout.splitlines()[-1] == f"warning: {warning}"
        assert "dev:  precision 50.00%  recall 25.00%  F1 33.33%" in result.stdout


# Output that cannot be written (issue 15, item 4)


def test_output_error_is_one_line_with_its_own_status(monkeypatch, tmp_path):
    import errno
    import os

    from tagger.exit_status import EX_IOERR, OutputError

    def fail(*args, **kwargs):
        raise OutputError(OSError(errno.EIO, os.strerror(errno.EIO)))

    monkeypatch.setattr(tagging, "tag_file", fail)
    result = run(["tag", "-m", tmp_path / "m.pt"], input="Mary\n")
    assert one_line_error(result, code=EX_IOERR) == "tagger: error: cannot write the output: input/output error"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["tag", "tag-conll", "evaluate", "version"])
def test_full_disk_is_one_line_with_status_74(trained_model, tiny_dir, tmp_path, command):
    """`tagger tag f > /dev/full`: a real process writing to a real device that is always full."""
    text = tmp_path / "in.txt"
    text.write_text("John Smith lives in Paris .\n", encoding="utf-8")
    args = {
        "tag": ["tag", "-m", trained_model, text],
        "tag-conll": ["tag", "-m", trained_model, "--input", "conll", tiny_dir / "train.txt"],
        "evaluate": ["evaluate", "-m", trained_model, tiny_dir / "test.txt"],
        "version": ["--version"],
    }[command]
    with open("/dev/full", "w") as full:
        proc = run_cli_process(*args, stdout=full)
    assert (proc.returncode, proc.stderr) == (74, "tagger: error: cannot write the output: no space left on device\n")


@pytest.mark.slow
def test_importing_the_command_line_does_not_import_torch():
    """A worker process re-imports the main module (cli.py, or the installed script importing it): keep it light."""
    import subprocess
    import sys

    from conftest import ROOT

    code = "import sys, cli; cli.app; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout.strip()) == (0, "[]"), out.stderr

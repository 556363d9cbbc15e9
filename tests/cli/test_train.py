"""`tagger train`: data files and folders, options reaching the configs, the summary and its warnings."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from tagger.cli import train as train_command
from tagger.nn.model_file import load_model
from tagger.training import loop
from tests.cli.helpers import flat, run
from tests.corpora import GOOD, conll, make_sentences, write_conll
from tests.helpers import TINY_NET, last_error_line, one_line_error, run_cli

pytestmark = pytest.mark.usefixtures("cli_env")

TINY_TRAIN = ["--epochs", "1", "--hidden-size", "8", "--word-dim", "10", "--batch-size", "8"]


# train


@pytest.mark.slow
def test_train_on_a_folder_writes_a_model_and_prints_a_summary(tiny_dir, tmp_path):
    from tagger.nn.model_file import load_model

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


@pytest.mark.slow
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
    from tagger.data.corpus import ROLES

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


# Bad data files: one line naming the file (and line), status 2, the old model untouched

BAD_DATA = {
    "empty": (b"", "no sentences", None),
    "only_docstart": (b"-DOCSTART- -X- O O\n\n-DOCSTART- O\n", "no sentences", None),
    "only_blank": (b"\n  \n\t\n\r\n\n", "no sentences", None),
    "ragged_columns": (b"Mary NNP B-PER\nlives VBZ O\nin O\n", "2 columns where this sentence has 3", 3),
    "tag_zero": (conll(GOOD, "John\tB-PER\nruns\t0"), "'0' is not a tag", 8),
    "tag_underscore": (conll(GOOD, "John\tB_PER\nruns\tO"), "'B_PER' is not a tag", 7),
    "tag_without_prefix": (conll(GOOD, "John\tPER\nruns\tO"), "'PER' is not a tag", 7),
    "tag_without_type": (conll(GOOD, "John\tB-\nruns\tO"), "'B-' is not a tag", 7),
    "not_utf8": (
        conll(GOOD) + b"\nPar\xeds\tB-LOC\n",
        "bytes that are not UTF-8 (byte 0xed at column 4, byte offset 44)",
        7,
    ),
    "latin1_in_first_line": (b"Jos\xe9\tB-PER\n", "not UTF-8", 1),
    "no_tag_column": (conll(GOOD, "John\nruns"), "a token with no tag column", 7),
    "lone_unicode_space": (conll(GOOD) + "\n\u00a0\n".encode(), "a token with no tag column", 7),
    "only_tag_O": (conll("a\tO\nb\tO", "c\tO\n.\tO", "d\tO"), "only the tag 'O'", None),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_file_is_one_line_and_keeps_the_old_model(tmp_path, trained_model, case):
    content, message, line = BAD_DATA[case]
    data = tmp_path / "train.txt"
    data.write_bytes(content)
    model = tmp_path / "out" / "model.pt"
    model.parent.mkdir()
    previous = trained_model.read_bytes()  # a model: train writes over nothing else
    model.write_bytes(previous)
    where = f"tagger: error: {data}:{line}: " if line else f"tagger: error: {data}: "
    result = run_cli("train", "--train", data, "--dev", data, "--model", model, "--epochs", "1", *TINY_NET)
    assert result.exit_code == 2, result.output
    error = last_error_line(result.stderr)
    assert error.startswith(where) and message in error
    assert model.read_bytes() == previous
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"]
    if case != "only_tag_O":  # a gold file of only O is fine to score
        error = one_line_error(run_cli("evaluate", data, "--model", trained_model))
        assert error.startswith(where) and message in error


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--epochs", "-3", "--epochs must be at least 1, got -3"),
        ("--epochs", "0", "--epochs must be at least 1, got 0"),
        ("--batch-size", "0", "--batch-size must be at least 1"),
        ("--lr", "-0.1", "--lr must be positive"),
        ("--hidden-size", "0", "--hidden-size must be at least 1, got 0"),
        ("--dropout", "1.5", "dropout must be in [0, 1)"),
        ("--device", "tpu:7", "is not a torch device"),
    ],
    ids=[
        "epochs-negative",
        "epochs-zero",
        "batch-size-zero",
        "lr-negative",
        "hidden-size-zero",
        "dropout-1.5",
        "device",
    ],
)
def test_bad_option_value_fails_before_training(tiny_dir, tmp_path, option, value, message):
    model = tmp_path / "m.pt"
    result = run_cli("train", tiny_dir, "--model", model, option, value)
    assert message in one_line_error(result)
    assert not model.exists()


def test_train_dir_without_training_file(tmp_path):
    write_conll(tmp_path / "dev.txt", make_sentences(3, 1))
    result = run_cli("train", tmp_path, "--model", tmp_path / "m.pt")
    expected = f"tagger: error: no training file in {tmp_path} (looked for train*, *train*; or give --train FILE)"
    assert one_line_error(result) == expected
    result = run_cli("train", tmp_path / "nowhere")
    assert one_line_error(result) == f"tagger: error: {tmp_path / 'nowhere'}: no such folder"


@pytest.mark.slow
def test_train_dir_without_dev_file_holds_out_a_tenth_into_a_new_folder(tmp_path):
    (tmp_path / "data").mkdir()
    write_conll(tmp_path / "data" / "train.txt", make_sentences(40, 1))
    model = tmp_path / "new" / "folder" / "model.pt"
    result = run_cli("train", tmp_path / "data", "--model", model, "--epochs", "1", "--format", "json", *TINY_NET)
    assert result.exit_code == 0, result.output
    assert "dev: (held out of train)" in result.stderr
    assert "no development file: holding out 4 training sentences for early stopping" in result.stderr
    assert "training on 36 sentences" in result.stderr
    assert json.loads(result.stdout)["model"] == str(model)
    load_model(model)
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"]


def test_model_path_that_cannot_be_written_fails_before_training(tiny_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for model in (blocker / "model.pt", blocker / "sub" / "model.pt", tmp_path):
        started = time.perf_counter()
        result = run_cli("train", tiny_dir, "--model", model, "--epochs", "50", *TINY_NET)
        error = last_error_line(result.stderr)
        assert result.exit_code == 2
        assert error.startswith(f"tagger: error: {model}: ")
        assert "training on" not in result.stderr
        assert time.perf_counter() - started < 30
    assert blocker.read_text() == "not a folder"


def test_model_in_read_only_folder_fails_before_training(tiny_dir, tmp_path, monkeypatch):
    """A folder the user may not write (simulated: root may write anywhere, so chmod proves nothing)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != folder and real_access(path, mode, **kw))
    result = run_cli("train", tiny_dir, "--model", folder / "m.pt", *TINY_NET)
    assert "the folder cannot be written" in last_error_line(result.stderr)
    assert "training on" not in result.stderr


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
    """``loop.train`` replaced by a stub that records its arguments and returns FAKE_RESULT."""
    calls: list[dict] = []

    def fake(train_file, model_path, **kwargs):
        calls.append({"train_file": train_file, "model_path": model_path, **kwargs})
        return json.loads(json.dumps(FAKE_RESULT))

    monkeypatch.setattr(loop, "train", fake)
    return calls


def test_every_train_option_is_one_the_library_adapter_knows():
    """The command and ``tagger.train`` adapt their options through one function (training.options), by name."""
    import inspect

    from tagger.training.options import OPTIONS

    options = set(inspect.signature(train_command.train).parameters) - {"ctx"}
    files_and_output = {"data", "train_file", "dev_file", "test_file", "model", "output"}
    assert options - OPTIONS - files_and_output == set()


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
    "--context": ("document", "context", "document"),
    "--no-constrained": (None, "constrained", False),
}


def test_train_options_reach_the_configs_by_field_name(tiny_dir, tmp_path, train_calls):
    from tagger.nn.config import ModelConfig, TrainConfig

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
    from tagger.nn.config import ModelConfig, TrainConfig

    assert run(["train", tiny_dir, "-m", tmp_path / "m.pt"]).exit_code == 0
    (call,) = train_calls
    assert call["config"] == TrainConfig()
    assert call["model_config"] == ModelConfig()


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
def test_train_warnings_go_to_stderr_only(tiny_dir, tmp_path, monkeypatch, fmt):
    """Logs on stderr, results on stdout: the table does not repeat the warnings (JSON keeps them as data)."""
    warning = "the best dev F1 is 0: the model learned nothing (try more data, --epochs or --patience)"
    monkeypatch.setitem(FAKE_RESULT, "warnings", [warning])
    monkeypatch.setattr(loop, "train", lambda *args, **kwargs: json.loads(json.dumps(FAKE_RESULT)))
    result = run(["train", tiny_dir, "-m", tmp_path / "m.pt", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"warning: {warning}"]
    if fmt == "json":
        assert json.loads(result.stdout)["warnings"] == [warning]
    else:
        assert "warning" not in result.stdout and "learned nothing" not in result.stdout
        assert "dev:  precision 50.00%  recall 25.00%  F1 33.33%" in result.stdout


@pytest.mark.slow
def test_train_with_document_context_saves_it_and_evaluate_reads_it(context_dir, tmp_path):
    model = tmp_path / "m.pt"
    result = run_cli("train", context_dir, "-m", model, "--epochs", "2", "--context", "document", *TINY_NET)
    assert result.exit_code == 0, result.output
    assert load_model(model).config.context == "document"
    evaluated = run_cli("evaluate", context_dir / "test.txt", "-m", model, "--format", "json")
    assert evaluated.exit_code == 0, evaluated.output
    assert "--context" in flat(run_cli("train", "--help").stdout)


# tagger train's sparkline


def test_train_table_ends_with_a_dev_f1_sparkline(tiny_dir, tmp_path, monkeypatch):
    history = [{"epoch": e, "dev": {"precision": f, "recall": f, "f1": f}} for e, f in enumerate([0.1, 0.5, 0.9], 1)]
    result = {
        "model": "m.pt",
        "best_epoch": 3,
        "epochs_run": 3,
        "dev": {"precision": 0.9, "recall": 0.9, "f1": 0.9},
        "seconds": 1.0,
        "warnings": [],
        "history": history,
    }
    monkeypatch.setattr(loop, "train", lambda *args, **kwargs: result)
    out = run_cli("train", tiny_dir, "-m", tmp_path / "m.pt")
    assert out.exit_code == 0, out.output
    last = out.stdout.splitlines()[-1]
    assert last.startswith("dev F1 per epoch: ")
    assert last.removeprefix("dev F1 per epoch: ") in ("▁▅█", "_=#")  # block characters, or ASCII ones


@pytest.mark.slow
def test_the_learned_nothing_warning_is_printed_once(tiny_dir, tmp_path):
    from tests.corpora import make_sentences, write_conll
    from tests.helpers import TINY_NET

    # entities of a type that dev has none of: whatever it learns, dev F1 stays 0
    misc = [[(t, tag[:2] + "MISC" if tag != "O" else tag) for t, tag in s] for s in make_sentences(12, 7)]
    data = write_conll(tmp_path / "train.txt", misc)
    args = ["--dev", tiny_dir / "dev.txt", "-m", tmp_path / "m.pt", "--epochs", "2", *TINY_NET]
    result = run_cli("train", "--train", data, *args)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("learned nothing") == 1, result.stderr  # said as the run ends, not again
    assert result.stderr.count("only 12 training sentences") == 1, result.stderr
    assert "learned nothing" not in result.stdout  # stdout: the results alone


@pytest.mark.slow
def test_train_reads_its_training_file_from_stdin_in_another_encoding(tiny_dir, tmp_path):
    from tests.helpers import TINY_NET

    data = (tiny_dir / "train.txt").read_text(encoding="utf-8").replace("Paris", "Pâris").encode("latin-1")
    model = tmp_path / "m.pt"
    args = ["train", "--train", "-", "--dev", tiny_dir / "dev.txt", "-m", model, "--epochs", "1", *TINY_NET]
    result = run_cli(*args, "--encoding", "latin-1", "--format", "json", input=data)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"]["train"] == "-" and model.exists()
    line = run_cli(*args, input=data).stderr.splitlines()[-1]
    assert line.startswith("tagger: error: <stdin>:") and "bytes that are not UTF-8 (byte 0xe2" in line


# other data formats


@pytest.mark.slow
def test_train_on_doccano_records_and_tag_jsonl_output(tiny_dir, tmp_path):
    """Spans of an annotation tool train as the same sentences in CoNLL would; tag --format jsonl records too."""
    from tagger.data.reader import read_conll
    from tagger.data.schemes import to_spans
    from tagger.data.types import TaggedSentence

    with (tmp_path / "train.jsonl").open("w", encoding="utf-8") as out:
        for sentence in read_conll(tiny_dir / "train.txt"):
            starts = [sum(len(t) + 1 for t in sentence.tokens[:i]) for i in range(len(sentence.tokens) + 1)]
            spans = [[starts[s], starts[e] - 1, kind] for kind, s, e in to_spans(sentence.tags)]
            out.write(json.dumps({"text": " ".join(sentence.tokens), "labels": spans}) + "\n")
    with (tmp_path / "dev.jsonl").open("w", encoding="utf-8") as out:
        for sentence in read_conll(tiny_dir / "dev.txt"):
            out.write(json.dumps(TaggedSentence(sentence.tokens, sentence.tags).to_dict()) + "\n")
    model = tmp_path / "model.pt"
    args = ["--train", tmp_path / "train.jsonl", "--dev", tmp_path / "dev.jsonl", "-m", model, "--format", "json"]
    result = run(["train", *args, *TINY_TRAIN])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dev"]["f1"] >= 0 and model.is_file()


# Plain label sets: CoNLL-2003's part-of-speech and chunk columns train with no flag but the column


@pytest.mark.slow
def test_train_evaluate_and_tag_the_part_of_speech_column(tmp_path):
    from tests.helpers import POS_DIR, TINY_NET

    model = tmp_path / "pos.pt"
    args = ["train", POS_DIR, "--tag-column", "1", "-m", model, "--epochs", "6", "--lr", "0.05", "--batch-size", "8"]
    result = run_cli(*args, *TINY_NET)
    assert result.exit_code == 0, result.output
    assert "a plain label set (not chunks: scored by token accuracy" in result.stderr
    assert "dev acc%" in result.stderr and "dev P%" not in result.stderr
    assert "dev:  accuracy" in result.stdout and "dev accuracy per epoch" in result.stdout
    scored = json.loads(
        run_cli("evaluate", POS_DIR / "dev.txt", "--tag-column", "1", "-m", model, "--format", "json").stdout
    )
    assert scored["accuracy"] > 0.9
    tagged = run_cli("tag", "-m", model, "--format", "inline", "-", input="Smith bought the dog .\n")
    assert tagged.exit_code == 0 and tagged.stdout.startswith("Smith/NNP bought/VBD"), tagged.output


@pytest.mark.slow
def test_the_chunk_column_trains_as_chunks_unless_scheme_plain_says_otherwise(tmp_path):
    from tests.helpers import POS_DIR, TINY_NET

    common = ["train", POS_DIR, "--tag-column", "2", "--epochs", "2", "--format", "json", *TINY_NET]
    chunks = run_cli(*common, "-m", tmp_path / "chunks.pt")
    assert chunks.exit_code == 0, chunks.output
    assert "IOB2 read, BIOES trained" in chunks.stderr
    assert {"f1", "accuracy"} <= set(json.loads(chunks.stdout)["test"])
    plain = run_cli(*common, "--scheme", "plain", "-m", tmp_path / "plain.pt")
    assert plain.exit_code == 0, plain.output
    assert "a plain label set" in plain.stderr and "f1" not in json.loads(plain.stdout)["test"]


@pytest.mark.slow
def test_a_ud_treebank_folder_trains_a_upos_tagger_that_tags_raw_text(tmp_path):
    """CoNLL-U files found by UD's names, read as UPOS, a plain label set: accuracy, and word/TAG inline."""
    from tests.helpers import ROOT

    model = tmp_path / "ud.pt"
    treebank = ROOT / "tests" / "data" / "fixtures" / "ud"
    result = run(["train", treebank, "-m", model, "--epochs", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "accuracy" in json.loads(result.stdout)["dev"]
    tagged = run(["tag", "-m", model, "--format", "inline"], input="Ana vive en Madrid .\n")
    assert tagged.exit_code == 0, tagged.output
    assert all("/" in word for word in tagged.stdout.split()), tagged.stdout

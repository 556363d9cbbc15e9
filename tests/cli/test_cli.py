"""The command line, run in-process with Typer's CliRunner (real processes where a test says so).

Its bad-input and never-lose-work cases are rows of docs/robustness.md, which names each test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest
import torch
import typer

from tagger.cli import commands
from tagger.nn.model_file import load_model
from tagger.tagging import predictor
from tagger.training import evaluation, loop
from tests.corpora import GOOD, conll, make_sentences, write_conll
from tests.helpers import ROOT, TINY_NET, last_error_line, one_line_error, run_cli, run_cli_process

TINY_TRAIN = ["--epochs", "1", "--hidden-size", "8", "--word-dim", "10", "--batch-size", "8"]

pytestmark = pytest.mark.usefixtures("cli_env")


def run(args: list, input: str | bytes | None = None):
    return run_cli(*args, input=input)


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
    from tagger.data.reader import read_conll

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
    monkeypatch.setattr(predictor, "tag_file", lambda *args, **kwargs: calls.append(args) or 0)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("")  # input files are checked before any work
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


def test_tag_of_another_scheme_than_the_given_one(tmp_path):
    data = tmp_path / "train.txt"
    data.write_bytes(conll(GOOD, "Ann\tS-PER\nruns\tO"))
    result = run_cli("train", "--train", data, "--scheme", "iob2", "--model", tmp_path / "m.pt", *TINY_NET)
    assert result.exit_code == 2
    assert f"{data}:7: 'S-PER' is not a tag of the IOB2 scheme" in last_error_line(result.stderr)


@pytest.mark.parametrize("command", ["train", "evaluate", "tag"])
def test_missing_data_file(tmp_path, trained_model, command):
    missing = tmp_path / "nope.txt"
    args = (
        ["--train", missing, "--model", tmp_path / "m.pt"]
        if command == "train"
        else [missing, "--model", trained_model]
    )
    result = run_cli(command, *args)
    error = last_error_line(result.stderr) if command == "train" else one_line_error(result)
    assert result.exit_code == 2
    assert error == f"tagger: error: {missing}: no such file"


@pytest.mark.parametrize("command", ["train", "evaluate", "tag"])
def test_directory_instead_of_data_file(tmp_path, trained_model, command):
    model = tmp_path / "m.pt"
    args = ["--train", tmp_path, "--model", model] if command == "train" else [tmp_path, "--model", trained_model]
    result = run_cli(command, *args)
    error = last_error_line(result.stderr) if command == "train" else one_line_error(result)
    assert result.exit_code == 2
    assert error == f"tagger: error: {tmp_path}: is a directory, not a file"


def test_debug_flag_shows_the_traceback(tmp_path):
    result = run_cli("--debug", "tag", tmp_path / "in.txt", "--model", tmp_path / "none.pt")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("tagger: error: ")


# `tag` input and output


def test_empty_or_blank_input_is_not_an_error(tmp_path, trained_model):
    """`tagger tag` is a filter: like cat or sort it writes nothing for no input and exits 0."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    for args, text in (
        (["tag"], ""),
        (["tag"], "\n\n  \n"),
        (["tag", "--input", "conll"], "-DOCSTART- O\n\n"),
        (["tag", str(empty)], None),
    ):
        result = run_cli(*args, "--model", trained_model, input=text)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""


@pytest.mark.slow
def test_closed_stdout_ends_quietly_with_status_0(tmp_path, trained_model):
    """`tagger tag big.txt | head -1`: a real pipeline; head exits after one line."""
    words = "Mary lives in Paris . John Smith works for Google in Berlin".split()
    big = tmp_path / "big.txt"
    big.write_text("".join(" ".join(words[i % 7 :] + words[: i % 7]) + "\n" for i in range(3000)), encoding="utf-8")
    script = (
        f'"{sys.executable}" cli.py tag --model "{trained_model}" --input tokens "{big}" 2>"{tmp_path}/err" | head -1;'
        f' echo "${{PIPESTATUS[0]}}"'
    )
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    first, status = out.stdout.splitlines()
    assert first.split("\t")[0] in words
    assert status == "0"
    assert (tmp_path / "err").read_text() == ""


def test_text_in_any_script_is_tagged(trained_model):
    text = "東京は日本の首都です。\nمرحبا بالعالم في باريس\nMary 😀 lives in Paris 🇫🇷 👍🏽 .\nΑθήνα Москва ṩ̈ e\u0301\n"
    result = run_cli("tag", "--model", trained_model, "--format", "jsonl", input=text)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) >= 4
    for record in records:
        assert len(record["tags"]) == len(record["tokens"]) == len(record["offsets"])
        for token, (start, end) in zip(record["tokens"], record["offsets"]):
            assert text[start:end] == token
    assert any("😀" in r["tokens"] for r in records)


def test_token_of_10000_characters(tmp_path, trained_model):
    long = "x" * 5_000 + "é" * 5_000
    path = tmp_path / "long.conll"
    path.write_text(f"Mary\tO\n{long}\tO\nlives\tO\n", encoding="utf-8")
    result = run_cli("tag", path, "--model", trained_model, "--input", "conll")
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["Mary", long, "lives", ""]
    result = run_cli("tag", "--model", trained_model, "--format", "jsonl", input=f"Mary met {long} in Paris .\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tokens"] == ["Mary", "met", long, "in", "Paris", "."]


# Options


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tag", "--format", "xml"], "--format must be one of conll, inline, jsonl, html, got 'xml'"),
        (["evaluate", "x.txt", "--format", "yaml"], "--format must be one of table, json, got 'yaml'"),
        (["train", "--train", "x.txt", "--format", "csv"], "--format must be one of table, json, got 'csv'"),
        (["tag", "--input", "pdf"], "--input must be one of text, conll, tokens, got 'pdf'"),
        (["train", "--train", "x.txt", "--cell", "transformer"], "--cell must be one of lstm, gru, got 'transformer'"),
        (["train", "--train", "x.txt", "--epochs", "many"], "Invalid value for '--epochs'"),
        (["tag", "--no-such-option"], "No such option: --no-such-option"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
    ids=[
        "tag-format",
        "evaluate-format",
        "train-format",
        "tag-input",
        "train-cell",
        "epochs-not-a-number",
        "unknown-option",
        "unknown-command",
    ],
)
def test_bad_option_is_a_usage_error(args, message):
    assert message in one_line_error(run_cli(*args))


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


@pytest.mark.slow
def test_ctrl_c_while_tagging_stops_the_worker_quietly(trained_model, tmp_path):
    """Ctrl-C goes to the whole process group, the tokenizer worker too: the tagger says
    "interrupted" in one line with status 130, soon, with no traceback from the worker
    and no process left behind."""
    text = tmp_path / "big.txt"
    text.write_text("Mary lives in Paris and works for Acme Corp. in London.\n" * 100_000)
    proc = subprocess.Popen(
        [sys.executable, "cli.py", "tag", "-m", str(trained_model), str(text)],
        cwd=ROOT,
        env=dict(os.environ, TAGGER_THREADS="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a shell gives a pipeline
    )
    try:
        deadline = time.monotonic() + 60
        worker = None
        while worker is None and proc.poll() is None and time.monotonic() < deadline:
            for task in Path(f"/proc/{proc.pid}/task").glob("*"):  # children are listed under their thread
                for child in (task / "children").read_text().split():
                    if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                        worker = int(child)
            time.sleep(0.05)
        assert worker is not None, "no worker process started"
        time.sleep(0.3)  # the worker is busy with a window
        os.killpg(proc.pid, signal.SIGINT)
        start = time.monotonic()
        _, stderr = proc.communicate(timeout=30)
        stopped = time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert last_error_line(stderr) == "tagger: interrupted"
    assert stopped < 4, stopped  # not the reader thread's 5 s grace, waiting for a result that never comes
    time.sleep(0.5)
    assert not Path(f"/proc/{worker}").exists() or b"spawn_main" not in Path(f"/proc/{worker}/cmdline").read_bytes()


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
    "context": ["sentence", "Document"],
    "dropout": ["-0.1", "1", "1.5", "nan"],
    "patience": ["-1"],
    "data_scheme": ["bilou"],
    "scheme": ["bilou"],
    "keep_vectors": ["-2"],
    "average": ["-0.5", "1", "nan"],
    "device": ["mps", "xpu", "meta", "foo", "tpu:7", "cuda:99", *(["cuda", "cuda:0"] if NO_CUDA else [])],
    "threads": ["-1"],
    "workers": ["-2"],
    "jobs": ["-1"],
    "output": ["xml", "csv"],
    "input_kind": ["html"],
    "scores": ["all", "entity", ""],
    "nbest": ["-1"],
    "min_score": ["-0.1", "1.5", "nan"],
    "encoding": ["nope", "base64", "rot13", ""],
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

    for module, name in ((loop, "train"), (evaluation, "evaluate"), (predictor, "tag_file")):
        monkeypatch.setattr(module, name, work)
    model = tmp_path / "no-such-model.pt"
    where = {"train": [tmp_path / "no-such-folder"], "evaluate": [tmp_path / "gold.txt"], "tag": [tmp_path / "in.txt"]}
    result = run([command, *where[command], "-m", model, flag, value], input="Mary lives in Paris .\n")
    line = one_line_error(result, flag, value)
    assert "no-such" not in line and "gold.txt" not in line  # not the model or the data: they were never opened
    assert line.endswith(f" {command} --help')")


def test_a_cuda_device_is_accepted_where_there_is_one(monkeypatch, trained_model):

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    seen = []
    monkeypatch.setattr(predictor, "tag_file", lambda *args, **kwargs: seen.append(kwargs["device"]) or 1)
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
    """``loop.train`` replaced by a stub that records its arguments and returns FAKE_RESULT."""
    calls: list[dict] = []

    def fake(train_file, model_path, **kwargs):
        calls.append({"train_file": train_file, "model_path": model_path, **kwargs})
        return json.loads(json.dumps(FAKE_RESULT))

    monkeypatch.setattr(loop, "train", fake)
    return calls


def test_every_train_option_is_a_config_field_or_an_argument_of_train():
    import inspect
    from dataclasses import fields

    from tagger.nn.model import ModelConfig
    from tagger.training.loop import TrainConfig

    options = set(inspect.signature(commands.train).parameters) - {"ctx"}
    known = {f.name for f in fields(TrainConfig)} | {f.name for f in fields(ModelConfig)}
    known |= set(inspect.signature(loop.train).parameters)
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
    "--context": ("document", "context", "document"),
    "--no-constrained": (None, "constrained", False),
}


def test_train_options_reach_the_configs_by_field_name(tiny_dir, tmp_path, train_calls):
    from tagger.nn.model import ModelConfig
    from tagger.training.loop import TrainConfig

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
    from tagger.nn.model import ModelConfig
    from tagger.training.loop import TrainConfig

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
    from tagger.cli.exit_status import EXIT_STATUSES
    from tagger.errors import EX_IOERR

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
    monkeypatch.setattr(loop, "train", lambda *args, **kwargs: json.loads(json.dumps(FAKE_RESULT)))
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

    from tagger.errors import EX_IOERR, OutputError

    def fail(*args, **kwargs):
        raise OutputError(OSError(errno.EIO, os.strerror(errno.EIO)))

    monkeypatch.setattr(predictor, "tag_file", fail)
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

    from tests.helpers import ROOT

    code = "import sys, cli; cli.app; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout.strip()) == (0, "[]"), out.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--help"], 0),
        (["tag", "--help"], 0),
        (["train", "--help"], 0),
        (["evaluate", "--help"], 0),
        (["info", "--help"], 0),
        (["tag", "--batch-size", "0"], 2),
    ],
    ids=["help", "tag-help", "train-help", "evaluate-help", "info-help", "bad-value"],
)
def test_help_and_refused_options_answer_without_torch(args, status):
    """`--help` and a refused option value are answered from config.py's defaults, before torch is loaded."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    code = (
        "import sys, runpy\n"
        f"sys.argv = ['cli.py', *{args!r}]\n"
        "try:\n    runpy.run_path('cli.py', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    print(e.code, sorted(m for m in ('torch', 'numpy') if m in sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stderr.splitlines()[-1] == f"{status} []", out.stderr
    assert out.stdout if status == 0 else "--batch-size" in out.stderr


@pytest.mark.slow
def test_train_with_document_context_saves_it_and_evaluate_reads_it(context_dir, tmp_path):
    model = tmp_path / "m.pt"
    result = run_cli("train", context_dir, "-m", model, "--epochs", "2", "--context", "document", *TINY_NET)
    assert result.exit_code == 0, result.output
    assert load_model(model).config.context == "document"
    evaluated = run_cli("evaluate", context_dir / "test.txt", "-m", model, "--format", "json")
    assert evaluated.exit_code == 0, evaluated.output
    assert "--context" in flat(run_cli("train", "--help").stdout)

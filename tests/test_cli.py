"""The command line, run in-process with Typer's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from cli import app

TINY_TRAIN = ["--epochs", "1", "--hidden-size", "8", "--word-dim", "10", "--batch-size", "8"]


@pytest.fixture(autouse=True)
def no_debug(monkeypatch):
    """Errors are shown as in a normal run, whatever another test or the environment set."""
    monkeypatch.delenv("TAGGER_DEBUG", raising=False)
    monkeypatch.delenv("TAGGER_MODEL", raising=False)
    monkeypatch.setitem(cli.DEBUG, "on", False)


def run(args: list[str], input: str | bytes | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def assert_one_line_error(result, *parts: str) -> str:
    """Exit status 2, exactly one line on stderr naming ``parts``, nothing on stdout, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("tagger: error: "), line
    for part in parts:
        assert part in line, (part, line)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return line


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
    assert re.search(r"^dev: +precision [\d.]+ +recall [\d.]+ +F1 [\d.]+$", out, re.M), out
    assert re.search(r"^test: +precision [\d.]+ +recall [\d.]+ +F1 [\d.]+$", out, re.M), out
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
    assert_one_line_error(run(["train", "-m", tmp_path / "m.pt"]), "--train")


def test_train_on_a_folder_without_train_file(tmp_path):
    (tmp_path / "dev.txt").write_text("John B-PER\n", encoding="utf-8")
    assert_one_line_error(run(["train", tmp_path, "-m", tmp_path / "m.pt"]), "no training file", str(tmp_path))


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


def test_train_rejects_bad_option_values(tiny_dir, tmp_path):
    assert_one_line_error(run(["train", tiny_dir, "-m", tmp_path / "m.pt", "--epochs", "0"]), "--epochs")
    assert_one_line_error(run(["train", tiny_dir, "-m", tmp_path / "m.pt", "--cell", "rnn"]), "--cell")


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
    for header in ("type", "precision", "recall", "F1", "support"):
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
    assert "tagged 1 sentences" in result.stderr


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
    assert f"tagged {len(gold)} sentences" in result.stderr


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
    assert_one_line_error(run(["tag"], input=SENTENCE + "\n"), str(missing), "no model file")


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
    assert_one_line_error(run(["evaluate", path, "-m", trained_model]), f"{path}:{line}:")


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
    assert_one_line_error(run(args, input=SENTENCE + "\n"), str(missing))


def test_model_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "model.pt"
    path.write_text("hello\n", encoding="utf-8")
    assert_one_line_error(run(["tag", "-m", path], input=SENTENCE + "\n"), str(path))


@pytest.mark.parametrize(
    "args",
    [["tag", "--format", "xml"], ["evaluate", "x.txt", "--format", "csv"], ["tag", "--input", "html"]],
    ids=["tag-format", "evaluate-format", "tag-input"],
)
def test_unknown_option_values(trained_model, args):
    result = run([*args, "-m", trained_model], input=SENTENCE + "\n")
    line = assert_one_line_error(result, args[-1])
    assert args[-2] in line


def test_missing_input_file(trained_model, tmp_path):
    missing = tmp_path / "nope.txt"
    assert_one_line_error(run(["tag", missing, "-m", trained_model]), str(missing), "no such file")


def test_evaluate_missing_data_file(trained_model, tmp_path):
    missing = tmp_path / "nope.txt"
    assert_one_line_error(run(["evaluate", missing, "-m", trained_model]), str(missing))


def test_empty_input(trained_model):
    assert_one_line_error(run(["tag", "-m", trained_model], input="\n  \n"), "<stdin>", "no sentences")


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


def test_train_option_defaults_are_the_library_defaults():
    """`tagger train` with no options trains with TrainConfig's and ModelConfig's defaults."""
    import typer

    from cli import app
    from tagger.model import ModelConfig
    from tagger.training import TrainConfig

    command = typer.main.get_command(app).commands["train"]
    cli_defaults = {p.name: p.default for p in command.params}
    renamed = {"train_scheme": "scheme", "output": None, "model": None, "scheme": None}
    library = {**ModelConfig().to_dict(), **TrainConfig().__dict__}
    checked = 0
    for name, default in cli_defaults.items():
        key = renamed.get(name, name)
        if key in library and default is not None:
            value = getattr(default, "value", default)
            assert value == library[key], f"--{name.replace('_', '-')}: CLI {value!r}, library {library[key]!r}"
            checked += 1
    assert checked >= 20

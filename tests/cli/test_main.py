"""The `tagger` group and what every command shares: usage errors, option values checked before any work,
--help and --version without torch, one-line errors and their exit statuses."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import typer

from tagger.cli import main
from tagger.tagging import files
from tagger.training import evaluation, loop
from tests.cli.helpers import SENTENCE, flat, run
from tests.helpers import ROOT, last_error_line, one_line_error, run_cli, run_cli_process

pytestmark = pytest.mark.usefixtures("cli_env")


@pytest.mark.parametrize("command", ["tag", "evaluate"])
def test_missing_model_file(tiny_dir, tmp_path, command):
    missing = tmp_path / "nope.pt"
    args = ["tag", "-m", missing] if command == "tag" else ["evaluate", tiny_dir / "test.txt", "-m", missing]
    line = one_line_error(run(args, input=SENTENCE + "\n"), str(missing), "no model file here")
    assert "--model" not in line  # it was passed: the line must not send the user to pass it


@pytest.mark.parametrize(
    "args",
    [["tag", "--format", "xml"], ["evaluate", "x.txt", "--format", "csv"], ["tag", "--input", "html"]],
    ids=["tag-format", "evaluate-format", "tag-input"],
)
def test_unknown_option_values(trained_model, args):
    result = run([*args, "-m", trained_model], input=SENTENCE + "\n")
    line = one_line_error(result, args[-1])
    assert args[-2] in line


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


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_flag_shows_the_traceback(tmp_path, where):
    """After the command too: where a user adds it when the internal-error line says "run with --debug"."""
    args = ["tag", tmp_path / "in.txt", "--model", tmp_path / "none.pt"]
    result = run_cli(*(["--debug", *args] if where == "before" else [*args, "--debug"]))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("tagger: error: ")


@pytest.mark.parametrize("command", main.COMMANDS)
def test_every_command_takes_debug_after_its_name(command):
    assert "--debug" in run([command, "--help"]).stdout


# Options


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tag", "--format", "xml"], "--format must be one of conll, inline, jsonl, html, got 'xml'"),
        (["evaluate", "x.txt", "--format", "yaml"], "--format must be one of table, json, got 'yaml'"),
        (["train", "--train", "x.txt", "--format", "csv"], "--format must be one of table, json, got 'csv'"),
        (["tag", "--input", "pdf"], "--input must be one of text, conll, tokens, conllu, got 'pdf'"),
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
    "train_scheme": ["bilou"],
    "scheme": ["bilou"],
    "keep_vectors": ["-2"],
    "average": ["-0.5", "1", "nan"],
    "device": ["mps", "xpu", "meta", "foo", "tpu:7", "cuda:99", *(["cuda", "cuda:0"] if NO_CUDA else [])],
    "threads": ["-1"],
    "workers": ["-2"],
    "jobs": ["-1"],
    "output": ["xml", "csv"],
    "output_format": ["xml", "csv"],
    "input_kind": ["html"],
    "scores": ["all", "entity", ""],
    "nbest": ["-1"],
    "min_score": ["-0.1", "1.5", "nan"],
    "encoding": ["nope", "base64", "rot13", ""],
    "data_format": ["xml", "CONLLU", "jsonl"],
    "conllu_field": ["feats", "UPOS", "id"],
}
# Options with a value that no usage check can refuse before the data is read.
NOT_CHECKED_BEFORE_WORK = {
    "tag_column": "any column can be the tag column of some file; the file's lines are checked as they are read",
    "embeddings": "a file, read (and checked) as the work begins",
    "file": "the input file, opened as the work begins",
    "to": "tag's output, a path kept as written (a / at its end names a folder): checked as it is opened, before "
    "the work, with the output's status (74: cannot write) or as an input (2: names an input file)",
}


def _options(command: str) -> dict[str, typer.core.TyperOption]:
    """The options of a command whose value is a number or a word (flags and paths are not), by parameter name."""
    function = getattr(importlib.import_module(f"tagger.cli.{command}"), command)
    hints = typing.get_type_hints(function)
    params = main.command(command).params
    return {p.name: p for p in params if hints.get(p.name) in (int, float, str, str | None)}  # --debug: no hint


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

    for module, name in ((loop, "train"), (evaluation, "evaluate"), (files, "tag_files")):
        monkeypatch.setattr(module, name, work)
    model = tmp_path / "no-such-model.pt"
    where = {"train": [tmp_path / "no-such-folder"], "evaluate": [tmp_path / "gold.txt"], "tag": [tmp_path / "in.txt"]}
    result = run([command, *where[command], "-m", model, flag, value], input="Mary lives in Paris .\n")
    line = one_line_error(result, flag, value)
    assert "no-such" not in line and "gold.txt" not in line  # not the model or the data: they were never opened
    assert line.endswith(f" {command} --help')")


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


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("evaluate", "evaluate [OPTIONS] FILE"),
        ("train", "train [OPTIONS] [DIR]"),  # as the README writes it
        ("tag", "tag [OPTIONS] [FILE]..."),  # it takes several
        ("info", "info [OPTIONS] [MODEL]"),
        ("export", "export [OPTIONS] [MODEL]..."),
        ("serve", "serve [OPTIONS]"),
    ],
)
def test_usage_lines_name_the_arguments_as_people_write_them(command, usage):
    line = run([command, "--help"]).stdout.splitlines()[0]
    assert line.startswith("Usage: ") and line.endswith(f" {usage}")  # in-process, the program is not named tagger


def test_a_missing_argument_is_named_as_the_usage_line_names_it():
    one_line_error(run(["evaluate"]), "Missing argument 'FILE'")


@pytest.mark.parametrize("command", ["tag", "evaluate", "info", "export", "serve"])
def test_help_of_each_command_that_reads_a_model_says_the_shipped_fallback(command):
    assert "else the shipped en-news; or a shipped model's name" in flat(run([command, "--help"]).stdout)
    assert "en-news" not in run(["train", "--help"]).stdout  # train writes its model: no fallback


@pytest.mark.parametrize("command", ["train", "evaluate", "tag"])
def test_help_shows_the_default_model_path_as_the_environment_sets_it(tmp_path, monkeypatch, command):
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    text = "".join(run([command, "--help"]).stdout.split())  # the path may be wrapped anywhere
    assert f"[default:{home / 'tagger' / 'model.pt'}]" in text
    assert ".local/share" not in text
    monkeypatch.setenv("TAGGER_MODEL", str(tmp_path / "chosen.pt"))
    assert f"[default:{tmp_path / 'chosen.pt'}]" in "".join(run([command, "--help"]).stdout.split())


# Output that cannot be written (issue 15, item 4)


def test_output_error_is_one_line_with_its_own_status(monkeypatch, tmp_path):
    import errno

    from tagger.errors import EX_IOERR, OutputError

    def fail(*args, **kwargs):
        raise OutputError(OSError(errno.EIO, os.strerror(errno.EIO)))

    monkeypatch.setattr(files, "tag_files", fail)
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

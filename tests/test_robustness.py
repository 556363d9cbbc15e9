"""Never crash, never lose work: every kind of bad input is one line on stderr and an exit status.

Each case checks what the user sees: one ``tagger: error:`` line on stderr (naming the file and line
for file content), exit status 2 for bad input or usage, no traceback, and nothing already written
damaged. Then the ways of not losing work: atomic model files, Ctrl-C and SIGTERM during training
(real processes, real signals), ``--resume`` reaching the very weights of an uninterrupted run, and
determinism. The catalogue in README.md ("Bad input and lost work") lists these tests by name.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import make_sentences, one_line_error, run_cli, write_conll

from tagger.errors import ModelFileError
from tagger.model_file import FORMAT_VERSION, load_model, read_checkpoint, save_model
from tagger.runtime import configure_torch

ROOT = Path(__file__).resolve().parent.parent
TINY_NET = ["--hidden-size", "8", "--word-dim", "10", "--char-encoder", "none"]


pytestmark = pytest.mark.usefixtures("cli_env")
run = run_cli


def last_error_line(stderr: str) -> str:
    """The error line of a command that logs before it fails (train prints the files it found first)."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("tagger: ")]
    assert len(errors) == 1, stderr
    assert stderr.rstrip().endswith(errors[0])
    return errors[0]


def conll(*sentences: str) -> bytes:
    return "\n\n".join(sentences).encode("utf-8") + b"\n"


GOOD = "Mary\tB-PER\nlives\tO\nin\tO\nParis\tB-LOC\n.\tO"


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
    "not_utf8": (conll(GOOD) + b"\nPar\xeds\tB-LOC\n", "bytes that are not UTF-8 (byte 0xed at column 4)", 7),
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
    model.write_bytes(b"the previous, good model")
    where = f"tagger: error: {data}:{line}: " if line else f"tagger: error: {data}: "
    result = run("train", "--train", data, "--dev", data, "--model", model, "--epochs", "1", *TINY_NET)
    assert result.exit_code == 2, result.output
    error = last_error_line(result.stderr)
    assert error.startswith(where) and message in error
    assert model.read_bytes() == b"the previous, good model"
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"]
    if case != "only_tag_O":  # a gold file of only O is fine to score
        error = one_line_error(run("evaluate", data, "--model", trained_model))
        assert error.startswith(where) and message in error


def test_tag_of_another_scheme_than_the_given_one(tmp_path):
    data = tmp_path / "train.txt"
    data.write_bytes(conll(GOOD, "Ann\tS-PER\nruns\tO"))
    result = run("train", "--train", data, "--scheme", "iob2", "--model", tmp_path / "m.pt", *TINY_NET)
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
    result = run(command, *args)
    error = last_error_line(result.stderr) if command == "train" else one_line_error(result)
    assert result.exit_code == 2
    assert error == f"tagger: error: {missing}: no such file"


@pytest.mark.parametrize("command", ["train", "evaluate", "tag"])
def test_directory_instead_of_data_file(tmp_path, trained_model, command):
    model = tmp_path / "m.pt"
    args = ["--train", tmp_path, "--model", model] if command == "train" else [tmp_path, "--model", trained_model]
    result = run(command, *args)
    error = last_error_line(result.stderr) if command == "train" else one_line_error(result)
    assert result.exit_code == 2
    assert error == f"tagger: error: {tmp_path}: is a directory, not a file"


def test_debug_flag_shows_the_traceback(tmp_path):
    result = run("--debug", "tag", tmp_path / "in.txt", "--model", tmp_path / "none.pt")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("tagger: error: ")


# Odd but valid data files: read as meant


def test_bom_crlf_tab_lines_and_zero_width_spaces_are_read(tmp_path, trained_model):
    from tagger.corpus import load_tagged

    text = "\ufeffMary\tB-PER\r\nlives\tO\r\n\t\r\nThe\u200b\tO\r\nPar\u200bis\tB-LOC\r\n \t \r\n\u200b\tO\r\n"
    path = tmp_path / "odd.txt"
    path.write_bytes(text.encode("utf-8"))
    data = load_tagged(path)
    assert [s.tokens for s in data.sentences] == [["Mary", "lives"], ["The\u200b", "Par\u200bis"], ["\u200b"]]
    assert [s.tags for s in data.sentences] == [["B-PER", "O"], ["O", "B-LOC"], ["O"]]
    assert [s.line for s in data.sentences] == [1, 4, 7]
    assert data.warnings == []
    result = run("evaluate", path, "--model", trained_model, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sentences"] == 3
    assert result.stderr == ""


def test_iob2_with_i_after_o_is_repaired_as_conlleval_reads_it_with_a_warning(tmp_path, trained_model):
    from tagger.corpus import load_tagged

    broken = "The\tO\nUnited\tI-ORG\nNations\tI-ORG\nmet\tO\nin\tO\nParis\tB-LOC"
    path = tmp_path / "gold.txt"
    path.write_bytes(conll(GOOD, "John\tB-PER\nSmith\tI-PER\nleft\tO", broken))
    data = load_tagged(path)
    assert data.scheme == "iob2"
    assert len(data.warnings) == 1
    assert data.warnings[0].startswith(f"{path}:12: 1 sentence(s)")
    assert "not valid IOB2" in data.warnings[0]
    assert data.tags_in("iob2")[2] == ["O", "B-ORG", "I-ORG", "O", "O", "B-LOC"]
    assert data.tags_in("bioes")[2] == ["O", "B-ORG", "E-ORG", "O", "O", "S-LOC"]

    result = run("evaluate", path, "--model", trained_model, "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"warning: {path}:12: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(result.stdout)["support"] == 5  # the repaired ORG counts as an entity


# Model files: one line, status 2, and a malicious pickle runs nothing


def _evil_payload(marker: Path):
    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    return Payload()


@pytest.mark.parametrize("kind", ["torch_save", "pickle_protocol_2", "pickle_protocol_5"])
def test_malicious_pickle_is_refused_without_running_it(tmp_path, kind):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.pt"
    checkpoint = {"format": "tagger-model", "format_version": 1, "config": _evil_payload(marker)}
    if kind == "torch_save":
        torch.save(checkpoint, path)
    else:
        path.write_bytes(pickle.dumps(checkpoint, protocol=int(kind[-1])))
    with pytest.raises(ModelFileError):
        read_checkpoint(path)
    result = run("tag", "--model", path, input="Mary lives in Paris .\n")
    error = one_line_error(result)
    assert error.startswith(f"tagger: error: {path}: ")
    assert "refused to load" in error or "not a readable model file" in error
    assert not marker.exists()
    if kind == "pickle_protocol_5":  # a real process, where torch's warnings about foreign pickles would show
        out = subprocess.run(
            [sys.executable, "cli.py", "tag", "--model", str(path)],
            cwd=ROOT,
            input="Mary lives in Paris .\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (out.returncode, out.stderr.splitlines(), out.stdout) == (2, [error], "")
        assert not marker.exists()


def _foreign_files(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[bytes | None, str]] = {}
    data = good.read_bytes()
    cases["truncated"] = (data[: len(data) // 2], "not a readable model file")
    cases["cut_after_1k"] = (data[:1024], "not a readable model file")
    cases["empty"] = (b"", "not a readable model file")
    cases["random_bytes"] = (bytes(range(256)) * 8, "not a readable model file")
    cases["text_file"] = (b"Mary\tB-PER\nlives\tO\n", "not a readable model file")
    out = {}
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(content)
        out[name] = (path, message)
    with zipfile.ZipFile(tmp_path / "zip.pt", "w") as z:
        z.writestr("readme.txt", "a zip file of another program")
    out["zip_file"] = (tmp_path / "zip.pt", "not a readable model file")
    torch.save({"weights": torch.zeros(3), "epoch": 3}, tmp_path / "other.pt")
    out["torch_dict_of_another_program"] = (tmp_path / "other.pt", "not a tagger model file")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    out["torch_list"] = (tmp_path / "list.pt", "not a tagger model file")
    newer = torch.load(good, weights_only=True)
    newer["format_version"] = 7
    torch.save(newer, tmp_path / "newer.pt")
    newer_message = f"newer tagger (model format 7; this tagger reads format {FORMAT_VERSION} and older)"
    out["newer_format"] = (tmp_path / "newer.pt", newer_message)
    broken = dict(newer, format_version=1, config="not a dict")
    torch.save(broken, tmp_path / "broken.pt")
    out["damaged_fields"] = (tmp_path / "broken.pt", "damaged model file")
    out["missing"] = (tmp_path / "missing.pt", "no model file here")
    out["directory"] = (tmp_path, "is a directory, not a model file")
    return out


MODEL_CASES = [
    "truncated",
    "cut_after_1k",
    "empty",
    "random_bytes",
    "text_file",
    "zip_file",
    "torch_dict_of_another_program",
    "torch_list",
    "newer_format",
    "damaged_fields",
    "missing",
    "directory",
]


@pytest.mark.parametrize("case", MODEL_CASES)
def test_unusable_model_file_is_one_line(tmp_path, trained_model, case):
    path, message = _foreign_files(tmp_path, trained_model)[case]
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert message in str(info.value)
    for args in (["tag", "--model", path], ["evaluate", ROOT / "pyproject.toml", "--model", path]):
        result = run(*args, input="Mary lives in Paris .\n")
        error = one_line_error(result)
        assert error.startswith(f"tagger: error: {path}: ")
        assert message in error


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
        result = run(*args, "--model", trained_model, input=text)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""


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
    result = run("tag", "--model", trained_model, "--format", "jsonl", input=text)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) >= 4
    for record in records:
        assert len(record["tags"]) == len(record["tokens"]) == len(record["offsets"])
        for token, (start, end) in zip(record["tokens"], record["offsets"]):
            assert text[start:end] == token
    assert any("😀" in r["tokens"] for r in records)


def test_sentence_of_100000_tokens(tmp_path, trained_model):
    from tagger.tagging import tag_file

    words = "Mary lives in Paris and John Smith works for Google in Berlin".split()
    path = tmp_path / "long.txt"
    path.write_text(" ".join(words[i % len(words)] for i in range(100_000)) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    with out.open("w", encoding="utf-8") as f:
        assert tag_file(str(path), f, trained_model, input_kind="tokens", threads=1) == 1
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 100_001 and lines[-1] == ""
    assert [line.split("\t")[0] for line in lines[:4]] == words[:4]
    assert all(line.split("\t")[1][0] in "OBI" for line in lines[:-1])


def test_token_of_10000_characters(tmp_path, trained_model):
    long = "x" * 5_000 + "é" * 5_000
    path = tmp_path / "long.conll"
    path.write_text(f"Mary\tO\n{long}\tO\nlives\tO\n", encoding="utf-8")
    result = run("tag", path, "--model", trained_model, "--input", "conll")
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["Mary", long, "lives", ""]
    result = run("tag", "--model", trained_model, "--format", "jsonl", input=f"Mary met {long} in Paris .\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tokens"] == ["Mary", "met", long, "in", "Paris", "."]


# Options


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tag", "--format", "xml"], "--format must be one of conll, inline, jsonl, got 'xml'"),
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
    assert message in one_line_error(run(*args))


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
    result = run("train", tiny_dir, "--model", model, option, value)
    assert message in one_line_error(result)
    assert not model.exists()


def test_train_dir_without_training_file(tmp_path):
    write_conll(tmp_path / "dev.txt", make_sentences(3, 1))
    result = run("train", tmp_path, "--model", tmp_path / "m.pt")
    expected = f"tagger: error: no training file in {tmp_path} (looked for train*, *train*; or give --train FILE)"
    assert one_line_error(result) == expected
    result = run("train", tmp_path / "nowhere")
    assert one_line_error(result) == f"tagger: error: {tmp_path / 'nowhere'}: no such folder"


def test_train_dir_without_dev_file_holds_out_a_tenth_into_a_new_folder(tmp_path):
    (tmp_path / "data").mkdir()
    write_conll(tmp_path / "data" / "train.txt", make_sentences(40, 1))
    model = tmp_path / "new" / "folder" / "model.pt"
    result = run("train", tmp_path / "data", "--model", model, "--epochs", "1", "--format", "json", *TINY_NET)
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
        result = run("train", tiny_dir, "--model", model, "--epochs", "50", *TINY_NET)
        error = last_error_line(result.stderr)
        assert result.exit_code == 2
        assert error.startswith(f"tagger: error: {model}: ")
        assert "training on" not in result.stderr
        assert time.perf_counter() - started < 30
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_model_in_read_only_folder_fails_before_training(tiny_dir, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = run("train", tiny_dir, "--model", folder / "m.pt", *TINY_NET)
        assert "the folder cannot be written" in last_error_line(result.stderr)
        assert "training on" not in result.stderr
    finally:
        folder.chmod(0o700)


# Never lose work: atomic model files


def test_failed_write_leaves_the_previous_model_intact(tmp_path, trained_model, monkeypatch):
    import tagger.model_file as model_file

    path = tmp_path / "model.pt"
    shutil.copy(trained_model, path)
    before = path.read_bytes()
    loaded = load_model(path)

    def full_disk(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_file.torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_model(path, loaded.model, loaded.vocab, loaded.data_scheme, {"note": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]  # no temporary file left behind
    load_model(path)


def test_interrupted_write_leaves_the_previous_model_intact(tmp_path, trained_model, monkeypatch):
    """Ctrl-C in the middle of writing: KeyboardInterrupt is not an Exception, and is handled too."""
    import tagger.model_file as model_file

    path = tmp_path / "model.pt"
    shutil.copy(trained_model, path)
    before = path.read_bytes()
    loaded = load_model(path)
    real_save = torch.save

    def interrupted(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(model_file.torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, loaded.model, loaded.vocab, loaded.data_scheme, {"note": "new"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


# Never lose work: Ctrl-C and SIGTERM during training, with real processes and real signals


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_signal_during_training_keeps_the_best_model(tiny_dir, tmp_path, signum, status):
    model = tmp_path / "run" / "model.pt"
    options = ["--dev", tiny_dir / "dev.txt", "--model", model, "--patience", "0", "--batch-size", "16", *TINY_NET]
    command = [sys.executable, "cli.py", "train", "--train", tiny_dir / "train.txt", *options]
    env = dict(os.environ, TAGGER_THREADS="1")
    proc = subprocess.Popen(
        [str(c) for c in command + ["--epochs", "100000"]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not model.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert model.exists(), proc.stderr.read() if proc.poll() is not None else "no model after 120 s"
        time.sleep(0.2)  # let it get into the next epochs
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, stderr
    error = last_error_line(stderr)
    name = signal.Signals(signum).name
    assert error.startswith(f"tagger: error: interrupted by {name}: the best model so far (epoch ")
    assert f"is saved at {model}; continue with --resume" in error
    assert stdout == ""
    loaded = load_model(model)  # complete, loadable
    assert loaded.metadata["best_epoch"] >= 1
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt", "model.pt.resume"]

    if signum == signal.SIGINT:  # and --resume picks it up from the command line
        done = read_checkpoint(model.with_name("model.pt.resume"))["train_state"]["progress"]["epoch"]
        resumed = run("train", "--train", tiny_dir / "train.txt", *options, "--resume", "--epochs", done + 1)
        assert resumed.exit_code == 0, resumed.output
        assert f"resuming after epoch {done} " in resumed.stderr
        assert f" of {done + 1}\n" in resumed.stdout  # "best epoch: B of E"
        assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"]


def test_resume_without_a_resume_file(tiny_dir, tmp_path):
    model = tmp_path / "m.pt"
    result = run("train", tiny_dir, "--model", model, "--resume", *TINY_NET)
    assert "nothing to resume: no m.pt.resume beside the model" in last_error_line(result.stderr)


# Never lose work: --resume reaches the very weights of an uninterrupted run; runs are deterministic


class Stop(Exception):
    pass


def _train(
    data: Path, path: Path, epochs: int = 4, stop_after: int | None = None, resume: bool = False, average: float = 0.0
) -> dict:
    """A small training run that snapshots the state after its last epoch (weights and optimizer)."""
    from tagger.model import ModelConfig
    from tagger.training import TrainConfig, train

    def on_epoch(row: dict) -> None:
        if row["epoch"] == epochs:  # the .resume file is written just before this call
            shutil.copy(path.with_name(path.name + ".resume"), path.with_name("last-epoch.pt"))
        if row["epoch"] == stop_after:
            raise Stop

    return train(
        data / "train.txt",
        path,
        dev_file=data / "dev.txt",
        model_config=ModelConfig(word_dim=12, char_size=8, hidden_size=8, dropout=0.3),
        config=TrainConfig(
            epochs=epochs, batch_size=8, lr=0.05, patience=0, seed=11, word_dropout=0.3, average=average
        ),
        resume=resume,
        on_epoch=on_epoch,
    )


def _tensors(path: Path, key: str = "state_dict") -> dict:
    """The weights of a model or resume file, or a part of the resume file's train_state."""
    checkpoint = read_checkpoint(path)
    return checkpoint[key] if key == "state_dict" else checkpoint["train_state"][key]


def _assert_same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def _history(result: dict) -> list:
    return [(r["epoch"], r["loss"], r["dev"], r["lr"], r["best"]) for r in result["history"]]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """Four epochs without interruption."""
    root = tmp_path_factory.mktemp("straight")
    data = root / "data"
    data.mkdir()
    write_conll(data / "train.txt", make_sentences(40, 5))
    write_conll(data / "dev.txt", make_sentences(10, 6))
    model = root / "a" / "model.pt"
    result = _train(data, model)
    return data, model, result


def _predictions(model: Path, data: Path) -> list[list[str]]:
    from tagger.reader import read_conll
    from tagger.tagging import Predictor

    configure_torch(1)
    sentences = [s.tokens for s in read_conll(data / "dev.txt")]
    return Predictor.from_loaded(load_model(model)).predict(sentences)


def test_resume_continues_exactly_where_the_run_stopped(straight_run, tmp_path):
    data, straight, straight_result = straight_run
    model = tmp_path / "model.pt"
    with pytest.raises(Stop):
        _train(data, model, stop_after=2)
    assert model.exists() and model.with_name("model.pt.resume").exists()
    assert read_checkpoint(model.with_name("model.pt.resume"))["train_state"]["progress"]["epoch"] == 2
    result = _train(data, model, resume=True)
    assert result["epochs_run"] == 4
    assert _history(result) == _history(straight_result)
    assert result["best_epoch"] == straight_result["best_epoch"]
    # the state after the last epoch, optimizer included, and the saved (best) model: bit for bit
    last, straight_last = model.with_name("last-epoch.pt"), straight.with_name("last-epoch.pt")
    _assert_same_tensors(_tensors(last), _tensors(straight_last))

    # the optimizer's own state (Adam's moments, or SGD's momentum) too
    def moments(path):
        parts = _tensors(path, "optimizer")["parts"]
        return [v for part in parts for s in part["state"].values() for v in s.values() if torch.is_tensor(v)]

    moments, straight_moments = moments(last), moments(straight_last)
    assert len(moments) == len(straight_moments) > 0
    assert all(torch.equal(a, b) for a, b in zip(moments, straight_moments))
    _assert_same_tensors(_tensors(model), _tensors(straight))
    assert _predictions(model, data) == _predictions(straight, data)
    assert not model.with_name("model.pt.resume").exists()


def test_resume_with_a_moving_average_of_the_weights(straight_run, tmp_path):
    data = straight_run[0]
    straight = tmp_path / "straight" / "model.pt"
    straight_result = _train(data, straight, average=0.9)
    model = tmp_path / "model.pt"
    with pytest.raises(Stop):
        _train(data, model, stop_after=2, average=0.9)
    result = _train(data, model, resume=True, average=0.9)
    assert _history(result) == _history(straight_result)
    last, straight_last = model.with_name("last-epoch.pt"), straight.with_name("last-epoch.pt")
    _assert_same_tensors(_tensors(last, "average"), _tensors(straight_last, "average"))
    _assert_same_tensors(_tensors(model), _tensors(straight))
    # the saved model is the average, not the last weights
    assert not torch.equal(_tensors(straight)["project.weight"], _tensors(straight_last)["project.weight"])


def test_resume_with_averaging_turned_on_or_off_is_refused(straight_run, tmp_path):
    from tagger.errors import TaggerError

    data = straight_run[0]
    model = tmp_path / "model.pt"
    with pytest.raises(Stop):
        _train(data, model, stop_after=1)
    with pytest.raises(TaggerError, match="cannot resume: the data or options differ"):
        _train(data, model, resume=True, average=0.9)


def test_resume_keeps_the_best_epochs_scores_in_the_model_file(straight_run, tmp_path):
    """The best epoch came before the interruption; the model re-saved with test scores still names it."""
    from tagger.model import ModelConfig
    from tagger.training import TrainConfig, train

    data = straight_run[0]
    model = tmp_path / "model.pt"

    def stop_after_first(row: dict) -> None:
        if row["epoch"] == 1:
            raise Stop

    options = dict(
        dev_file=data / "dev.txt",
        test_file=data / "dev.txt",
        model_config=ModelConfig(word_dim=12, char_size=8, hidden_size=8),
        config=TrainConfig(epochs=3, batch_size=8, lr=1e-9, patience=0, seed=11),  # too small to improve on epoch 1
    )
    with pytest.raises(Stop):
        train(data / "train.txt", model, on_epoch=stop_after_first, **options)
    before = load_model(model).metadata
    result = train(data / "train.txt", model, resume=True, **options)
    assert result["best_epoch"] == 1 and result["epochs_run"] == 3
    after = load_model(model).metadata
    assert after["best_epoch"] == 1
    assert after["dev_scores"] == before["dev_scores"]
    assert after["test_scores"] == result["test"]


def test_same_seed_same_weights_and_predictions(straight_run, tmp_path):
    data, straight, straight_result = straight_run
    model = tmp_path / "again" / "model.pt"
    result = _train(data, model)
    assert _history(result) == _history(straight_result)
    _assert_same_tensors(_tensors(model), _tensors(straight))
    _assert_same_tensors(_tensors(model.with_name("last-epoch.pt")), _tensors(straight.with_name("last-epoch.pt")))
    assert _predictions(model, data) == _predictions(straight, data)


def test_a_signal_while_the_model_is_written_waits_for_the_resume_file(tiny_dir, tmp_path, monkeypatch):
    """Ctrl-C between writing the best model and the resume file would leave a model that
    `--resume` cannot continue; the signal is held until both are written."""
    from tagger import training
    from tagger.model import ModelConfig
    from tagger.training import TrainConfig, TrainingInterrupted, train

    real_save = training.save_model

    def save_and_get_a_signal(path, *args, **kwargs):
        if Path(path).name == "model.pt":
            os.kill(os.getpid(), signal.SIGINT)  # handled at once, between two bytecodes of this thread
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(training, "save_model", save_and_get_a_signal)
    model = tmp_path / "model.pt"
    with pytest.raises(TrainingInterrupted) as stopped:
        train(
            tiny_dir / "train.txt",
            model,
            dev_file=tiny_dir / "dev.txt",
            model_config=ModelConfig(word_dim=10, char_encoder="none", hidden_size=8),
            config=TrainConfig(epochs=3, batch_size=16, patience=0),
        )
    assert stopped.value.exit_code == 130
    assert read_checkpoint(model.with_name("model.pt.resume"))["train_state"]["progress"]["epoch"] == 1
    assert load_model(model).metadata["best_epoch"] == 1


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

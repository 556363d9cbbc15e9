"""Shared fixtures: a tiny made-up corpus and a model trained on it once per session."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

PEOPLE = ["John Smith", "Mary", "Angela Merkel", "Bob", "Ana Lopez"]
PLACES = ["Paris", "New York", "Berlin", "Madrid", "Lake Tahoe"]
ORGS = ["Apple", "Acme Corp", "United Nations", "Google"]
TEMPLATES = [
    ("{PER} lives in {LOC} .", None),
    ("{PER} works for {ORG} in {LOC} .", None),
    ("{ORG} opened a store in {LOC} yesterday .", None),
    ("Yesterday {PER} met {PER} .", None),
    ("The weather is nice today .", None),
    ("{ORG} hired {PER} .", None),
]


def make_sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    """n sentences of (token, IOB2 tag) from the templates above."""
    rng = random.Random(seed)
    pools = {"PER": PEOPLE, "LOC": PLACES, "ORG": ORGS}
    out = []
    for _ in range(n):
        template, _ = rng.choice(TEMPLATES)
        sentence = []
        for word in template.split():
            if word.startswith("{") and word.endswith("}"):
                kind = word[1:-1]
                for i, part in enumerate(rng.choice(pools[kind]).split()):
                    sentence.append((part, ("B-" if i == 0 else "I-") + kind))
            else:
                sentence.append((word, "O"))
        out.append(sentence)
    return out


def write_conll(path: Path, sentences, docstart: bool = True) -> Path:
    lines = ["-DOCSTART- O", ""] if docstart else []
    for sentence in sentences:
        lines.extend(f"{tok}\t{tag}" for tok, tag in sentence)
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A folder with train.txt (60 sentences), dev.txt (20) and test.txt (20), IOB2."""
    folder = tmp_path_factory.mktemp("tiny")
    write_conll(folder / "train.txt", make_sentences(60, 1))
    write_conll(folder / "dev.txt", make_sentences(20, 2))
    write_conll(folder / "test.txt", make_sentences(20, 3))
    return folder


@pytest.fixture(scope="session")
def trained_model(tiny_dir, tmp_path_factory) -> Path:
    """A small model trained on tiny_dir (a few seconds); read-only for tests."""
    from tagger.model import ModelConfig
    from tagger.training import TrainConfig, train

    path = tmp_path_factory.mktemp("model") / "model.pt"
    train(
        tiny_dir / "train.txt",
        path,
        dev_file=tiny_dir / "dev.txt",
        test_file=tiny_dir / "test.txt",
        model_config=ModelConfig(word_dim=20, char_size=10, hidden_size=16),
        config=TrainConfig(epochs=15, batch_size=8, lr=0.05, patience=0, seed=1),
    )
    return path


# The command line, shared by the tests that run it.

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli_env(monkeypatch):
    """Errors shown as in a normal run (no --debug left on by another test), no model path from the environment."""
    import cli

    monkeypatch.delenv("TAGGER_DEBUG", raising=False)
    monkeypatch.delenv("TAGGER_MODEL", raising=False)
    monkeypatch.setitem(cli.DEBUG, "on", False)


def run_cli(*args, input: str | bytes | None = None):
    """``tagger ARGS`` in this process (Typer's CliRunner); the result has exit_code, stdout and stderr."""
    from typer.testing import CliRunner

    import cli

    return CliRunner().invoke(cli.app, [str(a) for a in args], input=input)


def run_cli_process(*args, **options) -> subprocess.CompletedProcess:
    """``python cli.py ARGS`` as a real process from the repository root (text output unless stdout is given)."""
    options.setdefault("timeout", 300)
    if "stdout" not in options:
        options["capture_output"] = True
    else:
        options.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "cli.py", *map(str, args)], cwd=ROOT, text=True, **options)


def one_line_error(result, *parts: str, code: int = 2) -> str:
    """The single ``tagger: error:`` line of a failed command: status ``code``, nothing on stdout, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tagger: error: "), lines[0]
    for part in parts:
        assert part in lines[0], (part, lines[0])
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]

"""Helpers the tests of several rooms share: the small trained model, running the command line (in this process
or as a real one), checking its one-line errors, and reading a model file raw."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent

# Its best dev score comes at epoch 7 (seed 1); the epoch after it keeps a history row past the best epoch.
TRAINED_EPOCHS = 8

# The smallest network worth training from the command line.
TINY_NET = ["--hidden-size", "8", "--word-dim", "10", "--char-encoder", "none"]


def train_tiny_model(tiny_dir: Path, path: Path, seed: int) -> Path:
    """The small model of the tests, trained on tiny_dir with ``seed`` (about a second)."""
    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.training.loop import train

    train(
        tiny_dir / "train.txt",
        path,
        dev_file=tiny_dir / "dev.txt",
        test_file=tiny_dir / "test.txt",
        model_config=ModelConfig(word_dim=20, char_size=10, hidden_size=16),
        config=TrainConfig(epochs=TRAINED_EPOCHS, batch_size=8, lr=0.05, patience=0, seed=seed),
    )
    return path


def raw_checkpoint(path: Path) -> dict:
    """What a model file holds, as plain data (no network built, nothing checked)."""
    return torch.load(path, map_location="cpu", weights_only=True)


POS_DIR = ROOT / "tests" / "data" / "pos"  # token, part-of-speech tag, chunk tag: CoNLL-2003's columns


def train_pos_model(path: Path, tag_column: int = 1) -> Path:
    """A small part-of-speech tagger (a plain label set) trained on POS_DIR's column ``tag_column`` (seconds)."""
    from tagger.nn.model import ModelConfig
    from tagger.training.loop import TrainConfig, train

    train(
        POS_DIR / "train.txt",
        path,
        dev_file=POS_DIR / "dev.txt",
        test_file=POS_DIR / "test.txt",
        tag_column=tag_column,
        model_config=ModelConfig(word_dim=10, hidden_size=8, char_encoder="none"),
        config=TrainConfig(epochs=TRAINED_EPOCHS, batch_size=8, lr=0.05, patience=0, seed=1),
    )
    return path


def run_cli(*args, input: str | bytes | None = None):
    """``tagger ARGS`` in this process (Typer's CliRunner); the result has exit_code, stdout and stderr."""
    from typer.testing import CliRunner

    from tagger.cli import main as cli

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


def last_error_line(stderr: str) -> str:
    """The error line of a command that logs before it fails (train prints the files it found first)."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("tagger: ")]
    assert len(errors) == 1, stderr
    assert stderr.rstrip().endswith(errors[0])
    return errors[0]


def torch_model(loaded):
    """A ``LoadedModel`` (a torch model in memory, or ``load_model``'s) as the predictor's ``Model``."""
    from tagger.tagging.model import from_torch

    return from_torch(loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)

"""Shared fixtures: a tiny made-up corpus and a model trained on it once per session."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path
from time import monotonic, sleep

import pytest
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tagger.data.schemes import BIOES

# Hypothesis example counts: property tests write theirs for the default profile (hypothesis's 100 examples), the
# whole suite's (the README's command, CI). `-m "not slow"`, the quick loop while editing, loads the "quick" profile,
# which runs a fifth of each count; `--hypothesis-profile NAME` chooses one explicitly.
settings.register_profile("quick", max_examples=20)


def pytest_configure(config):
    if config.getoption("hypothesis_profile", None) is None and "not slow" in (config.getoption("markexpr") or ""):
        settings.load_profile("quick")


def examples(n: int) -> int:
    """``n`` examples under the default profile, scaled to the loaded one (a fifth under "quick", at least 5)."""
    return max(5, n * settings.default.max_examples // settings.get_profile("default").max_examples)


def property_test(max_examples: int):
    """Hypothesis settings for a property test: ``max_examples`` scaled to the loaded profile, no deadline."""

    def decorate(test):
        checks = [HealthCheck.too_slow]
        return settings(max_examples=examples(max_examples), deadline=None, suppress_health_check=checks)(test)

    return decorate


# Property tests whose examples are cheap run 150 of them; those that tag text or load a model, 60.
FAST = property_test(150)
SLOW = property_test(60)


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


def conll(*sentences: str) -> bytes:
    """The bytes of a CoNLL file of ``sentences`` (each given as its lines), a blank line between."""
    return "\n\n".join(sentences).encode("utf-8") + b"\n"


GOOD = "Mary\tB-PER\nlives\tO\nin\tO\nParis\tB-LOC\n.\tO"


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A folder with train.txt (60 sentences), dev.txt (20) and test.txt (20), IOB2."""
    folder = tmp_path_factory.mktemp("tiny")
    write_conll(folder / "train.txt", make_sentences(60, 1))
    write_conll(folder / "dev.txt", make_sentences(20, 2))
    write_conll(folder / "test.txt", make_sentences(20, 3))
    return folder


def write_documents(path: Path, sentences, size: int) -> Path:
    """A CoNLL file of ``sentences`` in documents of ``size`` sentences, each begun by -DOCSTART-."""
    lines = []
    for at in range(0, len(sentences), size):
        lines += ["-DOCSTART- O", ""]
        for sentence in sentences[at : at + size]:
            lines += [f"{tok}\t{tag}" for tok, tag in sentence] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def context_dir(tmp_path_factory) -> Path:
    """tiny_dir's sentences in documents of 5 sentences (-DOCSTART-), for models reading document context."""
    folder = tmp_path_factory.mktemp("documents")
    for name, (n, seed) in {"train.txt": (60, 1), "dev.txt": (20, 2), "test.txt": (20, 3)}.items():
        write_documents(folder / name, make_sentences(n, seed), 5)
    return folder


@pytest.fixture(scope="session")
def context_model(context_dir, tmp_path_factory) -> Path:
    """A small model reading document context, trained on context_dir as trained_model is (about a second)."""
    from tagger.nn.model import ModelConfig
    from tagger.training.loop import TrainConfig, train

    path = tmp_path_factory.mktemp("context") / "model.pt"
    train(
        context_dir / "train.txt",
        path,
        dev_file=context_dir / "dev.txt",
        test_file=context_dir / "test.txt",
        model_config=ModelConfig(word_dim=20, char_size=10, hidden_size=16, context="document"),
        config=TrainConfig(epochs=TRAINED_EPOCHS, batch_size=8, lr=0.05, patience=0, seed=1),
    )
    return path


# Its best dev score comes at epoch 7 (seed 1); the epoch after it keeps a history row past the best epoch.
TRAINED_EPOCHS = 8


def train_tiny_model(tiny_dir: Path, path: Path, seed: int) -> Path:
    """The small model of the tests, trained on tiny_dir with ``seed`` (about a second)."""
    from tagger.nn.model import ModelConfig
    from tagger.training.loop import TrainConfig, train

    train(
        tiny_dir / "train.txt",
        path,
        dev_file=tiny_dir / "dev.txt",
        test_file=tiny_dir / "test.txt",
        model_config=ModelConfig(word_dim=20, char_size=10, hidden_size=16),
        config=TrainConfig(epochs=TRAINED_EPOCHS, batch_size=8, lr=0.05, patience=0, seed=seed),
    )
    return path


@pytest.fixture(scope="session")
def trained_model(tiny_dir, tmp_path_factory) -> Path:
    """A small model trained on tiny_dir (about a second); read-only for tests."""
    return train_tiny_model(tiny_dir, tmp_path_factory.mktemp("model") / "model.pt", seed=1)


# The command line, shared by the tests that run it.

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli_env(monkeypatch):
    """Errors shown as in a normal run (no --debug left on by another test), no model path from the environment."""
    from tagger.cli import main as cli

    monkeypatch.delenv("TAGGER_DEBUG", raising=False)
    monkeypatch.delenv("TAGGER_MODEL", raising=False)
    monkeypatch.setitem(cli.DEBUG, "on", False)


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


def big_text(path: Path, tokens: int = 1_000_000) -> Path:
    """A raw text file of about ``tokens`` tokens, a sentence a line: tagging it takes a while."""
    line = "Mary lives in Paris and John Smith works for Google in Berlin .\n"
    path.write_text(line * (tokens // 13), encoding="utf-8")
    return path


def group_processes(group: int) -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of each process in the process group ``group`` (one that has exited and
    waits to be reaped, a zombie, is not)."""
    shown = subprocess.run(["ps", "-ww", "-e", "-o", "pid=,ppid=,pgid=,stat=,args="], capture_output=True, text=True)
    found = [line.split(None, 4) for line in shown.stdout.splitlines()]
    alive = [(pid, ppid, pgid, args) for pid, ppid, pgid, stat, args in found if not stat.startswith("Z")]
    return [(int(pid), int(ppid), args) for pid, ppid, pgid, args in alive if int(pgid) == group]


def kill_while_tagging(args, pick=None, signum: int = signal.SIGKILL) -> tuple[int, float, str, list]:
    """Run ``python cli.py tag ARGS`` in a process group of its own; once output has come, send ``signum`` to
    the process that ``pick(pid of the tagger, group_processes(...))`` gives first (none until it has started),
    or without ``pick`` to the whole group (as a terminal's Ctrl-C does). Returns the exit status, the seconds
    from the signal to the exit, stderr, and the processes of the group left a second after the exit."""
    proc = subprocess.Popen(
        [sys.executable, "cli.py", "tag", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout.read(1000), "no output"
        if pick is None:
            os.killpg(proc.pid, signum)
        else:
            deadline = monotonic() + 30
            while (victim := next(iter(pick(proc.pid, group_processes(proc.pid))), None)) is None:
                assert monotonic() < deadline, group_processes(proc.pid)
                sleep(0.1)  # not started yet
            os.kill(victim, signum)
        killed = monotonic()
        drain = threading.Thread(target=proc.stdout.read, daemon=True)  # held open by a process left: not awaited
        drain.start()
        code = proc.wait(60)
        took = monotonic() - killed
        sleep(1)
        return code, took, proc.stderr.read().decode(), group_processes(proc.pid)
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid, _, _ in group_processes(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


TINY_NET = ["--hidden-size", "8", "--word-dim", "10", "--char-encoder", "none"]


def last_error_line(stderr: str) -> str:
    """The error line of a command that logs before it fails (train prints the files it found first)."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("tagger: ")]
    assert len(errors) == 1, stderr
    assert stderr.rstrip().endswith(errors[0])
    return errors[0]


# A small random network over a few sentences (the model, marginals and n-best tests).

SENTENCES = [
    ["John", "Smith", "lives", "in", "Paris", "."],
    ["Acme", "hired", "Mary"],
    ["Internationalization", "of", "the", "United", "Nations", "happened", "in", "New", "York", "yesterday", "."],
    ["Berlin"],
    ["ok", "ok", "ok", "OK", "Ok"],
]


def make_model(scheme: str = BIOES, cell: str = "lstm", char_encoder: str = "cnn", seed: int = 0, **config):
    """A (BiLSTMCRF, Vocabulary) over SENTENCES with the types PER and LOC, random weights from ``seed``."""
    from tagger.data.schemes import tag_set
    from tagger.data.vocabulary import Vocabulary
    from tagger.nn.model import BiLSTMCRF, ModelConfig

    tags = tag_set(["PER", "LOC"], scheme)
    vocab = Vocabulary.build(SENTENCES, tags)
    torch.manual_seed(seed)
    sizes = dict(word_dim=8, char_dim=6, char_size=5, hidden_size=7, case_dim=3, dropout=0.5)
    sizes.update(config)
    model = BiLSTMCRF(
        ModelConfig(
            num_words=len(vocab.words),
            num_chars=len(vocab.chars),
            num_tags=len(tags),
            cell=cell,
            char_encoder=char_encoder,
            scheme=scheme,
            **sizes,
        ),
        vocab.tags,
    )
    return model, vocab


# Hypothesis strategies and scratch space shared by the property tests of several modules.

TYPES = ["PER", "LOC", "ORG", "MISC-X"]
tags = st.one_of(st.just("O"), st.builds(lambda p, t: f"{p}-{t}", st.sampled_from("BIES"), st.sampled_from(TYPES)))

# Lines of CoNLL-like bytes, valid or not: the reader and the corpus loader raise DataError or nothing.
lines = st.lists(
    st.one_of(
        st.binary(max_size=12),
        st.sampled_from(
            [b"", b" ", b"\t", b"\r", b"\xef\xbb\xbf", b"\xc2\xa0", b"\xe2\x80\xa8", b"\x1c", b"\x85", b"\xff"]
        ),
        st.builds(
            lambda token, tag, sep: token + sep + tag,
            st.sampled_from([b"Mary", b"-DOCSTART-", b"\xc3\xa9", b"x\xe2\x80\x8by", b"\xf0\x9f\x98\x80"]),
            st.sampled_from([b"O", b"B-PER", b"I-PER", b"E-LOC", b"S-X", b"B-", b"0", b"B_PER", b"PER", b"O O"]),
            st.sampled_from([b"\t", b" ", b" \t", b"\t\t"]),
        ),
    ),
    max_size=12,
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A folder for the files a module's property tests write, example after example."""
    return tmp_path_factory.mktemp("fuzz")

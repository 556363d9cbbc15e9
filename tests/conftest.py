"""Shared fixtures: a tiny made-up corpus and a model trained on it once per session, the command line's
environment, scratch space for property tests, a watch that fails a test doing slow work unless it is marked slow;
and the CRF tests' brute-force helpers.

Functions and data the tests import live in plain modules (tests/helpers.py, tests/corpora.py, ...): pytest
discourages importing from conftest modules."""

from __future__ import annotations

import importlib
import itertools
from pathlib import Path

import pytest
import torch
from hypothesis import settings

from tagger.data.schemes import BIOES
from tests.corpora import make_sentences, write_conll, write_documents
from tests.helpers import TRAINED_EPOCHS, train_tiny_model

# Hypothesis example counts: property tests write theirs for the default profile (hypothesis's 100 examples), the
# whole suite's (the README's command, CI). `-m "not slow"`, the quick loop while editing, loads the "quick" profile,
# which runs a fifth of each count; `--hypothesis-profile NAME` chooses one explicitly (tests/properties.py scales).
settings.register_profile("quick", max_examples=20)


def pytest_configure(config):
    if config.getoption("hypothesis_profile", None) is None and "not slow" in (config.getoption("markexpr") or ""):
        settings.load_profile("quick")


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A folder with train.txt (60 sentences), dev.txt (20) and test.txt (20), IOB2."""
    folder = tmp_path_factory.mktemp("tiny")
    write_conll(folder / "train.txt", make_sentences(60, 1))
    write_conll(folder / "dev.txt", make_sentences(20, 2))
    write_conll(folder / "test.txt", make_sentences(20, 3))
    return folder


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


@pytest.fixture(scope="session")
def trained_model(tiny_dir, tmp_path_factory) -> Path:
    """A small model trained on tiny_dir (about a second); read-only for tests."""
    return train_tiny_model(tiny_dir, tmp_path_factory.mktemp("model") / "model.pt", seed=1)


@pytest.fixture
def cli_env(monkeypatch):
    """Errors shown as in a normal run (no --debug left on by another test), no model path from the environment."""
    from tagger.cli import main as cli

    monkeypatch.delenv("TAGGER_DEBUG", raising=False)
    monkeypatch.delenv("TAGGER_MODEL", raising=False)
    monkeypatch.setitem(cli.DEBUG, "on", False)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A folder for the files a module's property tests write, example after example."""
    return tmp_path_factory.mktemp("fuzz")


# What makes a test slow, so `-m "not slow"` stays the quick loop: a test that does one of these is marked slow.
# (Fixtures of a wider scope, such as trained_model, are set up before the watch starts and are not counted.)
SLOW_WORK = [
    ("subprocess", "Popen", "__init__", "starts a process"),
    ("multiprocessing.process", "BaseProcess", "start", "starts a process"),
    ("os", None, "kill", "sends a signal"),
    ("os", None, "killpg", "sends a signal"),
    ("signal", None, "raise_signal", "sends a signal"),
    ("signal", None, "pthread_kill", "sends a signal"),
    ("tagger.training.loop", None, "train_epoch", "trains a model"),
]


@pytest.fixture(autouse=True)
def slow_work_is_marked_slow(request, monkeypatch):
    """Fails a test not marked slow that starts a process, sends a signal or trains for an epoch."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    done = []
    for module, owner, name, what in SLOW_WORK:
        target = importlib.import_module(module)
        target = getattr(target, owner) if owner else target
        monkeypatch.setattr(target, name, _noted(getattr(target, name), what, done))
    yield
    assert not done, f"mark this test @pytest.mark.slow: it {', '.join(sorted(set(done)))}"


def _noted(real, what: str, done: list):
    def noted(*args, **kwargs):
        done.append(what)
        return real(*args, **kwargs)

    return noted


# The CRF's dynamic programs (Viterbi, marginals, n-best) are checked against brute force over every tag sequence.

NEG_INF = float("-inf")


def random_mask(batch: int, time: int, generator: torch.Generator) -> torch.Tensor:
    """Left-aligned mask of random lengths 1..time, the first sentence full length. shape: (batch, time)"""
    lengths = torch.randint(1, time + 1, (batch,), generator=generator)
    lengths[0] = time
    return torch.arange(time)[None, :] < lengths[:, None]


def random_parameters(num_tags: int, generator: torch.Generator, forbid: float = 0.0):
    """start, transitions, end (float64), with about ``forbid`` of them -inf."""
    start, end = torch.randn(2, num_tags, generator=generator, dtype=torch.float64)
    transitions = torch.randn(num_tags, num_tags, generator=generator, dtype=torch.float64)
    if forbid:
        for p in (start, transitions, end):
            p.masked_fill_(torch.rand(p.shape, generator=generator) < forbid, NEG_INF)
    return start, transitions, end


def scheme_parameters(tags: list[str], scheme: str, generator: torch.Generator):
    """Random parameters with the scheme's constraints as -inf (as ``crf_parameters(exact=True)`` gives)."""
    from tagger.data.schemes import transition_rules

    allowed, may_start, may_end = transition_rules(scheme)
    start, transitions, end = random_parameters(len(tags), generator)
    start = start.masked_fill(~torch.tensor([may_start(t) for t in tags]), NEG_INF)
    end = end.masked_fill(~torch.tensor([may_end(t) for t in tags]), NEG_INF)
    ok = torch.tensor([[allowed(a, b) for b in tags] for a in tags])  # shape: (tags, tags)
    return start, transitions.masked_fill(~ok, NEG_INF), end


def random_problems(generator, trials: int, batch: int, tags=range(1, 5), times=range(1, 6), scale=1.0, forbid=0.0):
    """``trials`` random CRF problems (emissions, mask, start, transitions, end), float64, each with its own number
    of tags (from ``tags``) and sentence length (from ``times``); about ``forbid`` of the parameters -inf."""
    for _ in range(trials):
        num_tags = int(torch.randint(tags.start, tags.stop, (1,), generator=generator))
        time = int(torch.randint(times.start, times.stop, (1,), generator=generator))
        emissions = torch.randn(batch, time, num_tags, generator=generator, dtype=torch.float64) * scale
        mask = random_mask(batch, time, generator)
        yield (emissions, mask, *random_parameters(num_tags, generator, forbid))


def random_batches(tags: list[str], scheme: str, generator: torch.Generator, lengths, constrained: bool = True):
    """For each length: (emissions, mask, start, transitions, end) of 3 random sentences of at most that many
    tokens, with parameters that obey the scheme's constraints (or any, where not ``constrained``)."""
    for time in lengths:
        emissions = torch.randn(3, time, len(tags), generator=generator, dtype=torch.float64) * 2
        mask = random_mask(3, time, generator)
        if constrained:
            yield (emissions, mask, *scheme_parameters(tags, scheme, generator))
        else:
            yield (emissions, mask, *random_parameters(len(tags), generator))


def all_paths(num_tags: int, length: int) -> torch.Tensor:
    """Every tag sequence of ``length`` tags. shape: (num_tags ** length, length)"""
    return torch.tensor(list(itertools.product(range(num_tags), repeat=length)), dtype=torch.long)


def sequence_scores(
    paths: torch.Tensor, emissions: torch.Tensor, start: torch.Tensor, transitions: torch.Tensor, end: torch.Tensor
) -> torch.Tensor:
    """Score of each tag sequence (rows of ``paths``) for one sentence's emissions. shape: (paths,)"""
    steps = torch.arange(paths.shape[1])
    score = start[paths[:, 0]] + end[paths[:, -1]] + emissions[steps, paths].sum(dim=1)
    if paths.shape[1] > 1:
        score = score + transitions[paths[:, :-1], paths[:, 1:]].sum(dim=1)
    return score


def brute_force(emissions, start, transitions, end):
    """Every tag sequence of one sentence (emissions: (n, tags)) and its probability (all 0 if none is valid)."""
    n, num_tags = emissions.shape
    paths = all_paths(num_tags, n)  # shape: (paths, n)
    score = sequence_scores(paths, emissions, start, transitions, end)  # shape: (paths,)
    if torch.isinf(score).all():
        return paths, torch.zeros_like(score)
    return paths, torch.softmax(score, dim=0)


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

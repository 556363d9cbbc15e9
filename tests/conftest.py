"""Shared fixtures: a tiny made-up corpus and a model trained on it once per session, the command line's
environment, scratch space for property tests, a watch that fails a test doing slow work unless it is marked slow;
and the CRF tests' brute-force helpers.

Functions and data the tests import live in plain modules (tests/helpers.py, tests/corpora.py, ...): pytest
discourages importing from conftest modules."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import settings

from tests.corpora import make_sentences, write_conll, write_documents
from tests.helpers import TRAINED_EPOCHS, train_pos_model, train_tiny_model

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
    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.training.loop import train

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


@pytest.fixture(scope="session")
def onnx_model(trained_model, tmp_path_factory) -> Path:
    """trained_model exported to ONNX (``tagger export``); read-only for tests."""
    from tagger.nn.export import export_model
    from tagger.nn.model_file import load_model

    return export_model(load_model(trained_model), tmp_path_factory.mktemp("exported") / "model.onnx")


@pytest.fixture(scope="session")
def second_seed_model(tiny_dir, tmp_path_factory) -> Path:
    """A model trained like ``trained_model`` with another seed (its best epoch is 5): an ensemble's second member."""
    return train_tiny_model(tiny_dir, tmp_path_factory.mktemp("seed2") / "model.pt", seed=2)


@pytest.fixture(scope="session")
def pos_model(tmp_path_factory) -> Path:
    """A small part-of-speech tagger (a plain label set) trained on tests/data/pos (seconds); read-only for tests."""
    return train_pos_model(tmp_path_factory.mktemp("pos") / "pos.pt")


@pytest.fixture
def no_network(monkeypatch):
    """Building the network (or loading weights into one) fails the test: for what reads a model file as data."""
    import torch

    from tagger.nn.model import BiLSTMCRF

    def refuse(*args, **kwargs):
        raise AssertionError("model_info built the network")

    monkeypatch.setattr(BiLSTMCRF, "__init__", refuse)
    monkeypatch.setattr(torch.nn.Module, "load_state_dict", refuse)


@pytest.fixture(scope="module")
def cluster():
    """A Dask client on a local cluster of 2 worker processes, one per test module that asks (tests/tagging/test_dask.py
    and the contract suite)."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.fixture
def cli_env(monkeypatch):
    """Errors shown as in a normal run (no --debug left on by another test), no model path from the environment."""
    from tagger.cli import main as cli

    monkeypatch.delenv("TAGGER_DEBUG", raising=False)
    monkeypatch.delenv("TAGGER_MODEL", raising=False)
    monkeypatch.setitem(cli.DEBUG, "on", False)


@pytest.fixture(scope="session")
def matplotlib():
    """matplotlib with its font list built (a skip where it is not installed). On its first use under a new HOME (or
    MPLCONFIGDIR, XDG_CACHE_HOME) matplotlib builds that cache by running ``fc-list``, a process a test not marked
    slow may not start: a session fixture is set up before the test's watch (``slow_work_is_marked_slow``) starts,
    so the first run of the fast suite on a new machine passes as every later one does."""
    found = pytest.importorskip("matplotlib")
    importlib.import_module("matplotlib.font_manager")  # reads the font list, building it where it is missing
    return found


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

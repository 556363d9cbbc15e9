"""tagger.training.checkpoints: never losing work. Signals keep the best model; train writes over nothing but a
model and keeps one that was there until the run ends; ``--resume`` reaches the very weights of an
uninterrupted run; runs are deterministic."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tagger.nn.config import ModelConfig, TrainConfig
from tagger.nn.device import configure_torch
from tagger.nn.model_file import load_model, read_checkpoint
from tagger.tagging.model import open_model
from tagger.training.loop import train
from tests.corpora import make_sentences, write_conll
from tests.helpers import ROOT, TINY_NET, last_error_line, run_cli

TINY_CONFIG = dict(word_dim=10, char_size=6, hidden_size=8)


# Never lose work: Ctrl-C and SIGTERM during training, with real processes and real signals


def _train_process(args: list, env_threads: str = "1") -> subprocess.Popen:
    command = [sys.executable, "cli.py", "train", *map(str, args)]
    env = dict(os.environ, TAGGER_THREADS=env_threads)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _signal_once_written(proc: subprocess.Popen, path: Path, signum: int) -> tuple[str, str]:
    """Send ``signum`` to a training process soon after it wrote ``path`` (an epoch ended); its stdout and stderr."""
    try:
        deadline = time.monotonic() + 120
        while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.exists(), proc.stderr.read() if proc.poll() is not None else f"no {path.name} after 120 s"
        time.sleep(0.2)  # let it get into the next epochs
        proc.send_signal(signum)
        return proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.usefixtures("cli_env")
@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_signal_during_training_keeps_the_best_model(tiny_dir, tmp_path, signum, status):
    model = tmp_path / "run" / "model.pt"
    options = ["--dev", tiny_dir / "dev.txt", "--model", model, "--patience", "0", "--batch-size", "16", *TINY_NET]
    proc = _train_process(["--train", tiny_dir / "train.txt", *options, "--epochs", "100000"])
    stdout, stderr = _signal_once_written(proc, model, signum)
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
        resumed = run_cli("train", "--train", tiny_dir / "train.txt", *options, "--resume", "--epochs", done + 1)
        assert resumed.exit_code == 0, resumed.output
        assert f"resuming after epoch {done} " in resumed.stderr
        assert f" of {done + 1}\n" in resumed.stdout  # "best epoch: B of E"
        assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"]


# No model is ever lost (issue 20): train writes over nothing but a model, and keeps a model that was at the path
# as it was until the new run ends (the best so far goes to MODEL.partial)

NOT_MODELS = {
    "data_file": lambda path, tiny_dir: shutil.copy(tiny_dir / "test.txt", path),
    "empty": lambda path, tiny_dir: path.write_bytes(b""),
    "random_bytes": lambda path, tiny_dir: path.write_bytes(bytes(range(256)) * 8),
    "torch_file_of_another_program": lambda path, tiny_dir: torch.save({"weights": torch.zeros(3)}, path),
    "named_pipe": lambda path, tiny_dir: os.mkfifo(path),  # reading it to find out would block
}


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("case", list(NOT_MODELS))
@pytest.mark.parametrize("name", ["model.pt", "model.pt.partial", "model.pt.resume"])
def test_train_refuses_to_write_over_a_file_that_is_not_a_model(tiny_dir, tmp_path, case, name):
    from tests.helpers import one_line_error

    folder = tmp_path / "out"
    folder.mkdir()
    NOT_MODELS[case](folder / name, tiny_dir)
    before = {p.name: (p.read_bytes() if p.is_file() else None) for p in folder.iterdir()}
    result = run_cli("train", tiny_dir, "--model", folder / "model.pt", "--epochs", "1", *TINY_NET)
    error = one_line_error(result, f"tagger: error: {folder / name}: train will not write a model over this")
    assert error.endswith("give --model a new path, or move the file away") or "not a regular file" in error
    assert {p.name: (p.read_bytes() if p.is_file() else None) for p in folder.iterdir()} == before


def _previous_model(trained_model: Path, folder: Path) -> tuple[Path, bytes]:
    """A model at FOLDER/model.pt (the conftest model's bytes) that a new run must keep until it ends."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "model.pt"
    shutil.copy(trained_model, model)
    return model, model.read_bytes()


@pytest.mark.slow
def test_the_previous_model_is_kept_until_the_run_ends_then_replaced_with_a_line_saying_so(
    tiny_dir, trained_model, tmp_path
):
    model, previous = _previous_model(trained_model, tmp_path / "out")
    seen = []

    def on_epoch(row: dict) -> None:  # after each epoch's files are written
        seen.append(sorted(p.name for p in model.parent.iterdir()))
        assert model.read_bytes() == previous
        if row["best"]:
            assert load_model(model.with_name("model.pt.partial")).metadata["best_epoch"] == row["epoch"]

    logged = []
    result = train(
        tiny_dir / "train.txt",
        model,
        dev_file=tiny_dir / "dev.txt",
        model_config=ModelConfig(**TINY_CONFIG),
        config=TrainConfig(epochs=3, batch_size=16, patience=0),
        on_epoch=on_epoch,
        log=logged.append,
    )
    assert seen == [["model.pt", "model.pt.partial", "model.pt.resume"]] * 3
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"] and "partial" not in result
    assert model.read_bytes() != previous and load_model(model).metadata["best_epoch"] == result["best_epoch"]
    before = load_model(trained_model).metadata["dev_scores"]["f1"]
    after = result["dev"]["f1"]
    assert f"replaced the previous model at {model} (dev F1 {100 * before:.2f} -> {100 * after:.2f})" in logged


@pytest.mark.slow
def test_a_crash_keeps_the_previous_model_and_resume_goes_on_from_the_partial_one(tiny_dir, trained_model, tmp_path):
    model, previous = _previous_model(trained_model, tmp_path / "out")
    options = dict(dev_file=tiny_dir / "dev.txt", model_config=ModelConfig(**TINY_CONFIG))
    config = TrainConfig(epochs=3, batch_size=16, patience=0)
    logged = []

    def crash(row: dict) -> None:
        if row["epoch"] == 2:
            raise Stop  # as a bug or an out-of-memory error would, after the epoch's files are written

    with pytest.raises(Stop):
        train(tiny_dir / "train.txt", model, config=config, on_epoch=crash, log=logged.append, **options)
    partial = model.with_name("model.pt.partial")
    assert model.read_bytes() == previous
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt", "model.pt.partial", "model.pt.resume"]
    best = load_model(partial).metadata["best_epoch"]
    assert logged[-1].startswith(f"the run stopped: the best model so far (epoch {best}, dev F1 ")
    assert logged[-1].endswith(
        f"is saved at {partial}; the previous model at {model} is unchanged; continue with --resume"
    )

    result = train(tiny_dir / "train.txt", model, config=config, resume=True, log=logged.append, **options)
    assert "resuming after epoch 2 " in " ".join(logged) and result["epochs_run"] == 3
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"]
    assert load_model(model).metadata["history"] == result["history"]
    assert any(line.startswith(f"replaced the previous model at {model} (dev F1 ") for line in logged)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_in_the_first_epoch_keeps_the_previous_model_byte_identical(trained_model, tmp_path, signum, status):
    model, previous = _previous_model(trained_model, tmp_path / "out")
    data = write_conll(tmp_path / "train.txt", make_sentences(1000, 8))  # one sentence a step: a first epoch of seconds
    proc = _train_process(["--train", data, "--model", model, "--batch-size", "1", "--epochs", "3", *TINY_NET])
    try:
        started = time.monotonic()
        while not proc.stderr.readline().startswith("training on ") and time.monotonic() - started < 120:
            assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.5)  # into the first epoch, which takes seconds
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, stderr
    name = signal.Signals(signum).name
    assert last_error_line(stderr) == (
        f"tagger: error: interrupted by {name} before the first epoch ended: no model was saved; "
        f"the previous model at {model} is unchanged"
    )
    assert stdout == "" and model.read_bytes() == previous
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"]


@pytest.mark.usefixtures("cli_env")
@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_after_an_epoch_keeps_the_previous_model_and_leaves_the_partial_one(
    tiny_dir, trained_model, tmp_path, signum, status
):
    model, previous = _previous_model(trained_model, tmp_path / "out")
    partial = model.with_name("model.pt.partial")
    options = ["--dev", tiny_dir / "dev.txt", "--model", model, "--patience", "0", "--batch-size", "16", *TINY_NET]
    proc = _train_process(["--train", tiny_dir / "train.txt", *options, "--epochs", "100000"])
    stdout, stderr = _signal_once_written(proc, partial, signum)
    assert proc.returncode == status, stderr
    error = last_error_line(stderr)
    assert error.startswith(f"tagger: error: interrupted by {signal.Signals(signum).name}: the best model so far (")
    assert error.endswith(f"is saved at {partial}; the previous model at {model} is unchanged; continue with --resume")
    assert stdout == "" and model.read_bytes() == previous
    assert load_model(partial).metadata["best_epoch"] >= 1
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt", "model.pt.partial", "model.pt.resume"]

    if signum == signal.SIGINT:  # --resume from the command line goes on with the partial model, then replaces
        done = read_checkpoint(model.with_name("model.pt.resume"))["train_state"]["progress"]["epoch"]
        resumed = run_cli("train", "--train", tiny_dir / "train.txt", *options, "--resume", "--epochs", done + 1)
        assert resumed.exit_code == 0, resumed.output
        assert f"resuming after epoch {done} " in resumed.stderr
        assert f"replaced the previous model at {model} (dev F1 " in resumed.stderr
        assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"]
        assert load_model(model).metadata["history"][-1]["epoch"] == done + 1


@pytest.mark.usefixtures("cli_env")
def test_resume_without_a_resume_file(tiny_dir, tmp_path):
    model = tmp_path / "m.pt"
    result = run_cli("train", tiny_dir, "--model", model, "--resume", *TINY_NET)
    assert "nothing to resume: no m.pt.resume beside the model" in last_error_line(result.stderr)


# Never lose work: --resume reaches the very weights of an uninterrupted run; runs are deterministic


class Stop(Exception):
    pass


def _train(
    data: Path, path: Path, epochs: int = 4, stop_after: int | None = None, resume: bool = False, average: float = 0.0
) -> dict:
    """A small training run that snapshots the state after its last epoch (weights and optimizer)."""
    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.training.loop import train

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
    from tagger.data.reader import read_conll
    from tagger.tagging.predictor import Predictor

    configure_torch(1)
    sentences = [s.tokens for s in read_conll(data / "dev.txt")]
    return Predictor(open_model(model)).predict(sentences)


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_resume_with_averaging_turned_on_or_off_is_refused(straight_run, tmp_path):
    from tagger.errors import TaggerError

    data = straight_run[0]
    model = tmp_path / "model.pt"
    with pytest.raises(Stop):
        _train(data, model, stop_after=1)
    with pytest.raises(TaggerError, match="cannot resume: the data or options differ"):
        _train(data, model, resume=True, average=0.9)


@pytest.mark.slow
def test_resume_keeps_the_best_epochs_scores_in_the_model_file(straight_run, tmp_path):
    """The best epoch came before the interruption; the model re-saved with test scores still names it."""
    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.training.loop import train

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


@pytest.mark.slow
def test_same_seed_same_weights_and_predictions(straight_run, tmp_path):
    data, straight, straight_result = straight_run
    model = tmp_path / "again" / "model.pt"
    result = _train(data, model)
    assert _history(result) == _history(straight_result)
    _assert_same_tensors(_tensors(model), _tensors(straight))
    _assert_same_tensors(_tensors(model.with_name("last-epoch.pt")), _tensors(straight.with_name("last-epoch.pt")))
    assert _predictions(model, data) == _predictions(straight, data)


@pytest.mark.slow
def test_a_signal_while_the_model_is_written_waits_for_the_resume_file(tiny_dir, tmp_path, monkeypatch):
    """Ctrl-C between writing the best model and the resume file would leave a model that
    `--resume` cannot continue; the signal is held until both are written."""
    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.training import checkpoints
    from tagger.training.loop import TrainingInterrupted, train

    real_save = checkpoints.save_model

    def save_and_get_a_signal(path, *args, **kwargs):
        if Path(path).name == "model.pt":
            os.kill(os.getpid(), signal.SIGINT)  # handled at once, between two bytecodes of this thread
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(checkpoints, "save_model", save_and_get_a_signal)
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

"""tagger.training.loop: the stages of ``train``, its result, the epoch loop's rows, the warning when the model
learned nothing, the temperature fitted on dev."""

from __future__ import annotations

import copy
import inspect

import pytest

from tagger.data.corpus import load_tagged
from tagger.nn.config import ModelConfig, TrainConfig
from tagger.nn.model_file import load_model
from tagger.training.data import load_data
from tagger.training.interrupts import Signals
from tagger.training.loop import epochs, learned_nothing, train
from tagger.training.run import Run
from tagger.training.trainer import build_trainer
from tests.corpora import make_sentences, write_conll
from tests.helpers import torch_model

TINY_CONFIG = dict(word_dim=10, char_size=6, hidden_size=8)


def test_stages_are_short_functions():
    """``train`` reads as its stages, each a function of its own, in the modules of the training room."""
    from tagger.training import checkpoints, data, loop, run, trainer

    for module in (loop, data, trainer, checkpoints, run):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__:
                assert len(inspect.getsourcelines(function)[0]) <= 50, f"{module.__name__}.{name}"


@pytest.mark.slow
def test_train_does_not_change_the_configs_it_is_given(tiny_dir, tmp_path):
    vectors = tmp_path / "v.txt"
    vectors.write_text("paris 1 0 0 1 0\nmary 0 1 1 0 0\nlives 0.5 0.5 0.5 0.5 0.5\n")
    model_config = ModelConfig(**TINY_CONFIG)
    config = TrainConfig(epochs=1, batch_size=16, embeddings=str(vectors), patience=0)
    before = (copy.deepcopy(model_config), copy.deepcopy(config))
    result = train(tiny_dir / "train.txt", tmp_path / "m.pt", tiny_dir / "dev.txt", None, model_config, config)
    assert (model_config, config) == before
    saved = load_model(tmp_path / "m.pt").config
    assert (saved.word_dim, saved.embeddings) == (5, "v.txt")  # the model got the vectors' width all the same
    assert saved.num_words > 2 and model_config.num_words == 2
    assert set(result) >= {"model", "best_epoch", "epochs_run", "dev", "history", "warnings", "files", "seconds"}
    assert isinstance(result["warnings"], list)


@pytest.mark.slow
def test_the_epoch_loop_yields_one_row_per_epoch_after_writing_its_files(tiny_dir, tmp_path):
    config = TrainConfig(epochs=3, batch_size=16, lr=0.05, patience=0)
    messages = []
    run = Run(tmp_path / "m.pt", messages.append)
    data = load_data(tiny_dir / "train.txt", tiny_dir / "dev.txt", None, -1, None, config, run)
    trainer = build_trainer(data, ModelConfig(**TINY_CONFIG), config, run)
    run.start(data, config)
    rows = epochs(trainer, data, run, Signals())
    assert inspect.isgenerator(rows)
    assert not (tmp_path / "m.pt").exists()  # nothing runs before the first row is asked for
    first = next(rows)
    assert first["epoch"] == 1 and first["best"] is True
    assert {"loss", "dev", "lr", "seconds", "train_seconds", "sentences_per_second"} <= set(first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "m.pt.resume"]
    assert [r["epoch"] for r in rows] == [2, 3]
    assert run.progress["epoch"] == 3 and [r["epoch"] for r in run.progress["history"]] == [1, 2, 3]
    assert any(m.startswith("training on 60 sentences") for m in messages)


def test_warns_when_the_model_learned_nothing(tiny_dir, trained_model, tmp_path):
    dev = load_tagged(tiny_dir / "dev.txt")
    message = learned_nothing(0.0, 6, dev)
    assert "learned nothing" in message and "6 epochs" in message
    assert all(hint in message for hint in ("more training data", "--epochs", "--patience"))
    no_entities = load_tagged(write_conll(tmp_path / "o.txt", [[("nice", "O"), ("day", "O")]]))
    assert learned_nothing(0.0, 6, no_entities) is None  # said already: dev cannot measure anything
    best = load_model(trained_model).metadata["dev_scores"]["f1"]  # the conftest model learned
    assert learned_nothing(best, 15, dev) is None
    assert "dev F1 was 0.00 after its only epoch;" in learned_nothing(0.0, 1, dev)


@pytest.mark.slow
def test_a_run_on_tiny_data_warns_and_still_succeeds(tiny_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    # entities of a type that dev has none of: whatever it learns, dev F1 is 0
    misc = [[(token, tag[:2] + "MISC" if tag != "O" else tag) for token, tag in s] for s in make_sentences(12, 7)]
    write_conll(data / "train.txt", misc)
    logged = []
    result = train(
        data / "train.txt",
        tmp_path / "m.pt",
        dev_file=tiny_dir / "dev.txt",
        model_config=ModelConfig(**TINY_CONFIG),
        config=TrainConfig(epochs=2, batch_size=32),
        log=logged.append,
    )
    assert result["best_epoch"] >= 1 and (tmp_path / "m.pt").exists()
    assert len(result["warnings"]) == 2
    assert "only 12 training sentences" in result["warnings"][0]
    assert "learned nothing: dev F1 was 0.00 after each of the 2 epochs" in result["warnings"][1]
    assert [m for m in logged if m.startswith("warning: ")] == [f"warning: {w}" for w in result["warnings"]]


def test_the_saved_temperature_is_the_one_best_calibrated_on_dev(trained_model, tiny_dir):
    from tagger.data.corpus import load_tagged
    from tagger.nn.model_file import load_model
    from tagger.tagging.predictor import Predictor

    loaded = load_model(trained_model)
    dev = load_tagged(tiny_dir / "dev.txt")
    predictor = Predictor(torch_model(loaded), scores=True)
    fitted, _ = predictor.fit_temperature([s.tokens for s in dev.sentences], dev.tags_in(loaded.data_scheme))
    assert loaded.config.temperature == fitted


def test_without_seqeval_training_on_entities_says_what_to_install_before_the_first_epoch(
    tiny_dir, tmp_path, monkeypatch
):
    import re
    import sys

    from tagger.errors import MissingExtra

    for name in ("seqeval", "seqeval.metrics"):  # as if it were not installed
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtra, match=re.escape('need seqeval: pip install -c constraints.txt -e ".[evaluate]"')):
        train(tiny_dir / "train.txt", tmp_path / "m.pt", tiny_dir / "dev.txt", config=TrainConfig(epochs=1))
    assert list(tmp_path.iterdir()) == []

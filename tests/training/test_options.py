"""tagger.training.options: the one adapter of ``tagger train`` and ``tagger.train``: options by name into
``loop.train``'s configs and arguments (both faces' own tests: tests/cli/test_train.py, tests/test_api.py)."""

from __future__ import annotations

import pytest

from tagger.nn.config import ModelConfig, TrainConfig
from tagger.training import loop
from tagger.training.options import check_options, train


def test_options_fill_the_configs_and_loop_trains_arguments_by_name(tiny_dir, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(loop, "train", lambda train_file, model_path, **kwargs: calls.append(kwargs) or {})
    options = {"epochs": 3, "hidden_size": 7, "scheme": "iob2", "train_scheme": "bioes", "tag_column": 1}
    train(tiny_dir / "train.txt", model=tmp_path / "m.pt", **options)  # a training file as data
    (call,) = calls
    assert call["config"] == TrainConfig(epochs=3, scheme="bioes")
    assert call["model_config"] == ModelConfig(hidden_size=7)
    assert (call["data_scheme"], call["tag_column"], call["dev_file"]) == ("iob2", 1, None)


def test_an_unknown_option_is_named_with_the_closest_known_one():
    with pytest.raises(TypeError, match=r"train\(\) got unknown options: 'epoch' \(did you mean 'epochs'\?\), 'zzz'"):
        check_options({"epoch": 3, "zzz": 1, "seed": 2})

"""``train``'s options by name, as ``tagger train`` and ``tagger.train`` give them, made into a run of
``loop.train``: the one adapter of both faces (``tagger.train`` is this module's ``train``).

A config field's name fills that field; ``scheme`` is the data's tag scheme and ``train_scheme`` the one
trained in (``TrainConfig.scheme``); the others are ``loop.train``'s keyword arguments. No torch at import.
"""

from __future__ import annotations

import os
from dataclasses import fields
from difflib import get_close_matches

from tagger.nn.config import ModelConfig, TrainConfig, default_model_path

# The fields of the configs a user chooses (the others are the data's or the run's), and loop.train's arguments.
NET_OPTIONS = {f.name for f in fields(ModelConfig)} - {
    *("num_words", "num_extra_words", "num_chars", "num_tags", "scheme", "embeddings", "temperature")
}
TRAIN_OPTIONS = {f.name for f in fields(TrainConfig)} - {"scheme"}
RUN_OPTIONS = {
    *("scheme", "train_scheme", "tag_column", "resume", "encoding", "log", "on_epoch", "progress"),
    *("data_format", "conllu_field", "skip_bad_sentences"),
}
OPTIONS = NET_OPTIONS | TRAIN_OPTIONS | RUN_OPTIONS


def train(
    data: str | os.PathLike | None = None,
    *,
    model: str | os.PathLike | None = None,
    train_file: str | os.PathLike | None = None,
    dev_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    **options,
) -> dict:
    """Train a model as ``tagger train`` does; returns its summary (scores, history, paths) as plain data.

        import tagger
        result = tagger.train("data/", model="model.pt", epochs=3, seed=2)
        print(result["dev"]["f1"])

    ``data``: a folder holding train*, dev* and test* files (as ``tagger train DIR``), or a training file;
    ``train_file``, ``dev_file``, ``test_file`` override the folder's (``-`` reads stdin); which files of a folder
    were picked where it holds several goes to ``log``. ``model``: where the model is saved (default: the default
    model path). ``options`` are the command's options by name, with ``_`` for ``-``: ``epochs``, ``batch_size``,
    ``optimizer``, ``lr``, ``seed``, ``cell``, ``layers``, ``hidden_size``, ``char_encoder``, ``dropout``,
    ``context``, ``patience``, ``embeddings``, ``average``, ``device``, ``threads``, ``encoding``, ``scheme`` (the
    data's), ``train_scheme``, ... (``tagger train --help`` lists them all), and ``log``, ``on_epoch``,
    ``progress`` (``loop.train``'s hooks). An option of another name is a TypeError naming it, with the closest
    known one.
    """
    from tagger.nn.torch_needed import require_torch

    require_torch("training")
    from tagger.data import corpus
    from tagger.training import loop

    check_options(options)
    if data is not None and train_file is None and (os.fspath(data) == "-" or os.path.isfile(data)):
        data, train_file = None, data  # a training file (a path that is neither is a folder that is not there)
    files = corpus.data_files(data, train_file, dev_file, test_file)
    run, net, config = _split(options)
    for note in files.notes:
        run.get("log", lambda message: None)(note)
    return loop.train(
        files.train,
        model if model is not None else default_model_path(),
        dev_file=files.dev,
        test_file=files.test,
        model_config=ModelConfig(**net),
        config=TrainConfig(**config),
        **run,
    )


def _split(options: dict) -> tuple[dict, dict, dict]:
    """``options`` as ``loop.train``'s keyword arguments, the network's and the training's config fields."""
    run = {name: value for name, value in options.items() if name in RUN_OPTIONS}
    net = {name: value for name, value in options.items() if name in NET_OPTIONS}
    config = {name: value for name, value in options.items() if name in TRAIN_OPTIONS}
    if "train_scheme" in run:
        config["scheme"] = run.pop("train_scheme")
    if "scheme" in run:
        run["data_scheme"] = run.pop("scheme")
    return run, net, config


def check_options(options: dict) -> None:
    """A TypeError naming each option that is none of ``OPTIONS``, with the closest that is."""
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        close = {name: get_close_matches(name, sorted(OPTIONS), n=1) for name in unknown}
        shown = ", ".join(f"{name!r}" + (f" (did you mean {c[0]!r}?)" if c else "") for name, c in close.items())
        raise TypeError(f"train() got unknown options: {shown}")

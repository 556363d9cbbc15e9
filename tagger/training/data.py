"""The data sets of a run (``Data``): the files read, and warnings about data too small to learn from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from tagger.data.corpus import TaggedData, load_tagged
from tagger.errors import DataError, counted
from tagger.nn.config import TrainConfig
from tagger.tagging.options import TagOptions
from tagger.training.evaluation import entity_report


class Messages(Protocol):
    """Where the loading says what it did and warns (``run.Run``: the data is read before the run is built on it)."""

    def log(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...


# Fewer training sentences than this draw a warning: too little to learn from (the dev F1 usually stays 0).
MIN_SENTENCES = 50


@dataclass
class Data:
    """The data of a run, read; ``scheme`` is the training data's tag scheme (the model writes tags in it)."""

    train: TaggedData
    dev: TaggedData
    test: TaggedData | None
    files: dict[str, str | None]  # the files given: train, dev, test

    @property
    def scheme(self) -> str:
        return self.train.scheme

    @property
    def plain(self) -> bool:
        """A plain label set: scored by token accuracy, which picks the best epoch."""
        return self.train.plain


def load_data(
    train_file: str | Path,
    dev_file: str | Path | None,
    test_file: str | Path | None,
    tag_column: int,
    data_scheme: str | None,
    config: TrainConfig,
    run: Messages,
    encoding: str = TagOptions.encoding,
    skip_bad: bool = False,
    data_format: str = "auto",
    conllu_field: str = "upos",
) -> Data:
    """Read the files (without a dev file, hold some training sentences out); warn about data too
    small to learn from; refuse entities to train on without seqeval to score them (``MissingExtra``).
    ``skip_bad``: leave out sentences with bad tags (with a warning) instead of failing; ``data_format`` and
    ``conllu_field``: as ``corpus.load_tagged`` takes them."""
    read = {"skip_bad": skip_bad, "data_format": data_format, "conllu_field": conllu_field}
    train = load_tagged(train_file, tag_column, data_scheme, encoding, **read)
    if not train.plain:
        entity_report()  # seqeval scores every epoch: a missing one is said now, before any more work
    if dev_file is not None:
        dev = load_tagged(dev_file, tag_column, train.scheme, encoding, **read)
    else:
        train, dev = _split_dev(train, config.dev_fraction, config.seed)
        run.log(f"no development file: holding out {len(dev.sentences)} training sentences for early stopping")
    test = load_tagged(test_file, tag_column, train.scheme, encoding, **read) if test_file else None
    for message in [w for d in (train, dev, test) if d for w in d.warnings]:
        run.warn(message)
    if not train.types():
        raise DataError("the training data has only the tag 'O': there are no entities to learn", train.path)
    for message in too_little_data(train, dev):
        run.warn(message)
    files = {"train": train_file, "dev": dev_file, "test": test_file}
    return Data(train, dev, test, {k: str(v) if v else None for k, v in files.items()})


def too_little_data(train: TaggedData, dev: TaggedData) -> list[str]:
    """Warnings, with what to do, for training data too small to learn from and dev data without entities."""
    found = []
    if len(train.sentences) < MIN_SENTENCES:
        found.append(
            f"only {counted(len(train.sentences), 'training sentence')}: too few to learn from "
            f"(fewer than {MIN_SENTENCES}; thousands are usual); give more training data"
        )
    if not dev.types():
        found.append(
            f"the development data ({dev.path}) holds no entities: its F1 stays 0 and cannot pick the best epoch; "
            f"give a --dev file with entities"
        )
    return found


def _split_dev(data: TaggedData, fraction: float, seed: int) -> tuple[TaggedData, TaggedData]:
    n = len(data.sentences)
    held = max(1, int(round(n * fraction)))
    if n - held < 1:
        raise DataError("too few sentences to hold some out for development; give a --dev file", data.path)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    dev_ids, train_ids = set(order[:held]), order[held:]
    train = TaggedData(data.path, [data.sentences[i] for i in sorted(train_ids)], data.scheme, data.warnings)
    dev = TaggedData(f"{data.path} (held out)", [data.sentences[i] for i in sorted(dev_ids)], data.scheme)
    return train, dev

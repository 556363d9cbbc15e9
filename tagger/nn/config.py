"""What a run is configured by, importable without torch: the network's and the training's configs (saved in the
model file), the defaults of the library's other keyword arguments, and where the model file is by default.

The command line (and the library) take choices and defaults from here, so each is defined once and ``--help`` or
a refused option value answers without loading torch.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from tagger.data.schemes import DATA_SCHEMES
from tagger.errors import TaggerError

CELLS = ("lstm", "gru")
CHAR_ENCODERS = ("cnn", "lstm", "none")
# What a token sees beyond its sentence: "none", or "document": the mean of the encoder states of the other
# mentions of its lowercased form in its document (model.py), so batches hold whole documents.
CONTEXTS = ("auto", "none", "document")


@dataclass
class ModelConfig:
    """Shape of the network; saved in the model file."""

    num_words: int = 2  # trained word embeddings (words of the training data)
    num_extra_words: int = 0  # frozen pretrained vectors of words outside the training data
    num_chars: int = 2
    num_tags: int = 1
    word_dim: int = 100
    char_dim: int = 30
    char_encoder: str = "cnn"  # cnn (Ma & Hovy 2016) | lstm (Lample et al. 2016) | none
    char_size: int = 50  # CNN filters, or LSTM hidden size per direction
    char_kernel: int = 3
    case_dim: int = 8  # 0 turns the case feature off
    cell: str = "lstm"
    hidden_size: int = 100  # per direction; the encoder output is 2 x hidden_size
    layers: int = 1
    dropout: float = 0.5
    locked_dropout: bool = False  # one dropout mask per sentence, shared by its tokens (variational)
    scheme: str = "bioes"  # the scheme the tags are in
    constrained: bool = True  # decode only sequences valid in the scheme
    embeddings: str | None = None  # file the pretrained vectors came from
    # The CRF's scores are divided by this for probabilities (entity and token scores, n-best), not for
    # decoding: a temperature fitted on held-out data (bench/calibration.py) corrects overconfidence.
    temperature: float = 1.0
    # Document context (model.py): each token also reads the other mentions of its word in its document.
    # auto: training turns it on when the training file is divided into documents (-DOCSTART-), else off;
    # a network built outside training reads auto as none. A model file without the field predates it: none.
    context: str = "auto"

    def __post_init__(self) -> None:
        if self.context not in CONTEXTS:
            raise ValueError(f"context must be one of {', '.join(CONTEXTS)}, got {self.context!r}")
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.char_encoder not in CHAR_ENCODERS:
            raise ValueError(f"char encoder must be one of {', '.join(CHAR_ENCODERS)}, got {self.char_encoder!r}")
        for name in ("hidden_size", "layers", "word_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.char_kernel < 1 or self.char_kernel % 2 == 0:
            raise ValueError(f"char_kernel must be an odd number, got {self.char_kernel}")
        if not self.temperature > 0.0:
            raise ValueError(f"temperature must be above 0, got {self.temperature}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return _known_fields(cls, {"context": "none", **data})


OPTIMIZERS = ("sgd", "adam")


@dataclass
class TrainConfig:
    """How to train; saved in the model file beside the model's own config."""

    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 0.002
    momentum: float = 0.9
    lr_decay: float = 0.05  # learning rate at epoch e (from 0): lr / (1 + lr_decay * e)
    clip: float = 5.0  # gradient norm clipping; 0 turns it off
    word_dropout: float = 0.3  # chance a singleton word is replaced by <unk> while training
    patience: int = 5  # epochs without a dev F1 gain before stopping; 0 never stops early
    seed: int = 1
    scheme: str = "bioes"  # scheme the model is trained in; "plain" for a plain label set (set by train)
    dev_fraction: float = 0.1  # held out of train when there is no dev file
    embeddings: str | None = None  # pretrained word vectors (GloVe / word2vec text, plain or .gz)
    keep_vectors: int = 100_000  # most frequent pretrained words kept for tag time beyond the data's (-1: all)
    freeze_vectors: bool = False  # keep pretrained vectors as they are (only words without one are trained)
    average: float = 0.0  # decay of a moving average of the weights, which is scored and saved (0: off)
    lowercase: bool = True  # lowercase word keys (the characters and the case feature keep the case)
    threads: int = 0  # torch threads; 0 picks for the machine
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise TaggerError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise TaggerError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not self.lr > 0:
            raise TaggerError(f"--lr must be positive, got {self.lr}")
        if self.patience < 0:
            raise TaggerError(f"--patience must be 0 or more, got {self.patience}")
        if self.optimizer not in OPTIMIZERS:
            raise TaggerError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.scheme not in DATA_SCHEMES:
            raise TaggerError(f"--scheme must be one of {', '.join(DATA_SCHEMES)}, got {self.scheme!r}")
        if not 0.0 <= self.word_dropout < 1.0:
            raise TaggerError(f"--word-dropout must be in [0, 1), got {self.word_dropout}")
        if not 0.0 <= self.average < 1.0:
            raise TaggerError(f"--average must be in [0, 1), got {self.average}")

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return _known_fields(cls, data)


@dataclass(frozen=True)
class Defaults:
    """Defaults of the keyword arguments of ``evaluation.evaluate`` and ``training.train`` that are neither in a
    config nor tagging options (``tagging.options.TagOptions`` holds those: batch size, device, encoding, ...);
    the command line's defaults of the same options."""

    tag_column: int = -1  # column of the gold tag in CoNLL files; negative counts from the end
    data_scheme: str | None = None  # tag scheme of the training data; None: detected
    resume: bool = False
    skip_bad_sentences: bool = False  # train: leave out sentences with bad tags (one warning) instead of an error
    data_format: str = "auto"  # format of the data files (data.formats.DATA_FORMATS); auto: by extension
    conllu_field: str = "upos"  # the CoNLL-U column that holds the tag (data.conllu.FIELDS)


def _known_fields(cls, data: dict):
    """``cls`` (a config dataclass) from the entries of ``data`` it has fields for: a model file written by another
    version may hold more, or fewer (their defaults)."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


DEFAULTS = Defaults()
# What tagging with scores adds: "entities", a score per entity and the sequence's probability;
# "tokens", also the probability of each token's tag.
SCORES = ("entities", "tokens")


def default_model_path() -> Path:
    """``$TAGGER_MODEL``, else ``$XDG_DATA_HOME/tagger/model.pt`` (``~/.local/share/tagger/model.pt``)."""
    env = os.environ.get("TAGGER_MODEL")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "tagger" / "model.pt"

"""``tagger train``: train a model on CoNLL files and save the best one (by dev F1).

The options go by name to ``training.options.train``, which is ``tagger.train`` too: a
parameter named as a ``TrainConfig`` or ``ModelConfig`` field fills that field (``--train-scheme`` is
``TrainConfig.scheme``, ``--scheme`` the data's); the defaults are the configs'. Torch loads only when the
command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tagger.cli import render
from tagger.cli.exit_status import err
from tagger.cli.options import (
    BatchSize,
    ConlluField,
    DataFormat,
    Device,
    Encoding,
    ModelPath,
    Summary,
    TagColumn,
    Threads,
    at_least,
    between,
    fraction,
    option,
    positive,
)
from tagger.cli.plot import blocks_for
from tagger.data import schemes
from tagger.nn.config import (
    CELLS,
    CHAR_ENCODERS,
    CONTEXTS,
    DEFAULTS,
    OPTIMIZERS,
    ModelConfig,
    TrainConfig,
)
from tagger.tagging.options import TagOptions

# The configs' defaults, by field name (a parameter named as a field fills that field).
TRAIN, NET = TrainConfig(), ModelConfig()
FILES = ("data", "model", "train_file", "dev_file", "test_file")  # the parameters that name files

# Options of `train`: a parameter named as a TrainConfig or ModelConfig field fills that field.
DataDir = Annotated[
    Path | None,
    typer.Argument(
        metavar="DIR",
        help="Folder with train*, dev*/valid*/testa and test*/testb files, or a UD treebank's folder; a conventional "
        "name (train.txt, *.conll) beats another (train.orig), and two equally likely are refused.",
    ),
]
TrainFile = Annotated[Path | None, typer.Option("--train", help="Training file (overrides DIR's); '-' for stdin.")]
DevFile = Annotated[Path | None, typer.Option("--dev", help="Development file for early stopping.")]
TestFile = Annotated[Path | None, typer.Option("--test", help="Test file scored at the end.")]
Epochs = Annotated[int, option(help="Most epochs to train.", rules=[at_least(1)])]
Optimizer = Annotated[str, option(help="Optimizer.", choices=OPTIMIZERS)]
LearningRate = Annotated[float, option(help="Learning rate.", rules=[positive])]
LrDecay = Annotated[float, option(help="Learning rate at epoch e is lr / (1 + decay * e).", rules=[at_least(0)])]
Momentum = Annotated[float, option(help="SGD momentum.", rules=[fraction])]
Clip = Annotated[float, option(help="Gradient norm clipping (0: off).", rules=[at_least(0)])]
WordDropout = Annotated[
    float, option(help="Chance a singleton word is replaced by <unk> in training.", rules=[fraction])
]
Seed = Annotated[int, option(help="Random seed.", rules=[between(0, 2**64 - 1)])]
Cell = Annotated[str, option(help="Recurrent cell of the encoder.", choices=CELLS)]
Layers = Annotated[int, option(help="Encoder layers.", rules=[at_least(1)])]
HiddenSize = Annotated[int, option(help="Encoder hidden size per direction.", rules=[at_least(1)])]
WordDim = Annotated[int, option(help="Word embedding size.", rules=[at_least(1)])]
CharEncoder = Annotated[str, option(help="Character-level word features.", choices=CHAR_ENCODERS)]
Dropout = Annotated[float, option(help="Dropout on token features and encoder output.", rules=[fraction])]
Context = Annotated[
    str,
    option(
        help="What a token sees beyond its sentence: document: the other mentions of its word in its document "
        "(-DOCSTART- in CoNLL files; a blank-line-separated block of text); auto: document when the training "
        "file is divided into documents, else none.",
        choices=CONTEXTS,
    ),
]
Patience = Annotated[
    int,
    option(
        help="Stop after this many epochs without dev F1 gain (dev accuracy for a plain label set; 0: never).",
        rules=[at_least(0)],
    ),
]
DataScheme = Annotated[
    str | None,
    option(
        "--scheme",
        help="Tag scheme of the data [default: detected]. plain: any tags, one label per token (part-of-speech "
        "tags), scored by token accuracy and decoded without chunk constraints; detected when at most 1% of the "
        "tags are O or B-/I-/E-/S-TYPE.",
        choices=schemes.DATA_SCHEMES,
    ),
]
TrainScheme = Annotated[str, option("--train-scheme", help="Tag scheme the model trains in.", choices=schemes.SCHEMES)]
Constrained = Annotated[bool, option(help="Decode only tag sequences valid in the scheme.")]
Embeddings = Annotated[
    str | None, option(metavar="<path>", help="Pretrained word vectors: GloVe or word2vec text format, plain or .gz.")
]
KeepVectors = Annotated[
    int,
    option(
        help="Pretrained words kept for tag time beyond the data's, most frequent first (-1: all).",
        rules=[at_least(-1)],
    ),
]
FreezeVectors = Annotated[
    bool, option(help="Keep pretrained vectors fixed; train only the vectors of words without one.")
]
Average = Annotated[
    float,
    option(help="Decay of a moving average of the weights, which is scored and saved (0: off).", rules=[fraction]),
]
Lowercase = Annotated[
    bool, option(help="Lowercase words before lookup (--no-lowercase: keep case, lowercase only as a fallback).")
]
Resume = Annotated[bool, option(help="Continue an interrupted run from its last finished epoch.")]
SkipBadSentences = Annotated[
    bool,
    option(
        help="Leave out sentences with a tag that is not a tag (such as 0 for O), and JSON records with a span that "
        "cuts a token or overlaps another, and say how many, with the first one's line [default: such a tag or "
        "span is an error naming its line]."
    ),
]


def train(
    ctx: typer.Context,
    data: DataDir = None,
    train_file: TrainFile = None,
    dev_file: DevFile = None,
    test_file: TestFile = None,
    model: ModelPath = None,
    epochs: Epochs = TRAIN.epochs,
    batch_size: BatchSize = TRAIN.batch_size,
    optimizer: Optimizer = TRAIN.optimizer,
    lr: LearningRate = TRAIN.lr,
    lr_decay: LrDecay = TRAIN.lr_decay,
    momentum: Momentum = TRAIN.momentum,
    clip: Clip = TRAIN.clip,
    word_dropout: WordDropout = TRAIN.word_dropout,
    seed: Seed = TRAIN.seed,
    cell: Cell = NET.cell,
    layers: Layers = NET.layers,
    hidden_size: HiddenSize = NET.hidden_size,
    word_dim: WordDim = NET.word_dim,
    char_encoder: CharEncoder = NET.char_encoder,
    dropout: Dropout = NET.dropout,
    context: Context = NET.context,
    patience: Patience = TRAIN.patience,
    scheme: DataScheme = DEFAULTS.data_scheme,
    train_scheme: TrainScheme = TRAIN.scheme,
    constrained: Constrained = NET.constrained,
    embeddings: Embeddings = TRAIN.embeddings,
    keep_vectors: KeepVectors = TRAIN.keep_vectors,
    freeze_vectors: FreezeVectors = TRAIN.freeze_vectors,
    average: Average = TRAIN.average,
    lowercase: Lowercase = TRAIN.lowercase,
    tag_column: TagColumn = DEFAULTS.tag_column,
    data_format: DataFormat = DEFAULTS.data_format,
    conllu_field: ConlluField = DEFAULTS.conllu_field,
    resume: Resume = DEFAULTS.resume,
    skip_bad_sentences: SkipBadSentences = DEFAULTS.skip_bad_sentences,
    device: Device = TRAIN.device,
    threads: Threads = TRAIN.threads,
    output: Summary = render.SUMMARY_FORMATS[0],
    encoding: Encoding = TagOptions.encoding,
) -> None:
    """Train a model on CoNLL files and save the best one (by dev F1).

    Scores are percentages in the epoch rows (stderr) and the table summary, fractions 0-1 in --format json.
    """
    _train(ctx.params)


def _train(params: dict) -> None:
    """Train with the command's options (``params``, by name) and report the run."""
    from tagger.cli.progress import EpochReporter
    from tagger.training import options as adapter

    options = {name: value for name, value in params.items() if name not in (*FILES, "output")}
    with EpochReporter() as reporter:
        result = adapter.train(**{name: params[name] for name in FILES}, **options, **reporter.hooks())
    from tagger.training.distributed import from_env

    if from_env().is_main:  # under torchrun, rank 0 alone reports (and wrote the model)
        _report_training(result, params["output"], said=reporter.said)
        _say_if_now_default(result["model"])


def _say_if_now_default(written: str) -> None:
    """One line on stderr where the model written is the default one now: tag and Tagger.load() change model."""
    from tagger.nn.shipped import now_default

    note = now_default(written)
    if note:
        err(f"tagger: {note}")


def _report_training(result: dict, output: str, said: set[str] = frozenset()) -> None:
    """The training run's warnings on stderr (those not ``said`` there already, as the run logged them), and
    its summary (a table, or JSON) on stdout: results only, the warnings said once, on stderr (JSON keeps them
    as a field of the result, for scripts)."""
    table = render.train_summary(result, blocks=blocks_for(sys.stdout))
    render.report(result, output, lambda out: out.write(table), said)

"""The commands of the `tagger` command line: Typer commands over the library.

Each command declares its options, calls one library function and renders
what it returns: results on stdout; logs, warnings and progress on stderr.
Defaults and choices are the library's own (config.py: the config dataclasses
and the defaults the library's functions take; the modules' tuples of names);
option values are checked as they are parsed (options.py), before any work;
failures end as one line and an exit status (exit_status.py). This module
imports no torch: the modules that do are imported in the command bodies, so
`--help` and a refused option value answer at once.
"""

from __future__ import annotations

import sys
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from tagger.cli import render
from tagger.cli.exit_status import err
from tagger.cli.options import (
    BadOption,
    at_least,
    between,
    fraction,
    only_with,
    option,
    positive,
    suffix,
    text_encoding,
    unit_interval,
)
from tagger.cli.options import device as usable_device
from tagger.cli.plot import FORMATS as PLOT_FORMATS
from tagger.cli.plot import blocks_for
from tagger.data import inputs, schemes
from tagger.data.output import CheckedOutput
from tagger.nn.config import (
    CELLS,
    CHAR_ENCODERS,
    CONTEXTS,
    DEFAULTS,
    OPTIMIZERS,
    SCORES,
    ModelConfig,
    TrainConfig,
    default_model_path,
)
from tagger.tagging import writer

# The configs' defaults, by field name (a parameter named as a field fills that field).
TRAIN, NET = TrainConfig(), ModelConfig()
TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}

registry = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@cache
def _built() -> typer.core.TyperGroup:
    return typer.main.get_command(registry)


def command(name: str) -> typer.core.TyperCommand | None:
    """The click command ``name``, as cli.py's group runs it (None for a name that is not a command)."""
    return _built().commands.get(name)


class Command(TyperCommand):
    """A command whose --help shows the default model path as it is now ($TAGGER_MODEL, $XDG_DATA_HOME)."""

    def format_help(self, ctx, formatter) -> None:
        for param in self.params:
            if param.name == "model":
                repeat = "; repeat it to use an ensemble of models (scores averaged)" if param.multiple else ""
                # tag and evaluate (the commands that take several) also read a shipped model, by name or by default
                ready = ", else the shipped en-news; or a shipped model's name" if param.multiple else ""
                param.help = (
                    f"Model file ($TAGGER_MODEL, else $XDG_DATA_HOME/tagger/model.pt{ready}){repeat}.  "
                    f"[default: {default_model_path()}]"
                )
        super().format_help(ctx, formatter)


# Options of more than one command.
ModelPath = Annotated[Path | None, option("--model", "-m", help="Model file.")]
ModelPaths = Annotated[
    list[Path] | None,
    option(
        "--model", "-m", metavar="<path>", help="Model file; repeat it to use an ensemble of models (scores averaged)."
    ),
]
TagColumn = Annotated[int, option(help="Column of the tag, counted from 0; negative counts from the end.")]
BatchSize = Annotated[int, option(help="Sentences per batch.", rules=[at_least(1)])]
Device = Annotated[str, option(help="Torch device: cpu, cuda or cuda:N.", rules=[usable_device])]
Threads = Annotated[int, option(help="Torch threads (0: $TAGGER_THREADS or 1).", rules=[at_least(0)])]
Encoding = Annotated[
    str,
    option(
        help="Encoding of the input files: any of Python's (utf-8, latin-1, cp1252, utf-16, ...); a byte-order "
        "mark is dropped.",
        rules=[text_encoding],
    ),
]
Summary = Annotated[
    str,
    option(
        "--format", help=f"table (for people) or json (for scripts); {render.UNITS}.", choices=render.SUMMARY_FORMATS
    ),
]

# Options of `train`: a parameter named as a TrainConfig or ModelConfig field fills that field.
DataDir = Annotated[Path | None, typer.Argument(help="Folder with train*, dev*/valid*/testa and test*/testb files.")]
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
    int, option(help="Stop after this many epochs without dev F1 gain (0: never).", rules=[at_least(0)])
]
DataScheme = Annotated[
    str | None, option("--scheme", help="Tag scheme of the data [default: detected].", choices=schemes.SCHEMES)
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
        help="Leave out sentences with a tag that is not a tag (such as 0 for O) and say how many, with the first "
        "one's line [default: such a tag is an error naming its line]."
    ),
]


def _model_path(model: Path | None) -> Path:
    """train's -m: the default path when absent (loop.train refuses a shipped model's)."""
    return model if model is not None else default_model_path()


def _model_paths(models: list[Path] | None) -> list[Path]:
    """The models of tag, evaluate and info: each -m resolved (a file, else a shipped model's name), several as
    an ensemble; with none, the default model, or the shipped one when there is none (said once on stderr)."""
    from tagger.nn import shipped

    if models:
        return [shipped.resolve(m) for m in models]
    path, note = shipped.default()
    if note:
        err(f"tagger: {note}")
    return [path]


def _configs(params: dict) -> tuple[ModelConfig, TrainConfig]:
    """The two configs of a run, filled from the options of the same name (--train-scheme is TrainConfig.scheme)."""
    config = TrainConfig.from_dict(params)
    model_config = ModelConfig.from_dict({k: v for k, v in params.items() if k not in TRAIN_FIELDS})
    return model_config, config


@registry.command(cls=Command)
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
    data_scheme: DataScheme = DEFAULTS.data_scheme,
    scheme: TrainScheme = TRAIN.scheme,
    constrained: Constrained = NET.constrained,
    embeddings: Embeddings = TRAIN.embeddings,
    keep_vectors: KeepVectors = TRAIN.keep_vectors,
    freeze_vectors: FreezeVectors = TRAIN.freeze_vectors,
    average: Average = TRAIN.average,
    lowercase: Lowercase = TRAIN.lowercase,
    tag_column: TagColumn = DEFAULTS.tag_column,
    resume: Resume = DEFAULTS.resume,
    skip_bad_sentences: SkipBadSentences = DEFAULTS.skip_bad_sentences,
    device: Device = TRAIN.device,
    threads: Threads = TRAIN.threads,
    output: Summary = render.SUMMARY_FORMATS[0],
    encoding: Encoding = DEFAULTS.encoding,
) -> None:
    """Train a model on CoNLL files and save the best one (by dev F1).

    Scores are percentages in the epoch rows (stderr) and the table summary, fractions 0-1 in --format json.
    """
    from tagger.cli.progress import EpochReporter
    from tagger.data import corpus
    from tagger.training import loop
    from tagger.training.distributed import from_env

    files = corpus.data_files(data, train_file, dev_file, test_file)
    for note in files.notes:
        err(note)
    model_config, config = _configs(ctx.params)
    with EpochReporter() as reporter:
        result = loop.train(
            files.train,
            _model_path(model),
            dev_file=files.dev,
            test_file=files.test,
            model_config=model_config,
            config=config,
            tag_column=tag_column,
            data_scheme=data_scheme,
            resume=resume,
            skip_bad_sentences=skip_bad_sentences,
            encoding=encoding,
            **reporter.hooks(),
        )
    if from_env().is_main:  # under torchrun, rank 0 alone reports (and wrote the model)
        _report_training(result, output, said=reporter.said)


def _report_training(result: dict, output: str, said: set[str] = frozenset()) -> None:
    """The training run's warnings on stderr (those not ``said`` there already, as the run logged them), and
    its summary (a table, or JSON) on stdout. The table repeats the warnings, for a summary kept in a file;
    on a terminal that shows stderr too, once is enough."""
    table = render.train_summary(result, blocks=blocks_for(sys.stdout), with_warnings=not _on_one_screen())
    _report(result, output, lambda out: out.write(table), said)


def _on_one_screen() -> bool:
    """Whether stdout and stderr both go to a terminal (the user reads them on one screen)."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def _report(result: dict, output: str, table, said: set[str] = frozenset()) -> None:
    """A command's warnings on stderr (but those already ``said``); its result on stdout, as JSON or as
    ``table(out)`` draws it."""
    for line in render.warnings(result):
        if line not in said:
            err(line)
    out = CheckedOutput(sys.stdout)
    if output == "json":
        out.write(render.as_json(result) + "\n")
    else:
        table(out)


@registry.command(cls=Command)
def evaluate(
    file: Annotated[Path, typer.Argument(help="CoNLL file with gold tags; '-' for stdin.")],
    model: ModelPaths = None,
    output: Summary = render.SUMMARY_FORMATS[0],
    tag_column: TagColumn = DEFAULTS.tag_column,
    batch_size: BatchSize = DEFAULTS.batch_size,
    device: Device = DEFAULTS.device,
    threads: Threads = DEFAULTS.threads,
    encoding: Encoding = DEFAULTS.encoding,
    predictions: Annotated[
        Path | None,
        option(
            metavar="<path>",
            help="Also write each token with its gold and predicted tag to this file ('token gold predicted', "
            "a blank line after each sentence: conlleval's input), replacing it.",
        ),
    ] = None,
) -> None:
    """Score a model on a gold CoNLL file: entity-level precision, recall and F1 (seqeval, conlleval-compatible).

    Scores are percentages in the table, fractions 0-1 in --format json.
    """
    from tagger.nn.runtime import configure_torch
    from tagger.training import evaluation

    configure_torch(threads)
    result = evaluation.evaluate(
        file,
        _model_paths(model),
        tag_column=tag_column,
        batch_size=batch_size,
        device=device,
        encoding=encoding,
        predictions=predictions,
    )
    _report(result, output, lambda out: render.evaluation_table(result, out))


Scores = Annotated[
    str | None,
    option(
        help="Add the CRF's probabilities: entities, a score per entity (jsonl, inline, html) and the "
        "sentence's probability (jsonl); tokens, also each token's (jsonl).",
        choices=SCORES,
    ),
]
NBest = Annotated[
    int, option(help="Add the K most probable tag sequences and their probabilities (jsonl).", rules=[at_least(0)])
]
MinScore = Annotated[
    float, option(help="Drop entities scoring below this (0-1); their tokens are tagged O.", rules=[unit_interval])
]


def _check_tag_options(ctx: typer.Context, output: str, scores: str | None, nbest: int) -> None:
    """Where an option does not apply to the output format: a usage error, before any work."""
    if nbest:
        only_with(ctx, "--nbest", nbest, output, ("jsonl",))
    if scores == "tokens":
        only_with(ctx, "--scores", scores, output, ("jsonl",))
    elif scores:
        only_with(ctx, "--scores", scores, output, ("jsonl", "inline", "html"))


@registry.command(cls=Command)
def tag(
    ctx: typer.Context,
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE",
            help="Input files, tagged in order, each as an input of its own; stdin when absent or '-'.",
            show_default=False,
        ),
    ] = None,
    model: ModelPaths = None,
    input_kind: Annotated[
        str,
        option(
            "--input",
            help="text: raw text; conll: column files; tokens: one tokenized sentence a line.",
            choices=inputs.INPUTS,
        ),
    ] = DEFAULTS.input_kind,
    output: Annotated[
        str, option("--format", help="Output format (html: one page).", choices=writer.FORMATS)
    ] = DEFAULTS.output_format,
    scores: Scores = DEFAULTS.scores,
    nbest: NBest = DEFAULTS.nbest,
    min_score: MinScore = DEFAULTS.min_score,
    batch_size: BatchSize = DEFAULTS.batch_size,
    device: Device = DEFAULTS.device,
    threads: Threads = DEFAULTS.threads,
    workers: Annotated[
        int,
        option(
            help="Processes beside the network for tokenizing and lookups (-1: 1 if 2+ cores, else 0).",
            rules=[at_least(-1)],
        ),
    ] = DEFAULTS.workers,
    jobs: Annotated[
        int,
        option(
            help="Processes that each tag whole windows of a file on disk, on the CPU (0: one per core "
            "with 4+ cores, else 1; 1: one process and its reader, as for stdin). With a GPU, the "
            "processes that read and look up for it.",
            rules=[at_least(0)],
        ),
    ] = DEFAULTS.jobs,
    to: Annotated[
        Path | None,
        option(
            "--output",
            "-o",
            metavar="<path>",
            help="Write to this file instead of stdout: replaced when the run succeeds, left as it was if it fails.",
        ),
    ] = None,
    encoding: Encoding = DEFAULTS.encoding,
) -> None:
    """Tag raw text, tokenized lines or CoNLL files; writes to stdout as sentences are tagged.

    Several files give what tagging each in turn gives (a document ends with its file).
    Empty or blank input writes nothing and exits 0. Scores are fractions 0-1: in --format jsonl,
    as in every JSON output, and in inline ([PER John Smith|0.98]) and html (on hover).
    """
    _check_tag_options(ctx, output, scores, nbest)
    inputs = list(files or ["-"])
    if output == "html" and len(inputs) > 1:
        raise BadOption("--format html writes one page: give one input file", ctx)
    from tagger.data.output import output_file
    from tagger.data.reader import check_inputs

    check_inputs(inputs)
    if to is None and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="strict")
    options = dict(input_kind=input_kind, output_format=output, batch_size=batch_size, device=device, jobs=jobs)
    options.update(scores=scores, nbest=nbest, min_score=min_score, encoding=encoding)
    with output_file(to, inputs) as out:
        counts = _tag_files(inputs, out, _model_paths(model), options, threads, workers)
    for name, count in counts.items():
        if count == 0 or len(inputs) == 1:
            err(render.tagged_count(count, name))
    if len(inputs) > 1:
        err(render.tagged_count(sum(counts.values()), "", files=len(inputs)))


def _tag_files(inputs: list[str], out, paths: list[Path], options: dict, threads: int, workers: int) -> dict:
    """Tag each input in turn into ``out`` (``predictor.tag_file``'s ``options``): the sentences of each,
    by name. The model is loaded once for them all (by the --jobs workers, or here for the others)."""
    from tagger.tagging import jobs

    counts, loaded = {}, None
    for file in inputs:
        # --jobs before torch is imported: the parent of the worker processes only reads and writes
        count = jobs.tag_file_jobs(file, out, paths, **options)
        if count is None:
            from tagger.tagging import predictor

            if loaded is None and len(inputs) > 1:
                from tagger.nn.ensemble import load_models
                from tagger.nn.runtime import configure_torch

                configure_torch(threads)
                loaded = load_models(paths, device=options["device"])
            count = predictor.tag_file(file, out, paths, threads=threads, workers=workers, loaded=loaded, **options)
        name = "<stdin>" if file == "-" else file
        counts[name] = counts.get(name, 0) + count
    return counts


@registry.command(cls=Command)
def info(
    model: Annotated[
        Path | None,
        typer.Argument(metavar="MODEL", help="Model file, or a shipped model's name (en-news).", show_default=False),
    ] = None,
    output: Summary = render.SUMMARY_FORMATS[0],
    plot: Annotated[
        Path | None,
        option(
            metavar="<path>",
            help="Also draw the training curve to a .png or .svg file (needs matplotlib).",
            rules=[suffix(PLOT_FORMATS)],
        ),
    ] = None,
) -> None:
    """What a model file holds, read without building the network: tags, vocabulary, network,
    training options, scores and the training history.

    Scores are percentages in the table, fractions 0-1 in --format json.
    """
    from tagger.cli.info import model_info, render_info

    found = model_info(_model_paths([model] if model is not None else None)[0])
    if plot is not None:
        from tagger.cli.plot import plot_history

        err(f"wrote {plot_history(found['history'] or [], plot, title=Path(found['path']).name)}")
    out = CheckedOutput(sys.stdout)
    if output == "json":
        out.write(render.as_json(found) + "\n")
    else:
        from rich.console import Console

        Console(file=out).print(render_info(found))

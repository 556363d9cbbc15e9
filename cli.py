"""The `tagger` command line: Typer commands over the library.

Each command declares its options, calls one library function and renders
what it returns: results on stdout, logs, warnings and progress on stderr.
Defaults and choices are the library's own (the config dataclasses, the
functions' signatures, the modules' tuples of names); option values are
checked as they are parsed (tagger/options.py), before any work; failures end
as one line and an exit status (tagger/exit_status.py).
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from tagger import __version__, corpus, evaluation, render, schemes, tagging, training, windows, writer
from tagger.exit_status import DEBUG, CheckedOutput, OneLineErrors, err, exit_status_help
from tagger.model import CELLS, CHAR_ENCODERS, ModelConfig
from tagger.model_file import default_model_path
from tagger.options import at_least, between, fraction, option, positive
from tagger.options import device as usable_device
from tagger.progress import EpochReporter
from tagger.runtime import configure_torch
from tagger.training import OPTIMIZERS, TrainConfig

__all__ = ["DEBUG", "app"]


def _defaults(library_callable) -> dict:
    """The default of each parameter of a library function or config dataclass: the CLI's defaults."""
    return {name: p.default for name, p in inspect.signature(library_callable).parameters.items()}


TRAIN, NET, RUN = _defaults(TrainConfig), _defaults(ModelConfig), _defaults(training.train)
TAG, EVALUATE, TORCH = _defaults(tagging.tag_file), _defaults(evaluation.evaluate), _defaults(configure_torch)

app = typer.Typer(
    cls=OneLineErrors,
    help="A BiLSTM-CRF named-entity tagger: train, evaluate and tag CoNLL files and raw text.",
    epilog=f"{exit_status_help()}\n\nScores are percentages in tables and summaries, fractions 0-1 in JSON.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Command(TyperCommand):
    """A command whose --help shows the default model path as it is now ($TAGGER_MODEL, $XDG_DATA_HOME)."""

    def format_help(self, ctx, formatter) -> None:
        for param in self.params:
            if param.name == "model":
                param.help = (
                    "Model file ($TAGGER_MODEL, else $XDG_DATA_HOME/tagger/model.pt).  "
                    f"[default: {default_model_path()}]"
                )
        super().format_help(ctx, formatter)


def _version(value: bool) -> None:
    if value:
        CheckedOutput(sys.stdout).write(f"tagger {__version__}\n")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    DEBUG["on"] = bool(os.environ.get("TAGGER_DEBUG")) or debug


ModelPath = Annotated[Path | None, option("--model", "-m", help="Model file.")]
TagColumn = Annotated[int, option(help="Column of the tag, counted from 0; negative counts from the end.")]
BatchSize = Annotated[int, option(help="Sentences per batch.", rules=[at_least(1)])]
Device = Annotated[str, option(help="Torch device: cpu, cuda or cuda:N.", rules=[usable_device])]
Threads = Annotated[int, option(help="Torch threads (0: $TAGGER_THREADS or 1).", rules=[at_least(0)])]
Summary = Annotated[
    str,
    option(
        "--format", help=f"table (for people) or json (for scripts); {render.UNITS}.", choices=render.SUMMARY_FORMATS
    ),
]


def _model_path(model: Path | None) -> Path:
    return model if model is not None else default_model_path()


def _configs(params: dict) -> tuple[ModelConfig, TrainConfig]:
    """The two configs of a run, filled from the options of the same name (--train-scheme is TrainConfig.scheme)."""
    config = TrainConfig.from_dict(params)
    model_config = ModelConfig.from_dict({k: v for k, v in params.items() if k not in TRAIN})
    return model_config, config


@app.command(cls=Command)
def train(
    ctx: typer.Context,
    data: Annotated[
        Path | None, typer.Argument(help="Folder with train*, dev*/valid*/testa and test*/testb files.")
    ] = None,
    train_file: Annotated[Path | None, typer.Option("--train", help="Training file (overrides DIR's).")] = None,
    dev_file: Annotated[Path | None, typer.Option("--dev", help="Development file for early stopping.")] = None,
    test_file: Annotated[Path | None, typer.Option("--test", help="Test file scored at the end.")] = None,
    model: ModelPath = None,
    epochs: Annotated[int, option(help="Most epochs to train.", rules=[at_least(1)])] = TRAIN["epochs"],
    batch_size: BatchSize = TRAIN["batch_size"],
    optimizer: Annotated[str, option(help="Optimizer.", choices=OPTIMIZERS)] = TRAIN["optimizer"],
    lr: Annotated[float, option(help="Learning rate.", rules=[positive])] = TRAIN["lr"],
    lr_decay: Annotated[
        float, option(help="Learning rate at epoch e is lr / (1 + decay * e).", rules=[at_least(0)])
    ] = TRAIN["lr_decay"],
    momentum: Annotated[float, option(help="SGD momentum.", rules=[fraction])] = TRAIN["momentum"],
    clip: Annotated[float, option(help="Gradient norm clipping (0: off).", rules=[at_least(0)])] = TRAIN["clip"],
    word_dropout: Annotated[
        float, option(help="Chance a singleton word is replaced by <unk> in training.", rules=[fraction])
    ] = TRAIN["word_dropout"],
    seed: Annotated[int, option(help="Random seed.", rules=[between(0, 2**64 - 1)])] = TRAIN["seed"],
    cell: Annotated[str, option(help="Recurrent cell of the encoder.", choices=CELLS)] = NET["cell"],
    layers: Annotated[int, option(help="Encoder layers.", rules=[at_least(1)])] = NET["layers"],
    hidden_size: Annotated[int, option(help="Encoder hidden size per direction.", rules=[at_least(1)])] = NET[
        "hidden_size"
    ],
    word_dim: Annotated[int, option(help="Word embedding size.", rules=[at_least(1)])] = NET["word_dim"],
    char_encoder: Annotated[str, option(help="Character-level word features.", choices=CHAR_ENCODERS)] = NET[
        "char_encoder"
    ],
    dropout: Annotated[float, option(help="Dropout on token features and encoder output.", rules=[fraction])] = NET[
        "dropout"
    ],
    patience: Annotated[
        int, option(help="Stop after this many epochs without dev F1 gain (0: never).", rules=[at_least(0)])
    ] = TRAIN["patience"],
    data_scheme: Annotated[
        str | None, option("--scheme", help="Tag scheme of the data [default: detected].", choices=schemes.SCHEMES)
    ] = RUN["data_scheme"],
    scheme: Annotated[
        str, option("--train-scheme", help="Tag scheme the model trains in.", choices=schemes.SCHEMES)
    ] = TRAIN["scheme"],
    constrained: Annotated[bool, option(help="Decode only tag sequences valid in the scheme.")] = NET["constrained"],
    embeddings: Annotated[
        str | None,
        option(metavar="<path>", help="Pretrained word vectors: GloVe or word2vec text format, plain or .gz."),
    ] = TRAIN["embeddings"],
    keep_vectors: Annotated[
        int,
        option(
            help="Pretrained words kept for tag time beyond the data's, most frequent first (-1: all).",
            rules=[at_least(-1)],
        ),
    ] = TRAIN["keep_vectors"],
    freeze_vectors: Annotated[
        bool, option(help="Keep pretrained vectors fixed; train only the vectors of words without one.")
    ] = TRAIN["freeze_vectors"],
    average: Annotated[
        float,
        option(help="Decay of a moving average of the weights, which is scored and saved (0: off).", rules=[fraction]),
    ] = TRAIN["average"],
    lowercase: Annotated[
        bool,
        option(help="Lowercase words before lookup (--no-lowercase: keep case, lowercase only as a fallback)."),
    ] = TRAIN["lowercase"],
    tag_column: TagColumn = RUN["tag_column"],
    resume: Annotated[bool, option(help="Continue an interrupted run from its last finished epoch.")] = RUN["resume"],
    device: Device = TRAIN["device"],
    threads: Threads = TRAIN["threads"],
    output: Summary = render.SUMMARY_FORMATS[0],
) -> None:
    """Train a model on CoNLL files and save the best one (by dev F1).

    Scores are percentages in the epoch rows (stderr) and the table summary, fractions 0-1 in --format json.
    """
    files = corpus.data_files(data, train_file, dev_file, test_file)
    for note in files.notes:
        err(note)
    model_config, config = _configs(ctx.params)
    with EpochReporter() as reporter:
        result = training.train(
            files.train,
            _model_path(model),
            dev_file=files.dev,
            test_file=files.test,
            model_config=model_config,
            config=config,
            tag_column=tag_column,
            data_scheme=data_scheme,
            resume=resume,
            log=reporter.log,
            on_epoch=reporter.epoch,
            progress=reporter.progress,
        )
    for line in render.warnings(result):
        err(line)
    out = CheckedOutput(sys.stdout)
    out.write(render.as_json(result) + "\n" if output == "json" else render.train_summary(result))


@app.command(cls=Command)
def evaluate(
    file: Annotated[Path, typer.Argument(help="CoNLL file with gold tags.")],
    model: ModelPath = None,
    output: Summary = render.SUMMARY_FORMATS[0],
    tag_column: TagColumn = EVALUATE["tag_column"],
    batch_size: BatchSize = EVALUATE["batch_size"],
    device: Device = EVALUATE["device"],
    threads: Threads = TORCH["threads"],
) -> None:
    """Score a model on a gold CoNLL file: entity-level precision, recall and F1 (seqeval, conlleval-compatible).

    Scores are percentages in the table, fractions 0-1 in --format json.
    """
    configure_torch(threads)
    result = evaluation.evaluate(file, _model_path(model), tag_column=tag_column, batch_size=batch_size, device=device)
    for line in render.warnings(result):
        err(line)
    out = CheckedOutput(sys.stdout)
    if output == "json":
        out.write(render.as_json(result) + "\n")
    else:
        render.evaluation_table(result, out)


@app.command(cls=Command)
def tag(
    file: Annotated[str | None, typer.Argument(help="Input file; stdin when absent or '-'.")] = None,
    model: ModelPath = None,
    input_kind: Annotated[
        str,
        option(
            "--input",
            help="text: raw text; conll: column files; tokens: one tokenized sentence a line.",
            choices=windows.INPUTS,
        ),
    ] = TAG["input_kind"],
    output: Annotated[str, option("--format", help="Output format.", choices=writer.FORMATS)] = TAG["output_format"],
    batch_size: BatchSize = TAG["batch_size"],
    device: Device = TAG["device"],
    threads: Threads = TAG["threads"],
    workers: Annotated[
        int,
        option(
            help="Processes beside the network for tokenizing and lookups (-1: 1 if 2+ cores, else 0).",
            rules=[at_least(-1)],
        ),
    ] = TAG["workers"],
) -> None:
    """Tag raw text, tokenized lines or CoNLL files; writes to stdout as sentences are tagged.

    Empty or blank input writes nothing and exits 0. Scores in --format jsonl, when there are any,
    are fractions 0-1, as in every JSON output.
    """
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="strict")
    count = tagging.tag_file(
        file,
        CheckedOutput(sys.stdout),
        _model_path(model),
        input_kind=input_kind,
        output_format=output,
        batch_size=batch_size,
        device=device,
        threads=threads,
        workers=workers,
    )
    err(render.tagged_count(count, "<stdin>" if file in (None, "-") else file))


if __name__ == "__main__":
    app()

"""The `tagger` command line: thin Typer commands over the library.

Each command parses its options and calls one library function that returns
plain data; results go to stdout, logs and progress to stderr. Torch is
imported only inside the commands, so `tagger --help` is quick.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from tagger import __version__
from tagger.errors import TaggerError

DEBUG = {"on": bool(os.environ.get("TAGGER_DEBUG"))}


def err(message: str) -> None:
    typer.echo(message, err=True)


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so the flush at exit cannot fail on a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class OneLineErrors(TyperGroup):
    """Every failure is one line on stderr and an exit status: 2 bad input or usage, 1 a bug, 128+n a signal."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`tagger tag big.txt | head`): stop quietly with status 0
            # (caught here, before click turns it into status 1).
            _stdout_to_devnull()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            # Ctrl-C (training handles its own, saying what was saved): said in one line here,
            # before the command-line library turns it into a silent status 130.
            err("tagger: interrupted")
            raise typer.Exit(130) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name or "tagger", complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except typer.Exit as e:
            code = e.exit_code
        except typer.Abort:
            err("tagger: aborted")
            code = 130
        except TaggerError as e:
            if DEBUG["on"]:
                traceback.print_exc()
            err(f"tagger: error: {e}")
            code = e.exit_code
        except KeyboardInterrupt:
            err("tagger: interrupted")
            code = 130
        except BrokenPipeError:
            # The reader went away (`tagger tag big.txt | head`): stop quietly.
            _stdout_to_devnull()
            code = 0
        except Exception as e:
            if hasattr(e, "format_message") and hasattr(e, "exit_code"):  # a usage error from the parser
                ctx = getattr(e, "ctx", None)
                if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
                    err(ctx.get_help())
                else:
                    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                    err(f"tagger: error: {e.format_message()}{hint}")
                code = e.exit_code
            else:  # a bug: say so in one line, the traceback with --debug
                if DEBUG["on"]:
                    traceback.print_exc()
                first = str(e).splitlines()[0] if str(e) else ""
                err(f"tagger: internal error: {type(e).__name__}: {first} (run with --debug for the traceback)")
                code = 1
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=OneLineErrors,
    help="A BiLSTM-CRF named-entity tagger: train, evaluate and tag CoNLL files and raw text.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tagger {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    DEBUG["on"] = bool(os.environ.get("TAGGER_DEBUG")) or debug


class Cell(str, Enum):
    lstm = "lstm"
    gru = "gru"


class CharEncoder(str, Enum):
    cnn = "cnn"
    lstm = "lstm"
    none = "none"


class Scheme(str, Enum):
    iob1 = "iob1"
    iob2 = "iob2"
    bioes = "bioes"


class Optim(str, Enum):
    sgd = "sgd"
    adam = "adam"


class TableOrJson(str, Enum):
    table = "table"
    json = "json"


class InputKind(str, Enum):
    text = "text"
    conll = "conll"
    tokens = "tokens"


class OutputFormat(str, Enum):
    conll = "conll"
    inline = "inline"
    jsonl = "jsonl"


ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model file [default: $TAGGER_MODEL or ~/.local/share/tagger/model.pt]"),
]
TagColumn = Annotated[int, typer.Option(help="Column of the tag, counted from 0; negative counts from the end.")]
Device = Annotated[str, typer.Option(help="Torch device: cpu, cuda, cuda:1 ...")]
Threads = Annotated[int, typer.Option(help="Torch threads (0: $TAGGER_THREADS or 1).")]


def _model_path(model: Path | None) -> Path:
    from tagger.model_file import default_model_path

    return model if model is not None else default_model_path()


def _check_device(device: str) -> str:
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise TaggerError(f"--device: {device!r} is not a torch device (try cpu or cuda)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TaggerError(f"--device {device}: no CUDA device is available here")
    return device


def _percent(x: float) -> str:
    return f"{100 * x:.2f}"


@app.command()
def train(
    data: Annotated[
        Path | None, typer.Argument(help="Folder with train*, dev*/valid*/testa and test*/testb files.")
    ] = None,
    train_file: Annotated[Path | None, typer.Option("--train", help="Training file (overrides DIR's).")] = None,
    dev_file: Annotated[Path | None, typer.Option("--dev", help="Development file for early stopping.")] = None,
    test_file: Annotated[Path | None, typer.Option("--test", help="Test file scored at the end.")] = None,
    model: ModelOpt = None,
    epochs: Annotated[int, typer.Option(help="Most epochs to train.")] = 30,
    batch_size: Annotated[int, typer.Option(help="Sentences per batch.")] = 32,
    optimizer: Annotated[Optim, typer.Option(help="Optimizer.")] = Optim.adam,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 0.002,
    lr_decay: Annotated[float, typer.Option(help="Learning rate at epoch e is lr / (1 + decay * e).")] = 0.05,
    momentum: Annotated[float, typer.Option(help="SGD momentum.")] = 0.9,
    clip: Annotated[float, typer.Option(help="Gradient norm clipping (0: off).")] = 5.0,
    word_dropout: Annotated[
        float, typer.Option(help="Chance a singleton word is replaced by <unk> in training.")
    ] = 0.3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    cell: Annotated[Cell, typer.Option(help="Recurrent cell of the encoder.")] = Cell.lstm,
    layers: Annotated[int, typer.Option(help="Encoder layers.")] = 1,
    hidden_size: Annotated[int, typer.Option(help="Encoder hidden size per direction.")] = 100,
    word_dim: Annotated[int, typer.Option(help="Word embedding size.")] = 100,
    char_encoder: Annotated[CharEncoder, typer.Option(help="Character-level word features.")] = CharEncoder.cnn,
    dropout: Annotated[float, typer.Option(help="Dropout on token features and encoder output.")] = 0.5,
    patience: Annotated[int, typer.Option(help="Stop after this many epochs without dev F1 gain (0: never).")] = 5,
    scheme: Annotated[Scheme | None, typer.Option(help="Tag scheme of the data [default: detected].")] = None,
    train_scheme: Annotated[Scheme, typer.Option(help="Tag scheme the model trains in.")] = Scheme.bioes,
    constrained: Annotated[bool, typer.Option(help="Decode only tag sequences valid in the scheme.")] = True,
    embeddings: Annotated[
        Path | None, typer.Option(help="Pretrained word vectors: GloVe or word2vec text format, plain or .gz.")
    ] = None,
    keep_vectors: Annotated[
        int, typer.Option(help="Pretrained words kept for tag time beyond the data's, most frequent first (-1: all).")
    ] = 100_000,
    freeze_vectors: Annotated[
        bool, typer.Option(help="Keep pretrained vectors fixed; train only the vectors of words without one.")
    ] = False,
    average: Annotated[
        float, typer.Option(help="Decay of a moving average of the weights, which is scored and saved (0: off).")
    ] = 0.0,
    lowercase: Annotated[
        bool,
        typer.Option(help="Lowercase words before lookup (--no-lowercase: keep case, lowercase only as a fallback)."),
    ] = True,
    tag_column: TagColumn = -1,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from its last finished epoch.")] = False,
    device: Device = "cpu",
    threads: Threads = 0,
    output: Annotated[
        TableOrJson, typer.Option("--format", help="Summary on stdout: table or json.")
    ] = TableOrJson.table,
) -> None:
    """Train a model on CoNLL files and save the best one (by dev F1)."""
    from tagger.corpus import find_data_files

    files = find_data_files(data) if data is not None else {"train": None, "dev": None, "test": None}
    files = {
        "train": train_file or files["train"],
        "dev": dev_file or files["dev"],
        "test": test_file or files["test"],
    }
    if files["train"] is None:
        where = f"in {data} (looked for train*)" if data is not None else "(give DIR or --train FILE)"
        raise TaggerError(f"no training file {where}")
    from tagger.model import ModelConfig
    from tagger.training import TrainConfig
    from tagger.training import train as run_training

    try:
        model_config = ModelConfig(
            cell=cell.value,
            layers=layers,
            hidden_size=hidden_size,
            word_dim=word_dim,
            char_encoder=char_encoder.value,
            dropout=dropout,
            constrained=constrained,
        )
    except ValueError as e:
        raise TaggerError(str(e)) from None
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer.value,
        lr=lr,
        lr_decay=lr_decay,
        momentum=momentum,
        clip=clip,
        word_dropout=word_dropout,
        seed=seed,
        patience=patience,
        scheme=train_scheme.value,
        device=_check_device(device),
        threads=threads,
        embeddings=str(embeddings) if embeddings else None,
        keep_vectors=keep_vectors,
        freeze_vectors=freeze_vectors,
        average=average,
        lowercase=lowercase,
    )
    path = _model_path(model)

    from tagger.progress import EpochReporter

    with EpochReporter() as reporter:
        result = run_training(
            files["train"],
            path,
            dev_file=files["dev"],
            test_file=files["test"],
            model_config=model_config,
            config=config,
            tag_column=tag_column,
            data_scheme=scheme.value if scheme else None,
            resume=resume,
            log=reporter.log,
            on_epoch=reporter.epoch,
            progress=reporter.progress,
        )
    if output is TableOrJson.json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"model: {result['model']}")
    typer.echo(f"best epoch: {result['best_epoch']} of {result['epochs_run']}")
    dev = result["dev"]
    typer.echo(
        f"dev:  precision {_percent(dev['precision'])}  recall {_percent(dev['recall'])}  F1 {_percent(dev['f1'])}"
    )
    if "test" in result:
        t = result["test"]
        typer.echo(
            f"test: precision {_percent(t['precision'])}  recall {_percent(t['recall'])}  F1 {_percent(t['f1'])}"
        )
    typer.echo(f"time: {result['seconds']:.1f} s")


@app.command()
def evaluate(
    file: Annotated[Path, typer.Argument(help="CoNLL file with gold tags.")],
    model: ModelOpt = None,
    output: Annotated[
        TableOrJson, typer.Option("--format", help="table (for people) or json (for scripts).")
    ] = TableOrJson.table,
    tag_column: TagColumn = -1,
    batch_size: Annotated[int, typer.Option(help="Sentences per batch.")] = 64,
    device: Device = "cpu",
    threads: Threads = 0,
) -> None:
    """Score a model on a gold CoNLL file: entity-level precision, recall and F1 (seqeval, conlleval-compatible)."""
    from tagger.evaluation import evaluate as run_evaluation
    from tagger.runtime import configure_torch

    configure_torch(threads)
    result = run_evaluation(
        file, _model_path(model), tag_column=tag_column, batch_size=batch_size, device=_check_device(device)
    )
    for w in result.pop("warnings"):
        err(f"warning: {w}")
    if output is TableOrJson.json:
        typer.echo(json.dumps(result, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result['file']}: {result['sentences']} sentences, {result['tokens']} tokens")
    for column in ("type", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for kind, s in result["per_type"].items():
        table.add_row(kind, _percent(s["precision"]), _percent(s["recall"]), _percent(s["f1"]), str(s["support"]))
    table.add_section()
    table.add_row(
        "all (micro)",
        _percent(result["precision"]),
        _percent(result["recall"]),
        _percent(result["f1"]),
        str(result["support"]),
    )
    Console().print(table)


@app.command()
def tag(
    file: Annotated[str | None, typer.Argument(help="Input file; stdin when absent or '-'.")] = None,
    model: ModelOpt = None,
    input_kind: Annotated[
        InputKind,
        typer.Option("--input", help="text: raw text; conll: column files; tokens: one tokenized sentence a line."),
    ] = InputKind.text,
    output: Annotated[OutputFormat, typer.Option("--format", help="conll, inline or jsonl.")] = OutputFormat.conll,
    batch_size: Annotated[int, typer.Option(help="Sentences per batch.")] = 64,
    device: Device = "cpu",
    threads: Threads = 0,
    workers: Annotated[
        int,
        typer.Option(help="Processes beside the network for tokenizing and lookups (-1: 1 if 2+ cores, else 0)."),
    ] = -1,
) -> None:
    """Tag raw text, tokenized lines or CoNLL files; writes to stdout as sentences are tagged."""
    from tagger.tagging import tag_file

    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="strict")
    count = tag_file(
        file,
        sys.stdout,
        _model_path(model),
        input_kind=input_kind.value,
        output_format=output.value,
        batch_size=batch_size,
        device=_check_device(device),
        threads=threads,
        workers=workers,
    )
    err(f"tagged {count} sentences")


if __name__ == "__main__":
    app()

"""The command line's options: the rules for their values, the options of more than one command, and the
command class that shows the default model in --help.

A rule ``rule(name, value)`` raises ValueError naming the option and the value; ``option(...)`` applies it as
the option is parsed, so a bad value is a usage error (status 2) before a model or a data file is opened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperArgument, TyperCommand, TyperOption

from tagger.cli import render
from tagger.cli.exit_status import DEBUG, DEBUG_HELP, UsageError, err
from tagger.data.conllu import FIELDS as CONLLU_FIELDS
from tagger.data.formats import DATA_FORMATS
from tagger.nn.config import default_model_path

Rule = Callable[[str, object], None]


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _finite(name: str, value: object) -> None:
    # NaN compares false with every bound and inf passes a lower one: both would reach the optimizer.
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {_show(value)}")


def at_least(low: float) -> Rule:
    def rule(name: str, value) -> None:
        _finite(name, value)
        if not value >= low:
            raise ValueError(f"{name} must be at least {low}, got {_show(value)}")

    return rule


def between(low: int, high: int) -> Rule:
    def rule(name: str, value) -> None:
        if not low <= value <= high:
            raise ValueError(f"{name} must be from {low} to {high}, got {_show(value)}")

    return rule


def positive(name: str, value) -> None:
    _finite(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {_show(value)}")


def fraction(name: str, value) -> None:
    """A share or a decay: from 0 up to, not including, 1."""
    _finite(name, value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {_show(value)}")


def one_of(choices: Sequence[str]) -> Rule:
    def rule(name: str, value) -> None:
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {_show(value)}")

    return rule


def device(name: str, value) -> None:
    if value == "cpu":  # always usable; the check of any other device loads torch
        return
    from tagger.nn.torch_needed import require_torch

    require_torch(f"{name} {value}")
    from tagger.nn.device import check_device

    check_device(value, name)


def text_encoding(name: str, value) -> None:
    """A text encoding Python knows (utf-8, latin-1, cp1252, utf-16, ...)."""
    from tagger.data.reader import text_encoding as codec
    from tagger.errors import TaggerError

    try:
        codec(value)
    except TaggerError as e:
        raise ValueError(f"{name}: {e.message}") from None


class BadOption(typer.BadParameter):
    """A value a rule refused; its message already names the option and the value."""

    def format_message(self) -> str:
        return self.message


def _checker(rules: Sequence[Rule]) -> Callable:
    def check(ctx: typer.Context, param: typer.CallbackParam, value):
        if value is None or ctx.resilient_parsing:  # left out (None default), or parsing only for completion
            return value
        name = max(param.opts, key=len)
        for rule in rules:
            try:
                rule(name, value)
            except ValueError as e:
                raise BadOption(str(e)) from None
        return value

    return check


def unit_interval(name: str, value) -> None:
    """A probability: from 0 to 1, both included."""
    _finite(name, value)
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be from 0 to 1, got {_show(value)}")


def suffix(suffixes: Sequence[str]) -> Rule:
    """A file name ending in one of ``suffixes`` (any case): the file's format follows its name."""

    def rule(name: str, value) -> None:
        if not str(value).lower().endswith(tuple(suffixes)):
            raise ValueError(f"{name} must name a {' or '.join(suffixes)} file, got {_show(str(value))}")

    return rule


def only_with(ctx: typer.Context, flag: str, value: object, fmt: str, formats: Sequence[str]) -> None:
    """A usage error (one line, status 2) for ``flag`` given with a ``--format`` it does not apply to;
    checked when the command starts, before any work."""
    if fmt not in formats:
        listed = formats[0] if len(formats) == 1 else f"{', '.join(formats[:-1])} or {formats[-1]}"
        raise UsageError(f"{flag} {value} applies to --format {listed}, not {fmt}", ctx)


def option(*names: str, help: str, rules: Sequence[Rule] = (), choices: Sequence[str] = (), **extra):
    """A Typer option checked by ``rules`` (and restricted to ``choices``, shown in --help) as it is parsed."""
    if choices:
        rules = (one_of(choices), *rules)
        extra.setdefault("metavar", f"<{'|'.join(choices)}>")
    return typer.Option(*names, help=help, callback=_checker(rules) if rules else None, **extra)


WRITES_MODEL = ("train",)  # the commands whose model is written, at the default path: no shipped model, by name or not


class Command(TyperCommand):
    """A command whose --help shows the default model path as it is now ($TAGGER_MODEL, $XDG_DATA_HOME), and whose
    usage line names its arguments as people write them: ``FILE``, ``[DIR]``, ``[FILE]...``."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        # typer writes a required argument {file} and drops the ... of one that takes several
        arguments = [param for param in self.get_params(ctx) if isinstance(param, TyperArgument)]
        return [self.options_metavar, *map(_usage, arguments)]

    def format_help(self, ctx, formatter) -> None:
        for param in self.params:
            if param.name == "model":
                repeat = "; repeat it to use an ensemble of models (scores averaged)" if param.multiple else ""
                repeat = "; several: one ensemble of models (scores averaged)" if param.nargs == -1 else repeat
                # the commands that read a model take a shipped one, by name or when there is none at the default path
                ready = "" if ctx.info_name in WRITES_MODEL else ", else the shipped en-news; or a shipped model's name"
                param.help = (
                    f"Model file ($TAGGER_MODEL, else $XDG_DATA_HOME/tagger/model.pt{ready}){repeat}.  "
                    f"[default: {default_model_path()}]"
                )
        super().format_help(ctx, formatter)


def _usage(argument: TyperArgument) -> str:
    """An argument in a usage line: ``FILE`` if required, else ``[FILE]``; ``...`` after one that takes several."""
    name = argument.metavar or argument.name.upper()
    return (name if argument.required else f"[{name}]") + ("..." if argument.nargs != 1 else "")


def _debug(ctx, param, value: bool) -> None:
    if value:
        DEBUG["on"] = True


def built(function: Callable) -> TyperCommand:
    """The click command of a command module's function (``tagger/cli/NAME.py``: ``NAME``), which also takes the
    group's --debug after its name (``tagger tag --debug``: where a user adds it)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    app.command(cls=Command)(function)
    command = typer.main.get_command(app)
    for param in command.params:
        if isinstance(param, TyperArgument) and param.metavar is None:  # FILE in help and errors, not typer's file
            param.metavar = param.name.upper()
    debug = TyperOption(param_decls=["--debug"], is_flag=True, expose_value=False, callback=_debug, help=DEBUG_HELP)
    command.params.append(debug)
    return command


def model_paths(models: list[Path] | None) -> list[Path]:
    """The models of tag, evaluate and info: each -m resolved (a file, else a shipped model's name), several as
    an ensemble; with none, the default model, or the shipped one when there is none (said once on stderr)."""
    from tagger.nn import shipped

    if models:
        return [shipped.resolve(m) for m in models]
    path, note = shipped.default()
    if note:
        err(f"tagger: {note}")
    return [path]


# Options of more than one command.
ModelPath = Annotated[Path | None, option("--model", "-m", help="Model file.")]
ModelPaths = Annotated[
    list[Path] | None,
    option(
        "--model", "-m", metavar="<path>", help="Model file; repeat it to use an ensemble of models (scores averaged)."
    ),
]
TagColumn = Annotated[int, option(help="Column of the tag, counted from 0; negative counts from the end.")]
DataFormat = Annotated[
    str,
    option(
        help="Format of the data files: conll (columns), conllu (CoNLL-U, Universal Dependencies), json (doccano "
        "or Label Studio exports, tag --format jsonl output); auto: by extension (.conllu, .jsonl/.json, else conll).",
        choices=DATA_FORMATS,
    ),
]
ConlluField = Annotated[str, option(help="The CoNLL-U column that holds the tag.", choices=CONLLU_FIELDS)]
BatchSize = Annotated[int, option(help="Sentences per batch.", rules=[at_least(1)])]
Device = Annotated[str, option(help="Torch device: cpu, cuda or cuda:N.", rules=[device])]
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

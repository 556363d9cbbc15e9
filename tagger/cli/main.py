"""The `tagger` command group, its global options, and the commands, each built from its module on first use.

A worker process re-imports the main module, so this file stays light: torch loads only when a command runs.
"""

from __future__ import annotations

import importlib
import os
import sys
from functools import cache
from typing import Annotated

import typer

from tagger import __version__
from tagger.cli.exit_status import DEBUG, DEBUG_HELP, OneLineErrors, exit_status_help
from tagger.data.output import CheckedOutput

__all__ = ["DEBUG", "app"]

COMMANDS = ("train", "evaluate", "tag", "info", "export", "serve")


class Commands(OneLineErrors):
    """The ``tagger`` group: its commands are built when one is run or listed."""

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str):
        return command(name) if name in COMMANDS else None


@cache
def command(name: str):
    """The click command ``name`` (one of COMMANDS), built from its module, tagger/cli/NAME.py, on first use."""
    from tagger.cli.options import built

    return built(getattr(importlib.import_module(f"tagger.cli.{name}"), name))


app = typer.Typer(
    cls=Commands,
    help="A BiLSTM-CRF named-entity tagger: train, evaluate and tag CoNLL files and raw text.",
    epilog=f"{exit_status_help()}\n\nScores are percentages in tables and summaries, fractions 0-1 in JSON.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        CheckedOutput(sys.stdout).write(f"tagger {__version__}\n")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    DEBUG["on"] = bool(os.environ.get("TAGGER_DEBUG")) or debug


if __name__ == "__main__":
    app()

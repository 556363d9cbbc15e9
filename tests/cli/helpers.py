"""Helpers of the command-line tests: run the command line in-process (Typer's CliRunner)."""

from __future__ import annotations

from tests.helpers import run_cli


def run(args: list, input: str | bytes | None = None):
    return run_cli(*args, input=input)


# tag

SENTENCE = "John Smith lives in Paris ."


def flat(text: str) -> str:
    """Help text with its line breaks undone (the formatter wraps long lines)."""
    return " ".join(text.split())

"""The command-line room: the Typer app and one module per command, thin over the library.

A command parses its options, calls one library function that returns plain data, and prints it. No module
here imports torch when imported (an import contract checks it), so ``--help`` answers at once.
"""

from tagger.cli.main import app

__all__ = ["app"]

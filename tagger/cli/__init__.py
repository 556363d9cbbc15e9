"""The command-line room: the Typer app and one module per command, thin over the library.

What belongs here: the ``tagger`` group and its global options (``main``), the commands, the rules for
option values (``options``), exit statuses and one-line errors (``exit_status``), and what the commands
print (``render``, ``progress``, ``plot``, ``info``). A command parses its options, calls one library
function that returns plain data, and prints it. No module here imports torch when it is imported (an
import contract and a test check it): torch loads only when a command runs, so ``--help`` answers at once.
"""

from tagger.cli.main import app

__all__ = ["app"]

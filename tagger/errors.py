"""Errors that the command line turns into one-line messages.

Every problem a user can cause (bad files, bad options, bad model files) is a
``TaggerError``; anything else escaping the library is a bug (exit status 1).
A package this install left out is a ``MissingExtra``, whose line says
``install_command``.
"""

from __future__ import annotations

EX_IOERR = 74  # sysexits.h: an error while doing I/O on a file (here: the output)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun`` for a message, in the plural (``plural``, else ``noun + "s"``) unless the count is 1:
    ``1 column``, ``2 columns``, ``3 entries``."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


class TaggerError(Exception):
    """A problem with the user's input; shown as one line, exit status 2."""

    exit_code = 2

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return where + self.message


class DataError(TaggerError):
    """A data file that cannot be read as CoNLL columns or raw text."""


class ModelFileError(TaggerError):
    """A model file that is missing, damaged, foreign or unsafe."""


class MissingExtra(TaggerError):
    """A command or call that needs a package this install left out (torch for training, export and .pt models;
    seqeval for entity scores; the ``serve`` extra): one line, exit status 2, ``[PATH: ]NEEDS: COMMAND[NOTE]``,
    where COMMAND installs ``extra`` (``install_command``)."""

    def __init__(self, needs: str, extra: str, path: str | None = None, note: str = ""):
        self.needs, self.extra, self.note = needs, extra, note
        super().__init__(f"{needs}: {install_command(extra)}{note}", path)

    def __reduce__(self):  # the same error out of a worker process (the default would call it with the line alone)
        return type(self), (self.needs, self.extra, self.path, self.note)


class WorkerError(TaggerError):
    """A worker process of ``tagger tag --jobs N`` died or failed; the output stops before its window."""

    exit_code = 1


class OutputError(TaggerError):
    """The output could not be written (a full disk, an I/O error): the environment, not the input."""

    exit_code = EX_IOERR

    def __init__(self, error: OSError):
        reason = error.strerror or str(error)
        super().__init__(f"cannot write the output: {reason[:1].lower()}{reason[1:]}")


def install_command(extra: str) -> str:
    """The command that installs ``extra``, as the README gives it: from the checkout, with the versions tested
    together (``constraints.txt``; without it pip would pull a multi-GB CUDA torch). Every hint that names a
    package to install says this: the registry's project called ``tagger`` is another one."""
    return f'pip install -c constraints.txt -e ".[{extra}]"'

"""Output files a command is asked to write (``tag --output``, ``evaluate --predictions``): whole or not at all.

The text goes to a temporary file beside the target, renamed over it when the
command succeeds (``atomic_file``, which writes the model file too), so the target
holds the whole new output or, after an error or Ctrl-C, exactly what it held
before; no temporary file is left. A target
that is one of the command's input files is refused before any work (it would
be read while it is replaced). An existing target that is not a regular file
(``/dev/stdout``, a named pipe) is written to directly: it cannot be renamed over.
This module does not import torch (the parent of ``tag --jobs`` never does).
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TextIO

from tagger.errors import OutputError, TaggerError


class CheckedOutput:
    """A text stream whose failed writes raise ``OutputError``; a closed pipe stays ``BrokenPipeError``."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(e) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(e) from None

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: 0666 less the umask. The umask can only be
    read by setting it; the two calls sit next to each other."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def cannot_write(path: str | Path, error: OSError) -> OutputError:
    """The error of an output that cannot be written, naming it: ``F: cannot write the output: ...``."""
    found = OutputError(error)
    found.path = str(path)
    return found


def refuse_inputs(target: str | Path, inputs: Iterable[str | Path], option: str) -> None:
    """A ``TaggerError`` (status 2) where ``target`` is one of ``inputs`` (stdin, ``-``, is none of them)."""
    refuse_all_inputs([target], inputs, option)


def refuse_all_inputs(targets: Iterable[str | Path], inputs: Iterable[str | Path], option: str) -> None:
    """``refuse_inputs`` for each of ``targets`` (one output per input: each input is looked at once)."""
    files = {_identity(name) for name in inputs if str(name) != "-"}
    for target in targets:
        if _identity(target) in files:
            raise TaggerError(f"{option} names an input file; refusing to overwrite it (write to another file)", target)


def _identity(path: str | Path) -> tuple[int, int] | str:
    """What two names of one file share: its device and inode where it exists (a hard link too), else the path
    it would have (links resolved)."""
    try:
        found = os.stat(path)
    except OSError:  # it does not exist (yet)
        return os.path.realpath(path)
    return found.st_dev, found.st_ino


@contextmanager
def output_file(
    path: str | Path | None, inputs: Iterable[str | Path] = (), option: str = "--output"
) -> Iterator[TextIO]:
    """A UTF-8 text stream for ``path`` (stdout for None or ``-``) whose failed writes raise ``OutputError``;
    written atomically as the module says. ``inputs``: the files the command reads, which ``path`` may not
    be; ``option`` names the option in that error."""
    if path is None or str(path) == "-":
        yield CheckedOutput(sys.stdout)
        return
    target = Path(path)
    refuse_inputs(target, inputs, option)
    try:
        special = target.exists() and not stat.S_ISREG(target.stat().st_mode) and not target.is_dir()
    except OSError:
        special = False
    if special:
        try:
            out = open(target, "w", encoding="utf-8", newline="")
        except OSError as e:
            raise cannot_write(target, e) from None
        with out:
            yield CheckedOutput(out)
        return
    if target.is_dir():
        raise cannot_write(target, IsADirectoryError(21, "is a directory"))
    with _temporary(target) as out:
        yield out


@contextmanager
def _temporary(target: Path) -> Iterator[TextIO]:
    """A temporary file beside ``target``, renamed to it if the block ends without an error, else removed
    (``atomic_file``); a failed write or flush is an ``OutputError``, one naming the file where the file
    cannot be made (a missing or read-only folder: before any work) or synced."""
    with atomic_file(target, "w", failed=lambda error: cannot_write(target, error)) as out:
        checked = CheckedOutput(out)
        yield checked
        checked.flush()


@contextmanager
def atomic_file(
    target: str | Path, mode: str = "w", failed: Callable[[OSError], Exception] | None = None
) -> Iterator[IO]:
    """A new file beside ``target``, renamed over it if the block ends without an error, else removed: a
    reader (or a crash) sees the old file or the new one, never half of one, and no temporary file is left.
    ``mode`` "w": UTF-8 text, line ends as written; "wb": bytes. The file gets the permissions the umask
    gives a new file, and is on disk before the rename. ``failed``: what is raised where the file cannot be
    made, flushed or synced (None: the ``OSError`` itself)."""
    target = Path(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        if failed is None:
            raise
        raise failed(e) from None
    try:
        os.fchmod(fd, new_file_mode())  # mkstemp makes the file private (0600)
        with open(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as out:
            yield out
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as e:
                if failed is None:
                    raise
                raise failed(e) from None
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

"""Where the output of several inputs goes: one stream, in which ``--format jsonl`` records start with ``"file"``
(the input as given), or one file per input in a folder (``tagger tag a.txt b.txt -o out/``, Dask's ``tag_files``).

A file in a folder (``out/a.txt.jsonl``) is written as ``-o FILE`` is: whole, replaced once its input is tagged,
left as it was where tagging it fails, never over an input. What cannot be written so (stdin; two inputs of one
name; a name that is an input's) is refused before any work.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TextIO

from tagger.data.output import cannot_write, output_file, refuse_all_inputs
from tagger.data.reader import STDIN
from tagger.errors import DataError, TaggerError
from tagger.tagging.writer import json_text

__all__ = ["FILE_FIELD", "is_folder", "named_records", "output_paths", "outputs", "per_input"]

FILE_FIELD = "file"  # the key of the input's name in a jsonl record of several inputs

Opener = Callable[[str], AbstractContextManager[TextIO]]  # an input -> its output, open while it is tagged


def output_paths(
    paths: Iterable[str | Path], out_dir: str | Path, output_format: str = "conll", option: str = "out_dir"
) -> list[Path]:
    """Where each input's output goes: ``out_dir/<input name>.<format>``; an error if two inputs share a name, or
    an output would be one of the inputs (``option`` names the folder's option in that error)."""
    paths, out_dir = list(paths), Path(out_dir)
    outputs, seen = [], {}
    for path in paths:
        target = out_dir / f"{Path(path).name}.{output_format}"
        if target in seen:
            raise DataError(f"two inputs would write {target.name}: {seen[target]} and {path}", str(out_dir))
        seen[target] = path
        outputs.append(target)
    refuse_all_inputs(outputs, paths, option)
    return outputs


def is_folder(path: str | os.PathLike) -> bool:
    """Whether an output path names a folder: one that exists, or any path written with a ``/`` at its end (a
    folder still to be made; ``Path`` drops that ``/``, so this reads the path as it was given)."""
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or os.path.isdir(text)


def per_input(folder: str | os.PathLike, inputs: Sequence[str], output_format: str, option: str = "--output") -> Opener:
    """An opener for ``files.tag_files``: each input's own file in ``folder`` (made where missing), as the module
    says; refused before any work where that cannot be done."""
    if any(str(name) == "-" for name in inputs):
        raise TaggerError(
            f"{option} to a folder writes a file named after each input, and stdin has no name: give files, or "
            f"{option} FILE",
            os.fspath(folder),
        )
    targets = dict(zip(map(str, inputs), output_paths(inputs, folder, output_format, option)))
    _make_folder(Path(folder))
    return lambda name: output_file(targets[str(name)], inputs, option)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file of that name
        raise cannot_write(folder, NotADirectoryError(20, "not a folder")) from None
    except OSError as error:
        raise cannot_write(folder, error) from None


def named_records(out: TextIO, inputs: Sequence[str], output_format: str) -> TextIO | Opener:
    """``out`` for ``files.tag_files``: where the jsonl records of several inputs share it, an opener that names
    each input's records (``NamedRecords``); else ``out`` itself."""
    if output_format != "jsonl" or len(inputs) < 2:
        return out
    return lambda name: NamedRecords(out, STDIN if str(name) == "-" else str(name))


class NamedRecords:
    """A text stream of jsonl records that writes each with ``"file": name`` first, open while one input is tagged.
    Records come in whole lines (``writer.write``'s sentences, the --jobs windows); a piece of a line waits for its
    end, or for the input's."""

    def __init__(self, out: TextIO, name: str):
        self.out, self.pending = out, ""
        try:
            name.encode("utf-8")
            field = json_text({FILE_FIELD: name})
        except UnicodeEncodeError:  # a file name of bytes that are not UTF-8 (surrogate escapes): \u escapes
            field = json.dumps({FILE_FIELD: name})
        self.head = field[:-1] + ", "

    def __enter__(self) -> NamedRecords:
        return self

    def __exit__(self, *error) -> None:
        if self.pending:
            self.out.write(self.pending)
            self.pending = ""

    def write(self, text: str) -> int:
        lines = (self.pending + text).split("\n")  # a record holds no line end: JSON writes it \n
        self.pending = lines.pop()
        if lines:
            self.out.write("".join(self.head + line.removeprefix("{") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def __getattr__(self, name: str):
        return getattr(self.out, name)


@contextmanager
def outputs(to: str | os.PathLike | None, inputs: Sequence[str], output_format: str) -> Iterator[TextIO | Opener]:
    """What ``tagger tag`` writes its inputs to, for ``files.tag_files``: stdout (``to`` None or ``-``), one file
    (``data.output.output_file``), or a folder (``is_folder``: ``per_input``); jsonl records named by their input
    where several share one stream (``named_records``)."""
    if to is not None and os.fspath(to) != "-" and is_folder(to):
        yield per_input(to, inputs, output_format)
        return
    with output_file(to, inputs) as out:
        yield named_records(out, inputs, output_format)

"""A ``tagger tag --jobs N`` worker process: its own model, and all of a window's per-token work.

Tokenizing, lookups and arrays, the network, decoding and the output text, through the same functions as
single-process tagging (``inputs.read_windows``, ``tagging.tag_stream``, ``writer.write``), so the output is
the same byte for byte. The network runs on one thread (the workers are the parallelism) unless ``--threads`` gives
more; an exported model's workers (``.onnx``, on onnxruntime) never import torch.

The workers come from a fork server that imported ``_preload``'s modules (``PRELOAD`` or ``PRELOAD_EXPORTED``,
then ``tagger.tagging.preload``) and did nothing else, so they share those pages (``tagging.jobs``). Nothing here
imports torch at import time: the parent imports this module and never imports torch.
"""

from __future__ import annotations

import io
import os

from tagger.errors import TaggerError
from tagger.tagging.job_input import BOM

# What the fork server imports before ``tagger.tagging.preload`` (what every worker needs): for a torch model and
# for an exported one. An exported model's workers never import torch.
PRELOAD = ("torch", "tagger.nn.model_file", "tagger.nn.network", "tagger.tagging.predictor")
PRELOAD_EXPORTED = ("onnxruntime", "tagger.runtime.model", "tagger.tagging.predictor")

_tag = None  # in a worker: the function it tags a window with (``_tagger``), or the error loading the model raised


class Failed(Exception):
    """An error of a worker that is not the tagger's own, as one line, with the worker's process id."""

    def __init__(self, pid: int, line: str):
        self.pid, self.line = pid, line
        super().__init__(pid, line)


def start(setup: tuple) -> None:
    """A worker's start (the pool's initializer): load the model; an error doing so is raised by the first
    window's task (an initializer's error would only break the pool)."""
    global _tag
    try:
        _tag = _tagger(setup)
    except BaseException as err:  # noqa: B036 - given to the parent with the first result
        _tag = err


def tag_window(data: bytes, kind: str, position: int, first: bool) -> tuple[int, str]:
    """A task: one window of input lines as bytes -> (sentences, output text). Errors go to the parent as the
    tagger's own, or as one line (``Failed``)."""
    try:
        if isinstance(_tag, BaseException):
            raise _tag
        return _tag(data, kind, position, first)
    except TaggerError:
        raise
    except BaseException as err:  # noqa: B036 - anything else is one line in the parent
        raise Failed(os.getpid(), f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None


def _tagger(setup: tuple):
    """The function a worker calls on each window: (bytes, kind, position, first) -> (sentences, text)."""
    from tagger.data.inputs import read_windows
    from tagger.tagging.stream import tag_stream
    from tagger.tagging.writer import write

    model_path, batch_size, device, output_format, threads = setup
    predictor = _predictor(model_path, batch_size, device, threads)

    def tag(data: bytes, kind: str, position: int, first: bool) -> tuple[int, str]:
        if not first and data.startswith(BOM.encode("utf-8")):
            # read_windows drops a byte-order mark opening its input; here it is text in mid-input
            data, position = b"\n" + data, position - 1
        out = io.StringIO()
        windows = read_windows(io.BytesIO(data), "<window>", kind, predictor.window_maker, 0, 1 << 30, warn=False)
        count = write(_shifted(tag_stream(predictor, windows), position), out, output_format)
        return count, out.getvalue()

    return tag


def _preload(model_path: str) -> list[str]:
    """The modules a fork server started for ``model_path``'s workers imports: torch's or onnxruntime's."""
    from tagger.tagging.model import is_exported

    return [*(PRELOAD_EXPORTED if is_exported(model_path) else PRELOAD), "tagger.tagging.preload"]


def _predictor(model_path: str, batch_size: int, device: str, threads: int):
    """A worker's predictor, its network on ``threads`` threads (0: one; an exported model's worker never imports
    torch)."""
    from tagger.tagging.model import open_model
    from tagger.tagging.predictor import Predictor

    return Predictor(open_model(model_path, device, threads or 1), batch_size)


def _shifted(sentences, position: int):
    """Sentences with their text offsets counted from the start of the whole input, not of the window."""
    for sentence in sentences:
        sentence.text_start += position
        yield sentence

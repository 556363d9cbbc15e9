"""One way to open any model: the only place that knows the kinds of model file, the threads, the devices and the
shipped models' names.

``open_model`` returns a ``Model`` over onnxruntime for an exported ``.onnx`` file (no torch imported), torch for
the others. This module imports neither: the --jobs parent checks its models here and never loads them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tagger.data.arrays import WindowArrays
from tagger.data.vocabulary import Vocabulary
from tagger.errors import ModelFileError
from tagger.nn.shipped import resolve_all
from tagger.runtime.crf import Transitions, constrain

__all__ = [
    "Model",
    "Network",
    "check_device",
    "from_torch",
    "is_exported",
    "model_files",
    "open_checkpoint",
    "open_model",
    "read_model_file",
    "thread_count",
]

Models = str | os.PathLike | Sequence[str | os.PathLike]
EXPORTED = ".onnx"  # the suffix of an exported model (``tagger export``); every other file is a torch model file
DEFAULT_THREADS = 1  # the network's matrices are too small for more threads to pay on small CPU machines


class Network(Protocol):
    """What a backend offers: the model's parts, and its network run on a window's arrays."""

    vocab: Vocabulary
    data_scheme: str  # the scheme tags are written back in (the training data's)
    metadata: dict
    device: str
    window: int  # lines (or sentences) per window read for it

    @property
    def config(self) -> dict: ...  # the model's ``ModelConfig`` as a dict
    @property
    def chars(self) -> bool: ...  # its batches carry characters
    @property
    def context(self) -> bool: ...  # it reads document context
    @property
    def crf(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...  # start, pairs, end scores, unconstrained
    @property
    def allowed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None: ...  # the scheme's constraints

    def forms(self, arrays: WindowArrays) -> Any:
        """What the window's batches share: its form table, laid out for ``run``."""

    def run(self, feed: dict[str, np.ndarray], forms: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """One batch's tag scores (batch, time, tags), and with document context its tokens' mentions' scores."""


class Model:
    """A loaded model of any kind: what tagging reads of it, and its ``network``."""

    def __init__(self, network: Network):
        self.network = network
        self.vocab, self.data_scheme, self.metadata = network.vocab, network.data_scheme, network.metadata
        self.chars, self.context, self.window = network.chars, network.context, network.window

    @property
    def config(self) -> dict:
        return self.network.config

    @property
    def device(self) -> str:
        return self.network.device

    @property
    def scheme(self) -> str:
        """The scheme the network tags in (BIOES for an entity model trained as usual)."""
        return self.config["scheme"]

    @property
    def constrained(self) -> bool:
        """Whether decoding keeps to the sequences valid in ``scheme``."""
        return self.config.get("constrained", True)

    @property
    def temperature(self) -> float:
        """The temperature of the model's probabilities (fitted on dev when it was trained)."""
        return self.config.get("temperature", 1.0)

    def transitions(self, exact: bool = False) -> Transitions:
        """The CRF's scores as decoding uses them: a forbidden start, pair or end given ``NEG`` more, or -inf with
        ``exact`` (for probabilities), when decoding is constrained (``runtime.crf.constrain``)."""
        scores, allowed = Transitions(*self.network.crf), self.network.allowed
        if not self.constrained or allowed is None:
            return scores
        return constrain(scores, Transitions(*allowed), exact)

    def forms(self, arrays: WindowArrays) -> Any:
        return self.network.forms(arrays)

    def run(self, feed: dict[str, np.ndarray], forms: Any) -> tuple[np.ndarray, np.ndarray | None]:
        return self.network.run(feed, forms)


def open_model(models: Models, device: str = "cpu", threads: int | None = 0) -> Model:
    """The model of ``models`` (a file, a shipped model's name, or a list of .pt files) on ``device`` with
    ``threads`` (``thread_count``; None: torch's left alone). ``ModelFileError``, ``MissingExtra`` or ValueError."""
    paths = model_files(models)
    exported = isinstance(paths, Path) and is_exported(paths)
    check_device(device, exported)
    if exported:
        from tagger.runtime.model import load_onnx

        return Model(load_onnx(paths, threads=thread_count(threads or 0)))
    from tagger.nn.network import load_network

    _torch_threads(threads)
    return Model(load_network(paths, device=str(device)))


def open_checkpoint(checkpoint: dict, device: str = "cpu", threads: int | None = 0) -> Model:
    """The model of the dict a model file holds, checked as a model file is; otherwise as ``open_model``."""
    from tagger.nn.checkpoint import check_checkpoint
    from tagger.nn.model_file import model_from_checkpoint

    check_device(device)
    _torch_threads(threads)
    loaded = model_from_checkpoint(check_checkpoint(checkpoint, "<checkpoint>"), str(device), "<checkpoint>")
    return from_torch(loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)


def _torch_threads(threads: int | None) -> None:
    """Torch's threads for the process (``thread_count``); None leaves them as they are."""
    from tagger.nn.device import configure_torch

    if threads is not None:
        configure_torch(thread_count(threads))


def from_torch(model, vocab: Vocabulary, data_scheme: str, metadata: dict | None = None) -> Model:
    """A torch model in memory (a ``BiLSTMCRF`` or an ``Ensemble``, read as it is at each call: training scores its
    dev set with the weights it is training) as a ``Model``."""
    from tagger.nn.network import TorchNetwork

    return Model(TorchNetwork(model, vocab, data_scheme, metadata or {}))


def is_exported(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an exported model (by its suffix: a torch model file is never one)."""
    return str(path).lower().endswith(EXPORTED)


def model_files(models: Models) -> Path | list[Path]:
    """The file(s) ``models`` names, checked without loading them: an exported model alone, else torch files."""
    paths = resolve_all(models)
    found = [paths] if isinstance(paths, Path) else list(paths)
    exported = [p for p in found if is_exported(p)]
    if exported and len(found) > 1:
        raise ModelFileError("an exported model tags alone, not in an ensemble", str(exported[0]))
    if exported:
        return exported[0]
    from tagger.nn.torch_needed import require_torch_for_models

    require_torch_for_models(paths)
    return paths


def thread_count(threads: int) -> int:
    """The network's threads: ``threads``, or for 0 ``$TAGGER_THREADS`` where set, else ``DEFAULT_THREADS``
    (idle OpenMP threads spin against other processes); at most the machine's cores."""
    if threads <= 0:
        env = os.environ.get("TAGGER_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else DEFAULT_THREADS
    return max(1, min(threads, os.cpu_count() or 1))


def check_device(device: str, exported: bool = False, name: str = "device") -> str:
    """``device`` checked for the model's kind (an exported model runs on the CPU); a ValueError naming ``name``."""
    device = str(device)  # a torch.device too
    if exported:
        if device != "cpu":
            raise ValueError(f"an exported model (.onnx) runs on the CPU; {name} {device!r} needs the .pt model")
        return device
    if device == "cpu":  # always usable; the check of any other device loads torch
        return device
    from tagger.nn.device import check_device as check_torch_device

    return check_torch_device(device, name)


def read_model_file(path: str | os.PathLike) -> dict:
    """The checkpoint dict of the model file at ``path`` with ``parameters`` (its weights' count), without building
    the network (an exported model's metadata in that shape)."""
    if is_exported(path):
        from tagger.runtime.model import exported_checkpoint

        return exported_checkpoint(path)
    from tagger.nn.torch_needed import require_torch_for_models

    require_torch_for_models(path)
    from tagger.nn.checkpoint import weight_counts
    from tagger.nn.model_file import read_checkpoint

    checkpoint = read_checkpoint(path)
    return {**checkpoint, "parameters": weight_counts(checkpoint["state_dict"])}

"""Whether torch is here, and the one line that says what to install where it is not.

The tagging-only install runs .onnx models without torch, which comes with the ``train`` extra. Whatever needs torch
asks here first, so a missing torch is one line naming the extra, never a traceback. Imports no torch itself.
"""

from __future__ import annotations

import importlib.util
import os

from tagger.errors import MissingExtra


def require_torch(what: str, path: str | os.PathLike | None = None, hint: str = "") -> None:
    """Nothing where torch is installed, else raise ``MissingExtra``: ``WHAT needs torch: COMMAND HINT``, COMMAND
    installing the train extra (after ``path:`` when a file is the reason, e.g. a .pt model). Torch is looked up,
    not imported: the --jobs parent checks here and leaves the import to its workers."""
    if not has_torch():
        raise MissingExtra(f"{what} needs torch", "train", None if path is None else str(path), hint)


def has_torch() -> bool:
    """Whether ``import torch`` would find it, and pytorch-crf (``torchcrf``, the CRF layer), which the train extra
    brings with it: torch installed by hand without it would fail at the first .pt model (a ``None`` in
    ``sys.modules`` blocks either, as the tests do)."""
    return all(_found(name) for name in ("torch", "torchcrf"))


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses it; a module without a spec
        return False


def require_torch_for_models(paths: str | os.PathLike | list | tuple) -> None:
    """``require_torch`` for model files that are not exported (.pt): the line names the first and says that an
    exported model (.onnx) runs without torch."""
    from tagger.nn.shipped import DEFAULT, path_of

    first = paths[0] if isinstance(paths, (list, tuple)) and paths else paths
    shipped = f", such as the shipped one: -m {DEFAULT}" if path_of(DEFAULT) is not None else ""
    require_torch("a .pt model", first, f" (or use an exported .onnx model, which needs none{shipped})")

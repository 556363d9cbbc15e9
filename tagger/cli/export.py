"""``tagger export``: a model file as one ONNX file that tags without torch (``tagger.nn.export`` writes it).

Several models export as one ensemble graph, checked as ``load_ensemble`` checks them. Export needs torch and
``onnx`` (the ``train`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tagger.cli.exit_status import err
from tagger.cli.options import model_paths, option
from tagger.errors import MissingExtra, ModelFileError
from tagger.nn.torch_needed import require_torch

ModelArguments = Annotated[
    list[Path] | None,
    typer.Argument(metavar="MODEL", help="Model files; several: one ensemble (scores averaged).", show_default=False),
]
Output = Annotated[Path, option("--output", "-o", metavar="<path>", help="The ONNX file to write (name it .onnx).")]


def export(model: ModelArguments = None, output: Output = Path("model.onnx")) -> None:
    """Write a model as one ONNX file (graph, vocabulary, tags, options and CRF scores) that `tagger tag -m
    FILE.onnx` runs with onnxruntime, without torch, with the model's tags (document context included). Several
    models are written as one ensemble: their networks in one graph, their tag and CRF scores averaged."""
    from tagger.tagging.model import is_exported

    if not is_exported(output):
        raise ModelFileError("the exported model's name must end in .onnx (that is how tag knows it)", str(output))
    paths = model_paths(model or None)
    for path in paths:
        if is_exported(path) and path.exists():  # before torch is asked for: nothing to export, torch or not
            raise ModelFileError(_already_exported(path), str(path))
    require_torch("export")
    try:
        import onnx  # noqa: F401  (export writes the file with it)
    except ImportError:
        raise MissingExtra("export needs the onnx package", "train") from None
    from tagger.nn.ensemble import load_models
    from tagger.nn.export import export_model
    from tagger.nn.model_file import check_writable

    check_writable(output)
    written = export_model(load_models(paths), output, " + ".join(map(str, paths)), _about(paths))
    err(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")


def _already_exported(path: Path) -> str:
    """The line for an exported model given to export (``en-news`` resolves to one): what to do with it instead."""
    source = path.with_suffix(".pt")
    again = f"; to export it again, give its .pt: {source}" if source.is_file() else ""
    return f"is already an exported model (.onnx): tag, evaluate, info and serve run it as it is{again}"


def _about(paths: list[Path]) -> dict | None:
    """A single shipped model's description (its checkpoint's ``about``), for the exported file's metadata."""
    from tagger.nn.checkpoint import read_checkpoint

    return read_checkpoint(paths[0], mmap=True).get("about") if len(paths) == 1 else None

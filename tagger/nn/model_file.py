"""The model file: a trained network, its vocabulary and how it was made, in one file.

``save_model`` writes a model as a checkpoint (``checkpoint.py`` documents the layout) and ``load_model`` reads one
back, ready to tag, on any device.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from tagger.data.vocabulary import Vocabulary
from tagger.errors import ModelFileError
from tagger.nn.checkpoint import FORMAT, FORMAT_VERSION, make_checkpoint, read_checkpoint, write_atomically
from tagger.nn.config import ModelConfig
from tagger.nn.model import BiLSTMCRF

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LoadedModel",
    "check_replaceable",
    "check_writable",
    "load_model",
    "read_checkpoint",
    "save_model",
]


@dataclass
class LoadedModel:
    model: BiLSTMCRF
    vocab: Vocabulary
    config: ModelConfig
    data_scheme: str  # the scheme tags are written back in
    metadata: dict
    train_state: dict | None = None  # a resume file's (see checkpoint.TRAIN_STATE)


def check_writable(path: str | Path) -> Path:
    """Fail early, before hours of training, if ``path`` cannot be written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ModelFileError("is a directory; give a file path for the model", str(path))
    if folder.exists() and not folder.is_dir():
        raise ModelFileError(f"cannot create the model here: {folder} is a file, not a folder", str(path))
    if not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ModelFileError(f"cannot create the folder for the model: {err.strerror}", str(path)) from None
    if not os.access(folder, os.W_OK):
        raise ModelFileError("the folder cannot be written", str(path))
    return path


def check_replaceable(path: str | Path) -> dict | None:
    """The metadata of the tagger model at ``path``, None where nothing is there; a one-line error, before any
    work, where something else is there (a data file given as ``-m`` by mistake): training never writes over it."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():  # a named pipe or a device: reading it to find out could block or never end
        raise ModelFileError("train will not write a model over this: it is not a regular file", str(path))
    try:
        return read_checkpoint(path, mmap=True).get("metadata") or {}
    except ModelFileError as err:
        raise ModelFileError(
            f"train will not write a model over this file: {err.message}; give --model a new path, "
            f"or move the file away",
            str(path),
        ) from None


def save_model(
    path: str | Path,
    model: BiLSTMCRF,
    vocab: Vocabulary,
    data_scheme: str,
    metadata: dict,
    train_state: dict | None = None,
) -> Path:
    """Write the model's checkpoint atomically (with ``train_state``: a resume file) and return its path."""
    path = Path(path)
    checkpoint = make_checkpoint(
        model.config.to_dict(), vocab.to_dict(), data_scheme, metadata, model.state_dict(), train_state
    )
    write_atomically(path, checkpoint)
    return path


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a model file for tagging or evaluation (in eval mode, on ``device``)."""
    return model_from_checkpoint(read_checkpoint(path, mmap=True), device, str(path), keep=True)


def model_from_checkpoint(
    checkpoint: dict, device: str | torch.device = "cpu", name: str = "<checkpoint>", keep: bool = False
) -> LoadedModel:
    """The model of a checked checkpoint dict (``checkpoint.read_checkpoint`` or ``check_checkpoint``), in eval
    mode on ``device``; ``name`` says where it came from in errors. ``keep``: the model's weights are the
    checkpoint's tensors, not copies (a file's mapped pages stay shared), where their dtypes are the model's."""
    try:
        config = ModelConfig.from_dict(checkpoint["config"])
        vocab = Vocabulary.from_dict(checkpoint["vocab"])
        model = BiLSTMCRF(config, vocab.tags)
        state = checkpoint["state_dict"]
        keep = keep and all(_kept(key, state.get(key), value) for key, value in model.state_dict().items())
        model.load_state_dict(state, assign=keep)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        detail = " ".join(lines)[:200]  # state_dict errors put the missing keys on later lines
        raise ModelFileError(f"damaged model file: {detail}", name) from None
    model.to(device)
    model.eval()
    return LoadedModel(
        model=model,
        vocab=vocab,
        config=config,
        data_scheme=checkpoint["data_scheme"],
        metadata=checkpoint.get("metadata", {}),
        train_state=checkpoint.get("train_state"),
    )


HALF_TABLES = ("word_embed.weight", "extra_vectors")  # the embedding tables: most of a model file's bytes


def _kept(key: str, tensor: object, own: torch.Tensor) -> bool:
    """Whether the file's tensor can be the model's own as it is: of the model's dtype, or one of the 16-bit
    embedding tables of ``half_tables`` (the network widens the rows it looks up, ``BiLSTMCRF.embed_words``)."""
    dtype = getattr(tensor, "dtype", None)
    return dtype == own.dtype or (key in HALF_TABLES and dtype == torch.float16)


def half_tables(checkpoint: dict, keys: tuple[str, ...] = HALF_TABLES) -> dict:
    """A copy of a checkpoint whose tables ``keys`` are 16-bit floats, about half the file. Loaded from a file they
    stay 16-bit, the file's mapped pages (half the memory, shared by ``tag --jobs`` workers), and the network widens
    each row it looks up; otherwise they are copied into the 32-bit tables. Either way the model tags the same but
    for rounding (``bench/ready_model.py`` checks the dev F1)."""
    state = {k: v.half() if k in keys and v.is_floating_point() else v for k, v in checkpoint["state_dict"].items()}
    return {**checkpoint, "state_dict": state}

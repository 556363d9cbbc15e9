"""The model file: one file with config, vocabulary, tag scheme, weights and metadata.

It is a ``torch.save`` of a dict of plain data (strings, numbers, lists,
dicts, tensors), loaded with ``weights_only=True``: loading never runs code
from the file, and it loads on the CPU whatever device trained it. Files are
written atomically (a temporary file beside the target, then a rename).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import ModelFileError
from .model import BiLSTMCRF, ModelConfig
from .vocabulary import Vocabulary

FORMAT = "tagger-model"
# 2: the vocabulary's words as one string and its counts as bytes (format 1 held lists; still read).
# A tagger that reads only format 1 refuses a format 2 file instead of misreading its vocabulary.
FORMAT_VERSION = 2


def default_model_path() -> Path:
    """``$TAGGER_MODEL``, else ``$XDG_DATA_HOME/tagger/model.pt`` (``~/.local/share/tagger/model.pt``)."""
    env = os.environ.get("TAGGER_MODEL")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "tagger" / "model.pt"


@dataclass
class LoadedModel:
    model: BiLSTMCRF
    vocab: Vocabulary
    config: ModelConfig
    data_scheme: str  # the scheme tags are written back in
    metadata: dict
    train_state: dict | None = None  # optimizer state etc. of a checkpoint, when saved


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


def save_model(
    path: str | Path,
    model: BiLSTMCRF,
    vocab: Vocabulary,
    data_scheme: str,
    metadata: dict,
    extra: dict | None = None,
) -> Path:
    """Write the model file atomically and return its path."""
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    checkpoint = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "vocab": vocab.to_dict(),
        "data_scheme": data_scheme,
        "metadata": metadata,
        "state_dict": state,
    }
    if extra:
        checkpoint.update(extra)
    write_atomically(path, checkpoint)
    return path


def write_atomically(path: Path, obj: dict) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict of a model file, checked; never runs code from the file."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ModelFileError("no model file here (train one with `tagger train DIR`, or pass --model)", name)
    if path.is_dir():
        raise ModelFileError("is a directory, not a model file", name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about the pickle protocol of foreign files
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "global" in str(err).lower():  # it names a function or class: loading it could run code
            raise ModelFileError(
                "refused to load: the file holds objects other than plain data (it may run code); not a tagger model",
                name,
            ) from None
        raise ModelFileError("not a readable model file (damaged or of another program)", name) from None
    except Exception as err:  # on arbitrary bytes torch.load raises almost anything (IndexError, KeyError ...)
        detail = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise ModelFileError(f"not a readable model file (damaged or of another program: {detail})", name) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ModelFileError("not a tagger model file (a PyTorch file of another program)", name)
    version = checkpoint.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"written by a newer tagger (model format {version}; this tagger reads format {FORMAT_VERSION} and older)",
            name,
        )
    missing = [k for k in ("config", "vocab", "state_dict", "data_scheme") if k not in checkpoint]
    if missing:
        raise ModelFileError(f"damaged model file: missing {', '.join(missing)}", name)
    return checkpoint


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a model file for tagging or evaluation (in eval mode, on ``device``)."""
    checkpoint = read_checkpoint(path)
    try:
        config = ModelConfig.from_dict(checkpoint["config"])
        vocab = Vocabulary.from_dict(checkpoint["vocab"])
        model = BiLSTMCRF(config, vocab.tags)
        model.load_state_dict(checkpoint["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        detail = " ".join(lines)[:200]  # state_dict errors put the missing keys on later lines
        raise ModelFileError(f"damaged model file: {detail}", str(path)) from None
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

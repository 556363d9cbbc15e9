"""The checkpoint: one layout for the model file and for the resume file of an interrupted training run.

A ``torch.save`` of a dict of plain data, read with ``weights_only=True`` (never runs code from the file; tensors
load on the CPU). Its keys:

- ``format``: ``"tagger-model"``; ``format_version``: ``FORMAT_VERSION`` (older ones load, a newer one is refused).
- ``config``: ``ModelConfig.to_dict()``; ``vocab``: ``Vocabulary.to_dict()``.
- ``data_scheme``: the tag scheme of the training data; tags are written back in it.
- ``metadata``: how the model was made (``tagger_version``, ``created``, the data files, ``train_config``, and once
  known ``best_epoch``, ``dev_scores``, ``test_scores`` and ``history``, one row per epoch).
- ``state_dict``: CPU weights: the best epoch's (or their moving average) in the model file, the last finished
  epoch's in the resume file. A shipped model's embedding tables may be 16-bit (``model_file.half_tables``).
- ``about``: optional, in a shipped model (``bench/ready_model.py``): ``name``, ``description``, ``data``,
  ``licence``, ``vectors``, ``scores`` (F1, 0-1), ``weak_at``, ``rebuild``; ``tagger info`` shows it.
- ``train_state``: in the resume file (``MODEL.resume``) only (``TRAIN_STATE`` lists its keys), what ``--resume``
  needs to go on as if the run had never stopped.

Where a model was at the path before a run began, the run writes its best model so far to ``MODEL.partial``
(``partial_path``) and replaces the model only when it ends. Files are written atomically with the umask's
permissions.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import torch

from tagger.data.output import atomic_file
from tagger.errors import ModelFileError
from tagger.nn.shipped import missing_hint

FORMAT = "tagger-model"
# 2: the vocabulary's words as one string and its counts as bytes (format 1 held lists; still read).
# A tagger that reads only format 1 refuses a format 2 file instead of misreading its vocabulary.
FORMAT_VERSION = 2

TRAIN_STATE = {
    "progress": "epoch (last finished), best_f1, best_epoch, bad_epochs, history (one row per epoch)",
    "optimizer": "Optimizers.state_dict(): the state of each optimizer (Adam's moments, SGD's momentum)",
    "shuffler": "the state of the generator that shuffles the batches",
    "rng": "torch's global random state (dropout, word dropout)",
    "best_state_dict": "the best epoch's weights so far (the model file's), None before the first epoch",
    "average": "the moving average's state_dict when --average is on, else None",
    "keeps_previous": "True when a model was at the path as the run began: the best so far goes to MODEL.partial",
}
REQUIRED = ("config", "vocab", "state_dict", "data_scheme")


def resume_path(model_path: str | Path) -> Path:
    """Where the resume file of a training run that writes ``model_path`` lives."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + ".resume")


def partial_path(model_path: str | Path) -> Path:
    """Where a run keeps its best model so far while an earlier model at ``model_path`` stays: ``MODEL.partial``,
    which a glob such as ``models/*.pt`` does not take for a finished model."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + ".partial")


def make_checkpoint(
    config: dict,
    vocab: dict,
    data_scheme: str,
    metadata: dict,
    state_dict: dict[str, torch.Tensor],
    train_state: dict | None = None,
) -> dict:
    """The checkpoint dict; ``train_state`` makes it a resume file."""
    checkpoint = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config,
        "vocab": vocab,
        "data_scheme": data_scheme,
        "metadata": metadata,
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
    }
    if train_state is not None:
        checkpoint["train_state"] = train_state
    return checkpoint


def write_atomically(path: str | Path, obj: dict) -> None:
    """``torch.save`` to ``path`` atomically (``output.atomic_file``)."""
    with atomic_file(path, "wb") as f:
        torch.save(obj, f)


def read_checkpoint(path: str | Path, mmap: bool = False) -> dict:
    """The checkpoint dict of a model or resume file, checked; never runs code from the file.

    ``mmap``: the tensors map the file's pages copy-on-write, so the workers of ``tag --jobs`` share one copy."""
    path = Path(path)
    name = str(path)
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about the pickle protocol of foreign files
            try:
                checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
            except RuntimeError:
                if not mmap:
                    raise
                checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # not a zip file: no mmap
    except pickle.UnpicklingError as err:
        if "global" in str(err).lower():  # it names a function or class: loading it could run code
            raise ModelFileError(
                "refused to load: the file holds objects other than plain data (it may run code); not a tagger model",
                name,
            ) from None
        raise ModelFileError("not a readable model file (damaged, or of another program)", name) from None
    except Exception:  # on arbitrary bytes torch.load raises almost anything (IndexError, KeyError ...)
        raise ModelFileError("not a readable model file (damaged or cut short, or of another program)", name) from None
    return check_checkpoint(checkpoint, name)


def check_checkpoint(checkpoint: object, name: str) -> dict:
    """``checkpoint`` checked as a model file's is (``name`` says where it came from in errors); a copy in
    the current layout."""
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ModelFileError("not a tagger model file (a PyTorch file of another program)", name)
    version = checkpoint.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"written by a newer tagger (model format {version}; this tagger reads format {FORMAT_VERSION} and older)",
            name,
        )
    missing = [k for k in REQUIRED if k not in checkpoint]
    if missing:
        raise ModelFileError(f"damaged model file: missing {', '.join(missing)}", name)
    return _upgrade(dict(checkpoint))


def _check_file(path: Path) -> None:
    """One line for a path that is not a file a checkpoint could be in, before torch reads it."""
    name = str(path)
    if not path.exists():
        hint = missing_hint()  # the shipped models a -m NAME can choose
        # Not "or pass --model": the path may well be the one -m gave.
        raise ModelFileError(f"no model file here (train one with `tagger train DIR`){hint}", name)
    if path.is_dir():
        raise ModelFileError("is a directory, not a model file", name)
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError as err:
        raise ModelFileError(f"cannot read the model file: {err.strerror}", name) from None
    if not head:
        raise ModelFileError("not a readable model file: the file is empty", name)
    # torch.save writes a zip archive (PK...) or, in its legacy format, a binary pickle (0x80 ...)
    if not head.startswith((b"PK", b"\x80")) and _is_text(head):
        raise ModelFileError(
            "not a readable model file: this is a text file (model files are written by `tagger train`)", name
        )


def _is_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start >= len(head) - 3  # a character cut at the end of the block read
    return True


def _upgrade(checkpoint: dict) -> dict:
    """Resume files written before ``train_state`` held its keys at the top level."""
    if "train_state" not in checkpoint and "progress" in checkpoint:
        state = {k: checkpoint.pop(k) for k in (*TRAIN_STATE, "best_metadata") if k in checkpoint}
        checkpoint["metadata"] = {**checkpoint.get("metadata", {}), **state.pop("best_metadata", {})}
        checkpoint["train_state"] = state
    return checkpoint


FROZEN = ("extra_vectors",)  # weights that are not trained: the pretrained vectors of words not in the training data


def weight_counts(state_dict: dict) -> dict:
    """A model's weights: how many are trained, how many frozen (``FROZEN``), and the total."""
    trained = frozen = 0
    for name, tensor in state_dict.items():
        if name.split(".")[-1] in FROZEN:
            frozen += tensor.numel()
        else:
            trained += tensor.numel()
    return {"trained": trained, "frozen": frozen, "total": trained + frozen}

"""The models shipped in the package (``tagger/models/NAME.onnx`` or ``NAME.pt``), and how a model argument finds
its file.

Every place that takes a model resolves it here and hands the resolved path on: a file that exists wins; else a
shipped model's name (e.g. ``en-news``) selects its ``.onnx`` (runs without torch) where there is one, else its
``.pt``; else the path is returned as given, and loading it fails with one line naming the shipped models.

With no model given: ``$TAGGER_MODEL`` (resolved as above); else the default path
(``$XDG_DATA_HOME/tagger/model.pt``) when it exists; else the shipped ``DEFAULT``, which the command line says on
stderr. ``train`` never writes into the models folder. No torch here: the command line resolves before loading it.
"""

from __future__ import annotations

import os
from pathlib import Path

from tagger.errors import ModelFileError
from tagger.nn.config import default_model_path

FOLDER = Path(__file__).resolve().parents[1] / "models"  # tagger/models: package data
DEFAULT = "en-news"  # the model used when there is none at the default path
# What each shipped model is, in the words of the note printed when it is used by default.
DESCRIPTIONS = {"en-news": "the ready English news model en-news (CoNLL-2003; PER, ORG, LOC, MISC)"}


SUFFIXES = (".onnx", ".pt")  # a shipped model's files, the one chosen first first


def names() -> list[str]:
    """The shipped models' names (file stems), sorted; empty when none is installed."""
    try:
        return sorted({p.stem for suffix in SUFFIXES for p in FOLDER.glob(f"*{suffix}") if p.is_file()})
    except OSError:
        return []


def path_of(name: str) -> Path | None:
    """The file of the shipped model ``name`` (its .onnx, else its .pt), or None."""
    if not name or "/" in name or os.sep in name:
        return None
    for suffix in SUFFIXES:
        path = FOLDER / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def resolve(model: str | os.PathLike) -> Path:
    """The file a model argument means: an existing file (or folder, refused when loaded) as given, else the
    shipped model of that name, else the argument unchanged (loading it reports the missing file)."""
    path = Path(model)
    if path.exists():
        return path
    return path_of(str(model)) or path


def resolve_all(models: str | os.PathLike | list | tuple) -> Path | list[Path]:
    """``resolve`` for one model argument, or each member of an ensemble's list."""
    if isinstance(models, (list, tuple)):
        return [resolve(m) for m in models]
    return resolve(models)


def default() -> tuple[Path, str | None]:
    """The model to use when none is given, and the note that says which it is (else None): the shipped one, or a
    model at the default path, which ``train`` wrote there and which found nothing the user expected en-news to."""
    if os.environ.get("TAGGER_MODEL"):
        return resolve(default_model_path()), None  # the user's explicit choice: missing is an error, no fallback
    path = default_model_path()
    fallback = path_of(DEFAULT)
    if fallback is None:
        return path, None
    if path.exists():
        return path, f"using the model at {_home_relative(path)} (the default path; -m {DEFAULT} for the shipped one)"
    described = DESCRIPTIONS.get(DEFAULT, f"the shipped model {DEFAULT}")
    return fallback, f"no model at {_home_relative(path)}: using {described}; see `tagger info {DEFAULT}`"


def now_default(written: str | os.PathLike) -> str | None:
    """What ``train`` says of the model it wrote where that is the default path (no -m): commands and
    ``Tagger.load()`` given no model now use it, not the shipped one, and how to go back. None elsewhere, or where
    ``$TAGGER_MODEL`` chose the path (the user's own choice) or no model is shipped."""
    path = default_model_path()
    if os.environ.get("TAGGER_MODEL") or path_of(DEFAULT) is None or os.path.abspath(written) != os.path.abspath(path):
        return None
    shown = _home_relative(path)
    return (
        f"{shown} is now the default model: tag, evaluate, info and Tagger.load() use it when given none; "
        f"-m {DEFAULT} uses the shipped {DEFAULT}, and removing or renaming {shown} makes it the default again"
    )


def is_shipped(path: str | os.PathLike) -> bool:
    """Whether ``path`` is in the shipped models' folder (so it must never be written)."""
    try:
        return Path(os.path.abspath(path)).resolve().parent == FOLDER
    except OSError:
        return False


def refuse_to_write(model_path: str | os.PathLike) -> Path:
    """``model_path`` as ``train`` will write it; a shipped model (by path, or by name where no such file is
    here) is refused in one line, before any work."""
    path = resolve(model_path)
    if is_shipped(path):
        raise ModelFileError(
            "is a model shipped with tagger and is never overwritten; give `train` another path with -m "
            "(e.g. -m my-model.pt)",
            str(model_path),
        )
    return Path(model_path)


def missing_hint() -> str:
    """What the 'no model file' error adds: the names of the shipped models, when there are any."""
    found = names()
    return f"; shipped models: {', '.join(found)} (use -m NAME)" if found else ""


def _home_relative(path: Path) -> str:
    """``path`` with the home folder written as ``~``, as people read it."""
    home = os.path.expanduser("~")
    text = str(path)
    return "~" + text[len(home) :] if home not in ("", "/") and text.startswith(home + os.sep) else text

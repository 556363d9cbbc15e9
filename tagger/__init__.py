"""tagger: a BiLSTM-CRF sequence tagger for named-entity recognition.

    from tagger import Tagger
    tagger = Tagger.load("model.pt")
    doc = tagger("Apple is opening a new store in Paris next week.")
    doc.entities

``Tagger`` tags text (see ``help(tagger.Tagger)``); ``train`` and ``evaluate`` are the
functions behind ``tagger train`` and ``tagger evaluate`` and return plain dicts;
every problem with the user's files is a ``TaggerError``. They are imported on first
use, so ``import tagger`` (and ``tagger --help``) does not import torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> the module of this package that defines it
_LAZY = {
    "Tagger": "api",
    "train": "api",
    "evaluate": "training.evaluation",
    "TaggerError": "errors",
    "DataError": "errors",
    "ModelFileError": "errors",
    "Doc": "data.types",
    "Entity": "data.types",
    "TaggedSentence": "data.types",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

"""Entity-level scores with seqeval (its default, conlleval-compatible mode)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .config import DEFAULTS

if TYPE_CHECKING:
    from .tagging import Predictor


def score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Micro-averaged precision, recall and F1 and the same per entity type, as plain data."""
    from seqeval.metrics import classification_report

    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted)):
        raise ValueError("gold and predicted tags must have the same sentences and lengths")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on types with no predictions; they score 0
        report = classification_report(
            [list(g) for g in gold], [list(p) for p in predicted], output_dict=True, zero_division=0
        )
    micro = report.pop("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
    for key in ("macro avg", "weighted avg"):
        report.pop(key, None)
    per_type = {
        kind: {
            "precision": float(v["precision"]),
            "recall": float(v["recall"]),
            "f1": float(v["f1-score"]),
            "support": int(v["support"]),
        }
        for kind, v in sorted(report.items())
    }
    return {
        "precision": float(micro["precision"]),
        "recall": float(micro["recall"]),
        "f1": float(micro["f1-score"]),
        "support": int(micro["support"]),
        "per_type": per_type,
    }


def evaluate(
    data_path: str | Path,
    model_path: str | Path | Sequence[str | Path],
    tag_column: int = DEFAULTS.tag_column,
    batch_size: int = DEFAULTS.batch_size,
    device: str = DEFAULTS.device,
) -> dict:
    """Tag a gold CoNLL file with a model file (several: an ensemble) and score it against the gold tags."""
    from .ensemble import load_models
    from .shipped import resolve_all
    from .tagging import Predictor

    model_path = resolve_all(model_path)  # a shipped model's name, where no file of that name is here
    loaded = load_models(model_path, device=device)
    names = " + ".join(map(str, [model_path] if isinstance(model_path, (str, Path)) else model_path))
    return evaluate_predictor(Predictor.from_loaded(loaded, batch_size), data_path, tag_column, names)


def evaluate_predictor(predictor: Predictor, data_path: str | Path, tag_column: int = -1, model: str = "") -> dict:
    """Tag a gold CoNLL file with a loaded model and score it against the gold tags;
    ``model`` names the model in the result."""
    from .corpus import load_tagged
    from .schemes import convert

    data = load_tagged(data_path, tag_column=tag_column)
    # The file's documents (-DOCSTART-), which a model with document context reads
    predicted = predictor.predict([s.tokens for s in data.sentences], [s.doc for s in data.sentences])
    # Score both sides in the gold file's scheme, so it matches conlleval on the file.
    predicted = [convert(p, data.scheme) for p in predicted]
    result = score(data.tags_in(data.scheme), predicted)
    result.update(
        {
            "file": str(data_path),
            "model": model,
            "sentences": len(data.sentences),
            "tokens": data.tokens,
            "warnings": data.warnings,
        }
    )
    return result

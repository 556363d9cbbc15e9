"""The Python API's arguments checked before any work: a ``TypeError`` or ``ValueError`` that shows the value
passed (``shown``), where a wrong type would otherwise fail deep inside tagging, or not at all."""

from __future__ import annotations

from tagger.tagging.options import TagOptions

# The score options of a Tagger (``Tagger.load``'s keywords) and their defaults, ``tagger tag``'s.
DEFAULT_SCORES = {"scores": False, "nbest": TagOptions.nbest, "min_score": TagOptions.min_score}


def load_options(device: object, batch_size: object, threads: object, scores, nbest, min_score) -> dict:
    """``Tagger.load``'s arguments checked before the model is read; returns the score options by name."""
    positive_int("batch_size", batch_size)
    if not isinstance(device, str) and type(device).__name__ != "device":
        raise TypeError(f"device must be a str such as 'cpu' or 'cuda', or a torch.device; got {shown(device)}")
    check_threads(threads)
    return dict(zip(DEFAULT_SCORES, score_options(scores, nbest, min_score)))


def score_options(scores: object, nbest: object, min_score: object) -> tuple[bool, int, float]:
    """``scores``, ``nbest`` and ``min_score`` checked; a ``min_score`` above 0 turns scores on, since
    entities are dropped by their scores."""
    if not isinstance(scores, bool):
        raise TypeError(f"scores must be True or False; got {shown(scores)}")
    if isinstance(nbest, bool) or not isinstance(nbest, int):
        raise TypeError(f"nbest must be an int (0: none); got {shown(nbest)}")
    if nbest < 0:
        raise ValueError(f"nbest must be 0 (none) or more; got {nbest}")
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)):
        raise TypeError(f"min_score must be a number from 0 to 1; got {shown(min_score)}")
    if not 0 <= min_score <= 1:
        raise ValueError(f"min_score must be from 0 to 1; got {min_score}")
    return scores or min_score > 0, nbest, float(min_score)


def check_threads(threads: object) -> None:
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an int (0: $TAGGER_THREADS or 1) or None; got {shown(threads)}")
    if threads < 0:
        raise ValueError(f"threads must be 0 or more (0: $TAGGER_THREADS or 1); got {threads}")


def positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {shown(value)}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}")
    return value


def shown(value: object, limit: int = 80) -> str:
    """A value as an error message shows it: its type and a short repr."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}"

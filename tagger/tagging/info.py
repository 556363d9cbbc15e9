"""What a model file holds, read as plain data (``model_info``): the network is never built.

A torch model file is read with ``read_checkpoint`` (``weights_only`` loading, so no code from the file runs)
and its weight shapes summed for the parameter count; an exported model (.onnx) is read from its metadata (the
count included, written by the export), checked as ``tagger tag`` checks it (``tagging.model.read_model_file``),
without torch: the same data where the file holds it. Torch loads only for a .pt model. ``tagger info`` lays
the data out for people (``cli.info``); ``tagger serve`` answers with it.
"""

from __future__ import annotations

from pathlib import Path

from tagger.data.schemes import PLAIN, entity_types

# Index 0 and 1 of the word and character tables are padding and the unknown entry.
SPECIALS = 2


def _count(entries) -> int:
    """Entries of a vocabulary table: a newline-joined string (format 2) or a list (format 1)."""
    if isinstance(entries, str):
        return entries.count("\n") + 1 if entries else 0
    return len(entries)


def model_info(path: str | Path) -> dict:
    """Everything a model file says about itself, as plain data (the shape of ``tagger info --format json``).

    ``history`` is None for a model file written before the training history was kept in it. An exported model
    (.onnx) gives the same keys, read without torch.
    """
    from tagger.tagging.model import read_model_file

    path = Path(path)
    checkpoint = read_model_file(path)
    config = dict(checkpoint["config"])
    vocab = checkpoint["vocab"]
    meta = checkpoint.get("metadata") or {}
    tags = list(vocab["tags"])
    words = _count(vocab["words"])
    return {
        "path": str(path),
        "size_bytes": path.stat().st_size,
        "format": checkpoint["format"],
        "format_version": checkpoint["format_version"],
        "tagger_version": meta.get("tagger_version"),
        "created": meta.get("created"),
        "tags": tags,
        # plain: a plain label set (part-of-speech tags), scored by token accuracy; chunks: entities or chunks
        "kind": "plain" if checkpoint["data_scheme"] == PLAIN else "chunks",
        "types": [] if checkpoint["data_scheme"] == PLAIN else entity_types(tags),
        "scheme": config.get("scheme"),  # the scheme the network tags in
        "data_scheme": checkpoint["data_scheme"],  # the scheme tags are written back in
        "vocabulary": {
            "words": words - SPECIALS,
            "training_words": config.get("num_words", words) - SPECIALS,
            "embedding_only_words": config.get("num_extra_words", 0),
            "characters": _count(vocab["chars"]) - SPECIALS,
            "lowercase": bool(vocab.get("lowercase", True)),
        },
        "embeddings": {"file": config.get("embeddings"), "dim": config.get("word_dim")},
        "network": config,
        "parameters": checkpoint["parameters"],
        "training": {
            "train_file": meta.get("train_file"),
            "dev_file": meta.get("dev_file"),
            "test_file": meta.get("test_file"),
            "options": meta.get("train_config"),
        },
        "best_epoch": meta.get("best_epoch"),
        "dev": meta.get("dev_scores"),
        "test": meta.get("test_scores"),
        "history": meta.get("history"),
        "about": checkpoint.get("about"),  # a shipped model's description (checkpoint.py), else None
    }

"""``tagger info``: what a model file holds, read as plain data: the network is never built.

``model_info`` reads the checkpoint with ``read_checkpoint`` (``weights_only``
loading, so no code from the file runs) and sums the weight shapes for the
parameter count; an exported model (.onnx) is read from its metadata (the count
included, written by the export), checked as ``tagger tag`` checks it
(``tagging.model.read_model_file``), without torch: the same data where the file holds
it. ``render_info`` lays the result out for people. Torch loads only when the
command runs on a .pt model.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from tagger.cli import render
from tagger.cli.exit_status import err
from tagger.cli.options import Summary, model_paths, option, suffix
from tagger.cli.plot import FORMATS as PLOT_FORMATS
from tagger.cli.plot import dev_f1, sparkline
from tagger.cli.render import percent
from tagger.data.output import CheckedOutput
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


def _pct(value) -> str:
    return "-" if value is None else percent(value)


def _about_rows(info: dict) -> list[tuple[str, str]]:
    vocab, net, params, emb = info["vocabulary"], info["network"], info["parameters"], info["embeddings"]
    rows = [
        ("model", f"{info['path']} ({info['size_bytes'] / 1e6:.1f} MB)"),
        ("written by", f"tagger {info['tagger_version'] or '?'}, {_format_name(info)} {info['format_version']}"),
        ("created", info["created"] or "-"),
        *_tag_rows(info),
        (
            "vocabulary",
            f"{vocab['words']:,} words ({vocab['training_words']:,} from training, "
            f"{vocab['embedding_only_words']:,} only from the embeddings), {vocab['characters']:,} characters"
            + ("" if vocab["lowercase"] else ", case kept"),
        ),
        ("embeddings", f"{emb['file']} ({emb['dim']}d)" if emb["file"] else f"none (trained, {emb['dim']}d)"),
        (
            "network",
            f"{net.get('cell', 'lstm').upper()} {net.get('layers')}x{net.get('hidden_size')} per direction, "
            f"char {net.get('char_encoder')} {net.get('char_size')}, case {net.get('case_dim')}d, "
            f"dropout {net.get('dropout')}" + (", document context" if net.get("context") == "document" else ""),
        ),
    ]
    if params is not None:
        rows.append(("parameters", f"{params['trained']:,} trained + {params['frozen']:,} in fixed pretrained vectors"))
    for key in ("train_file", "dev_file", "test_file"):
        rows.append((key.replace("_file", ""), info["training"][key] or "-"))
    options = info["training"]["options"] or {}
    shown = ("epochs", "batch_size", "optimizer", "lr", "lr_decay", "word_dropout", "patience", "seed")
    rows.append(("options", ", ".join(f"{k} {options[k]}" for k in shown if k in options) or "-"))
    rows.append(("best epoch", str(info["best_epoch"] or "-")))
    return rows


def _format_name(info: dict) -> str:
    """How the file's format is named: an exported model's format ("tagger-onnx") is another than a .pt's."""
    return "exported model (ONNX) format" if str(info["format"]).endswith("-onnx") else "model format"


def _tag_rows(info: dict) -> list[tuple[str, str]]:
    """What the model tags: entity types and the schemes, or a plain label set's labels."""
    if info["kind"] == "plain":
        kind = "a plain label set, not chunks: scored by token accuracy"
        return [("labels", " ".join(info["tags"])), ("tags", f"{len(info['tags'])}, {kind}")]
    return [
        ("entity types", ", ".join(info["types"])),
        ("tags", f"{len(info['tags'])} in {str(info['scheme']).upper()} (data: {info['data_scheme'].upper()})"),
    ]


def _about_table(info: dict) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in _about_rows(info):
        table.add_row(name, Text(value))  # Text: a path holding [brackets] is not read as rich markup
    return table


def _scores_table(info: dict) -> Table | None:
    splits = [(name, info[name]) for name in ("dev", "test") if info[name]]
    if not splits:
        return None
    if info["kind"] == "plain":
        table = Table(title="Scores (%)", title_justify="left")
        table.add_column("tags")
        for name, _ in splits:
            table.add_column(f"{name} accuracy", justify="right")
        table.add_row("all", *(_pct(scores.get("accuracy")) for _, scores in splits), style="bold")
        return table
    table = Table(title="Scores (%)", title_justify="left")
    table.add_column("type")
    for name, _ in splits:
        for measure in ("P", "R", "F1"):
            table.add_column(f"{name} {measure}", justify="right")
    types = sorted({kind for _, scores in splits for kind in scores.get("per_type", {})})

    def cells(scores: dict | None) -> list[str]:
        return [_pct((scores or {}).get(k)) for k in ("precision", "recall", "f1")]

    for kind in types:
        table.add_row(Text(kind), *(c for _, scores in splits for c in cells(scores.get("per_type", {}).get(kind))))
    table.add_row("all", *(c for _, scores in splits for c in cells(scores)), style="bold")
    return table


def _history_table(history: list[dict], plain: bool = False) -> Table:
    """Each epoch's loss and dev scores: precision, recall and F1, or a ``plain`` label set's accuracy."""
    table = Table(title="Training history (dev, %)", title_justify="left")
    measures = ("accuracy",) if plain else ("precision", "recall", "f1")
    for name in ("epoch", "loss", *(m if m != "f1" else "F1" for m in measures), "seconds", ""):
        table.add_column(name, justify="right")
    for row in history:
        dev = row.get("dev", {})
        table.add_row(
            str(row.get("epoch")),
            f"{row.get('loss', float('nan')):.3f}",
            *(_pct(dev.get(m)) for m in measures),
            f"{row.get('seconds', 0):.0f}",
            "*" if row.get("best") else "",
        )
    return table


def _shipped_table(about: dict) -> Table:
    """A shipped model's ``about`` entry: what it is, its data, licences, scores and how to rebuild it."""
    table = Table(title=f"About {about.get('name', 'this model')}", title_justify="left", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in about.items():
        if key == "name":
            continue
        if isinstance(value, dict):
            value = "; ".join(f"{k} {_pct(v) + '%' if isinstance(v, float) else v}" for k, v in value.items())
        table.add_row(key.replace("_", " "), Text(str(value)))
    return table


def render_info(info: dict) -> Group:
    """``model_info``'s data as rich tables for a terminal."""
    parts = [_about_table(info)]
    if info.get("about"):
        parts.insert(0, _shipped_table(info["about"]))
    scores = _scores_table(info)
    if scores is not None:
        parts.append(scores)
    if info["history"]:
        plain = info["kind"] == "plain"
        parts.append(_history_table(info["history"], plain))
        measure = "accuracy" if plain else "F1"
        parts.append(Text(f"dev {measure} per epoch  {sparkline(dev_f1(info['history']))}"))
    else:
        parts.append("[dim]no training history in this model file[/dim]")
    return Group(*parts)


ModelArgument = Annotated[
    Path | None,
    typer.Argument(metavar="MODEL", help="Model file, or a shipped model's name (en-news).", show_default=False),
]
Plot = Annotated[
    Path | None,
    option(
        metavar="<path>",
        help="Also draw the training curve to a .png or .svg file (needs matplotlib).",
        rules=[suffix(PLOT_FORMATS)],
    ),
]


def info(model: ModelArgument = None, output: Summary = render.SUMMARY_FORMATS[0], plot: Plot = None) -> None:
    """What a model file holds, read without building the network: tags, vocabulary, network,
    training options, scores and the training history.

    Scores are percentages in the table, fractions 0-1 in --format json.
    """
    found = model_info(model_paths([model] if model is not None else None)[0])
    if plot is not None:
        from tagger.cli.plot import plot_history

        err(f"wrote {plot_history(found['history'] or [], plot, title=Path(found['path']).name)}")
    out = CheckedOutput(sys.stdout)
    if output == "json":
        out.write(render.as_json(found) + "\n")
    else:
        from rich.console import Console

        Console(file=out).print(render_info(found))

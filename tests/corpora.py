"""A tiny made-up corpus (people, places and organisations in a few templates) and CoNLL files written from it."""

from __future__ import annotations

import random
from pathlib import Path

PEOPLE = ["John Smith", "Mary", "Angela Merkel", "Bob", "Ana Lopez"]
PLACES = ["Paris", "New York", "Berlin", "Madrid", "Lake Tahoe"]
ORGS = ["Apple", "Acme Corp", "United Nations", "Google"]
TEMPLATES = [
    ("{PER} lives in {LOC} .", None),
    ("{PER} works for {ORG} in {LOC} .", None),
    ("{ORG} opened a store in {LOC} yesterday .", None),
    ("Yesterday {PER} met {PER} .", None),
    ("The weather is nice today .", None),
    ("{ORG} hired {PER} .", None),
]


def make_sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    """n sentences of (token, IOB2 tag) from the templates above."""
    rng = random.Random(seed)
    pools = {"PER": PEOPLE, "LOC": PLACES, "ORG": ORGS}
    out = []
    for _ in range(n):
        template, _ = rng.choice(TEMPLATES)
        sentence = []
        for word in template.split():
            if word.startswith("{") and word.endswith("}"):
                kind = word[1:-1]
                for i, part in enumerate(rng.choice(pools[kind]).split()):
                    sentence.append((part, ("B-" if i == 0 else "I-") + kind))
            else:
                sentence.append((word, "O"))
        out.append(sentence)
    return out


def write_conll(path: Path, sentences, docstart: bool = True) -> Path:
    lines = ["-DOCSTART- O", ""] if docstart else []
    for sentence in sentences:
        lines.extend(f"{tok}\t{tag}" for tok, tag in sentence)
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_documents(path: Path, sentences, size: int) -> Path:
    """A CoNLL file of ``sentences`` in documents of ``size`` sentences, each begun by -DOCSTART-."""
    lines = []
    for at in range(0, len(sentences), size):
        lines += ["-DOCSTART- O", ""]
        for sentence in sentences[at : at + size]:
            lines += [f"{tok}\t{tag}" for tok, tag in sentence] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def conll(*sentences: str) -> bytes:
    """The bytes of a CoNLL file of ``sentences`` (each given as its lines), a blank line between."""
    return "\n\n".join(sentences).encode("utf-8") + b"\n"


GOOD = "Mary\tB-PER\nlives\tO\nin\tO\nParis\tB-LOC\n.\tO"

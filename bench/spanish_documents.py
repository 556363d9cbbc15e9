"""Write the CoNLL-2002 Spanish files with their articles marked as documents (-DOCSTART-), for document context.

    python bench/spanish_documents.py [--data ../shared/data/conll2002/es] [--out /tmp/conll02-es-docs]

The Spanish files have no -DOCSTART- lines, but every EFE news article opens with a dateline sentence,
"Melbourne ( Australia ) , 25 may ( EFE ) .": a sentence with an "EFE" or "EFECOM" token among its first
20 tokens and a "(" among them starts a document here. The sentences, their order and their tags are
those of the original files; only the -DOCSTART- lines are added.
"""

from __future__ import annotations

import argparse
from pathlib import Path

AGENCY = {"EFE", "EFECOM"}


def opens_article(tokens: list[str]) -> bool:
    head = tokens[:20]
    return "(" in head and any(t in AGENCY for t in head)


def with_documents(text: str) -> tuple[str, int]:
    """The file's text with a -DOCSTART- line before each article's first sentence, and the number of articles."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    out, articles = [], 0
    for block in blocks:
        tokens = [line.split()[0] for line in block.strip("\n").split("\n")]
        if opens_article(tokens) or not out:
            out.append("-DOCSTART- -X- O")
            articles += 1
        out.append(block.strip("\n"))
    return "\n\n".join(out) + "\n", articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--data", default=str(shared / "conll2002" / "es"))
    parser.add_argument("--out", default="/tmp/conll02-es-docs")
    opts = parser.parse_args()
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("train.txt", "valid.txt", "test.txt"):
        text, articles = with_documents((Path(opts.data) / name).read_text(encoding="utf-8"))
        (out / name).write_text(text, encoding="utf-8")
        print(f"{name}: {articles} documents")


if __name__ == "__main__":
    main()

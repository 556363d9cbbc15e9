"""Reading speed of the data readers on the same sentences: CoNLL columns, CoNLL-U (ours, and the ``conllu``
package's ``parse_incr``) and doccano JSON lines (tokenized and aligned as ``tag`` does).

    pip install -c constraints.txt -e ".[bench]"    # the conllu package
    python bench/read_formats.py ../shared/data/conll2003/train.txt [--repeat 3]

Writes the CoNLL file's sentences (token, POS column, NER column) as a CoNLL-U file (UPOS = the POS column) and
as doccano records (the text: tokens joined by spaces; the NER entities as character spans) in a temporary
folder, then reads each file ``--repeat`` times and prints the best time, sentences/s and the peak of Python
allocations of one read (tracemalloc, a separate read).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

import conllu

from tagger.data.annotations import read_annotations
from tagger.data.conllu import read_conllu
from tagger.data.reader import read_conll
from tagger.data.schemes import convert


def write_copies(source: Path, folder: Path) -> dict[str, Path]:
    """The sentences of ``source`` as CoNLL-U and doccano JSON lines; their paths by format."""
    pos = read_conll(source, tag_column=1, check_tags=False)
    ner = read_conll(source, tag_column=-1)
    conllu, doccano = folder / "x.conllu", folder / "x.jsonl"
    with conllu.open("w", encoding="utf-8") as out:
        for n, s in enumerate(pos):
            out.write(f"# sent_id = {n}\n# text = {' '.join(s.tokens)}\n")
            for i, (token, tag) in enumerate(zip(s.tokens, s.tags), 1):
                out.write(f"{i}\t{token}\t_\t{tag}\t{tag}\t_\t{i - 1}\tdep\t_\t_\n")
            out.write("\n")
    with doccano.open("w", encoding="utf-8") as out:
        for s in ner:
            out.write(json.dumps(doccano_record(s.tokens, convert(s.tags, "iob2"))) + "\n")
    return {"conll": source, "conllu": conllu, "json": doccano}


def doccano_record(tokens: list[str], tags: list[str]) -> dict:
    starts, at = [], 0
    for token in tokens:
        starts.append(at)
        at += len(token) + 1
    labels = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            end = i + 1
            while end < len(tags) and tags[end] == "I-" + tag[2:]:
                end += 1
            labels.append([starts[i], starts[end - 1] + len(tokens[end - 1]), tag[2:]])
    return {"text": " ".join(tokens), "labels": labels}


def package_conllu(path: Path) -> list[tuple[list[str], list[str]]]:
    """The words and UPOS of a CoNLL-U file by the ``conllu`` package (ranges and empty nodes left out)."""
    with path.open(encoding="utf-8") as stream:
        return [
            ([t["form"] for t in words], [t["upos"] for t in words])
            for sentence in conllu.parse_incr(stream)
            for words in [[t for t in sentence if isinstance(t["id"], int)]]
        ]


def readers(paths: dict[str, Path]) -> dict:
    return {
        "CoNLL columns (reader.read_conll)": lambda: read_conll(paths["conll"]),
        "CoNLL-U (conllu.read_conllu, ours)": lambda: read_conllu(paths["conllu"]),
        "CoNLL-U (the conllu package, parse_incr)": lambda: package_conllu(paths["conllu"]),
        "doccano JSON lines (annotations.read_annotations)": lambda: read_annotations(paths["json"]).sentences,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("conll", type=Path, help="a CoNLL-2003 file (token POS chunk NER)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for name, read in readers(write_copies(args.conll, Path(folder))).items():
            best = float("inf")
            for _ in range(args.repeat):
                started = time.perf_counter()
                count = len(read())
                best = min(best, time.perf_counter() - started)
            tracemalloc.start()
            read()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rate = f"{count / best:,.0f} sentences/s"
            print(f"{name}: {count} sentences, {best:.2f} s, {rate}, peak {peak / 2**20:.0f} MB")


if __name__ == "__main__":
    main()

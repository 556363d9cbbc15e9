"""A model that reads document context (issue 14), for the tests of the tag path: windows, --jobs, the API, Dask.

Stand-ins for a window maker with and without context (``DocMaker``, ``PlainMaker``) and ``grouped``, which
reads the documents back out of the windows they made, serve the tests of the data room.

The model side (``ModelConfig.context``, ``reader.Sentence.doc``, a ``WindowMaker`` with ``context``) comes
from another branch; until it is merged the tests that need it are skipped (``needs_context``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpora import PEOPLE, PLACES, make_sentences
from tests.nn.helpers import make_model


def context_ready() -> bool:
    from tagger.data.reader import Sentence
    from tagger.nn.config import ModelConfig

    return hasattr(ModelConfig(), "context") and "doc" in getattr(Sentence, "__dataclass_fields__", {})


needs_context = pytest.mark.skipif(
    not context_ready(), reason="needs the model's context option (issue 14, branch ctxmodel), not merged yet"
)


def save_context_model(path: Path, seed: int = 0) -> Path:
    """A small model that reads document context, random weights from ``seed`` (no training: quick)."""
    from tagger.nn.model_file import save_model

    model, vocab = make_model(seed=seed, context="document")
    return save_model(path, model, vocab, "iob2", {})


def documents_text(blocks: int = 6) -> str:
    """Raw text in blank-line-separated blocks that name the same people and places again, one block longer
    than DOC_MAX lines (cut there), and a byte-order mark, CRLF and a line of only a tab."""
    from tagger.data.arrays import DOC_MAX

    lines = ["\ufeffMary met Paris Hilton in Paris. Mary left.\r"]
    for b in range(blocks):
        size = DOC_MAX + 40 if b == 2 else 3 + b
        person = PEOPLE[b % 5]
        lines += [f"{PEOPLE[(b + i) % 5]} flew to {PLACES[i % 5]} on day {i}. {person} stayed." for i in range(size)]
        lines.append("\t" if b % 2 else "")
    return "\n".join(lines) + "\n"


def documents_conll(docs: int = 5) -> str:
    """CoNLL with -DOCSTART- lines; one document longer than DOC_MAX sentences."""
    from tagger.data.arrays import DOC_MAX

    out = []
    for d in range(docs):
        out.append("-DOCSTART- -X- O O\n\n")
        for sentence in make_sentences(DOC_MAX + 20 if d == 1 else 4 + d, d):
            out.append("".join(f"{token}\tO\n" for token, _ in sentence) + "\n")
    return "".join(out)


# A maker that reads context, stood in for: what windows give it


class DocMaker:
    """A stand-in for a maker that reads context (``arrays.WindowMaker(..., context=True)``): its
    "arrays" are the sentences and the documents it was given."""

    context = True

    def __call__(self, sentences, docs=None):
        return [list(s) for s in sentences], None if docs is None else list(docs)


class PlainMaker(DocMaker):
    context = False


def grouped(found: list) -> list[list[str]]:
    """The documents of windows of ``DocMaker`` arrays (sentences, document numbers), each as the first tokens
    of its sentences: the same list whatever the windows, when a document is never cut by a window's end."""
    docs: list[list[str]] = []
    for sentences, numbers in found:
        assert numbers == sorted(numbers) and (not numbers or numbers[0] == 0)  # numbered from 0 in each window
        assert sorted(set(numbers)) == list(range(len(set(numbers))))  # with no gap
        last = None
        for tokens, number in zip(sentences, numbers):
            if number != last:
                docs.append([])
                last = number
            docs[-1].append(tokens[0])
    return docs

"""A model that reads document context (issue 14), for the tests of the tag path: windows, --jobs, the API, Dask.

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
    from tagger.data.windows import DOC_MAX

    lines = ["\ufeffMary met Paris Hilton in Paris. Mary left.\r"]
    for b in range(blocks):
        size = DOC_MAX + 40 if b == 2 else 3 + b
        person = PEOPLE[b % 5]
        lines += [f"{PEOPLE[(b + i) % 5]} flew to {PLACES[i % 5]} on day {i}. {person} stayed." for i in range(size)]
        lines.append("\t" if b % 2 else "")
    return "\n".join(lines) + "\n"


def documents_conll(docs: int = 5) -> str:
    """CoNLL with -DOCSTART- lines; one document longer than DOC_MAX sentences."""
    from tagger.data.windows import DOC_MAX

    out = []
    for d in range(docs):
        out.append("-DOCSTART- -X- O O\n\n")
        for sentence in make_sentences(DOC_MAX + 20 if d == 1 else 4 + d, d):
            out.append("".join(f"{token}\tO\n" for token, _ in sentence) + "\n")
    return "".join(out)

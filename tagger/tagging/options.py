"""How to tag a file: one ``TagOptions`` carries the options from the command line, the API and Dask to the predictor.

Its field defaults are the tagging defaults (``tagger tag``'s, ``tagger evaluate``'s for the options they share,
and ``tagging.files.tag_file``'s); the command line reads them from here. This module imports no torch, so
``--help`` and a refused option value answer at once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from tagger.data.inputs import INPUTS
from tagger.data.reader import text_encoding
from tagger.errors import DataError
from tagger.nn.config import SCORES
from tagger.tagging.writer import FORMATS

__all__ = ["TagOptions", "job_count"]


@dataclass(frozen=True)
class TagOptions:
    """The options of tagging a file; every field has the default of the option of the same name."""

    input_kind: str = "text"  # text | conll | tokens | conllu (inputs.INPUTS)
    output_format: str = "conll"  # writer.FORMATS
    batch_size: int = 64  # sentences per batch when tagging or evaluating
    device: str = "cpu"
    threads: int = 0  # the network's threads; 0: $TAGGER_THREADS, else model.DEFAULT_THREADS (model.thread_count)
    workers: int = -1  # reader processes beside the network; -1: 1 where there are 2+ cores, else 0
    scores: str | None = None  # None, or one of SCORES: the CRF's probabilities in the output
    nbest: int = 0  # the most probable tag sequences per sentence in the output; 0: none
    min_score: float = 0.0  # entities scoring below this are dropped (their tokens tagged O)
    jobs: int = 0  # processes that each tag whole windows (jobs.py); 0: one per core with 4+ cores, else 1
    encoding: str = "utf-8"  # of the input files (reader.decoded_lines): any text codec of Python's

    def check(self) -> None:
        """A ``DataError`` (or ``TaggerError`` for the encoding) for a value no tagging takes, before any work."""
        _check_choice("output format", self.output_format, FORMATS)
        _check_choice("input kind", self.input_kind, INPUTS)
        _check_choice("scores", self.scores, (None, *SCORES))
        text_encoding(self.encoding)  # an unknown name is refused before any work

    @property
    def asks_scores(self) -> bool:
        """Whether the CRF's probabilities are computed: shown (``scores``) or used (``min_score``)."""
        return bool(self.scores) or self.min_score > 0

    @property
    def shown_fields(self) -> list[str]:
        """The score fields ``tagger tag`` writes: ``min_score`` alone computes scores and shows none."""
        shown = {
            None: [],
            "entities": ["entity_scores", "probability"],
            "tokens": ["entity_scores", "probability", "token_scores"],
        }[self.scores]
        return shown + (["nbest"] if self.nbest else [])


def _check_choice(what: str, value: object, choices: Sequence) -> None:
    if value not in choices:
        shown = ", ".join(str(c) for c in choices)
        raise DataError(f"unknown {what} {value!r}; expected one of {shown}")


def job_count(jobs: int) -> int:
    """The processes for ``--jobs``: ``jobs``, or for 0 one per core where there are 4 or more. On fewer
    cores the single-process path already keeps two busy (the network, and the reader's worker process)."""
    if jobs > 0:
        return jobs
    cores = os.cpu_count() or 1
    return cores if cores >= 4 else 1

"""The object the batcher calls: one loaded model that tags a batch of requests in one pass.

Texts go through ``Tagger.pipe`` and token lists through ``Tagger.tag_tokens``, so an answer is what ``tagger
tag`` writes for the same text as a file of its own. Any object with this ``tag`` can stand in for it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tagger.api import Tagger
from tagger.data.schemes import entity_types
from tagger.data.types import TaggedSentence
from tagger.tagging.model import open_model
from tagger.tagging.options import TagOptions


@dataclass(frozen=True)
class Options:
    """What a request asks for beyond the tags: ``tagger tag --scores`` and ``--nbest``."""

    scores: str | None = None  # None, "entities" or "tokens"
    nbest: int = 0


@dataclass
class Job:
    """One checked request: ``kind`` "text" (one text), "texts" or "tokens" (token lists, one document)."""

    kind: str
    items: list
    options: Options = field(default_factory=Options)
    lines: int = 1  # input lines (texts) or sentences (tokens): what a batch of the reading path holds
    chars: int = 0


class ServiceModel:
    """A loaded model (or ensemble, or exported model) and a ``Tagger`` over it for each set of score options
    asked for. ``threads``: the network's threads (0: ``$TAGGER_THREADS``, else 1)."""

    def __init__(
        self, path: Path | list[Path], batch_size: int = TagOptions.batch_size, device: str = "cpu", threads: int = 0
    ):
        self.path = path
        self.batch_size = batch_size
        self._loaded = open_model(path, device, threads)
        self._taggers: dict[Options, Tagger] = {}
        self.tagger(Options())  # the plain one, made before the first request

    @property
    def context(self) -> bool:
        """Whether the model reads document context (a text's sentences are tagged together)."""
        return self._loaded.context

    def tagger(self, options: Options) -> Tagger:
        """The Tagger for ``options``, made on first use; all share the one loaded model."""
        found = self._taggers.get(options)
        if found is None:
            path = self.path if isinstance(self.path, (str, os.PathLike)) else list(self.path)
            found = Tagger(self._loaded, self.batch_size, path=path, scores=bool(options.scores), nbest=options.nbest)
            self._taggers[options] = found
        return found

    @property
    def types(self) -> list[str]:
        """The model's entity types (the legend of the page)."""
        return entity_types(self._loaded.vocab.tags)

    def describe(self) -> dict:
        """What ``/ready`` shows of the model."""
        path = [str(p) for p in self.path] if isinstance(self.path, list) else str(self.path)
        return {"model": path, "context": self.context, "batch_size": self.batch_size}

    def tag(self, jobs: Sequence[Job]) -> list[list[list[TaggedSentence]]]:
        """Tag the jobs of one batch (one ``options`` for all): per job, per text, its tagged sentences."""
        if not jobs:
            return []
        options = jobs[0].options
        tagger = self.tagger(options)
        out: list[list[list[TaggedSentence]]] = [[] for _ in jobs]
        texts = [(i, text) for i, job in enumerate(jobs) if job.kind != "tokens" for text in job.items]
        if texts:
            docs = tagger.pipe([text for _, text in texts], batch_size=len(texts))
            for (i, _), doc in zip(texts, docs):
                out[i].append(doc.sentences)
        token_jobs = [i for i, job in enumerate(jobs) if job.kind == "tokens"]
        if token_jobs:
            sentences = [tokens for i in token_jobs for tokens in jobs[i].items]
            numbers = [i for i in token_jobs for _ in jobs[i].items]  # one document per request
            tagged = iter(tagger.tag_tokens(sentences, docs=numbers))
            for i in token_jobs:
                out[i].append([next(tagged) for _ in jobs[i].items])
        return out


def record(sentence: TaggedSentence, options: Options) -> dict:
    """The sentence's ``--format jsonl`` record, with the score fields ``tagger tag --scores`` shows."""
    record = sentence.to_dict()
    if options.scores == "entities":
        record.pop("token_scores", None)  # --scores entities: entity scores and the probability only
    return record


def load(paths: list[Path], threads: int = 0, batch_size: int = TagOptions.batch_size) -> ServiceModel:
    """The service's model, its network on ``threads`` threads (0: ``$TAGGER_THREADS`` or 1), as ``tagger tag``'s."""
    return ServiceModel(paths[0] if len(paths) == 1 else paths, batch_size, threads=threads)

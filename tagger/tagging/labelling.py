"""What the torch predictor and the exported model's share: the checks of their scoring arguments, and how
their results are set on sentences. No torch here (the exported model's path never imports it)."""

from __future__ import annotations

from collections.abc import Sequence

from tagger.data.schemes import PLAIN
from tagger.data.types import TaggedSentence
from tagger.errors import TaggerError

__all__ = ["Labelling", "check_scoring"]


def check_scoring(nbest: int, min_score: float, scores: bool, out_scheme: str) -> None:
    """The scoring arguments of a predictor, checked alike for both kinds of model."""
    if nbest < 0:
        raise ValueError(f"nbest must be 0 (none) or more, got {nbest}")
    if not 0.0 <= min_score <= 1.0:
        raise ValueError(f"min_score must be between 0 and 1, got {min_score}")
    if min_score > 0 and not scores:
        raise ValueError("min_score needs scores=True (entities are dropped by their scores)")
    if min_score > 0 and out_scheme == PLAIN:
        raise TaggerError(
            "--min-score drops entities by their scores; this model tags a plain label set, which has no "
            "entities (--scores gives each token's score)"
        )


class Labelling:
    """``label``, ``predict`` and ``_empty`` over a predictor's ``prepare``, ``run`` and ``run_scored``, and its
    ``out_scheme``, ``scores``, ``nbest`` and ``shown``."""

    def label(self, sentences: Sequence[TaggedSentence], prepared) -> Sequence[TaggedSentence]:
        """Set the tags of ``sentences`` (the sentences ``prepared`` was made from), and the score fields
        the predictor was asked for; returns ``sentences``. Without scores or n-best this is ``run``."""
        if self.out_scheme == PLAIN:  # writers show a plain label set's tags as labels, not chunks
            for sentence in sentences:
                sentence.plain = True
        if not (self.scores or self.nbest):
            for sentence, tags in zip(sentences, self.run(prepared)):
                sentence.tags = tags
            return sentences
        for sentence, found in zip(sentences, self.run_scored(prepared)):
            for key, value in found.items():
                if key == "tags" or self.shown is None or key in self.shown:
                    setattr(sentence, key, value)
        return sentences

    def predict(self, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None = None) -> list[list[str]]:
        """Tags of each sentence (an empty sentence gets no tags); ``docs`` as ``prepare`` takes them."""
        return self.run(self.prepare(sentences, docs))

    def _empty(self) -> dict:
        """What ``run_scored`` gives an empty sentence: no tags, and its one (empty) sequence is certain."""
        found: dict = {"tags": []}
        if self.scores:
            found.update({"token_scores": [], "entity_scores": [], "probability": 1.0})
        if self.nbest:
            found["nbest"] = [{"tags": [], "probability": 1.0}]
        return found

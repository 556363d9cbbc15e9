"""The plain data that reading, tagging, writing and the Python API share: ``TaggedSentence``, its ``Entity``
spans, ``Doc``; ``to_dict()`` gives the records ``--format jsonl`` writes. Imports neither torch nor the tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tagger.data.schemes import to_spans


@dataclass
class Entity:
    """A span of tokens with a type: tokens ``start`` to ``end`` (end exclusive) of its sentence."""

    type: str
    text: str
    start: int
    end: int
    char_start: int | None = None  # character offsets in the input (raw text only), end exclusive
    char_end: int | None = None
    score: float | None = None  # P(exactly this span has this type), when asked for

    def __repr__(self) -> str:  # the fields that are set: offsets and score only when known
        shown = [f"type={self.type!r}", f"text={self.text!r}", f"start={self.start}", f"end={self.end}"]
        shown += [
            f"{key}={getattr(self, key)!r}"
            for key in ("char_start", "char_end", "score")
            if getattr(self, key) is not None
        ]
        return f"Entity({', '.join(shown)})"

    def to_dict(self) -> dict:
        """The entity as ``--format jsonl`` writes it (offsets and score only when known)."""
        record: dict = {"type": self.type, "start": self.start, "end": self.end, "text": self.text}
        if self.char_start is not None:
            record["char_start"] = self.char_start
            record["char_end"] = self.char_end
        if self.score is not None:
            record["score"] = self.score
        return record


@dataclass
class TaggedSentence:
    """A sentence's tokens and tags; for raw text also the line it came from and the tokens' offsets."""

    tokens: list[str]
    tags: list[str]
    line_offsets: Sequence[int] | None = None  # offsets of the tokens in ``text``, flat: start0, end0, start1, ...
    text: str | None = None  # the input line the sentence came from (raw text only)
    text_start: int = 0  # offset of ``text`` in the input
    token_scores: list[float] | None = None  # marginal probability of each chosen tag
    entity_scores: list[float] | None = None  # one per entity, in span order
    probability: float | None = None  # P(the Viterbi sequence | sentence)
    nbest: list[dict] | None = None  # [{"tags": [...], "probability": p}, ...]
    # the tags are a plain label set (part-of-speech tags): one label per token, no entities
    plain: bool = field(default=False, repr=False)

    @property
    def offsets(self) -> list[tuple[int, int]] | None:
        """Character offsets of the tokens in the whole input (raw text only)."""
        if self.line_offsets is None:
            return None
        at, flat = self.text_start, self.line_offsets
        return [(flat[i] + at, flat[i + 1] + at) for i in range(0, len(flat), 2)]

    @property
    def entities(self) -> list[Entity]:
        """The entities the tags mark, in order; with character offsets and the input's own text
        for raw text, and scores when ``entity_scores`` is set. None for a plain label set (an empty list)."""
        if self.plain:
            return []
        spans = to_spans(self.tags)
        scores = self.entity_scores
        if scores is not None and len(scores) != len(spans):
            raise ValueError(f"{len(scores)} entity scores for {len(spans)} entities: {spans}")
        flat, at = self.line_offsets, self.text_start  # read directly: no pair per token for a few entities
        found = []
        for i, (kind, start, end) in enumerate(spans):
            entity = Entity(kind, " ".join(self.tokens[start:end]), start, end)
            if flat is not None:
                entity.char_start, entity.char_end = flat[2 * start] + at, flat[2 * end - 1] + at
                if self.text is not None:
                    entity.text = self.text[flat[2 * start] : flat[2 * end - 1]]
            if scores is not None:
                entity.score = scores[i]
            found.append(entity)
        return found

    def to_dict(self) -> dict:
        """The record ``--format jsonl`` writes: tokens, tags, entities (not for a plain label set),
        offsets (raw text) and the scores that are set."""
        record: dict = {"tokens": self.tokens, "tags": self.tags}
        if not self.plain:
            record["entities"] = [entity.to_dict() for entity in self.entities]
        offsets = self.offsets
        if offsets is not None:
            record["offsets"] = [list(o) for o in offsets]
        for key in ("token_scores", "probability", "nbest"):
            value = getattr(self, key)
            if value is not None:
                record[key] = value
        return record


@dataclass
class Doc:
    """One text, tagged: its sentences, in order, with character offsets into ``text``."""

    text: str
    sentences: list[TaggedSentence] = field(default_factory=list)

    @property
    def tokens(self) -> list[str]:
        """The tokens of all sentences, in order."""
        return [token for sentence in self.sentences for token in sentence.tokens]

    @property
    def tags(self) -> list[str]:
        """The tag of each of ``tokens``: with a plain label set (part-of-speech tags) the labels."""
        return [tag for sentence in self.sentences for tag in sentence.tags]

    @property
    def entities(self) -> list[Entity]:
        """The entities of all sentences, in order."""
        return [entity for sentence in self.sentences for entity in sentence.entities]

    def to_dict(self) -> dict:
        """Plain data: the text, one ``--format jsonl`` record per sentence, and all entities (none for a
        plain label set)."""
        record = {"text": self.text, "sentences": [sentence.to_dict() for sentence in self.sentences]}
        if not any(sentence.plain for sentence in self.sentences):
            record["entities"] = [entity.to_dict() for entity in self.entities]
        return record

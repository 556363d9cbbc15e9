"""Tagging: sentences in, tags out, a window at a time (so output starts before the input ends and memory stays
flat), with any kind of model. The backend runs the network (``Model.run``); the rest is written once here, in
numpy, for every kind: document-context pooling, constrained Viterbi, marginals, n-best, entity scores.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from tagger.data.arrays import WindowArrays, WindowMaker
from tagger.data.inputs import read_windows
from tagger.data.schemes import PLAIN, entity_types, to_spans
from tagger.data.types import TaggedSentence
from tagger.errors import TaggerError
from tagger.runtime.context import window_emissions
from tagger.runtime.crf import Transitions, forward_backward, kbest_probabilities, viterbi
from tagger.runtime.scores import ChunkRules, calibration_error, decoded_scores
from tagger.tagging.model import Model, open_model
from tagger.tagging.options import TagOptions
from tagger.tagging.rewrite import output_rewrite
from tagger.tagging.stream import open_input, reader_workers, tag_stream

__all__ = ["Predictor", "Prepared", "check_scoring", "tag_in_process"]


@dataclass
class Prepared:
    """A window's arrays and each of its batches: its rows' sentence indices, the network's arrays and its mask."""

    arrays: WindowArrays
    batches: list[tuple[list[int], dict[str, np.ndarray], np.ndarray]]

    @property
    def sentences(self) -> int:
        return self.arrays.sentences


class Predictor:
    """Tags token lists with a model, in the model's ``data_scheme``.

    ``scores``: also each tag's, entity's and sequence's probability; ``nbest``: the ``nbest`` most probable
    sequences (both from ``run_scored`` and ``label``). ``min_score``: entities below it are tagged ``O``.
    ``shown``: the fields ``label`` sets besides the tags (None: all).
    """

    def __init__(
        self,
        model: Model,
        batch_size: int = 64,
        scores: bool = False,
        nbest: int = 0,
        temperature: float | None = None,
        min_score: float = 0.0,
        shown: Collection[str] | None = None,
    ):
        check_scoring(nbest, min_score, scores, model.data_scheme)
        if temperature is not None and not temperature > 0:
            raise ValueError(f"temperature must be above 0, got {temperature}")
        self.model, self.vocab, self.out_scheme = model, model.vocab, model.data_scheme
        self.rewrite = output_rewrite(model.vocab.tags, model.scheme, model.constrained, self.out_scheme)
        self.batch_size = batch_size
        self.window_maker = WindowMaker(model.vocab, batch_size, chars=model.chars, context=model.context)
        self.scores, self.nbest, self.min_score, self.shown = scores, nbest, min_score, shown
        # Entity scores need chunks: a plain label set's scores are the tokens' and the sequence's
        self.chunk_rules = ChunkRules(model.vocab.tags, model.scheme) if scores and self.out_scheme != PLAIN else None
        self.temperature = model.temperature if temperature is None else temperature

    def prepare(self, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None = None) -> Prepared:
        """The arrays for tagging ``sentences``, no network. ``docs``: each sentence's document number, read by a
        model with document context (None: each its own document)."""
        return self.feeds(self.window_maker(sentences, docs))

    def feeds(self, arrays: WindowArrays) -> Prepared:
        """The network's arrays of a window's (from ``window_maker``, here or in a worker process), without a copy."""
        batches = []
        for b in arrays.batches:
            lengths = np.frombuffer(b.lengths, dtype=np.int64)  # shape: (rows,)
            feed = {name: _view(getattr(b, name), b.width) for name in ("words", "cases", "forms")}
            feed["lengths"] = lengths
            if b.keys is not None:  # document context: the rows' documents and the tokens' keys
                feed["docs"], feed["keys"] = np.frombuffer(b.docs, dtype=np.int64), _view(b.keys, b.width)
            batches.append((b.index, feed, np.arange(b.width)[None, :] < lengths[:, None]))  # mask (rows, width)
        return Prepared(arrays, batches)

    def run(self, prepared: Prepared) -> list[list[str]]:
        """Run the network and the decoder over a prepared window; tags per sentence."""
        out: list[list[str]] = [[] for _ in range(prepared.sentences)]
        for index, _, _, decoded in self._decoded(prepared):
            for i, ids in zip(index, decoded):
                out[i] = self.rewrite(ids)
        return out

    def run_scored(self, prepared: Prepared) -> list[dict]:
        """Like ``run``, per sentence a dict of the ``TaggedSentence`` fields asked for: ``tags``, ``token_scores``,
        ``entity_scores``, ``probability``, ``nbest`` (``[{"tags": [...], "probability": p}, ...]``)."""
        return self._scored(prepared.sentences, self._decoded(prepared))

    def _scored(self, count: int, decoded) -> list[dict]:
        """``run_scored``'s answer for ``count`` sentences from their batches' ``_decoded``."""
        out = [self._empty() for _ in range(count)]
        exact = self.model.transitions(exact=True).scaled(self.temperature)  # once for all the batches
        for index, emissions, mask, ids in decoded:
            for i, found in zip(index, self._extras(emissions, mask, ids, exact)):
                out[i] = found
        return out

    def _decoded(self, prepared: Prepared) -> Iterator[tuple[list[int], np.ndarray, np.ndarray, list[list[int]]]]:
        """Each batch's sentence indices, emissions, mask and Viterbi tag ids."""
        decoding = self.model.transitions()
        for index, emissions, mask in self._emissions(prepared):
            yield index, emissions, mask, viterbi(emissions, mask, decoding)

    def _emissions(self, prepared: Prepared) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """Each batch's sentence indices, emissions (batch, time, tags) and mask (batch, time); with document
        context all at once, since a token's context is its document's, across the window's batches."""
        if not prepared.batches:  # a window of empty sentences (blank lines) only
            return
        model = self.model
        forms = model.forms(prepared.arrays)  # the char encoder's share, once per window where the backend can
        if not model.context:
            for index, feed, mask in prepared.batches:
                yield index, model.run(feed, forms)[0], mask
            return
        found = [model.run(feed, forms) for _, feed, _ in prepared.batches]
        masks = [mask for _, _, mask in prepared.batches]
        docs, keys = [f["docs"] for _, f, _ in prepared.batches], [f["keys"] for _, f, _ in prepared.batches]
        joined = window_emissions([own for own, _ in found], [lent for _, lent in found], masks, docs, keys)
        for (index, _, mask), emissions in zip(prepared.batches, joined):
            yield index, emissions, mask

    def _extras(self, emissions: np.ndarray, mask: np.ndarray, ids: list[list[int]], exact: Transitions) -> list[dict]:
        """Tags in ``out_scheme`` and the scores asked for, per sentence of a batch; ``exact``: the CRF's scores for
        probabilities at the predictor's temperature."""
        found: list[dict] = [{"tags": self.rewrite(row)} for row in ids]
        # Probabilities in double precision: a token's score is exp of a difference of sums over
        # the whole sentence, which single precision would round visibly in long sentences.
        emissions = emissions.astype(np.float64) / self.temperature  # shape: (batch, time, tags)
        # One forward-backward serves both the scores and the n-best probabilities.
        posterior = forward_backward(emissions, mask, exact)
        if self.scores:
            kept, scored = decoded_scores(emissions, mask, exact, ids, self.chunk_rules, self.min_score, posterior)
            for entry, decoded, row, extra in zip(found, ids, kept, scored):
                entry.update(extra)
                if row != decoded:  # entities below min_score were dropped: their tokens are O now
                    entry["tags"] = self.rewrite(row)
        if self.nbest:
            best = kbest_probabilities(emissions, mask, exact, self.nbest, posterior.log_z)
            for entry, sequences in zip(found, best):
                entry["nbest"] = [{"tags": self.rewrite(tags), "probability": p} for tags, p in sequences]
        return found

    def label(self, sentences: Sequence[TaggedSentence], prepared: Prepared) -> Sequence[TaggedSentence]:
        """Set the tags and asked-for score fields of the ``sentences`` ``prepared`` was made from; returns them."""
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

    def fit_temperature(
        self,
        sentences: Sequence[Sequence[str]],
        gold: Sequence[Sequence[str]],
        temperatures: Sequence[float] = tuple(round(0.5 + 0.1 * i, 2) for i in range(26)),
        bins: int = 10,
        docs: Sequence[int] | None = None,
    ) -> tuple[float, float]:
        """The temperature of ``temperatures`` giving the entities predicted in held-out ``sentences`` (tagged
        ``gold``) the lowest expected calibration error, and that error; the predictor keeps its own."""
        if not self.scores:
            raise ValueError("fit_temperature needs a Predictor made with scores=True")
        if len(sentences) != len(gold) or any(len(s) != len(g) for s, g in zip(sentences, gold)):
            raise ValueError("sentences and gold tags must have the same sentences and lengths")
        truth = [set(to_spans(tags)) for tags in gold]
        prepared = self.prepare(sentences, docs)
        decoded = list(self._decoded(prepared))  # the network once: decoding does not use the temperature
        own, best = self.temperature, (float("inf"), 1.0)
        try:
            for temperature in temperatures:
                self.temperature = temperature
                scores, correct = [], []
                for spans, found in zip(truth, self._scored(prepared.sentences, decoded)):
                    scores += found["entity_scores"]
                    correct += [span in spans for span in to_spans(found["tags"])]
                best = min(best, (calibration_error(scores, correct, bins), temperature))
        finally:
            self.temperature = own
        return best[1], best[0]


def check_scoring(nbest: int, min_score: float, scores: bool, out_scheme: str) -> None:
    """The scoring arguments of a predictor, checked."""
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


def _view(values, width: int) -> np.ndarray:
    return np.frombuffer(values, dtype=np.int64).reshape(-1, width)  # shape: (rows, width)


def tag_in_process(
    file: str | None, out: TextIO, model_path: Path | Sequence[Path], options: TagOptions, loaded: Model | None
) -> int:
    """Tag a file (stdin for None or '-') in this process into ``out``; returns the sentence count. ``loaded``:
    the model of ``model_path``, already loaded."""
    from tagger.tagging.writer import write

    model = loaded or open_model(model_path, options.device, options.threads)
    name, stream, close = open_input(file)
    try:
        predictor = Predictor(
            model, options.batch_size, options.asks_scores, options.nbest, min_score=options.min_score,
            shown=options.shown_fields,
        )  # fmt: skip
        workers = reader_workers(options)
        windows = read_windows(
            stream, name, options.input_kind, predictor.window_maker, workers, model.window, encoding=options.encoding
        )  # fmt: skip
        types = [] if model.data_scheme == PLAIN else entity_types(model.vocab.tags)
        count = write(tag_stream(predictor, windows), out, options.output_format, types=types)
    finally:
        if close:
            stream.close()
    return count

"""Tagging: sentences in, tags out, in batches, streaming.

Input is read a window of sentences at a time (``inputs.read_windows``);
each window is sorted by length, cut into batches, tagged, and put back in
input order, so output starts before the input ends and memory stays flat
whatever the input size.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import torch

from tagger.data.arrays import WindowArrays, WindowMaker
from tagger.data.inputs import read_windows
from tagger.data.schemes import PLAIN, entity_types, to_spans
from tagger.data.vocabulary import Vocabulary
from tagger.nn.crf import forward_backward, kbest_probabilities
from tagger.nn.ensemble import load_models
from tagger.nn.model import BiLSTMCRF
from tagger.nn.model_file import LoadedModel
from tagger.nn.scores import ChunkRules, calibration_error, decoded_scores
from tagger.nn.tensors import Batch, FormBucket, window_tensors
from tagger.tagging.labelling import Labelling, check_scoring
from tagger.tagging.options import TagOptions
from tagger.tagging.rewrite import output_rewrite
from tagger.tagging.stream import open_input, reader_workers, tag_stream

__all__ = ["Predictor", "Prepared", "tag_in_process"]


class Predictor(Labelling):
    """Tags token lists with a model; tags come back in ``out_scheme`` (the training data's).

    ``scores``: also the CRF's probabilities (see ``crf`` and ``scores``): of each chosen tag, of each entity, of
    the whole sequence; ``nbest``: also the ``nbest`` most probable tag sequences (0: none). Both are
    computed only by ``run_scored`` and ``label``; ``run`` never computes them. Probabilities use the
    model's ``temperature`` (its config's) unless one is given. ``min_score`` (with ``scores``) drops
    the entities scoring below it: their tokens are tagged ``O``, and the token scores and probability
    are those of the sequence that is left (the n-best list is the model's, untouched). ``shown``: the
    fields ``label`` sets besides the tags (None: all it computes).
    """

    def __init__(
        self,
        model: BiLSTMCRF,
        vocab: Vocabulary,
        out_scheme: str,
        batch_size: int = 64,
        scores: bool = False,
        nbest: int = 0,
        temperature: float | None = None,
        min_score: float = 0.0,
        shown: Collection[str] | None = None,
    ):
        check_scoring(nbest, min_score, scores, out_scheme)
        if temperature is not None and not temperature > 0:
            raise ValueError(f"temperature must be above 0, got {temperature}")
        self.model = model
        self.vocab = vocab
        self.out_scheme = out_scheme
        self.rewrite = _output_rewrite(model, vocab.tags, out_scheme)
        self.batch_size = batch_size
        # A model reading document context needs its batches' documents and keys (arrays.py): a window's
        # tokens pool the mentions of their word over their document, in whichever of the window's batches
        context = model.config.context == "document"
        self.window_maker = WindowMaker(vocab, batch_size, chars=model.char_encoder is not None, context=context)
        self.device = next(model.parameters()).device
        self.scores = scores
        self.nbest = nbest
        self.min_score = min_score
        self.shown = shown
        # Entity scores need chunks: a plain label set's scores are the tokens' and the sequence's
        chunks = scores and out_scheme != PLAIN
        self.chunk_rules = ChunkRules(vocab.tags, model.config.scheme).to(self.device) if chunks else None
        self.temperature = model.config.temperature if temperature is None else temperature
        self.score_group = 16384  # padded token positions scored at once, at most one batch beyond

    @classmethod
    def from_loaded(
        cls,
        loaded: LoadedModel,
        batch_size: int = 64,
        scores: bool = False,
        nbest: int = 0,
        min_score: float = 0.0,
        shown: Collection[str] | None = None,
    ) -> Predictor:
        model, vocab, scheme = loaded.model, loaded.vocab, loaded.data_scheme
        return cls(model, vocab, scheme, batch_size, scores, nbest, min_score=min_score, shown=shown)

    def prepare(self, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None = None) -> Prepared:
        """The tensors for tagging ``sentences``: lookups and tensor building, no network. ``docs``: each
        sentence's document number (``reader.Sentence.doc``), read by a model with document context
        (None: each sentence its own document)."""
        return self.tensors(self.window_maker(sentences, docs))

    def tensors(self, arrays: WindowArrays) -> Prepared:
        """The tensors of a window's arrays (from ``window_maker``, here or in a worker process)."""
        buckets, batches = window_tensors(arrays)
        return Prepared(arrays.sentences, arrays.forms, buckets, batches)

    def run(self, prepared: Prepared) -> list[list[str]]:
        """Run the network and the decoder over prepared tensors; tags per sentence."""
        model, rewrite = self.model, self.rewrite
        was_training = model.training
        model.eval()
        out: list[list[str]] = [[] for _ in range(prepared.sentences)]
        with torch.inference_mode():
            table = model.form_features(prepared.buckets, prepared.forms)
            for index, batch, emissions in self._emissions(prepared, table):
                for i, ids in zip(index, model.decode_emissions(emissions, batch.mask)):
                    out[i] = rewrite(ids)
        model.train(was_training)
        return out

    def run_scored(self, prepared: Prepared) -> list[dict]:
        """Like ``run``, with what the predictor was asked for: per sentence a dict of ``TaggedSentence``
        fields, ``tags`` and (``scores``) ``token_scores``, ``entity_scores``, ``probability`` and
        (``nbest``) ``nbest``: ``[{"tags": [...], "probability": p}, ...]``, tags in ``out_scheme``."""
        out = [self._empty() for _ in range(prepared.sentences)]
        for group in self._decoded_groups(prepared):
            with torch.inference_mode():
                self._score_group(group, out)
        return out

    def _decoded_groups(self, prepared: Prepared) -> Iterator[list]:
        """The network's emissions and the Viterbi tags of ``prepared``'s batches, in groups to be scored
        together: batches of similar length, since the scoring's cost is mostly a fixed one per token
        position, whatever the number of sentences. Each group: (indices, emissions, mask, tag ids) per batch."""
        model = self.model
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                table = model.form_features(prepared.buckets, prepared.forms)
                group: list[tuple[list[int], torch.Tensor, torch.Tensor, list[list[int]]]] = []
                for index, batch, emissions in self._emissions(prepared, table):  # shape: (batch, time, tags)
                    group.append((index, emissions, batch.mask, model.decode_emissions(emissions, batch.mask)))
                    if sum(e.shape[0] for _, e, _, _ in group) * emissions.shape[1] >= self.score_group:
                        yield group
                        group = []
                if group:
                    yield group
        finally:
            model.train(was_training)

    def _emissions(self, prepared: Prepared, table) -> Iterator[tuple[list[int], Batch, torch.Tensor]]:
        """Each batch of ``prepared`` (on the device) with its emissions, batch after batch; with document
        context all at once, since a token's context is its document's, across the window's batches."""
        model = self.model
        if not self.window_maker.context:
            for index, batch in prepared.batches:
                batch = batch.to(self.device)
                yield index, batch, model.emissions(batch, table)
            return
        batches = [batch.to(self.device) for _, batch in prepared.batches]
        yield from zip([index for index, _ in prepared.batches], batches, model.window_emissions(batches, table))

    def _score_group(self, group: list, out: list[dict]) -> None:
        """Score some batches at once (padded to the longest), into ``out`` at their sentences' indices."""
        width = max(e.shape[1] for _, e, _, _ in group)
        pad = torch.nn.functional.pad
        emissions = torch.cat([pad(e, (0, 0, 0, width - e.shape[1])) for _, e, _, _ in group])  # (n, width, tags)
        mask = torch.cat([pad(m, (0, width - m.shape[1])) for _, _, m, _ in group])  # shape: (n, width)
        ids = [row for _, _, _, rows in group for row in rows]
        index = [i for rows, _, _, _ in group for i in rows]
        for i, found in zip(index, self._extras(emissions, mask, ids)):
            out[i] = found

    def fit_temperature(
        self,
        sentences: Sequence[Sequence[str]],
        gold: Sequence[Sequence[str]],
        temperatures: Sequence[float] = tuple(round(0.5 + 0.1 * i, 2) for i in range(26)),
        bins: int = 10,
        docs: Sequence[int] | None = None,
    ) -> tuple[float, float]:
        """The temperature (of ``temperatures``) that gives the predicted entities of gold-tagged held-out
        ``sentences`` the lowest expected calibration error, and that error; the predictor keeps its own.

        The network runs once; each temperature scores its output again. An entity is correct when
        ``gold`` (tags in any scheme) has the same type and span. Decoding does not use the temperature,
        so the tags, and precision and recall, are the same at every one. ``docs`` as ``prepare`` takes them.
        """
        if not self.scores:
            raise ValueError("fit_temperature needs a Predictor made with scores=True")
        if len(sentences) != len(gold) or any(len(s) != len(g) for s, g in zip(sentences, gold)):
            raise ValueError("sentences and gold tags must have the same sentences and lengths")
        truth = [set(to_spans(tags)) for tags in gold]
        prepared = self.prepare(sentences, docs)
        groups = list(self._decoded_groups(prepared))  # the network once: decoding does not use the temperature
        own, best = self.temperature, (float("inf"), 1.0)
        try:
            for temperature in temperatures:
                self.temperature = temperature
                scored = [self._empty() for _ in range(prepared.sentences)]
                with torch.inference_mode():
                    for group in groups:
                        self._score_group(group, scored)
                scores, correct = [], []
                for spans, found in zip(truth, scored):
                    scores += found["entity_scores"]
                    correct += [span in spans for span in to_spans(found["tags"])]
                best = min(best, (calibration_error(scores, correct, bins), temperature))
        finally:
            self.temperature = own
        return best[1], best[0]

    def _extras(self, emissions: torch.Tensor, mask: torch.Tensor, ids: list[list[int]]) -> list[dict]:
        """Tags in ``out_scheme`` and the scores asked for, per sentence of a batch."""
        found: list[dict] = [{"tags": self.rewrite(row)} for row in ids]
        # Probabilities in double precision: a token's score is exp of a difference of sums over
        # the whole sentence, which single precision would round visibly in long sentences.
        emissions = emissions.double() / self.temperature  # shape: (batch, time, tags)
        crf = self.model.crf_parameters(exact=True).scaled(self.temperature)
        # One forward-backward serves both the scores and the n-best probabilities.
        posterior = forward_backward(emissions, mask, crf) if self.scores else None
        if self.scores:
            kept, scored = decoded_scores(emissions, mask, crf, ids, self.chunk_rules, self.min_score, posterior)
            for entry, decoded, row, extra in zip(found, ids, kept, scored):
                entry.update(extra)
                if row != decoded:  # entities below min_score were dropped: their tokens are O now
                    entry["tags"] = self.rewrite(row)
        if self.nbest:
            log_z = posterior.log_z if posterior is not None else None
            best = kbest_probabilities(emissions, mask, crf, self.nbest, log_z)
            for entry, sequences in zip(found, best):
                entry["nbest"] = [{"tags": self.rewrite(tags), "probability": p} for tags, p in sequences]
        return found


@dataclass
class Prepared:
    sentences: int
    forms: int
    buckets: list[FormBucket]
    batches: list[tuple[list[int], Batch]]  # sentence indices, and their batch


def _output_rewrite(model: BiLSTMCRF, tags: list[str], out_scheme: str) -> Callable[[list[int]], list[str]]:
    """Decoded tag ids to tags in ``out_scheme`` (``rewrite.output_rewrite`` for the model's scheme)."""
    return output_rewrite(tags, model.config.scheme, model.config.constrained, out_scheme)


def tag_in_process(
    file: str | None, out: TextIO, model_path: Path | Sequence[Path], options: TagOptions, loaded: LoadedModel | None
) -> int:
    """Tag a file (or stdin for None or '-') in this process (``files.tag_file`` decides where) and write the
    result to ``out``; returns the sentence count. ``loaded``: the model of ``model_path``, already loaded."""
    from tagger.nn.runtime import configure_torch
    from tagger.tagging.writer import write

    name, stream, close = open_input(file)
    try:
        configure_torch(options.threads)
        loaded = loaded or load_models(model_path, device=options.device)
        predictor = Predictor.from_loaded(
            loaded, options.batch_size, options.asks_scores, options.nbest, options.min_score, options.shown_fields
        )
        windows = read_windows(
            stream, name, options.input_kind, predictor.window_maker, reader_workers(options), encoding=options.encoding
        )
        types = [] if loaded.data_scheme == PLAIN else entity_types(loaded.vocab.tags)
        count = write(tag_stream(predictor, windows), out, options.output_format, types=types)
    finally:
        if close:
            stream.close()
    return count

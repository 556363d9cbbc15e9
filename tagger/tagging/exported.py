"""Tagging with an exported model (``tagger export``): onnxruntime for the network, numpy for the CRF, no torch.

``OnnxPredictor`` offers what ``tag_stream``, the API and evaluation ask of ``predictor.Predictor`` (``window_maker``,
``tensors``, ``label``, ``run``, ``run_scored``, ``predict``) and gives the same tags and scores (tests/runtime).
``tag_exported`` is ``predictor.tag_in_process`` for an exported model. ``tagging.files`` and the API choose it
by the model file's suffix (``runtime.model.is_onnx``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from tagger.data.arrays import BatchArrays, WindowArrays, WindowMaker
from tagger.data.inputs import read_windows
from tagger.data.schemes import PLAIN, entity_types
from tagger.runtime.crf import forward_backward, kbest_probabilities, viterbi
from tagger.runtime.model import OnnxModel, load_onnx
from tagger.runtime.scores import ChunkRules, decoded_scores
from tagger.tagging.labelling import Labelling, check_scoring
from tagger.tagging.options import TagOptions
from tagger.tagging.rewrite import output_rewrite
from tagger.tagging.stream import open_input, reader_workers, tag_stream

__all__ = ["OnnxPredictor", "load_exported", "session_threads", "tag_exported"]

# Padded tokens per run of the graph: a longer batch runs in parts. onnxruntime keeps the memory of the largest run
# it has seen (the LSTM's per-token buffers), which for a batch of 64 long sentences is tens of MB; in parts of this
# size it stays under a few, at no cost in speed measured (bench/onnx_speed.py).
RUN_TOKENS = 1024
# Lines (or sentences) per window: half the torch path's (windows.WINDOW). Besides the one tagged, a window waits
# ready and more are read ahead; in halves they hold half the memory (peak RSS 114 -> 101 MiB on 1.5 MB of text),
# and the graph runs as fast (it runs per batch; the torch path's char encoder runs once per window, and gains
# from the larger).
WINDOW = 1024


class OnnxPredictor(Labelling):
    """``predictor.Predictor`` for an exported model: the same arguments, the same results."""

    device = "cpu"

    def __init__(
        self,
        model: OnnxModel,
        batch_size: int = 64,
        scores: bool = False,
        nbest: int = 0,
        temperature: float | None = None,
        min_score: float = 0.0,
        shown: Collection[str] | None = None,
    ):
        check_scoring(nbest, min_score, scores, model.data_scheme)
        config, vocab = model.config, model.vocab
        self.model, self.vocab, self.out_scheme = model, vocab, model.data_scheme
        self.rewrite = output_rewrite(vocab.tags, config["scheme"], config.get("constrained", True), self.out_scheme)
        self.batch_size = batch_size
        self.window_maker = WindowMaker(vocab, batch_size, chars=model.chars, context=model.context)
        self.scores, self.nbest, self.min_score, self.shown = scores, nbest, min_score, shown
        # Entity scores need chunks: a plain label set's scores are the tokens' and the sequence's
        self.chunk_rules = ChunkRules(vocab.tags, config["scheme"]) if scores and self.out_scheme != PLAIN else None
        self.temperature = config.get("temperature", 1.0) if temperature is None else temperature
        self.decoding = model.scores()  # NEG on forbidden steps, as the torch model decodes
        self.exact = model.scores(exact=True).scaled(self.temperature)  # -inf on forbidden steps, for probabilities

    def prepare(self, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None = None) -> WindowArrays:
        return self.window_maker(sentences, docs)

    def tensors(self, arrays: WindowArrays) -> WindowArrays:
        """The arrays as they are: numpy reads them without a copy when a batch is run."""
        return arrays

    def _emissions(self, arrays: WindowArrays) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """Each batch's sentence indices, emissions (batch, time, tags) and mask (batch, time); with document
        context all at once, since a token's context is its document's, across the window's batches."""
        if self.model.context:
            feeds = list(self._feeds(arrays))
            found = self.model.window_emissions([feed for _, feed, _ in feeds], [mask for _, _, mask in feeds])
            for (index, _, mask), emissions in zip(feeds, found):
                yield index, emissions, mask
            return
        for index, feed, mask in self._feeds(arrays):
            yield index, self.model.emissions(feed), mask

    def _feeds(self, arrays: WindowArrays) -> Iterator[tuple[list[int], dict[str, np.ndarray], np.ndarray]]:
        """Each batch's sentence indices, the graph's inputs (and with document context its ``docs`` and
        ``keys``) and mask (batch, time)."""
        table = _char_table(arrays) if self.model.chars else None
        widths = (table != 0).sum(axis=1) if table is not None else None  # shape: (forms,) characters of each form
        for b in (part for batch in arrays.batches for part in _rows(batch, RUN_TOKENS)):
            lengths = np.frombuffer(b.lengths, dtype=np.int64)  # shape: (rows,)
            feed = {name: _view(getattr(b, name), b.width) for name in ("words", "cases", "forms")}
            feed["lengths"] = lengths
            if table is not None:  # the characters of the forms this batch uses, renumbered
                used, feed["forms"] = np.unique(feed["forms"], return_inverse=True)
                feed["forms"] = feed["forms"].reshape(-1, b.width)
                feed["chars"] = table[used, : max(int(widths[used].max()), 1)]  # no wider than its longest form
            if b.keys is not None:  # document context: the rows' documents and the tokens' keys
                feed["docs"], feed["keys"] = np.frombuffer(b.docs, dtype=np.int64), _view(b.keys, b.width)
            mask = np.arange(b.width)[None, :] < lengths[:, None]  # shape: (rows, width)
            yield b.index, feed, mask

    def run(self, arrays: WindowArrays) -> list[list[str]]:
        """Tags per sentence."""
        out: list[list[str]] = [[] for _ in range(arrays.sentences)]
        for index, emissions, mask in self._emissions(arrays):
            for i, ids in zip(index, viterbi(emissions, mask, self.decoding)):
                out[i] = self.rewrite(ids)
        return out

    def run_scored(self, arrays: WindowArrays) -> list[dict]:
        """``Predictor.run_scored``: per sentence the tags and the scores and n-best asked for."""
        out = [self._empty() for _ in range(arrays.sentences)]
        for index, emissions, mask in self._emissions(arrays):
            ids = viterbi(emissions, mask, self.decoding)
            for i, found in zip(index, self._extras(emissions, mask, ids)):
                out[i] = found
        return out

    def _extras(self, emissions: np.ndarray, mask: np.ndarray, ids: list[list[int]]) -> list[dict]:
        found: list[dict] = [{"tags": self.rewrite(row)} for row in ids]
        emissions = emissions.astype(np.float64) / self.temperature  # shape: (batch, time, tags)
        posterior = forward_backward(emissions, mask, self.exact)
        if self.scores:
            kept, scored = decoded_scores(emissions, mask, self.exact, ids, self.chunk_rules, self.min_score, posterior)
            for entry, decoded, row, extra in zip(found, ids, kept, scored):
                entry.update(extra)
                if row != decoded:  # entities below min_score were dropped: their tokens are O now
                    entry["tags"] = self.rewrite(row)
        if self.nbest:
            best = kbest_probabilities(emissions, mask, self.exact, self.nbest, posterior.log_z)
            for entry, sequences in zip(found, best):
                entry["nbest"] = [{"tags": self.rewrite(tags), "probability": p} for tags, p in sequences]
        return found


def _rows(batch: BatchArrays, tokens: int) -> Iterator[BatchArrays]:
    """``batch`` cut into runs of consecutive rows of at most ``tokens`` padded tokens (at least one row each)."""
    rows = max(1, tokens // batch.width)
    if len(batch.index) <= rows:
        yield batch
        return
    for at in range(0, len(batch.index), rows):
        flat = slice(at * batch.width, (at + rows) * batch.width)
        part = BatchArrays(
            batch.index[at : at + rows], batch.width, batch.words[flat], batch.cases[flat], batch.forms[flat],
            batch.lengths[at : at + rows],
        )  # fmt: skip
        if batch.keys is not None:
            part.docs, part.keys = batch.docs[at : at + rows], batch.keys[flat]
        yield part


def _view(values, width: int) -> np.ndarray:
    return np.frombuffer(values, dtype=np.int64).reshape(-1, width)  # shape: (rows, width)


def _char_table(arrays: WindowArrays) -> np.ndarray:
    """The window's form table's characters, padded to its longest form. shape: (forms, chars)"""
    width = max((b.width for b in arrays.buckets), default=1)
    table = np.zeros((max(arrays.forms, 1), width), dtype=np.int64)
    for bucket in arrays.buckets:
        chars = _view(bucket.chars, bucket.width)
        table[bucket.start : bucket.start + chars.shape[0], : bucket.width] = chars
    return table


def tag_exported(
    file: str | None, out: TextIO, model_path: Path, options: TagOptions, loaded: OnnxModel | None = None
) -> int:
    """``predictor.tag_in_process`` with an exported model: tag a file (or stdin for None or '-') into ``out``;
    ``loaded``: the model of ``model_path``, already loaded."""
    from tagger.tagging.writer import write

    check_device(options.device)
    name, stream, close = open_input(file)
    try:
        model = loaded or load_exported(model_path, options.threads)
        predictor = OnnxPredictor(
            model, options.batch_size, options.asks_scores, options.nbest, min_score=options.min_score,
            shown=options.shown_fields,
        )  # fmt: skip
        maker, workers = predictor.window_maker, reader_workers(options)
        windows = read_windows(
            stream, name, options.input_kind, maker, workers, WINDOW, encoding=options.encoding
        )  # fmt: skip
        types = [] if model.data_scheme == PLAIN else entity_types(model.vocab.tags)
        count = write(tag_stream(predictor, windows), out, options.output_format, types=types)
    finally:
        if close:
            stream.close()
    return count


def load_exported(path: str | Path, threads: int = 0, device: str = "cpu") -> OnnxModel:
    """The exported model at ``path`` on ``threads`` onnxruntime threads (``session_threads``: 0 is
    $TAGGER_THREADS, else 1); ValueError for a ``device`` other than the CPU (``check_device``)."""
    check_device(device)
    return load_onnx(path, threads=session_threads(threads))


def check_device(device: str) -> None:
    """ValueError unless ``device`` is the CPU, the only one an exported model runs on."""
    if str(device) != "cpu":
        raise ValueError(f"an exported model runs on the CPU; --device {device} needs the .pt model")


def session_threads(threads: int) -> int:
    """The network's threads as ``nn.runtime.configure_torch`` chooses torch's: 0 is $TAGGER_THREADS, else 1."""
    import os

    if threads <= 0:
        env = os.environ.get("TAGGER_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else 1
    return max(1, min(threads, os.cpu_count() or 1))

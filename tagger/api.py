"""The Python API: a ``Tagger`` that tags text, token lists and streams of texts.

    from tagger import Tagger
    tagger = Tagger.load("model.pt")
    doc = tagger("Apple is opening a new store in Paris next week.")
    doc.entities  # [Entity(type='ORG', text='Apple', start=0, end=1, char_start=0, char_end=5, ...), ...]

Text goes through the same reading path as ``tagger tag`` (``inputs.read_windows``
then ``tagging.tag_stream``), so the API and the command line give the same
tokens, tags, entities and offsets on the same text.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from io import BytesIO
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.data.chunks import MAX_WAIT
from tagger.data.inputs import read_windows
from tagger.data.reader import PAUSE
from tagger.data.schemes import PLAIN
from tagger.data.types import Doc, TaggedSentence
from tagger.data.windows import WINDOW, token_windows
from tagger.nn import shipped
from tagger.tagging.model import Model, model_files, open_checkpoint, open_model
from tagger.tagging.options import TagOptions
from tagger.tagging.predictor import Predictor
from tagger.tagging.stream import tag_stream
from tagger.training.options import train

if TYPE_CHECKING:  # torch is imported when a torch model is loaded: an exported one needs none
    import torch

__all__ = ["Tagger", "train"]

logger = logging.getLogger(__name__)


class Tagger:
    """A loaded model that tags text.

    Make one with ``Tagger.load(path)`` (a model file; a list of files is an ensemble: see
    ``tagger.nn.ensemble``) or ``Tagger.from_checkpoint(dict)``.
    Call it on a text for a ``Doc``; ``tag_tokens`` tags sentences already split into
    tokens; ``pipe`` tags a stream of texts lazily, in order; ``evaluate`` scores it on a
    gold CoNLL file. A Tagger pickles: it loads its model file again in the new process
    (or carries its checkpoint, when it was made from one).
    """

    def __init__(
        self,
        model: Model,
        batch_size: int = 64,
        path: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
        checkpoint: dict | None = None,
        *,
        scores: bool = False,
        nbest: int = TagOptions.nbest,
        min_score: float = TagOptions.min_score,
    ):
        """Wrap a loaded model (``tagging.model.open_model``'s); ``Tagger.load`` or ``Tagger.from_checkpoint`` are
        the usual ways in. ``path`` or ``checkpoint`` is what a pickled copy loads from; ``scores``, ``nbest`` and
        ``min_score`` are ``Tagger.load``'s."""
        if not isinstance(model, Model):
            raise TypeError(f"Tagger() takes a loaded model (use Tagger.load(path)); got {_shown(model)}")
        self.batch_size = _positive_int("batch_size", batch_size)
        self.threads: int | None = None  # what a copy made by pickling sets torch's threads to (see load)
        # One model file, or the list of an ensemble's.
        self.path: Path | list[Path] | None = None
        if isinstance(path, (str, os.PathLike)):
            self.path = Path(os.path.abspath(path))
        elif path is not None:
            self.path = [Path(os.path.abspath(p)) for p in path]
        self._checkpoint = checkpoint
        self._model = model
        self.scores, self.nbest, self.min_score = _score_options(scores, nbest, min_score)
        self._predictor = Predictor(model, self.batch_size, self.scores, self.nbest, min_score=self.min_score)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 64,
        threads: int | None = 0,
        *,
        scores: bool = False,
        nbest: int = TagOptions.nbest,
        min_score: float = TagOptions.min_score,
    ) -> Tagger:
        """Load a model file: ``path`` (a file, else a shipped model's name such as ``"en-news"``), or the
        default model (``$TAGGER_MODEL``, else ``~/.local/share/tagger/model.pt``, else when that file does not
        exist the shipped ``en-news``, said by a ``logging.info``); a list of files (trained with different seeds) is an
        ensemble that averages their scores, as ``tagger tag -m a.pt -m b.pt`` does. ``device``
        is a torch device ("cpu", "cuda", ...; an exported model runs on the CPU);
        ``batch_size`` is sentences per batch of the network. ``threads`` sets the network's threads
        as ``tagger tag --threads`` does (0: ``$TAGGER_THREADS``, else 1; the network's matrices are too
        small for more to pay); None leaves torch's setting for the process alone (an exported model: 0).
        A missing or damaged file raises ``ModelFileError``, the error ``tagger tag`` reports.

        ``scores=True``: each entity carries ``score``, the probability under the model that exactly
        its span has its type; each sentence its ``token_scores`` and ``probability``. ``nbest=K``:
        each sentence's ``nbest``, its K most probable tag sequences with their probabilities.
        ``min_score``: entities scoring below it are dropped (tagged O); above 0 it turns scores on.
        These are ``tagger tag --scores``, ``--nbest`` and ``--min-score``."""
        path = _model_path(path)
        options = _checked(device, batch_size, threads, scores, nbest, min_score)
        tagger = cls(open_model(path, str(device), threads), batch_size, path=path, **options)
        tagger.threads = threads
        return tagger

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: dict,
        device: str | torch.device = "cpu",
        batch_size: int = 64,
        threads: int | None = 0,
        *,
        scores: bool = False,
        nbest: int = TagOptions.nbest,
        min_score: float = TagOptions.min_score,
    ) -> Tagger:
        """A Tagger from a checkpoint held in memory (the dict a model file holds, e.g. from
        ``model_file.read_checkpoint``); it is checked as a model file is. The other arguments
        are those of ``Tagger.load``."""
        if not isinstance(checkpoint, dict):
            raise TypeError(f"checkpoint must be the dict a model file holds; got {_shown(checkpoint)}")
        from tagger.nn.torch_needed import require_torch

        require_torch("a model from a checkpoint")
        options = _checked(device, batch_size, threads, scores, nbest, min_score)
        tagger = cls(open_checkpoint(checkpoint, str(device), threads), batch_size, checkpoint=checkpoint, **options)
        tagger.threads = threads
        return tagger

    @property
    def device(self) -> str:
        """The device the model runs on ("cpu", "cuda:0", ...)."""
        return self._model.device

    @property
    def plain(self) -> bool:
        """The model tags a plain label set (part-of-speech tags): ``doc.tags``, no entities."""
        return self._model.data_scheme == PLAIN

    @property
    def metadata(self) -> dict:
        """What the model file says about its training (data, scores, settings)."""
        return self._model.metadata

    def __repr__(self) -> str:
        where = f"path={_as_str(self.path)!r}" if self.path is not None else "checkpoint=<in memory>"
        options = _named(self._score_state()).items()
        asked = "".join(f", {name}={value!r}" for name, value in options if value != DEFAULT_SCORES[name])
        return f"Tagger({where}, device={str(self.device)!r}, batch_size={self.batch_size}{asked})"

    def __call__(self, text: str) -> Doc:
        """Tag one text: it may hold several lines and sentences. The ``Doc`` keeps the sentences,
        each with tokens, tags and character offsets into ``text``, and their entities. A model that
        reads context tags each sentence with the others of its document: the text's blocks of lines
        between blank lines are its documents (as for ``tagger tag``)."""
        if not isinstance(text, str):
            hint = " (pipe() tags many texts, tag_tokens() token lists)" if isinstance(text, (list, tuple)) else ""
            raise TypeError(f"a Tagger tags a str; got {_shown(text)}{hint}")
        (doc,) = self._tag_texts([text])
        return doc

    def tag_tokens(self, sentences: Sequence[Sequence[str]], docs: Sequence | None = None) -> list[TaggedSentence]:
        """Tag sentences already split into tokens: ``[["John", "lives", "in", "Paris"], ...]``.
        The results have tokens, tags and entities, and no character offsets.

        ``docs``: each sentence's document, for a model that reads context (a sentence is tagged with the
        others of its document); consecutive sentences with the same value are one document, e.g.
        ``[0, 0, 0, 1, 1]``, or ``range(len(sentences))`` for sentences that are each on their own. None:
        the sentences are one document, as the lines of ``tagger tag --input tokens`` with no blank line
        between them are. A document is cut after ``arrays.DOC_MAX`` sentences. A model without context
        tags each sentence on its own, whatever ``docs`` says."""
        checked = _token_lists(sentences)
        if docs is not None:
            docs = _documents(docs, len(checked))
        untagged = [TaggedSentence(tokens, []) for tokens in checked]
        return list(tag_stream(self._predictor, token_windows(untagged, self._predictor.window_maker, docs, WINDOW)))

    def pipe(self, texts: Iterable[str], batch_size: int | None = None) -> Iterator[Doc]:
        """Tag a stream of texts, yielding one ``Doc`` per text in input order.

        Texts are taken ``batch_size`` at a time (default: the tagger's batch size) and
        tagged together, so a result comes before the stream ends and memory stays flat
        however long the stream is. A model that reads context never joins two texts in one document.

        A stream that comes slowly (a queue, a socket) is answered as it comes, as ``tagger tag``
        answers a terminal: the texts there are tagged when the stream pauses (no text for 50 ms) or
        half a second after the first of them came, so no result waits for texts still to come. A
        thread takes the texts from the stream, one when one is wanted (never more than a batch ahead);
        a stream that blocks forever keeps that thread waiting after the results are dropped.
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError(f"pipe() takes an iterable of texts, not one text; got {_shown(texts)} (call the tagger)")
        size = self.batch_size if batch_size is None else _positive_int("batch_size", batch_size)
        try:
            iterator = iter(texts)
        except TypeError:
            raise TypeError(f"pipe() takes an iterable of texts; got {_shown(texts)}") from None
        return self._pipe(iterator, size, waits=not isinstance(texts, Sequence))  # a list never makes one wait

    def _pipe(self, texts: Iterator[str], size: int, waits: bool = True) -> Iterator[Doc]:
        number = 0
        groups = _arriving_groups(texts, size) if waits else iter(lambda: list(islice(texts, size)), [])
        for group in groups:
            for i, text in enumerate(group, number):
                if not isinstance(text, str):
                    raise TypeError(f"pipe(): text {i} is not a str: {_shown(text)}")
            number += len(group)
            yield from self._tag_texts(group)

    def _tag_texts(self, texts: list[str]) -> Iterator[Doc]:
        """Tag texts as one input stream of lines, each text ending a line, and give each
        text its sentences with offsets counted from its own start."""
        # A model that reads context: a blank line after each text, so that no document runs on into the next text.
        data, starts, marks = _joined(texts, apart=self._predictor.window_maker.context)
        stream = BytesIO(data)
        windows = read_windows(stream, "<text>", "text", self._predictor.window_maker, workers=0)
        docs = [Doc(text) for text in texts]
        index = 0
        for sentence in tag_stream(self._predictor, windows):
            while sentence.text_start >= starts[index + 1]:
                yield docs[index]
                index += 1
            sentence.text_start += marks[index] - starts[index]
            docs[index].sentences.append(sentence)
        yield from docs[index:]

    def evaluate(
        self,
        data_path: str | os.PathLike,
        tag_column: int = -1,
        *,
        encoding: str = TagOptions.encoding,
        predictions: str | os.PathLike | None = None,
        data_format: str = "auto",
        conllu_field: str = "upos",
    ) -> dict:
        """Tag a gold CoNLL file (``-``: stdin; in ``encoding``) and score the tags against it (as ``tagger
        evaluate`` does): precision, recall and F1, overall and per entity type, and token accuracy (a plain
        label set: accuracy, and per tag), as plain data. ``predictions``: a file to write each token with its gold
        and predicted tag to (``evaluate --predictions``); ``data_format`` (conll, conllu, json; auto: by extension)
        and ``conllu_field`` (upos, xpos, deprel) as ``tagger evaluate`` takes them."""
        from tagger.training.evaluation import evaluate_predictor

        if not isinstance(data_path, (str, os.PathLike)):
            raise TypeError(f"data_path must be a str or a path to a CoNLL file; got {_shown(data_path)}")
        model = _as_str(self.path) if self.path is not None else "<checkpoint>"
        formats = {"data_format": data_format, "conllu_field": conllu_field}
        return evaluate_predictor(self._predictor, data_path, tag_column, model, encoding, predictions, **formats)

    def _score_state(self) -> tuple[bool, int, float]:
        return self.scores, self.nbest, self.min_score

    def __getstate__(self) -> dict:
        """What a copy in another process loads from: the model file's absolute path, or the
        checkpoint of a Tagger made from one; and the device, batch size and threads."""
        state: dict = {"device": str(self.device), "batch_size": self.batch_size, "threads": self.threads}
        state.update(_named(self._score_state()))
        if self.path is not None:
            state["path"] = _as_str(self.path)
        else:
            state["checkpoint"] = self._checkpoint
        return state

    def __setstate__(self, state: dict) -> None:
        """Load the model again from the path or checkpoint in ``state`` (see ``__getstate__``)."""
        options = {name: state.get(name, default) for name, default in DEFAULT_SCORES.items()}
        common = (state["device"], state["batch_size"], state["threads"])
        if "path" in state:
            other = Tagger.load(state["path"], *common, **options)
        else:
            other = Tagger.from_checkpoint(state["checkpoint"], *common, **options)
        self.__dict__.update(other.__dict__)


def _model_path(path) -> Path | list[Path]:
    """The model file(s) ``Tagger.load`` is given: the default model for None (said by a ``logging.info`` when it is
    the shipped one), a shipped model's name resolved where no file of that name is here; TypeError for others."""
    if path is None:
        path, note = shipped.default()
        if note:
            logger.info(note)
        return path
    if not isinstance(path, (str, os.PathLike)) and not (
        isinstance(path, (list, tuple)) and path and all(isinstance(p, (str, os.PathLike)) for p in path)
    ):
        raise TypeError(f"path must be a str or a path to a model file, or a list of them; got {_shown(path)}")
    return model_files(path)


_END = object()  # the stream of texts ended (or failed)


class _Arrivals:
    """The texts of an iterator, taken in a thread one at a time when one is asked for, so that the
    caller can wait for the next with a time limit."""

    def __init__(self, texts: Iterator[str]):
        self._texts = texts
        self._asked = threading.Semaphore(0)
        self._given: queue.Queue = queue.Queue()
        self._stopped = False
        threading.Thread(target=self._take, name="tagger-pipe", daemon=True).start()

    def _take(self) -> None:
        while True:
            self._asked.acquire()
            if self._stopped:
                return
            try:
                text = next(self._texts)
            except StopIteration:
                self._given.put((_END, None))
                return
            except BaseException as error:  # raised to the caller after the texts before it are tagged
                self._given.put((_END, error))
                return
            self._given.put((text, None))

    def ask(self) -> None:
        self._asked.release()

    def get(self, timeout: float | None) -> tuple[object, BaseException | None]:
        """The next text, or ``_END`` and the iterator's error (if it failed); ``queue.Empty`` after ``timeout``."""
        return self._given.get(timeout=timeout)

    def stop(self) -> None:
        self._stopped = True
        self._asked.release()


def _arriving_groups(texts: Iterator[str], size: int) -> Iterator[list[str]]:
    """Groups of up to ``size`` texts, each given as soon as the stream pauses (``reader.PAUSE`` without a
    text) or its first text has waited ``chunks.MAX_WAIT``: what ``tagger tag`` does with slow input."""
    arrivals = _Arrivals(texts)
    asked = False  # a text was asked for and has not come yet: it opens the next group
    try:
        while True:
            group: list[str] = []
            started = 0.0
            while len(group) < size:
                if not asked:
                    arrivals.ask()
                    asked = True
                limit = None if not group else max(0.0, min(PAUSE, started + MAX_WAIT - time.monotonic()))
                try:
                    text, error = arrivals.get(limit)
                except queue.Empty:
                    break
                asked = False
                if text is _END:
                    if group:
                        yield group
                    if error is not None:
                        raise error
                    return
                started = started or time.monotonic()
                group.append(text)
            yield group
    finally:
        arrivals.stop()


DEFAULT_SCORES = {"scores": False, "nbest": TagOptions.nbest, "min_score": TagOptions.min_score}


def _checked(device, batch_size, threads, scores, nbest, min_score) -> dict:
    """``Tagger.load``'s arguments checked before the model is read: the score options by name."""
    _positive_int("batch_size", batch_size)
    if not isinstance(device, str) and type(device).__name__ != "device":
        raise TypeError(f"device must be a str such as 'cpu' or 'cuda', or a torch.device; got {_shown(device)}")
    _check_threads(threads)
    return _named(_score_options(scores, nbest, min_score))


def _named(options: tuple[bool, int, float]) -> dict:
    return dict(zip(DEFAULT_SCORES, options))


def _score_options(scores: object, nbest: object, min_score: object) -> tuple[bool, int, float]:
    """``scores``, ``nbest`` and ``min_score`` checked (TypeError or ValueError showing the value);
    a ``min_score`` above 0 turns scores on, since entities are dropped by their scores."""
    if not isinstance(scores, bool):
        raise TypeError(f"scores must be True or False; got {_shown(scores)}")
    if isinstance(nbest, bool) or not isinstance(nbest, int):
        raise TypeError(f"nbest must be an int (0: none); got {_shown(nbest)}")
    if nbest < 0:
        raise ValueError(f"nbest must be 0 (none) or more; got {nbest}")
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)):
        raise TypeError(f"min_score must be a number from 0 to 1; got {_shown(min_score)}")
    if not 0 <= min_score <= 1:
        raise ValueError(f"min_score must be from 0 to 1; got {min_score}")
    return scores or min_score > 0, nbest, float(min_score)


def _as_str(path: Path | list[Path]) -> str | list[str]:
    """A model path as text, or an ensemble's paths as a list of texts."""
    return str(path) if isinstance(path, Path) else [str(p) for p in path]


def _joined(texts: list[str], apart: bool = False) -> tuple[bytes, list[int], list[int]]:
    """The texts as one UTF-8 stream, a line end after each that lacks one (and with ``apart`` a blank
    line after each: a document ends there); where each text starts in it (in characters; one more entry
    for the end); and 1 for a text that starts with a byte-order mark, else 0.

    A byte-order mark that starts a text is left out of the stream, as the command line's reader
    drops one that starts its input (so both read the same text), and counted back into the text's
    offsets, which count every character of it.
    """
    parts, starts, marks, at = [], [0], [], 0
    for i, text in enumerate(texts):
        marks.append(1 if text.startswith("\ufeff") else 0)
        text = text[marks[-1] :]
        if text and not text.endswith("\n"):
            text += "\n"
        if apart:
            text += "\n"
        if at == 0 and text.startswith("\ufeff"):  # the reader would drop it as the stream's mark: give it one
            parts.append("\ufeff".encode())
        try:
            parts.append(text.encode("utf-8"))
        except UnicodeEncodeError as err:
            raise ValueError(
                f"text {i} cannot be written as UTF-8: {text[err.start]!r} at character {err.start + marks[-1]} "
                "(a lone surrogate)"
            ) from None
        at += len(text)
        starts.append(at)
    return b"".join(parts), starts, marks


def _documents(docs: object, count: int) -> Sequence:
    """``tag_tokens``' ``docs`` checked: one value per sentence."""
    if isinstance(docs, (str, bytes)) or not isinstance(docs, Sequence):
        raise TypeError(f"tag_tokens(): docs must be a list of document numbers, one per sentence; got {_shown(docs)}")
    if len(docs) != count:
        raise ValueError(f"tag_tokens(): {len(docs)} document numbers (docs) for {count} sentences")
    return docs


def _token_lists(sentences: object) -> list[list[str]]:
    """``sentences`` checked to be token lists (a list of lists of str), as lists."""
    if isinstance(sentences, (str, bytes)) or not isinstance(sentences, Sequence):
        raise TypeError(f'tag_tokens() takes a list of token lists, e.g. [["John", "lives"]]; got {_shown(sentences)}')
    checked = []
    for i, tokens in enumerate(sentences):
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
            raise TypeError(f"tag_tokens(): sentence {i} is not a list of tokens: {_shown(tokens)}")
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"tag_tokens(): sentence {i} has a token that is not a str: {_shown(token)}")
            if not token:
                raise ValueError(f"tag_tokens(): sentence {i} has an empty token: {_shown(tokens)}")
        checked.append(list(tokens))
    return checked


def _check_threads(threads: object) -> int | None:
    """``threads`` checked: None, or an int of 0 or more (TypeError or ValueError showing the value)."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an int (0: $TAGGER_THREADS or 1) or None; got {_shown(threads)}")
    if threads < 0:
        raise ValueError(f"threads must be 0 or more (0: $TAGGER_THREADS or 1); got {threads}")
    return threads


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {_shown(value)}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}")
    return value


def _shown(value: object, limit: int = 80) -> str:
    """A value as an error message shows it: its type and a short repr."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}"

"""The Python API: a ``Tagger`` that tags text, token lists and streams of texts; and ``train``.

    from tagger import Tagger
    tagger = Tagger.load("model.pt")
    doc = tagger("Apple is opening a new store in Paris next week.")
    doc.entities  # [Entity(type='ORG', text='Apple', start=0, end=1, char_start=0, char_end=5, ...), ...]

The Tagger checks its arguments and hands the work to the tagging room, whose ``texts`` reads text as ``tagger tag``
does (the same tokens, tags, entities and offsets). ``train`` is the adapter ``tagger train`` runs too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.data.schemes import PLAIN
from tagger.data.types import Doc, TaggedSentence
from tagger.nn import shipped
from tagger.tagging import arrivals
from tagger.tagging.arguments import DEFAULT_SCORES, load_options, positive_int, score_options, shown
from tagger.tagging.model import Model, model_files, open_checkpoint, open_model
from tagger.tagging.options import TagOptions
from tagger.tagging.predictor import Predictor
from tagger.tagging.texts import tag_texts, tag_tokens
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
            raise TypeError(f"Tagger() takes a loaded model (use Tagger.load(path)); got {shown(model)}")
        self.batch_size = positive_int("batch_size", batch_size)
        self.threads: int | None = None  # what a copy made by pickling sets torch's threads to (see load)
        # One model file, or the list of an ensemble's.
        self.path: Path | list[Path] | None = None
        if isinstance(path, (str, os.PathLike)):
            self.path = Path(os.path.abspath(path))
        elif path is not None:
            self.path = [Path(os.path.abspath(p)) for p in path]
        self._checkpoint = checkpoint
        self._model = model
        self.scores, self.nbest, self.min_score = score_options(scores, nbest, min_score)
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
        options = load_options(device, batch_size, threads, scores, nbest, min_score)
        return cls._opened(open_model, path, device, batch_size, threads, options, path=path)

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
            raise TypeError(f"checkpoint must be the dict a model file holds; got {shown(checkpoint)}")
        from tagger.nn.torch_needed import require_torch

        require_torch("a model from a checkpoint")
        options = load_options(device, batch_size, threads, scores, nbest, min_score)
        return cls._opened(open_checkpoint, checkpoint, device, batch_size, threads, options, checkpoint=checkpoint)

    @classmethod
    def _opened(cls, opener: Callable[..., Model], source, device, batch_size, threads, options, **origin) -> Tagger:
        """A Tagger over the model ``opener`` opens from ``source``; a pickled copy opens it again from ``origin``
        (``path`` or ``checkpoint``) with ``threads``."""
        tagger = cls(opener(source, str(device), threads), batch_size, **origin, **options)
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
        options = self._score_options().items()
        asked = "".join(f", {name}={value!r}" for name, value in options if value != DEFAULT_SCORES[name])
        return f"Tagger({where}, device={str(self.device)!r}, batch_size={self.batch_size}{asked})"

    def __call__(self, text: str) -> Doc:
        """Tag one text: it may hold several lines and sentences. The ``Doc`` keeps the sentences,
        each with tokens, tags and character offsets into ``text``, and their entities. A model that
        reads context tags each sentence with the others of its document: the text's blocks of lines
        between blank lines are its documents (as for ``tagger tag``)."""
        if not isinstance(text, str):
            hint = " (pipe() tags many texts, tag_tokens() token lists)" if isinstance(text, (list, tuple)) else ""
            raise TypeError(f"a Tagger tags a str; got {shown(text)}{hint}")
        (doc,) = tag_texts(self._predictor, [text])
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
        return tag_tokens(self._predictor, sentences, docs)

    def pipe(self, texts: Iterable[str], batch_size: int | None = None) -> Iterator[Doc]:
        """Tag a stream of texts, yielding one ``Doc`` per text in input order.

        Texts are taken ``batch_size`` at a time (default: the tagger's batch size) and
        tagged together, so a result comes before the stream ends and memory stays flat
        however long the stream is. A model that reads context never joins two texts in one document.

        A stream that comes slowly (a queue, a socket) is answered as it comes, as ``tagger tag`` answers a
        terminal: texts are tagged when the stream pauses (no text for 50 ms) or half a second after the first
        of them came. A thread takes the texts from the stream (``tagging.arrivals``); a stream that blocks
        forever keeps that thread waiting after the results are dropped.
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError(f"pipe() takes an iterable of texts, not one text; got {shown(texts)} (call the tagger)")
        size = self.batch_size if batch_size is None else positive_int("batch_size", batch_size)
        try:
            iterator = iter(texts)
        except TypeError:
            raise TypeError(f"pipe() takes an iterable of texts; got {shown(texts)}") from None
        return self._pipe(iterator, size, waits=not isinstance(texts, Sequence))  # a list never makes one wait

    def _pipe(self, texts: Iterator[str], size: int, waits: bool) -> Iterator[Doc]:
        number = 0
        for group in arrivals.groups(texts, size, waits):
            for i, text in enumerate(group, number):
                if not isinstance(text, str):
                    raise TypeError(f"pipe(): text {i} is not a str: {shown(text)}")
            number += len(group)
            yield from tag_texts(self._predictor, group)

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
            raise TypeError(f"data_path must be a str or a path to a CoNLL file; got {shown(data_path)}")
        model = _as_str(self.path) if self.path is not None else "<checkpoint>"
        formats = {"data_format": data_format, "conllu_field": conllu_field}
        return evaluate_predictor(self._predictor, data_path, tag_column, model, encoding, predictions, **formats)

    def _score_options(self) -> dict:
        return {name: getattr(self, name) for name in DEFAULT_SCORES}

    def __getstate__(self) -> dict:
        """What a copy in another process loads from: the model file's absolute path, or the
        checkpoint of a Tagger made from one; and the device, batch size and threads."""
        state: dict = {"device": str(self.device), "batch_size": self.batch_size, "threads": self.threads}
        state.update(self._score_options())
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
        raise TypeError(f"path must be a str or a path to a model file, or a list of them; got {shown(path)}")
    return model_files(path)


def _as_str(path: Path | list[Path]) -> str | list[str]:
    return str(path) if isinstance(path, Path) else [str(p) for p in path]

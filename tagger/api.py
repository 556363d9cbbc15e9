"""The Python API: a ``Tagger`` that tags text, token lists and streams of texts; and ``train``.

    tagger = Tagger.load("model.pt")
    tagger("Apple is opening a new store in Paris.").entities  # [Entity(type='ORG', text='Apple', ...), ...]

The Tagger checks its arguments; the tagging room does the work, reading text as ``tagger tag`` does.
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
    """A loaded model that tags text (``Tagger.load(path)``, ``Tagger.from_checkpoint(dict)``).

    A Tagger pickles: the copy loads its model file again (or carries its checkpoint).
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
        """Wrap a loaded model (``open_model``'s); ``path`` or ``checkpoint`` is what a pickled copy loads from.
        The other arguments are ``Tagger.load``'s."""
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
        """Load ``path``: a model file, a shipped model's name (``"en-news"``), or a list of files (an ensemble
        averaging their scores); None: ``$TAGGER_MODEL``, else ``~/.local/share/tagger/model.pt``, else the
        shipped ``en-news`` (said by a ``logging.info``). A missing or damaged file raises ``ModelFileError``.

        ``device``: a torch device ("cpu", "cuda", ...; an exported model runs on the CPU). ``batch_size``:
        sentences per batch. ``threads``: the network's threads (0: ``$TAGGER_THREADS``, else 1; None leaves
        torch's setting alone). ``scores=True``: entities carry ``score`` (the probability of exactly their span
        and type), sentences ``token_scores`` and ``probability``. ``nbest=K``: each sentence's K most probable
        tag sequences. ``min_score``: entities scoring below it are tagged O (above 0 it turns scores on)."""
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
        """A Tagger from the dict a model file holds, checked as a model file is; the other arguments are
        ``Tagger.load``'s."""
        if not isinstance(checkpoint, dict):
            raise TypeError(f"checkpoint must be the dict a model file holds; got {shown(checkpoint)}")
        from tagger.nn.torch_needed import require_torch

        require_torch("a model from a checkpoint")
        options = load_options(device, batch_size, threads, scores, nbest, min_score)
        return cls._opened(open_checkpoint, checkpoint, device, batch_size, threads, options, checkpoint=checkpoint)

    @classmethod
    def _opened(cls, opener: Callable[..., Model], source, device, batch_size, threads, options, **origin) -> Tagger:
        """A Tagger over the model ``opener`` opens from ``source``; a pickled copy opens ``origin`` again."""
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
        """Tag one text of any number of lines and sentences: a ``Doc`` with tokens, tags, entities and character
        offsets into ``text``. Blocks of lines between blank lines are the documents a context model reads."""
        if not isinstance(text, str):
            hint = " (pipe() tags many texts, tag_tokens() token lists)" if isinstance(text, (list, tuple)) else ""
            raise TypeError(f"a Tagger tags a str; got {shown(text)}{hint}")
        (doc,) = tag_texts(self._predictor, [text])
        return doc

    def tag_tokens(self, sentences: Sequence[Sequence[str]], docs: Sequence | None = None) -> list[TaggedSentence]:
        """Tag sentences already split into tokens (``[["John", "lives", "in", "Paris"], ...]``); no offsets.

        ``docs``: each sentence's document, for a model that reads context: consecutive equal values are one
        document (``[0, 0, 1]``; ``range(len(sentences))``: each on its own). None: all one document. A document
        is cut after ``arrays.DOC_MAX`` sentences."""
        return tag_tokens(self._predictor, sentences, docs)

    def pipe(self, texts: Iterable[str], batch_size: int | None = None) -> Iterator[Doc]:
        """Tag a stream of texts lazily, one ``Doc`` per text in order, ``batch_size`` texts at a time (default:
        the tagger's). A slow stream is answered as it comes: texts are tagged when it pauses for 50 ms or half a
        second after the first came. A thread reads the stream; one that blocks forever keeps it waiting."""
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
        """Score the tags of a gold file (``-``: stdin) as ``tagger evaluate`` does: precision, recall and F1 overall
        and per type, and token accuracy (a plain label set: accuracy per tag). ``tag_column``: the gold tags'
        column. ``encoding``: the file's. ``predictions``: a file to write each token's gold and predicted tag to.
        ``data_format``: conll, conllu, json (auto: by extension); ``conllu_field``: upos, xpos or deprel."""
        from tagger.training.evaluation import evaluate_predictor

        if not isinstance(data_path, (str, os.PathLike)):
            raise TypeError(f"data_path must be a str or a path to a CoNLL file; got {shown(data_path)}")
        model = _as_str(self.path) if self.path is not None else "<checkpoint>"
        formats = {"data_format": data_format, "conllu_field": conllu_field}
        return evaluate_predictor(self._predictor, data_path, tag_column, model, encoding, predictions, **formats)

    def _score_options(self) -> dict:
        return {name: getattr(self, name) for name in DEFAULT_SCORES}

    def __getstate__(self) -> dict:
        """The model file's absolute path (or the checkpoint) and the options a copy loads with."""
        state: dict = {"device": str(self.device), "batch_size": self.batch_size, "threads": self.threads}
        state.update(self._score_options())
        if self.path is not None:
            state["path"] = _as_str(self.path)
        else:
            state["checkpoint"] = self._checkpoint
        return state

    def __setstate__(self, state: dict) -> None:
        """Load the model again from ``__getstate__``'s state."""
        options = {name: state.get(name, default) for name, default in DEFAULT_SCORES.items()}
        common = (state["device"], state["batch_size"], state["threads"])
        if "path" in state:
            other = Tagger.load(state["path"], *common, **options)
        else:
            other = Tagger.from_checkpoint(state["checkpoint"], *common, **options)
        self.__dict__.update(other.__dict__)


def _model_path(path) -> Path | list[Path]:
    """The model file(s) ``Tagger.load`` is given (None: the default one); TypeError for what is not a path."""
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

"""Scores of tagged data (entity scores from seqeval, counted as conlleval counts; token accuracy and per-tag
scores for a plain label set), and evaluating a model file on a gold file.

No torch here, and seqeval is imported only when entities are scored, so ``tagger evaluate`` on an exported
model runs in the tagging-only install with the ``evaluate`` extra.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tagger.data.schemes import PLAIN, labels
from tagger.errors import DataError, MissingExtra
from tagger.nn.config import DEFAULTS
from tagger.tagging.options import TagOptions

if TYPE_CHECKING:
    from tagger.data.reader import Sentence
    from tagger.tagging.predictor import Predictor


def score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], plain: bool = False) -> dict:
    """Token accuracy, and for chunk tags micro-averaged precision, recall and F1 and the same per entity
    type; for a ``plain`` label set precision, recall and F1 per tag instead (``per_tag``); as plain data."""
    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted)):
        raise ValueError("gold and predicted tags must have the same sentences and lengths")
    if plain:
        return label_scores(gold, predicted)
    return {**chunk_scores(gold, predicted), "accuracy": accuracy(gold, predicted)}


def accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """The share of tokens whose predicted tag is the gold one (0 for no tokens)."""
    tokens = sum(len(g) for g in gold)
    correct = sum(a == b for g, p in zip(gold, predicted) for a, b in zip(g, p))
    return correct / tokens if tokens else 0.0


def label_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Token accuracy, and each tag's precision, recall (its own accuracy) and F1 with its gold count."""
    gold_count: Counter[str] = Counter(t for g in gold for t in g)
    guess_count: Counter[str] = Counter(t for p in predicted for t in p)
    right: Counter[str] = Counter(a for g, p in zip(gold, predicted) for a, b in zip(g, p) if a == b)
    per_tag = {}
    for tag in sorted(gold_count.keys() | guess_count.keys()):
        precision = right[tag] / guess_count[tag] if guess_count[tag] else 0.0
        recall = right[tag] / gold_count[tag] if gold_count[tag] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_tag[tag] = {"precision": precision, "recall": recall, "f1": f1, "support": gold_count[tag]}
    tokens = sum(gold_count.values())
    return {"accuracy": sum(right.values()) / tokens if tokens else 0.0, "support": tokens, "per_tag": per_tag}


def headline(scores: dict) -> float:
    """The measure that fits the tag set, which picks the best epoch: F1 for chunks, accuracy for plain labels."""
    return scores["f1"] if "f1" in scores else scores["accuracy"]


def headline_name(scores: dict) -> str:
    """``F1`` or ``accuracy``: the name of ``headline(scores)``."""
    return "F1" if "f1" in scores else "accuracy"


def chunk_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Micro-averaged precision, recall and F1 and the same per entity type, from seqeval's default mode (as
    conlleval counts: an entity is right when its type, start and end all are); a type with no prediction scores
    0; ``support`` counts the gold entities. Plain floats and ints, as JSON writes them."""
    report = entity_report()
    with warnings.catch_warnings():
        # seqeval's macro and weighted averages, which are not reported, warn when there is no entity at all
        warnings.simplefilter("ignore")
        # lists: seqeval reads a sequence of sentences only when they are lists
        rows = report([list(g) for g in gold], [list(p) for p in predicted], output_dict=True, zero_division=0)
    micro = rows.pop("micro avg")
    per_type = {kind: _prf(row) for kind, row in sorted(rows.items()) if not kind.endswith(" avg")}
    return {**_prf(micro), "per_type": per_type}


def _prf(row: dict) -> dict:
    """One row of seqeval's report as the tagger reports it."""
    keys = {"precision": "precision", "recall": "recall", "f1": "f1-score"}
    return {**{name: float(row[key]) for name, key in keys.items()}, "support": int(row["support"])}


def entity_report() -> Callable:
    """seqeval's ``classification_report``, or ``MissingExtra`` naming the extra that installs it: asked before
    a run that will score entities tags or trains anything, so a missing seqeval costs no work."""
    try:
        from seqeval.metrics import classification_report
    except ImportError:
        raise MissingExtra("entity scores need seqeval", "evaluate") from None
    return classification_report


def evaluate(
    data_path: str | Path,
    model: str | Path | Sequence[str | Path] | None = None,
    tag_column: int = DEFAULTS.tag_column,
    batch_size: int = TagOptions.batch_size,
    device: str = TagOptions.device,
    encoding: str = TagOptions.encoding,
    predictions: str | Path | None = None,
    data_format: str = DEFAULTS.data_format,
    conllu_field: str = DEFAULTS.conllu_field,
    threads: int = TagOptions.threads,
    *,
    model_path: str | Path | Sequence[str | Path] | None = None,
) -> dict:
    """Tag a gold data file (stdin for ``-``; in ``encoding``; ``data_format`` and ``conllu_field`` as
    ``corpus.load_tagged`` takes them) with ``model`` and score it against the gold tags, as ``tagger evaluate``
    does: a model file (several: an ensemble) or a shipped model's name, by default the default model (as
    ``Tagger.load()`` and ``train`` take it); ``model_path``: its old name (a DeprecationWarning).
    ``predictions``: a file to write each token with its gold and predicted tag (``write_predictions``).
    ``threads``: the network's threads (0: ``$TAGGER_THREADS``, else 1)."""
    from tagger.data.output import refuse_inputs
    from tagger.tagging.model import model_files, open_model
    from tagger.tagging.predictor import Predictor

    model_path = model_files(_model(model, model_path))  # a shipped model's name, where no file of that name is here
    if predictions is not None:  # before the model is loaded
        refuse_inputs(predictions, [data_path], "--predictions")
    names = " + ".join(map(str, [model_path] if isinstance(model_path, (str, Path)) else model_path))
    formats = {"data_format": data_format, "conllu_field": conllu_field}
    predictor = Predictor(open_model(model_path, device, threads), batch_size)
    return evaluate_predictor(predictor, data_path, tag_column, names, encoding, predictions, **formats)


def _model(model, model_path) -> str | Path | Sequence[str | Path]:
    """``evaluate``'s model: ``model``, or ``model_path`` (its old name: a DeprecationWarning), else the default model
    (its note, where that is the shipped one, said by a ``logging.info`` as ``Tagger.load()`` says it)."""
    import logging

    if model_path is not None:
        if model is not None:
            raise TypeError("evaluate() takes model= (model_path= is its old name), not both")
        warnings.warn("evaluate(model_path=...) is now evaluate(model=...)", DeprecationWarning, stacklevel=3)
        model = model_path
    if model is None:
        from tagger.nn.shipped import default

        model, note = default()
        if note:
            logging.getLogger(__name__).info(note)
    return model


def write_predictions(out: TextIO, sentences: Sequence[Sentence], predicted: Sequence[Sequence[str]]) -> None:
    """Each token with its gold tag (as in the file) and its predicted tag (in the file's scheme), ``token gold
    predicted``, a blank line after each sentence: the three columns conlleval reads. -DOCSTART- lines are left
    out, as conlleval would count them as tokens."""
    for sentence, tags in zip(sentences, predicted):
        rows = zip(sentence.tokens, sentence.tags or ["O"] * len(tags), tags)
        out.write("".join(f"{token} {gold} {guess}\n" for token, gold, guess in rows) + "\n")


def evaluate_predictor(
    predictor: Predictor,
    data_path: str | Path,
    tag_column: int = -1,
    model: str = "",
    encoding: str = TagOptions.encoding,
    predictions: str | Path | None = None,
    data_format: str = DEFAULTS.data_format,
    conllu_field: str = DEFAULTS.conllu_field,
) -> dict:
    """Tag a gold data file with a loaded model and score it against the gold tags;
    ``model`` names the model in the result; ``predictions``, ``data_format`` and ``conllu_field`` as
    ``evaluate`` takes them."""
    from tagger.data.corpus import load_tagged
    from tagger.data.output import output_file
    from tagger.data.schemes import convert

    plain = predictor.out_scheme == PLAIN  # a plain model's gold file is read as plain labels
    if not plain:
        entity_report()  # seqeval is here, before any work
    # The predictions' file is checked (not an input, its folder writable) before any work
    with output_file(predictions, [data_path], "--predictions") if predictions else nullcontext() as out:
        formats = {"data_format": data_format, "conllu_field": conllu_field}
        data = load_tagged(data_path, tag_column, PLAIN if plain else None, encoding, **formats)
        if data.plain and not plain:
            raise DataError(
                f"the tags (column {tag_column}) are a plain label set such as part-of-speech tags, and the model "
                f"tags entities or chunks; is this the model for this data, or the column?",
                data.path,
            )
        # The file's documents (-DOCSTART-), which a model with document context reads
        predicted = predictor.predict([s.tokens for s in data.sentences], [s.doc for s in data.sentences])
        # Score both sides in the gold file's scheme, so it matches conlleval on the file.
        predicted = [convert(p, data.scheme) for p in predicted]
        if out is not None:
            write_predictions(out, data.sentences, predicted)
    result = score(data.tags_in(data.scheme), predicted, plain=data.plain)
    result.update(
        {
            "file": data.path,
            "model": model,
            "sentences": len(data.sentences),
            "tokens": data.tokens,
            "warnings": data.warnings
            + no_common_types(data.types(), sorted(labels(predictor.vocab.tags, data.scheme)), data.path),
        }
    )
    return result


def no_common_types(gold: set[str], model: Sequence[str], name: str) -> list[str]:
    """A warning when the gold file's entity types and the model's share none: every score is then 0, and
    the likely cause is a model trained for other data (WNUT-17's person vs CoNLL's PER)."""
    if not gold or set(gold) & set(model):
        return []
    return [
        f"{name}: the file's entity types ({', '.join(sorted(gold))}) and the model's ({', '.join(model)}) "
        f"have none in common, so every score is 0; is this the model for this data?"
    ]

"""``tagger evaluate``: score a model on a gold data file (``training.evaluation.evaluate`` does the work).

A parameter named as one of ``evaluation.evaluate``'s arguments fills it; the tagging options' defaults are
``TagOptions``'. Torch loads only when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tagger.cli import render
from tagger.cli.options import (
    BatchSize,
    ConlluField,
    DataFormat,
    Device,
    Encoding,
    ModelPaths,
    Summary,
    TagColumn,
    Threads,
    model_paths,
    option,
)
from tagger.nn.config import DEFAULTS
from tagger.tagging.options import TagOptions

Predictions = Annotated[
    Path | None,
    option(
        metavar="<path>",
        help="Also write each token with its gold and predicted tag to this file ('token gold predicted', "
        "a blank line after each sentence: conlleval's input), replacing it.",
    ),
]


def evaluate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Data file with gold tags (CoNLL, CoNLL-U or JSON); '-' for stdin.")],
    model: ModelPaths = None,
    output: Summary = render.SUMMARY_FORMATS[0],
    tag_column: TagColumn = DEFAULTS.tag_column,
    data_format: DataFormat = DEFAULTS.data_format,
    conllu_field: ConlluField = DEFAULTS.conllu_field,
    batch_size: BatchSize = TagOptions.batch_size,
    device: Device = TagOptions.device,
    threads: Threads = TagOptions.threads,
    encoding: Encoding = TagOptions.encoding,
    predictions: Predictions = None,
) -> None:
    """Score a model on a gold CoNLL file: entity-level precision, recall and F1 (seqeval's, counted as conlleval
    counts) and token accuracy; for a plain label set (part-of-speech tags), token accuracy and each tag's scores.

    Scores are percentages in the table, fractions 0-1 in --format json.
    """
    from tagger.training import evaluation

    options = {name: value for name, value in ctx.params.items() if name not in ("file", "model", "output")}
    result = evaluation.evaluate(file, model_paths(model), **options)
    render.report(result, output, lambda out: render.evaluation_table(result, out))

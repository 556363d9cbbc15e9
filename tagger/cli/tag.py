"""``tagger tag``: tag raw text, tokenized lines or CoNLL files, written as sentences are tagged.

A parameter named as a ``TagOptions`` field fills that field, and the field's default is the option's.
``tagging.files.tag_files`` does the work (where it runs: the --jobs workers, or this process) and returns
the sentences of each input, said here on stderr. Torch loads only when a file is tagged in this process.
"""

from __future__ import annotations

import sys
from dataclasses import fields, replace
from typing import Annotated

import typer

from tagger.cli import render
from tagger.cli.exit_status import err
from tagger.cli.options import (
    BadOption,
    BatchSize,
    Device,
    Encoding,
    ModelPaths,
    Threads,
    at_least,
    model_paths,
    only_with,
    option,
    unit_interval,
)
from tagger.data.inputs import INPUTS, looks_like_columns
from tagger.nn.config import SCORES
from tagger.tagging import writer
from tagger.tagging.options import TagOptions

Files = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="FILE",
        help="Input files, tagged in order, each as an input of its own; stdin when absent or '-'.",
        show_default=False,
    ),
]
InputKind = Annotated[
    str,
    option(
        "--input",
        help="text: raw text; conll: column files; tokens: one tokenized sentence a line; conllu: CoNLL-U (its "
        "syntactic words; the default for a .conllu FILE).",
        choices=INPUTS,
    ),
]
OutputFormat = Annotated[
    str,
    option(
        "--format",
        help="Output format (html: one page). A plain label set (part-of-speech tags) is written word/TAG inline, "
        "without entities in jsonl, uncoloured in html.",
        choices=writer.FORMATS,
    ),
]
Scores = Annotated[
    str | None,
    option(
        help="Add the CRF's probabilities: entities, a score per entity (jsonl, inline, html) and the "
        "sentence's probability (jsonl); tokens, also each token's (jsonl). A plain label set has no entities: "
        "the sentence's and tokens' probabilities only.",
        choices=SCORES,
    ),
]
NBest = Annotated[
    int, option(help="Add the K most probable tag sequences and their probabilities (jsonl).", rules=[at_least(0)])
]
MinScore = Annotated[
    float,
    option(
        help="Drop entities scoring below this (0-1); their tokens are tagged O. Not for a plain label set (no "
        "entities).",
        rules=[unit_interval],
    ),
]
Workers = Annotated[
    int,
    option(
        help="Processes beside the network for tokenizing and lookups (-1: 1 if 2+ cores, else 0).",
        rules=[at_least(-1)],
    ),
]
Jobs = Annotated[
    int,
    option(
        help="Processes that each tag whole windows of a file on disk, on the CPU (0: one per core "
        "with 4+ cores, else 1; 1: one process and its reader, as for stdin). With a GPU, the "
        "processes that read and look up for it.",
        rules=[at_least(0)],
    ),
]
To = Annotated[
    str | None,  # as given: a / at its end names a folder, which a Path would drop
    option(
        "--output",
        "-o",
        metavar="<path>",
        help="Write to this file instead of stdout: replaced when the run succeeds, left as it was if it fails. "
        "A folder (one that exists, or DIR/): a file per input, named FILE.FORMAT (a.txt.jsonl), each replaced "
        "once its input is tagged.",
    ),
]
DEFAULT = TagOptions()


def tag(
    ctx: typer.Context,
    files: Files = None,
    model: ModelPaths = None,
    input_kind: InputKind = DEFAULT.input_kind,
    output_format: OutputFormat = DEFAULT.output_format,
    scores: Scores = DEFAULT.scores,
    nbest: NBest = DEFAULT.nbest,
    min_score: MinScore = DEFAULT.min_score,
    batch_size: BatchSize = DEFAULT.batch_size,
    device: Device = DEFAULT.device,
    threads: Threads = DEFAULT.threads,
    workers: Workers = DEFAULT.workers,
    jobs: Jobs = DEFAULT.jobs,
    to: To = None,
    encoding: Encoding = DEFAULT.encoding,
) -> None:
    """Tag raw text, tokenized lines, CoNLL or CoNLL-U files; writes to stdout as sentences are tagged.

    Several files give what tagging each in turn gives (a document ends with its file); in --format jsonl each
    record starts with its input's "file". -o DIR/ writes a file per input instead.
    Empty or blank input writes nothing and exits 0. Scores are fractions 0-1: in --format jsonl,
    as in every JSON output, and in inline ([PER John Smith|0.98]) and html (on hover).
    """
    options = _by_extension(ctx, TagOptions(**{field.name: ctx.params[field.name] for field in fields(TagOptions)}))
    inputs = _checked_inputs(ctx, files, options)
    _warn_of_column_files(ctx, inputs, options)
    from tagger.tagging.files import tag_files
    from tagger.tagging.outputs import outputs

    if to is None and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="strict")
    with outputs(to, inputs, options.output_format) as out:
        counts = tag_files(inputs, out, model_paths(model), options)
    for name, count in counts.items():
        if count == 0 or len(inputs) == 1:
            err(render.tagged_count(count, name))
    if len(inputs) > 1:
        err(render.tagged_count(sum(counts.values()), "", files=len(inputs)))


def _by_extension(ctx: typer.Context, options: TagOptions) -> TagOptions:
    """The options with ``--input conllu`` where it was not given and the input files are ``.conllu``; a usage
    error where only some are."""
    files = ctx.params["files"] or []
    if _given(ctx, "input_kind") or not files:
        return options
    conllu = [f.lower().endswith(".conllu") for f in files]
    if all(conllu):
        return replace(options, input_kind="conllu")
    if any(conllu):
        raise BadOption("some inputs are .conllu files and some are not: give --input for them all", ctx)
    return options


def _warn_of_column_files(ctx: typer.Context, inputs: list[str], options: TagOptions) -> None:
    """One warning for each input file read as raw text (the default, not chosen) that looks like a column file:
    its lines would be tagged as sentences ('SOCCER NN I-NP O'), status 0. stdin is looked at where it is a file."""
    if options.input_kind != "text" or _given(ctx, "input_kind"):
        return
    for name in inputs:
        if looks_like_columns(name, options.encoding):
            shown = "<stdin>" if name == "-" else name
            err(
                f"warning: {shown}: this looks like a column file (CoNLL), not raw text: its columns are tagged as "
                "words; --input conll reads its tokens"
            )


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the option ``name`` was given on the command line (or by the environment), not left to its default."""
    return getattr(ctx.get_parameter_source(name), "name", "") != "DEFAULT"  # typer's own click's enum


def _checked_inputs(ctx: typer.Context, files: list[str] | None, options: TagOptions) -> list[str]:
    """The inputs (stdin for none); a usage error, before any work, where an option does not apply to the output
    format, and an error for an input that is not there."""
    output, scores, nbest = options.output_format, options.scores, options.nbest
    if nbest:
        only_with(ctx, "--nbest", nbest, output, ("jsonl",))
    if scores == "tokens":
        only_with(ctx, "--scores", scores, output, ("jsonl",))
    elif scores:
        only_with(ctx, "--scores", scores, output, ("jsonl", "inline", "html"))
    from tagger.tagging.outputs import is_folder

    inputs = list(files or ["-"])
    to = ctx.params["to"]
    if output == "html" and len(inputs) > 1 and not (to and is_folder(to)):
        raise BadOption("--format html writes one page: give one input file, or -o DIR/ for a page per input", ctx)
    from tagger.data.reader import check_inputs

    check_inputs(inputs)
    return inputs

"""Tagging files: the one place that decides whether a file is tagged by the --jobs worker processes or here.

``tag_file`` and ``tag_files`` take the inputs, the output, the model(s) and one ``TagOptions``. The --jobs
workers (``jobs.tag_file_jobs``) take a file where they can; the others are tagged in this process
(``predictor.tag_in_process``). This module imports no torch: where the workers tag, the parent only reads
and writes, and torch is imported only when a torch model is opened here (``model.open_model``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TextIO

from tagger.tagging.jobs import tag_file_jobs
from tagger.tagging.model import model_files, open_model
from tagger.tagging.options import TagOptions

__all__ = ["tag_file", "tag_files"]

Models = str | Path | Sequence[str | Path]
Outputs = TextIO | Callable[[str], AbstractContextManager[TextIO]]


def tag_file(file: str | None, out: TextIO, model_path: Models, options: TagOptions = TagOptions(), loaded=None) -> int:
    """Tag a file (or stdin for None or '-') and write the result to ``out``; returns the sentence count.

    ``options.encoding``: the input's (any text codec of Python's; a byte-order mark is dropped).
    ``options.scores`` ("entities" or "tokens", see ``config.SCORES``) adds the CRF's probabilities to the output,
    ``nbest`` the most probable tag sequences, and ``min_score`` drops entities scoring below it (their
    tokens are tagged O; the scores are shown only where ``scores`` asks for them).
    An empty or blank input writes nothing and returns 0: a filter in a pipeline (``grep X f | tagger tag``)
    or a loop over many files must not fail on an empty one.
    ``options.jobs`` > 1 tags a file on disk with that many processes (``jobs.tag_parallel``, the same output)
    on the CPU, with one model, without scores or html; on a GPU, ``jobs - 1`` processes feed it.
    ``loaded``: the model of ``model_path``, already loaded (``model.Model``: a Dask worker keeps it for every
    file it tags); it is tagged with here (the workers would load their own).
    """
    options.check()
    paths = model_files(model_path)  # a shipped model's name; the --jobs workers load the resolved file
    return _tag(file, out, paths, options, lambda: loaded, workers=loaded is None)


def tag_files(inputs: Sequence[str], out: Outputs, model_path: Models, options: TagOptions = TagOptions()) -> dict:
    """Tag each input in turn into ``out``, as ``tag_file`` tags one: the sentences of each, by name (stdin is
    ``<stdin>``). The model is loaded once for them all (by the --jobs workers, or here for the others).
    ``out``: one stream for them all, or a function of an input that gives its output (a context manager that
    opens it, and ends it once the input is tagged: ``tagging.outputs.per_input``)."""
    options.check()
    paths = model_files(model_path)
    shared = _OnceLoaded(paths, options) if len(inputs) > 1 else (lambda: None)
    counts: dict[str, int] = {}
    for file in inputs:
        with out(file) if callable(out) else nullcontext(out) as target:
            count = _tag(file, target, paths, options, shared)
        name = "<stdin>" if file == "-" else file
        counts[name] = counts.get(name, 0) + count
    return counts


def _tag(file: str | None, out: TextIO, paths: Models, options: TagOptions, loaded: Callable, workers=True) -> int:
    """Where ``file`` is tagged: by the --jobs workers (where ``workers`` and they can), else here with
    ``loaded()`` (None: the model is loaded for this file). ``paths``: ``model.model_files``' (checked)."""
    if workers:
        count = tag_file_jobs(file, out, paths, options)  # the parent only reads and writes
        if count is not None:
            return count
    from tagger.tagging.predictor import tag_in_process

    return tag_in_process(file, out, paths, options, loaded())


class _OnceLoaded:
    """The model(s) of several inputs, loaded by the first that is tagged in this process."""

    def __init__(self, paths: Models, options: TagOptions):
        self.paths, self.options, self.loaded = paths, options, None

    def __call__(self):
        if self.loaded is not None:
            return self.loaded
        self.loaded = open_model(self.paths, self.options.device, self.options.threads)
        return self.loaded

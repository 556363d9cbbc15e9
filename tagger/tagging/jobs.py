"""``tagger tag --jobs N``: N worker processes tag whole windows; the parent reads input and writes output in order.

The parent cuts the input (``job_input``) and hands at most ``AHEAD`` windows per worker to the pool, never loading
the model. Workers fork from a fork server that imported torch (or onnxruntime) once, sharing its pages; a run for
the other kind of model spawns them. A dead worker stops the run with a one-line ``WorkerError`` (status 1), the
output whole windows in order; workers ignore Ctrl-C and the parent stops them (status 130).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import BinaryIO, TextIO

from tagger.data.chunks import reads_ahead
from tagger.data.inputs import INPUTS
from tagger.data.pool import Pool, in_order
from tagger.data.reader import UTF8, text_encoding
from tagger.data.windows import WINDOW
from tagger.errors import DataError, WorkerError, counted
from tagger.tagging import job_worker
from tagger.tagging.job_input import conll_chunks, line_chunks
from tagger.tagging.options import TagOptions, job_count

__all__ = ["tag_file_jobs", "tag_parallel"]

AHEAD = 2  # windows queued per worker: one being tagged, one waiting
_NO_STATUS = 255  # a forkserver process's exit code when its status never came: the fork server died


def tag_file_jobs(
    file: str | None, out: TextIO, model_path: str | Path | Sequence[str | Path], options: TagOptions
) -> int | None:
    """``files.tag_file`` with ``job_count(options.jobs)`` worker processes: the sentence count, or None (nothing
    read, nothing opened) where the single-process path must tag instead (``_applies``; an ensemble; input that
    trickles in: stdin from a pipe or terminal, a named pipe)."""
    if isinstance(model_path, (list, tuple)):
        if len(model_path) != 1:
            return None
        (model_path,) = model_path
    if not _applies(options):
        return None
    from tagger.data.reader import open_binary

    setup = dict(
        model_path=model_path,
        input_kind=options.input_kind,
        output_format=options.output_format,
        batch_size=options.batch_size,
        device=options.device,
        jobs=job_count(options.jobs),
        threads=options.threads,
    )
    if file is None or file == "-":
        if not reads_ahead(sys.stdin.buffer):
            return None
        return tag_parallel(sys.stdin.buffer, "<stdin>", out, **setup)
    if not _regular_file(file):  # never opened here: a named pipe opened and closed would lose its writer
        return None
    with open_binary(file) as stream:
        return tag_parallel(stream, file, out, **setup)


def _applies(options: TagOptions) -> bool:
    """Whether the workers can tag with ``options``: several jobs on the CPU, no scores, n-best or html, UTF-8, not
    CoNLL-U (its words may hold spaces, which the workers' token lines cannot carry)."""
    if job_count(options.jobs) < 2 or options.device != "cpu" or options.output_format == "html":
        return False
    if options.input_kind == "conllu":
        return False
    if options.scores or options.nbest or options.min_score > 0:
        return False
    return text_encoding(options.encoding) == UTF8


def _regular_file(path: str) -> bool:
    """Whether ``path`` is a file on disk (a missing one is not: the single-process path reports it)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def tag_parallel(
    stream: BinaryIO,
    name: str,
    out: TextIO,
    model_path: str | Path,
    input_kind: str = "text",
    output_format: str = "conll",
    batch_size: int = 64,
    device: str = "cpu",
    jobs: int = 2,
    window: int = WINDOW,
    threads: int = 0,
) -> int:
    """Tag ``stream`` (named ``name`` in errors) with ``jobs`` worker processes and write to ``out`` what
    ``files.tag_file`` writes; returns the sentence count. The first worker reports a bad model
    (``ModelFileError``). ``threads``: the network's threads in each worker (0: one)."""
    if input_kind not in INPUTS:
        raise DataError(f"unknown input kind {input_kind!r}; expected one of {', '.join(INPUTS)}")
    if jobs < 1:
        raise DataError(f"--jobs must be at least 1, got {jobs}")
    setup = (str(model_path), batch_size, device, output_format, threads)
    if input_kind == "conll":
        chunks = conll_chunks(stream, name, window)
    else:
        chunks = line_chunks(stream, name, window, input_kind)
    kind = "tokens" if input_kind == "conll" else input_kind
    context = _context(job_worker._preload(str(model_path)))
    pool = Pool(jobs, context, lambda processes: _died(processes, jobs, name), "tagger-job", job_worker.start, (setup,))
    count = 0
    with closing(in_order(pool, job_worker.tag_window, _tasks(chunks, kind), jobs * AHEAD)) as results:
        try:
            for _, (sentences, text) in results:
                out.write(text)
                out.flush()
                count += sentences
        except job_worker.Failed as err:
            raise _failed(err, pool.processes, jobs, name) from None
    return count


def _tasks(chunks: Iterator[tuple[bytes, int]], kind: str) -> Iterator[tuple[None, tuple, bool]]:
    """The workers' tasks, ``job_worker.tag_window``'s arguments; one of no input where the input is empty: a
    worker still loads the model, so a bad one fails as with input."""
    first = True
    for data, position in chunks:
        yield None, (data, kind, position, first), False
        first = False
    if first:
        yield None, (b"", kind, 0, True), False


_FORK_SERVER = {}  # the modules the fork server of this process's runs imports: set by the first run
_FORK_SERVER_LOCK = threading.Lock()


def _context(preload: list[str]):
    """The fork server, where there is one and it imports ``preload`` (or will: the first run sets it); else
    spawn. Never fork a process that has run torch (its threads): the fork server never runs a torch op."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    with _FORK_SERVER_LOCK:
        if _FORK_SERVER.setdefault("preload", preload) != preload:
            return multiprocessing.get_context("spawn")  # a fork server of the other kind of model
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(preload)
    return context


def _died(processes: list, jobs: int, name: str) -> WorkerError:
    """The error of a run whose pool broke: a worker died (the first that did is named), or the fork server."""
    dead = [p for p in processes if p.exitcode is not None]
    if not dead:
        return WorkerError("a tagging worker died; the output stops before the window it was tagging", name)
    # The pool ends the others with SIGTERM once one has died: the dead one is another unless it got that too.
    worker = next((p for p in dead if p.exitcode != -signal.SIGTERM), dead[0])
    code = worker.exitcode
    if code == _NO_STATUS and _exists(worker.pid):
        _stop_orphans(processes)
        return WorkerError(
            f"the fork server that starts the tagging workers died (its {counted(len(processes), 'worker')} are "
            "stopped); the output stops before the window being tagged",
            name,
        )
    how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
    return WorkerError(
        f"tagging worker {processes.index(worker) + 1} of {jobs} (pid {worker.pid}) died ({how}); "
        "the output stops before the window it was tagging",
        name,
    )


def _failed(err: job_worker.Failed, processes: list, jobs: int, name: str) -> WorkerError:
    """A worker's error that is not the tagger's own, naming the worker."""
    number = next((at + 1 for at, p in enumerate(processes) if p.pid == err.pid), "?")
    return WorkerError(f"tagging worker {number} of {jobs} failed: {err.line}", name)


def _stop_orphans(processes: list) -> None:
    """SIGKILL to the workers still there: after the fork server's death they are nobody's children, never
    told to stop (their status reads as gone), and one waiting for a task would wait forever."""
    for process in processes:
        if _exists(process.pid):
            try:
                os.kill(process.pid, signal.SIGKILL)
            except OSError:  # gone meanwhile
                pass


def _exists(pid: int) -> bool:
    """Whether a process ``pid`` is there (a worker: one the fork server started, not this process's child)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # there, and not ours to signal
        return True
    return True

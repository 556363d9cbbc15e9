"""``tagger tag --jobs N``: N worker processes tag whole windows; the parent reads input and writes output in order.

The parent cuts the input into chunks of lines (a window each: ``windows.WINDOW``
lines or ``chunks.WINDOW_CHARS`` bytes at most) and hands them round in turn
to N worker processes. Each worker has its own model (the model file's pages,
mapped: ``model_file.load_model``) and one torch thread, and does all of a
window's per-token work: tokenizing, lookups and arrays, the network, decoding,
and formatting the output text, through the same functions as single-process
tagging (``inputs.read_windows``, ``tagging.tag_stream``, ``writer.write``),
so the output is the same byte for byte. The parent decodes each chunk once to
check it is UTF-8 (naming the line when it is not) and to count its characters
(JSON lines' offsets count from the start of the input), and writes the
returned text in input order.
At most ``AHEAD`` windows per worker are in flight: memory stays flat.

CoNLL input is parsed in the parent (``reader.iter_conll``, so its errors name
their lines as today) and sent on as token lines.

Chunks end only where a document ends (as ``inputs.read_windows`` cuts its
windows for a model that reads context, by the same ``chunks.cut_chunks``): a
model that reads context (``ModelConfig.context``) tags each sentence with the
others of its document, so every worker sees whole documents and the output is
the same whatever ``--jobs``; CoNLL sentences go with a blank line where a new
document starts (a blank line ends a document of token lines). The parent does
this for every model: it never loads the model (nor imports torch), so it cannot
ask whether the model reads context, and a model that does not tags each
sentence alone, so where its chunks end changes nothing in its output (a chunk
is at most ``arrays.DOC_MAX`` lines longer; the parent's cost is ~0.5 us a line).

Workers are forked from a fork server that imported torch and the tagger once
(``PRELOAD``, then ``tagger.tagging.preload``) and did nothing else, so they share those pages instead of
each importing its own copy (about 150 MB each); where there is no fork server
(Windows) they are spawned. The parent never imports torch.

An exported model (``tagger export``, a ``.onnx`` file) is tagged the same way, by
the same predictor: its fork server imports onnxruntime and the tagger's runtime
instead of torch (``PRELOAD_EXPORTED``), so no process of the run imports torch, and each
worker runs the network on one onnxruntime thread unless ``--threads`` gives more.
A fork server is one per process: a run that starts while another run's is up uses that one.

A worker that dies stops the run at once with a one-line ``WorkerError``
(status 1) naming it; output already written is whole windows in order, and
the error says the output stops there. So does the fork server's death (every
worker's status then reads as lost, exit code 255, while the workers run on,
nobody's children): the error names the fork server and the workers are killed.
Workers ignore Ctrl-C: the parent stops them and the command line exits with status 130.

A line of raw text longer than ``reader.LINE_PIECE`` bytes is read here in pieces, as
``inputs.read_windows`` reads it: a chunk may end inside such a line, at a piece's end,
and the worker given the rest of it cuts the same pieces (``reader.line_pieces``).
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import stat
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import BinaryIO, TextIO

from tagger.data.chunks import BLANK, cut_chunks, line_documents, numbered_documents, reads_ahead
from tagger.data.inputs import INPUTS
from tagger.data.reader import LINE_PIECE, UTF8, LineFeed, iter_conll, numbered_pieces, text_encoding, undecodable_line
from tagger.data.windows import WINDOW
from tagger.errors import DataError, TaggerError, WorkerError
from tagger.tagging.options import TagOptions, job_count

__all__ = ["tag_file_jobs", "tag_parallel"]

AHEAD = 2  # windows queued per worker: one being tagged, one waiting
BOM = "\ufeff"
STOP_WAIT = 2.0  # seconds a worker gets to exit after its last task before it is terminated
_NO_STATUS = 255  # a forkserver process's exit code when its status never came: the fork server died
# What the fork server imports before ``tagger.tagging.preload`` (what every worker needs): for a torch model and
# for an exported one. An exported model's workers never import torch.
PRELOAD = ("torch", "tagger.nn.model_file", "tagger.nn.network", "tagger.tagging.predictor")
PRELOAD_EXPORTED = ("onnxruntime", "tagger.runtime.model", "tagger.tagging.predictor")


def tag_file_jobs(
    file: str | None, out: TextIO, model_path: str | Path | Sequence[str | Path], options: TagOptions
) -> int | None:
    """``files.tag_file`` with ``job_count(options.jobs)`` worker processes: the sentence count, or None (nothing
    read, nothing opened) where the single-process path must tag instead: one job, a GPU, an ensemble,
    scores, n-best or html (the workers write what needs one model and no scores), or input that trickles
    in (stdin from a pipe or terminal, a named pipe). Torch is never imported here: a parent that only
    reads and writes stays small, and the workers load the model (the first reports a bad one).
    Input in another encoding than UTF-8 is tagged by the single-process path too."""
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
    """Tag ``stream`` (named ``name`` in errors) with ``jobs`` worker processes and write to ``out``
    what ``files.tag_file`` writes; returns the sentence count (0 for an empty input). The model is
    loaded only in the workers: the first reports a missing or damaged one (``ModelFileError``).
    ``threads``: the network's threads in each worker (0: one)."""
    if input_kind not in INPUTS:
        raise DataError(f"unknown input kind {input_kind!r}; expected one of {', '.join(INPUTS)}")
    if jobs < 1:
        raise DataError(f"--jobs must be at least 1, got {jobs}")
    setup = (str(model_path), batch_size, device, output_format, threads)
    if input_kind == "conll":
        chunks = _conll_chunks(stream, name, window)
    else:
        chunks = _line_chunks(stream, name, window, input_kind)
    kind = "tokens" if input_kind == "conll" else input_kind
    pool = _Pool(jobs, setup, name, _preload(str(model_path)))
    count = 0
    try:
        pending: deque[_Worker] = deque()
        for data, position in chunks:
            pending.append(pool.send((data, kind, position)))
            if len(pending) >= jobs * AHEAD:
                count += _write(out, pool.receive(pending.popleft()))
        while pending:
            count += _write(out, pool.receive(pending.popleft()))
        if pool.sent == 0:  # an empty input: a worker still loads the model, so a bad one fails as with input
            count += _write(out, pool.receive(pool.send((b"", kind, 0))))
    except BaseException:  # an error, a closed pipe, Ctrl-C: the windows still queued are not wanted
        pool.close(at_once=True)
        raise
    pool.close()
    return count


def _write(out: TextIO, result: tuple[int, str]) -> int:
    sentences, text = result
    out.write(text)
    out.flush()
    return sentences


def _line_chunks(stream: BinaryIO, name: str, window: int, kind: str = "text") -> Iterator[tuple[bytes, int]]:
    """Chunks of whole input lines as bytes (cut as ``chunks.cut_chunks`` cuts, by their bytes), each with
    the character offset of its first line in the input, ending where documents end (raw text: a long line's
    pieces too, ``chunks.line_documents``)."""
    piece = LINE_PIECE if kind == "text" else None
    found = line_documents(_blank_marked(stream, name, piece), blank=itemgetter(1), number=itemgetter(2))
    starts = itemgetter(1)
    position, offset = 0, 0  # characters and bytes before the chunk
    for kept, _ in cut_chunks(found, window, window, lambda pair: len(pair[0][0]), starts, wait=False):
        data, chars = _checked([line for line, _ in kept], name, position == 0, offset)
        yield data, position
        position, offset = position + chars, offset + len(data)


def _blank_marked(stream: BinaryIO, name: str, piece: int | None) -> Iterator[tuple[bytes, bool, int, int]]:
    """Each input line with whether it is blank as ``reader.decoded_lines`` and ``windows`` read it (a
    byte-order mark opening the input is no text), its number and column (``reader.numbered_pieces``): the
    documents cut here are those of the workers. With ``piece``, a long line comes in pieces, as
    ``inputs.read_windows`` reads raw text (and a worker given some of them cuts them alike); a cut in a
    run with no space is said here, once per line."""
    blank = BLANK.encode("ascii")  # ASCII bytes, never part of a longer UTF-8 character
    first = True
    for item in numbered_pieces(LineFeed(stream, piece=piece), name):
        if item is not None:  # a file on disk never pauses
            number, raw, column = item
            text = raw.removeprefix(BOM.encode("utf-8")) if first else raw
            first = False
            yield raw, not text.strip(blank), number, column


def _checked(lines: list[tuple[bytes, bool, int, int]], name: str, first: bool, offset: int) -> tuple[bytes, int]:
    """The chunk's bytes and its length in characters as ``reader.decoded_lines`` counts them
    (a byte-order mark opening the input not counted); an error naming the line that is not UTF-8, and
    the byte's offset in the input (the chunk starts at byte ``offset``)."""
    data = b"".join(raw for raw, _, _, _ in lines)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        for raw, _, number, column in lines:
            error = undecodable_line(raw, name, number, offset, column)
            if error is not None:
                raise error from None
            offset += len(raw)
        raise
    return data, len(text) - (first and text.startswith(BOM))


def _conll_chunks(stream: BinaryIO, name: str, window: int) -> Iterator[tuple[bytes, int]]:
    """CoNLL sentences, parsed here (errors name their lines), ``window`` at a time as token lines (a token
    holds no space or tab), ending where documents end, and a blank line where a document starts inside
    a chunk (the worker's documents are then the reader's, and cut at the same ``DOC_MAX``: a blank line
    comes before each cut)."""
    sentences = iter_conll(stream, name, with_tags=False)
    pairs = numbered_documents(sentences, attrgetter("doc"))
    for found, _ in cut_chunks(pairs, window, window, lambda _: 0, starts=itemgetter(1), wait=False):
        lines = [("\n" if start and at else "") + " ".join(s.tokens) + "\n" for at, (s, start) in enumerate(found)]
        yield "".join(lines).encode("utf-8"), 0


_SERVER_LOCK = threading.Lock()
_SERVER = {"runs": 0, "ours": False, "preload": None}  # the fork server's runs in this process; whether we started it


class _ForkServer:
    """The process's one fork server (multiprocessing has no other), as far as multiprocessing shows it.

    The public API starts it (a forkserver context's first ``Process.start``) and sets what it imports
    (``set_forkserver_preload``); it has no call that says whether one is running, what it will import, or
    that stops it. Those three read multiprocessing's own state, each with a fallback where it is missing
    (another Python): tests/tagging/test_jobs.py shows what breaks without each (a fork server of the caller
    replaced or stopped under its workers; the caller's preload list lost; ours kept for the process's life).
    """

    def __init__(self):
        from multiprocessing import forkserver

        self._server = getattr(forkserver, "_forkserver", None)

    def running(self) -> bool:
        """Whether a fork server is running (the caller's, when we have not started one)."""
        return getattr(self._server, "_forkserver_pid", None) is not None

    def preload(self) -> list[str]:
        """The modules a fork server started now would import (multiprocessing's default: ``__main__``)."""
        return list(getattr(self._server, "_preload_modules", ["__main__"]))

    def stop(self) -> None:
        """Stop it: it exits once it reads that we closed its pipe (its workers have gone)."""
        stop = getattr(self._server, "_stop", None)
        if stop is not None:
            stop()


def _preload(model_path: str) -> list[str]:
    """The modules a fork server started for ``model_path``'s workers imports: torch's or onnxruntime's."""
    from tagger.tagging.model import is_exported

    return [*(PRELOAD_EXPORTED if is_exported(model_path) else PRELOAD), "tagger.tagging.preload"]


def _open_context(preload: Sequence[str] = ()):
    """The multiprocessing context the workers start from: a fork server where there is one, else spawn.

    Never fork a process that has run torch (its threads): the fork server never runs a torch op. A fork
    server already running (the calling program's, or another run's of this process) is used as it is; one
    started for these runs imports ``preload`` (``_preload``: torch or onnxruntime) and is stopped when the
    last run using it ends (``_close_context``), as it holds ~220 MB with torch: in a long-lived process (the
    Python API) it would stay, and the next run pays one import of torch again (~2 s)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    server = _ForkServer()
    with _SERVER_LOCK:
        if _SERVER["runs"] == 0:
            _SERVER["ours"] = not server.running()
            if _SERVER["ours"]:
                _SERVER["preload"] = server.preload()
                context.set_forkserver_preload(list(preload) or _preload(""))
        _SERVER["runs"] += 1
    return context


def _close_context(context) -> None:
    """The end of a run's use of ``context``: the fork server started for the runs stops after the last."""
    if context.get_start_method() != "forkserver":
        return
    with _SERVER_LOCK:
        _SERVER["runs"] -= 1
        if _SERVER["runs"] == 0 and _SERVER["ours"]:
            _ForkServer().stop()
            context.set_forkserver_preload(_SERVER["preload"])


class _Worker:
    """One worker process: tasks go in on a queue (its feeder thread never blocks the parent), results
    come back on a pipe, one per task, in order."""

    def __init__(self, context, number: int, setup: tuple):
        self.number = number
        self.tasks = context.Queue()
        self.results, self.sender = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_worker_main, args=(setup, self.tasks, self.sender), name=f"tagger-job-{number}", daemon=True
        )

    def start(self, task: tuple) -> None:
        """Start the process with its first task, SIGINT blocked meanwhile in this thread: the fork server
        (started with the first worker) and the worker inherit the mask, so a Ctrl-C while they start (import
        torch) prints no traceback there, and the queue's feeder thread (started by the first ``put``) keeps
        it, so only this thread ever takes a Ctrl-C: never in mid-start, where the process would be started
        but not known. The parent takes it once the start returns (the first waits for the fork server's
        imports). The resource tracker is started first, as starting it unblocks SIGINT in this thread."""
        masks = hasattr(signal, "pthread_sigmask")  # not on Windows (spawned workers there)
        if masks:
            from multiprocessing import resource_tracker

            resource_tracker.ensure_running()
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.process.start()
            self.tasks.put(task)
        finally:
            if masks:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self.sender.close()  # the parent keeps only the reading end: a dead worker's pipe then reads as closed

    def stop(self, wait: float) -> None:
        """Wait up to ``wait`` seconds for the process to exit, then end it: SIGTERM, then SIGKILL (the fork
        server, stopped after the run, exits only once every worker has)."""
        self.sender.close()
        if self.process.pid is not None:  # started
            self.process.join(timeout=wait)
            for end in (self.process.terminate, self.process.kill):
                if self.process.is_alive():
                    end()
                    self.process.join(timeout=STOP_WAIT)
        self.tasks.cancel_join_thread()  # tasks never taken must not hold the parent at exit
        self.tasks.close()
        self.results.close()


class _Pool:
    """Workers started as windows come (a short input starts one), windows handed round in turn."""

    def __init__(self, jobs: int, setup: tuple, name: str, preload: Sequence[str] = ()):
        self.jobs, self.setup, self.name = jobs, setup, name
        self.context = _open_context(preload)
        self.workers: list[_Worker] = []
        self.sent = 0

    def send(self, task: tuple) -> _Worker:
        data, kind, position = task
        turn = self.sent % self.jobs
        first = (data, kind, position, self.sent == 0)
        if turn == len(self.workers):
            worker = _Worker(self.context, turn + 1, self.setup)
            self.workers.append(worker)  # known before it starts: a Ctrl-C as the start returns still stops it
            worker.start(first)
        else:
            worker = self.workers[turn]
            worker.tasks.put(first)
        self.sent += 1
        return worker

    def receive(self, worker: _Worker) -> tuple[int, str]:
        """The next result of ``worker``; a ``WorkerError`` as soon as any worker has died."""
        sentinels = {w.process.sentinel: w for w in self.workers}
        while True:
            ready = wait([worker.results, *sentinels])
            if worker.results in ready:
                try:
                    status, value = worker.results.recv()
                except (EOFError, OSError):  # the worker's end closed: it died while sending
                    raise self._died(worker) from None
                if status == "ok":
                    return value
                if isinstance(value, TaggerError):
                    raise value
                raise WorkerError(f"tagging worker {worker.number} of {self.jobs} failed: {value}", self.name)
            dead = [sentinels[s] for s in ready if s in sentinels]
            if dead:
                raise self._died(dead[0])

    def _died(self, worker: _Worker) -> WorkerError:
        worker.process.join(timeout=STOP_WAIT)
        code = worker.process.exitcode
        if code == _NO_STATUS and self.context.get_start_method() == "forkserver" and _exists(worker.process.pid):
            self._stop_orphans()
            return WorkerError(
                f"the fork server that starts the tagging workers died (its {len(self.workers)} worker(s) are "
                "stopped); the output stops before the window being tagged",
                self.name,
            )
        if code is not None and code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        else:
            how = f"exit status {code}"
        return WorkerError(
            f"tagging worker {worker.number} of {self.jobs} (pid {worker.process.pid}) died ({how}); "
            "the output stops before the window it was tagging",
            self.name,
        )

    def _stop_orphans(self) -> None:
        """SIGKILL to the workers still there: after the fork server's death they are nobody's children, never
        told to stop (their status reads as gone), and one waiting for a task would wait forever."""
        for worker in self.workers:
            if worker.process.pid is not None and _exists(worker.process.pid):
                try:
                    os.kill(worker.process.pid, signal.SIGKILL)
                except OSError:  # gone meanwhile
                    pass

    def close(self, at_once: bool = False) -> None:
        """Tell the workers to stop once their tasks are done (or ``at_once``), and stop those that do not."""
        for worker in self.workers:
            if worker.process.is_alive():
                worker.tasks.put(None)
        for worker in self.workers:
            worker.stop(0 if at_once else STOP_WAIT)
        _close_context(self.context)


def _exists(pid: int) -> bool:
    """Whether a process ``pid`` is there (a worker: one the fork server started, not this process's child)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # there, and not ours to signal
        return True
    return True


def _worker_main(setup: tuple, tasks, results: Connection) -> None:
    """A worker process: load the model, then tag each task's window until told to stop (None). A parent
    that has stopped reading (it stopped the run: a dead worker, an error, Ctrl-C) ends the worker quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group; the parent stops us
    try:
        tag = _tagger(setup)
    except BaseException as err:
        _send(results, ("error", _portable(err)))
        return
    while (task := tasks.get()) is not None:
        try:
            reply = ("ok", tag(*task))
        except BaseException as err:
            reply = ("error", _portable(err))
        if not _send(results, reply) or reply[0] == "error":
            return


def _send(results: Connection, reply: tuple) -> bool:
    """Send ``reply`` to the parent; False where the parent has closed its end (nothing to tell it then)."""
    try:
        results.send(reply)
    except OSError:  # BrokenPipeError, ConnectionResetError: the parent stopped the run
        return False
    return True


def _tagger(setup: tuple):
    """The function a worker calls on each window: (bytes, kind, position, first) -> (sentences, text)."""
    from tagger.data.inputs import read_windows
    from tagger.tagging.stream import tag_stream
    from tagger.tagging.writer import write

    model_path, batch_size, device, output_format, threads = setup
    predictor = _predictor(model_path, batch_size, device, threads)

    def tag(data: bytes, kind: str, position: int, first: bool) -> tuple[int, str]:
        if not first and data.startswith(BOM.encode("utf-8")):
            # read_windows drops a byte-order mark opening its input; here it is text in mid-input
            data, position = b"\n" + data, position - 1
        out = io.StringIO()
        windows = read_windows(io.BytesIO(data), "<window>", kind, predictor.window_maker, 0, 1 << 30, warn=False)
        count = write(_shifted(tag_stream(predictor, windows), position), out, output_format)
        return count, out.getvalue()

    return tag


def _predictor(model_path: str, batch_size: int, device: str, threads: int):
    """A worker's predictor, its network on ``threads`` threads (0: one; an exported model's worker never imports
    torch)."""
    from tagger.tagging.model import open_model
    from tagger.tagging.predictor import Predictor

    return Predictor(open_model(model_path, device, threads or 1), batch_size)


def _shifted(sentences, position: int):
    """Sentences with their text offsets counted from the start of the whole input, not of the window."""
    for sentence in sentences:
        sentence.text_start += position
        yield sentence


def _portable(err: BaseException) -> BaseException | str:
    """What of an error survives the trip to the parent: the tagger's own as they are, others as one line."""
    if isinstance(err, TaggerError):
        return err
    return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"

"""The reader process pool (``tag --workers``): chunks of input made into windows in worker processes, in order.

Tokenizing and lookups (``windows.text_window`` and the other tasks) run in separate processes, read
ahead, so the process running the network does little Python besides: per-token work in a second
thread of that process would take the interpreter lock between the network's operations (which release
it) and slow the network several times over. Slow input is done in this process: a filter answering a
terminal never waits for a process to start. This module does not import torch, so a worker starts quickly.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain

from tagger.data.arrays import WindowMaker
from tagger.data.reader import InputStopped
from tagger.errors import WorkerError

AHEAD = 2  # windows queued per worker beyond the one whose result is awaited: memory stays flat
STOP_POLL = 0.05  # seconds between looks at whether reading was stopped, while a worker's result is awaited

Task = Callable[[WindowMaker | None, list], object]  # (maker, chunk) -> result; a module-level function (pickled)

_worker_maker: WindowMaker | None = None  # in a worker process: the maker its tasks use


def _start_worker(maker: WindowMaker | None) -> None:
    global _worker_maker
    _worker_maker = maker
    # Ctrl-C reaches the whole process group: the tagger stops the worker itself (a worker
    # interrupted mid-task would print a traceback and never return that task's result).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_worker(task: Task, chunk: list) -> object:
    return task(_worker_maker, chunk)


def done_in_order(
    task: Task,
    chunks: Iterable[tuple[object, list, bool]],
    maker: WindowMaker | None,
    workers: int,
    stopped: Callable[[], bool] | None = None,
) -> Iterator[tuple[object, object]]:
    """(what the caller keeps of a chunk, ``task(maker, chunk)``) for each chunk, in order.

    Each chunk comes with whether slow input cut it short. Chunks are done here until a full
    one comes after the first (input coming faster than it is answered); with ``workers`` > 0
    that one and all later ones go to worker processes. A chunk of slow input is done here,
    so a filter answering a terminal or ``tail -f`` never waits for a process to start.
    ``stopped``: whether reading was stopped (``reader.LineFeed.stop``): a wait for a worker's
    result then ends at once (``InputStopped``).
    """
    chunks = iter(chunks)
    for number, (kept, chunk, slow) in enumerate(chunks):
        if workers > 0 and number > 0 and not slow:
            yield from _done_by_workers(task, chain([(kept, chunk, slow)], chunks), maker, workers, stopped)
            return
        if chunk:
            yield kept, task(maker, chunk)


def _done_by_workers(
    task: Task,
    chunks: Iterator[tuple[object, list, bool]],
    maker: WindowMaker | None,
    workers: int,
    stopped: Callable[[], bool] | None = None,
) -> Iterator[tuple[object, object]]:
    """``done_in_order`` in worker processes, which work on up to ``AHEAD`` more chunks each while
    the result of the oldest is awaited; after a chunk of slow input every result is given before
    more input is awaited. A worker that dies (killed, out of memory) ends the reading at once with a
    ``WorkerError``: the pool is broken (``BrokenProcessPool``) and every pending result says so."""
    pool, ours = _pool(workers, maker), _Started()
    finished = False
    try:
        pending: deque = deque()
        for kept, chunk, slow in chunks:
            if chunk:
                pending.append((kept, _submit(pool, task, chunk, ours)))
            while len(pending) > (0 if slow else AHEAD * workers):
                done, result = pending.popleft()
                yield done, _result(result, stopped)
        while pending:
            done, result = pending.popleft()
            yield done, _result(result, stopped)
        finished = True
    finally:
        if not finished:  # stopped early (Ctrl-C, a closed pipe, an error): the windows in the workers are not wanted
            ours.kill()
        # Wait for the workers to exit (at once where killed), before the interpreter's exit, whose handlers
        # close the queues the pool tells its workers to stop by: one left waiting for a task would be waited for.
        pool.shutdown(wait=True, cancel_futures=True)


class _Started:
    """The processes a pool started: the children of this process that came while it started them (only
    ``multiprocessing.active_children`` says which they are; the pool has no public way to stop them)."""

    def __init__(self) -> None:
        self.before = set(multiprocessing.active_children())
        self.processes: set = set()

    def note(self) -> None:
        self.processes |= set(multiprocessing.active_children()) - self.before

    def kill(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()


def _pool(workers: int, maker: WindowMaker | None) -> ProcessPoolExecutor:
    """Worker processes that never see Ctrl-C: it reaches the whole process group, and a worker
    interrupted while it starts (importing, before ``_start_worker`` runs) prints a traceback.
    The processes start as tasks are submitted (``_submit`` blocks SIGINT meanwhile: they inherit
    the mask)."""
    context = multiprocessing.get_context("spawn")  # never fork a process that holds torch threads
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(maker,))


def _submit(pool: ProcessPoolExecutor, task: Task, chunk: list, started: _Started) -> Future:
    """Hand ``chunk`` to the pool, SIGINT blocked in this thread meanwhile: a worker process started
    here inherits the mask (and is noted in ``started``). The resource tracker is started first, as
    starting it unblocks SIGINT in the calling thread."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return pool.submit(_in_worker, task, chunk)
    except BrokenProcessPool:  # a worker died since the last result
        raise _died() from None
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        started.note()


def _result(result: Future, stopped: Callable[[], bool] | None) -> object:
    """The result of a worker's task; ``InputStopped`` as soon as ``stopped()`` where given."""
    while True:
        try:
            return result.result(timeout=None if stopped is None else STOP_POLL)
        except TimeoutError:
            if stopped():
                raise InputStopped from None
        except BrokenProcessPool:
            raise _died() from None


def _died() -> WorkerError:
    return WorkerError(
        "the process that reads the input (tokenizing and lookups, --workers) died; "
        "the output stops before the window it was reading"
    )

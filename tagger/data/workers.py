"""The reader processes (``tag --workers``): chunks of input made into windows in worker processes, in order.

Tokenizing and lookups run in separate processes, read ahead: per-token work in a second thread of the
process running the network would take the interpreter lock between the network's operations and slow it
several times over. Slow input is done in this process: a filter answering a terminal never waits for a
process to start. This module does not import torch, so a worker starts quickly.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from tagger.data.arrays import WindowMaker
from tagger.data.pool import Pool, in_order
from tagger.errors import WorkerError

AHEAD = 2  # windows queued per worker beyond the one whose result is awaited: memory stays flat

Task = Callable[[WindowMaker | None, list], object]  # (maker, chunk) -> result; a module-level function (pickled)

_worker_maker: WindowMaker | None = None  # in a worker process: the maker its tasks use


def _start_worker(maker: WindowMaker | None) -> None:
    global _worker_maker
    _worker_maker = maker


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

    Each chunk comes with whether slow input cut it short. Chunks are done here until a full one comes after
    the first (input coming faster than it is answered); with ``workers`` > 0 that one and all later ones go
    to worker processes (``pool.in_order``), which work on up to ``AHEAD`` more chunks each while the oldest
    one's result is awaited. A worker that dies ends the reading with a ``WorkerError``. ``stopped``: whether
    reading was stopped (``reader.LineFeed.stop``): a wait for a worker's result then ends at once.
    """
    chunks = iter(chunks)
    for number, (kept, chunk, slow) in enumerate(chunks):
        if workers > 0 and number > 0 and not slow:
            rest = chain([(kept, chunk, slow)], chunks)
            tasks = ((kept, (task, chunk) if chunk else None, slow) for kept, chunk, slow in rest)
            yield from in_order(_pool(workers, maker), _in_worker, tasks, AHEAD * workers, stopped)
            return
        if chunk:
            yield kept, task(maker, chunk)


def _pool(workers: int, maker: WindowMaker | None) -> Pool:
    """Spawned worker processes: never fork a process that holds torch threads."""
    context = multiprocessing.get_context("spawn")
    return Pool(workers, context, _died, "tagger-reader", _start_worker, (maker,))


def _died(processes: list) -> WorkerError:
    return WorkerError(
        "the process that reads the input (tokenizing and lookups, --workers) died; "
        "the output stops before the window it was reading"
    )

"""The package's one process pool: ``concurrent.futures.ProcessPoolExecutor``, results in order, Ctrl-C and a
dead process handled. Its users: the reader processes (``workers``) and ``tag --jobs`` (``tagging.jobs``).

Each user gives the start method that serves it (the executor's ``mp_context``), what a process does first
(``initializer``) and the error that a process's death ends the run with (``died``). Here:

- Ctrl-C reaches the whole process group: the parent stops the processes, which never see it. The executor
  starts a process in the thread that submits a task (one a task, up to N), with SIGINT blocked there
  meanwhile: the process inherits the mask (a process interrupted while it starts, importing, would print
  a traceback), then ignores SIGINT.
- A process that dies (killed, out of memory) breaks the pool (``BrokenProcessPool``): the result awaited
  raises the user's error at once, and the rest of the run's tasks are not done.
- Stopped early (an error, a closed pipe, Ctrl-C), the processes are killed at once: their tasks are not
  wanted. The executor has no public way to stop its processes, nor to say which they are: they are the
  children of this process that came while it started them (``multiprocessing.active_children``).
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess

from tagger.data.reader import InputStopped

STOP_POLL = 0.05  # seconds between looks at whether reading was stopped, while a result is awaited

Died = Callable[[list[BaseProcess]], BaseException]  # the processes, in start order -> the error to raise


def _start(initializer: Callable | None, args: tuple) -> None:
    """A process's start: Ctrl-C ignored (the parent stops it), then the user's ``initializer``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*args)


class Pool:
    """Up to ``workers`` processes from ``context``, started as tasks come (a short input starts one), each
    named ``name-N`` in the order they started."""

    def __init__(self, workers: int, context, died: Died, name: str, initializer=None, initargs: tuple = ()):
        self.executor = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start, initargs=(initializer, initargs)
        )
        self.died, self.name = died, name
        self.before = set(multiprocessing.active_children())
        self.processes: list[BaseProcess] = []

    def submit(self, fn: Callable, *args) -> Future:
        """Hand ``fn(*args)`` to the processes, SIGINT blocked in this thread meanwhile (a process started here
        inherits the mask). The resource tracker is started first, as starting it unblocks SIGINT."""
        masks = hasattr(signal, "pthread_sigmask")  # not on Windows
        if masks:
            from multiprocessing import resource_tracker

            resource_tracker.ensure_running()
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return self.executor.submit(fn, *args)
        except BrokenProcessPool:  # a process died since the last result
            raise self.died(self.processes) from None
        finally:
            if masks:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            self._note()

    def _note(self) -> None:
        """Know (and name) the processes started since the last look: they are ours to kill."""
        for process in set(multiprocessing.active_children()) - self.before - set(self.processes):
            self.processes.append(process)
            process.name = f"{self.name}-{len(self.processes)}"

    def result(self, future: Future, stopped: Callable[[], bool] | None = None) -> object:
        """The task's result (its error raised as it is); ``died``'s error as soon as a process has died;
        ``InputStopped`` as soon as ``stopped()`` where given."""
        while True:
            try:
                return future.result(timeout=None if stopped is None else STOP_POLL)
            except TimeoutError:
                if stopped():
                    raise InputStopped from None
            except BrokenProcessPool:
                raise self.died(self.processes) from None

    def close(self, at_once: bool = False) -> None:
        """Let the processes finish their tasks and exit, or (``at_once``) kill them; wait for them to exit,
        before the interpreter's exit, whose handlers close the queues the executor tells them to stop by."""
        if at_once:
            for process in self.processes:
                if process.is_alive():
                    process.kill()
        self.executor.shutdown(wait=True, cancel_futures=True)


Task = tuple[object, tuple | None, bool]  # (what the caller keeps, the task's arguments or None: none, flush)


def in_order(
    pool: Pool, fn: Callable, tasks: Iterable[Task], ahead: int, stopped: Callable[[], bool] | None = None
) -> Iterator[tuple[object, object]]:
    """(what the caller keeps, ``fn(*arguments)``) for each task that has arguments, in order, done by ``pool``,
    which works on up to ``ahead`` more tasks while the result of the oldest is awaited (memory stays flat); after
    a task that says ``flush`` every result is given before more tasks are read. The pool is closed at the end:
    killed where the caller stopped early (Ctrl-C, a closed pipe, an error)."""
    finished = False
    try:
        pending: deque[tuple[object, Future]] = deque()
        for kept, arguments, flush in tasks:
            if arguments is not None:
                pending.append((kept, pool.submit(fn, *arguments)))
            while len(pending) > (0 if flush else ahead):
                done, result = pending.popleft()
                yield done, pool.result(result, stopped)
        while pending:
            done, result = pending.popleft()
            yield done, pool.result(result, stopped)
        finished = True
    finally:
        pool.close(at_once=not finished)

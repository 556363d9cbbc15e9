"""Tagging a stream of windows: a reader thread prepares the next window while this one is tagged, and the
sentences come back in input order. It serves the predictor (``window_maker``, ``feeds``, ``label``:
``predictor.Predictor``) over any kind of model; no torch here."""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from tagger.data.types import TaggedSentence
from tagger.data.windows import Window, WindowSentences
from tagger.tagging.options import TagOptions, job_count

__all__ = ["open_input", "reader_workers", "tag_stream"]

STOP_WAIT = 5.0  # seconds to let the reader thread finish when tagging stops early


def tag_stream(predictor, windows: Iterable[Window]) -> WindowSentences:
    """Tag windows of sentences (``inputs.read_windows`` with the predictor's ``window_maker``) and yield the
    sentences in input order; ``window_done`` on the result says when one ended its window (a writer flushes
    then). A thread reads the next window and makes its arrays while this one runs the network."""
    return WindowSentences(_tagged_windows(predictor, windows))


def _tagged_windows(predictor, windows: Iterable[Window]) -> Iterator[list[TaggedSentence]]:
    it = iter(windows)
    stop_input = getattr(windows, "stop", None)  # ends the reader thread's wait for input (read_windows)
    ready: queue.Queue = queue.Queue(maxsize=1)  # at most one window waits: memory stays flat
    stop = threading.Event()
    producer = threading.Thread(target=_produce, args=(predictor, it, ready, stop), name="tagger-reader", daemon=True)
    producer.start()
    try:
        while True:
            chunk, prepared, err = ready.get()
            if err is not None:
                raise err
            if chunk is None:
                return
            predictor.label(chunk, prepared)  # tags, and the scores the predictor was asked for
            yield chunk
    finally:
        # Stopped early (a closed pipe, an error, Ctrl-C): a producer waiting for input is told to
        # stop; one preparing a window is let finish it before the interpreter exits, as a thread
        # still inside torch at exit aborts the process ("terminate called without an active
        # exception", status 134). One still busy after STOP_WAIT is left behind.
        stop.set()
        if stop_input is not None:
            stop_input()
        _let_finish(producer, ready)


def _produce(predictor, it: Iterator[Window], ready: queue.Queue, stop: threading.Event) -> None:
    """The reader thread: each window's arrays onto ``ready``, then (None, None, None), or an error."""
    try:
        for chunk, arrays in it:
            if stop.is_set():
                return
            if arrays is None:  # windows read without the predictor's maker
                arrays = predictor.window_maker([s.tokens for s in chunk])
            prepared = predictor.feeds(arrays)
            ready.put((chunk, prepared, None))
            if stop.is_set():
                return
        ready.put((None, None, None))
    except BaseException as err:  # handed to the consumer, raised there
        ready.put((None, None, err))
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()  # a worker pool is shut down here, not at the interpreter's exit


def _let_finish(producer: threading.Thread, ready: queue.Queue) -> None:
    """Wait up to STOP_WAIT for the reader thread to end, emptying ``ready`` so that a blocked put can finish."""
    deadline = time.monotonic() + STOP_WAIT
    while producer.is_alive() and time.monotonic() < deadline:
        try:
            ready.get_nowait()  # a producer blocked on a full queue can finish its put
        except queue.Empty:
            pass
        producer.join(timeout=0.02)


def reader_workers(options: TagOptions) -> int:
    """The reader's worker processes beside the network."""
    workers = options.workers
    if workers < 0:  # a process beside the network for reading's per-token work, where there is a core for it
        workers = 1 if (os.cpu_count() or 1) >= 2 else 0
    if options.device != "cpu":  # the network runs on the GPU: the other processes do the per-token work that feeds it
        workers = max(workers, job_count(options.jobs) - 1)
    return workers


def open_input(file: str | None) -> tuple[str, BinaryIO, bool]:
    """The input's name (for errors), its byte stream, and whether to close it: stdin for None or '-'."""
    from tagger.data.reader import open_binary

    if file is None or file == "-":
        return "<stdin>", sys.stdin.buffer, False
    return file, open_binary(file), True

"""The reader process pool (``workers``): slow input done here, fast input in worker processes read ahead,
results in input order; a worker reads exactly as this process does; a killed reader process and Ctrl-C end the
run at once."""

from __future__ import annotations

import io
import signal

import pytest

from tagger.data import workers
from tagger.data.inputs import FIRST_WINDOW, read_windows
from tagger.data.tokenizer import tokenize_flat
from tagger.tagging.model import open_model
from tagger.tagging.predictor import Predictor
from tests.contextual import (
    documents_conll,
    documents_text,
    needs_context,
    save_context_model,
)


def test_slow_input_is_done_here_and_results_are_given_before_more_input_is_read(monkeypatch):
    """A full chunk after the first starts the workers; a chunk of slow input before that is done in
    this process (no process start to wait for); after a pause every result the workers hold is
    given before the next chunk is read."""
    events: list = []

    class FakePool:
        def __init__(self):
            events.append("pool started")

        def close(self, at_once):
            events.append("pool closed")

        def submit(self, function, task, chunk):
            return f"worker {chunk}"

        def result(self, future, stopped):
            return future

    def chunks():
        for kept, chunk, slow in [
            ("a", [1], False),  # the first: done here
            ("b", [2], True),  # slow input: done here
            ("c", [3], False),  # full: the workers start
            ("d", [4], False),
            ("e", [5], False),
            ("pause", [], True),  # the input paused after full chunks
            ("f", [6], True),
        ]:
            events.append(f"read {kept}")
            yield kept, chunk, slow

    monkeypatch.setattr(workers, "_pool", lambda workers, maker: FakePool())
    task = lambda maker, chunk: f"here {chunk}"  # noqa: E731
    for kept, result in workers.done_in_order(task, chunks(), None, workers=1):
        events.append(f"gave {kept}: {result}")
    assert events == [
        "read a", "gave a: here [1]",
        "read b", "gave b: here [2]",
        "read c", "pool started",
        "read d",
        "read e", "gave c: worker [3]",  # AHEAD = 2 chunks wait in the workers
        "read pause", "gave d: worker [4]", "gave e: worker [5]",  # all given before more input is read
        "read f", "gave f: worker [6]",
        "pool closed",
    ]  # fmt: skip


def test_without_workers_chunks_are_done_here_in_order(monkeypatch):
    monkeypatch.setattr(workers, "_pool", None)  # never called
    given = [("a", [1, 2], False), ("b", [3], False), ("pause", [], True), ("c", [4], True)]
    found = list(workers.done_in_order(lambda maker, chunk: sum(chunk), given, None, workers=0))
    assert found == [("a", 3), ("b", 3), ("c", 4)]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["text", "tokens"])
def test_worker_process_reads_exactly_like_inline(trained_model, kind):
    lines = [f"Line {i}: Mary met Dr. Smith in Paris. They didn't stay!\n" for i in range(FIRST_WINDOW + 300)]
    data = "".join(lines).encode()
    maker = Predictor(open_model(trained_model)).window_maker

    def read(processes):
        found = list(read_windows(io.BytesIO(data), "<test>", kind, maker, workers=processes, window=200))
        for sentences, made in found:  # each window's arrays are its sentences'
            assert made == maker([s.tokens for s in sentences])
        return found, [(s.tokens, list(s.offsets or []), s.text) for w, _ in found for s in w]

    (_, inline), (parallel_windows, parallel), (_, three) = read(0), read(1), read(3)
    assert parallel == inline
    assert three == inline  # several workers (feeding a GPU): still in input order
    assert len(parallel_windows) > 2  # the worker did some
    assert len(inline) == len(lines) * (2 if kind == "text" else 1)
    if kind == "text":
        tokens, flat = tokenize_flat(lines[0])[0]
        pairs = list(zip(flat[::2], flat[1::2]))
        assert inline[0][:2] == (tokens, pairs)


@pytest.mark.slow
@needs_context
@pytest.mark.parametrize("kind", ["text", "conll"])
def test_with_a_context_model_the_worker_process_reads_exactly_like_inline(tmp_path, kind):
    maker = Predictor(open_model(save_context_model(tmp_path / "context.pt"))).window_maker
    data = (documents_conll() if kind == "conll" else documents_text()).encode()

    def read(processes):
        found = list(read_windows(io.BytesIO(data), "<test>", kind, maker, workers=processes, window=50))
        return [(s.tokens, arrays) for w, arrays in found for s in w[:1]], [s.tokens for w, _ in found for s in w]

    (inline_windows, inline), (worker_windows, worker) = read(0), read(1)
    assert worker == inline
    assert worker_windows == inline_windows  # the same windows, with the same arrays (documents included)


def _reader_process(tagger: int, processes: list) -> list[int]:
    return [pid for pid, parent, args in processes if parent == tagger and "spawn_main" in args]


@pytest.mark.slow
def test_a_killed_reader_process_ends_the_run_within_5_seconds_naming_it(tmp_path, trained_model):
    """Before: the pool started another process and the tagger waited forever for the window it had lost."""
    from tests.processes import big_text, kill_while_tagging

    path = big_text(tmp_path / "big.txt")
    code, took, stderr, left = kill_while_tagging(
        ["-m", trained_model, path, "--workers", "1", "--jobs", "1", "--threads", "1"], _reader_process
    )
    assert code == 1 and took < 5, (code, took, stderr)
    assert stderr == (
        "tagger: error: the process that reads the input (tokenizing and lookups, --workers) died; "
        "the output stops before the window it was reading\n"
    )
    assert not [args for _, _, args in left if "spawn_main" in args]


@pytest.mark.slow
def test_ctrl_c_while_a_long_line_is_tagged_stops_within_a_second(tmp_path, trained_model):
    """Before: 1.5 s to 5 s, while the reader thread waited for the tokenizer's windows of the line."""
    from tests.processes import kill_while_tagging

    path = tmp_path / "long.txt"
    path.write_text("Mary lives in Paris with John Smith who works for Google in Berlin " * 60_000, encoding="utf-8")
    code, took, stderr, left = kill_while_tagging(["-m", trained_model, path, "--format", "jsonl"], None, signal.SIGINT)
    assert code == 130 and took < 1, (code, took, stderr)
    assert stderr == "tagger: interrupted\n"
    assert left == []

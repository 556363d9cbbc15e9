"""Windows of input: cut where slow input pauses, full when input comes fast, stoppable while
waiting; and `tagger tag` as a filter, in real processes: each line answered within a second,
Ctrl-C on a waiting stdin (a FIFO or a terminal whose writer stays open) status 130 at once. The tokenizer
worker reads exactly as the inline path does; offsets point at the tokens across lines."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tagger.data import windows
from tagger.data.tokenizer import tokenize_flat
from tagger.data.windows import FIRST_WINDOW, MAX_WAIT, WindowSentences, read_sentences, read_windows
from tagger.nn.model_file import load_model
from tagger.tagging.predictor import Predictor, tag_stream
from tagger.tagging.writer import write
from tests.contextual import documents_conll, documents_text, needs_context, save_context_model

ROOT = Path(__file__).resolve().parents[2]


def no_weight(_: object) -> int:
    return 0


# Chunks: full when input comes fast, cut where it pauses


def test_chunks_are_cut_where_the_input_pauses():
    """``None`` is a pause (``reader.LineFeed``): what came before it is a chunk of slow input; a pause
    right after a full chunk gives one empty chunk (whoever holds results gives them then)."""
    items = [1, 2, None, 3, 4, 5, None, None, 6]
    expected = [([1, 2], False), ([], True), ([3, 4, 5], True), ([6], False)]
    assert list(windows.cut_chunks(items, 2, 10, no_weight)) == expected


def test_chunks_without_pauses_are_full():
    assert list(windows.cut_chunks(range(7), 2, 3, no_weight)) == [([0, 1], False), ([2, 3, 4], False), ([5, 6], False)]
    assert list(windows.cut_chunks([], 2, 3, no_weight)) == []
    assert list(windows.cut_chunks([None, None], 2, 3, no_weight)) == []  # a pause before any input is no chunk


def test_chunks_keep_the_character_limit():
    lines = ["x" * (windows.WINDOW_CHARS // 2)] * 5
    chunks = list(windows.cut_chunks(lines, 100, 100, len))
    assert [len(kept) for kept, _ in chunks] == [2, 2, 1]


def test_a_chunk_of_input_that_trickles_in_is_cut_after_max_wait(monkeypatch):
    """Input that never pauses for long but comes a line at a time is still answered soon."""
    monkeypatch.setattr(windows, "MAX_WAIT", 0.1)

    def trickle():
        for i in range(30):
            time.sleep(0.01)
            yield i

    chunks = list(windows.cut_chunks(trickle(), 1000, 1000, no_weight))
    assert len(chunks) >= 2
    assert all(slow for _, slow in chunks[:-1])
    assert [i for kept, _ in chunks for i in kept] == list(range(30))
    assert MAX_WAIT <= 1  # the real limit keeps answers within a second


def test_slow_input_is_done_here_and_results_are_given_before_more_input_is_read(monkeypatch):
    """A full chunk after the first starts the workers; a chunk of slow input before that is done in
    this process (no process start to wait for); after a pause every result the workers hold is
    given before the next chunk is read."""
    events: list = []

    class FakePool:
        def __init__(self):
            events.append("pool started")

        def shutdown(self, wait, cancel_futures):
            events.append("pool closed")

        def submit(self, function, task, chunk):
            return SimpleNamespace(result=lambda timeout=None: f"worker {chunk}")

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

    monkeypatch.setattr(windows, "_pool", lambda workers, maker: FakePool())
    monkeypatch.setitem(windows._TASKS, "test", lambda maker, chunk: f"here {chunk}")
    for kept, result in windows._done_in_order("test", chunks(), None, workers=1):
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
    monkeypatch.setattr(windows, "_pool", None)  # never called
    monkeypatch.setitem(windows._TASKS, "test", lambda maker, chunk: sum(chunk))
    chunks = [("a", [1, 2], False), ("b", [3], False), ("pause", [], True), ("c", [4], True)]
    assert list(windows._done_in_order("test", chunks, None, workers=0)) == [("a", 3), ("b", 3), ("c", 4)]


# Windows of a pipe whose writer stays open


@pytest.mark.parametrize(
    ("kind", "data", "tokens"),
    [
        ("text", "Mary is in Paris. Bob is too.\n", [["Mary", "is", "in", "Paris", "."], ["Bob", "is", "too", "."]]),
        ("tokens", "Mary lives\n\nin Paris\n", [["Mary", "lives"], ["in", "Paris"]]),
        ("conll", "Mary\nlives\n\nin\tx\nParis\tx\n\n", [["Mary", "lives"], ["in", "Paris"]]),
    ],
)  # fmt: skip
def test_a_window_ends_where_the_input_pauses(kind, data, tokens):
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stream:
        found = read_windows(stream, "<pipe>", kind)
        os.write(write_end, data.encode())
        first, _ = next(found)  # given while the writer is still open: the input paused
        assert [s.tokens for s in first] == tokens
        os.write(write_end, data.encode())
        os.close(write_end)
        rest = [sentences for sentences, _ in found]
    assert [[s.tokens for s in window] for window in rest] == [tokens]
    if kind == "text":  # offsets count from the start of the whole input, across windows
        text = data * 2
        for sentence in first + rest[0]:
            assert [text[a:b] for a, b in sentence.offsets] == sentence.tokens


def test_window_sentences_say_where_each_window_ends():
    sentences = WindowSentences(iter([["a", "b"], [], ["c"]]))
    assert [(s, sentences.window_done) for s in sentences] == [("a", False), ("b", True), ("c", True)]


def test_the_writer_flushes_where_each_window_ends(trained_model):
    predictor = Predictor.from_loaded(load_model(trained_model))
    text = "".join(f"Mary met Bob {i} .\n" for i in range(12))
    found = read_windows(io.BytesIO(text.encode()), "<test>", "tokens", predictor.window_maker, window=5)

    class Out(io.StringIO):
        def __init__(self):
            super().__init__()
            self.flushed_at: list[int] = []  # sentences written at each flush

        def flush(self):
            self.flushed_at.append(self.getvalue().count("\n\n"))
            super().flush()

    out = Out()
    assert write(tag_stream(predictor, found), out) == 12
    assert out.flushed_at[:3] == [5, 10, 12]


def test_closing_a_tag_stream_that_waits_for_input_ends_its_reader_thread_at_once(trained_model):
    """What Ctrl-C does on a waiting stdin: the thread reading the input is told to stop, and is gone
    before the interpreter exits (a thread left in a buffered read of stdin aborts it)."""
    predictor = Predictor.from_loaded(load_model(trained_model))
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(read_end, "rb") as stream:
            tagged = tag_stream(predictor, read_windows(stream, "<pipe>", "tokens", predictor.window_maker))
            os.write(write_end, b"Mary lives in Paris .\n")
            first = next(tagged)  # answered while the writer stays open
            assert first.tokens == ["Mary", "lives", "in", "Paris", "."] and len(first.tags) == 5
            assert tagged.window_done
            time.sleep(0.2)  # the reader thread waits for more input
            start = time.monotonic()
            tagged.close()
            assert time.monotonic() - start < 1
            assert not [t for t in threading.enumerate() if t.name == "tagger-reader"]
    finally:
        os.close(write_end)


# `tagger tag` as a filter, in real processes

SENTENCE = ["Mary", "lives", "in", "Paris", "."]
ONE_SENTENCE = {
    "text": "Mary lives in Paris .\n",
    "tokens": "Mary lives in Paris .\n",
    "conll": "Mary\nlives\nin\nParis\n.\n\n",
}


class Filter:
    """`tagger tag --format jsonl` as a shell runs it: a process group of its own, and stdin a FIFO
    or a terminal whose writer stays open; stdout read with select and a time limit."""

    def __init__(self, model: Path, stdin: str, tmp_path: Path, *options: str):
        if stdin == "fifo":
            fifo = tmp_path / "input"
            os.mkfifo(fifo)
            read_end = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            self.input = os.open(fifo, os.O_WRONLY)
            os.set_blocking(read_end, True)
        else:  # a pseudo-terminal: the tagger reads the terminal side, as when a user types
            self.input, read_end = os.openpty()
            attributes = termios.tcgetattr(read_end)
            attributes[3] &= ~termios.ECHO  # nobody reads the echo
            termios.tcsetattr(read_end, termios.TCSANOW, attributes)
        command = [sys.executable, "cli.py", "tag", "-m", str(model), "--format", "jsonl", *options]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=read_end,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # stdout block-buffered, as in a shell: the tagger's own flushes must bring the answers out
            env={**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, "TAGGER_THREADS": "1"},
            start_new_session=True,
        )
        os.close(read_end)
        self.pending = b""

    def send(self, text: str) -> None:
        os.write(self.input, text.encode())

    def answers(self, count: int, timeout: float) -> list[dict]:
        """The next ``count`` sentences on stdout (fewer if they do not come within ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        out = self.proc.stdout.fileno()
        while self.pending.count(b"\n") < count and time.monotonic() < deadline:
            if select.select([out], [], [], max(0.0, deadline - time.monotonic()))[0]:
                data = os.read(out, 1 << 16)
                if not data:
                    break
                self.pending += data
        *lines, rest = self.pending.split(b"\n")
        self.pending = b"\n".join([*lines[count:], rest])
        return [json.loads(line) for line in lines[:count]]

    def answer_time(self, text: str) -> float:
        """Seconds from writing ``text`` (one sentence) to its answer on stdout."""
        start = time.monotonic()
        self.send(text)
        got = self.answers(1, timeout=10)
        took = time.monotonic() - start
        assert [a["tokens"] for a in got] == [SENTENCE], self.proc.stderr.read1() if not got else got
        return took

    def interrupt(self) -> tuple[int, float, str]:
        """Ctrl-C to the process group: (status, seconds to exit, stderr)."""
        start = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGINT)
        status = self.proc.wait(timeout=30)
        took = time.monotonic() - start
        _, stderr = self.proc.communicate(timeout=30)
        return status, took, stderr.decode()

    def workers(self) -> list[int]:
        return [
            int(child)
            for task in Path(f"/proc/{self.proc.pid}/task").glob("*")
            for child in (task / "children").read_text().split()
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
        ]

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.input)


@pytest.fixture
def start(trained_model, tmp_path):
    started: list[Filter] = []

    def start_filter(stdin: str, *options: str) -> Filter:
        started.append(Filter(trained_model, stdin, tmp_path, *options))
        return started[-1]

    yield start_filter
    for tagger in started:
        tagger.close()


def check_interrupted(tagger: Filter) -> None:
    time.sleep(0.2)  # waiting for input, with no time limit
    status, took, stderr = tagger.interrupt()
    assert (status, stderr) == (130, "tagger: interrupted\n")
    assert took < 1, f"status 130 after {took:.2f} s"


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "1"])
@pytest.mark.parametrize(("stdin", "kind"), [("fifo", "text"), ("fifo", "tokens"), ("fifo", "conll"), ("pty", "text")])
def test_each_line_is_answered_within_a_second_and_ctrl_c_stops_at_once(start, stdin, kind, workers):
    tagger = start(stdin, "--input", kind, "--workers", workers)
    tagger.send(ONE_SENTENCE[kind])
    assert [a["tokens"] for a in tagger.answers(1, timeout=120)] == [SENTENCE]  # answered, the writer still open
    for _ in range(2):  # a slow producer: a line, then a pause
        time.sleep(0.3)
        took = tagger.answer_time(ONE_SENTENCE[kind])
        assert took < 1, f"answered after {took:.2f} s"
    check_interrupted(tagger)


@pytest.mark.slow
@pytest.mark.parametrize("options", [("--scores", "entities"), ("--min-score", "0.5"), ("--nbest", "2")])
def test_lines_are_answered_at_once_with_scores_too(start, options):
    tagger = start("fifo", "--input", "tokens", *options)
    tagger.send(ONE_SENTENCE["tokens"])
    assert [a["tokens"] for a in tagger.answers(1, timeout=120)] == [SENTENCE]  # answered, the writer still open
    for _ in range(2):
        time.sleep(0.3)
        took = tagger.answer_time(ONE_SENTENCE["tokens"])
        assert took < 1, f"answered after {took:.2f} s"
    check_interrupted(tagger)


@pytest.mark.slow
def test_a_burst_goes_to_the_worker_and_a_slow_line_after_it_is_answered_at_once(start):
    """Fast input fills whole windows, done by the worker process; when the input stops, every
    window the worker holds comes out; a line after that is answered within a second; Ctrl-C
    stops the worker too."""
    import fcntl

    tagger = start("fifo", "--workers", "1")
    fcntl.fcntl(tagger.input, fcntl.F_SETPIPE_SZ, 1 << 20)  # the whole burst waits in the pipe: input comes fast
    burst = [f"Mary lives in Paris {i} ." for i in range(windows.FIRST_WINDOW + windows.WINDOW + 300)]
    tagger.send("".join(line + "\n" for line in burst))
    got = tagger.answers(len(burst), timeout=180)
    assert [" ".join(a["tokens"]) for a in got] == burst
    worker = tagger.workers()
    assert len(worker) == 1
    time.sleep(0.3)
    took = tagger.answer_time("Mary lives in Paris .\n")
    assert took < 1, f"answered after {took:.2f} s"
    check_interrupted(tagger)
    time.sleep(0.5)
    gone = not Path(f"/proc/{worker[0]}").exists()
    assert gone or b"spawn_main" not in Path(f"/proc/{worker[0]}/cmdline").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["text", "tokens"])
def test_worker_process_reads_exactly_like_inline(trained_model, kind):
    lines = [f"Line {i}: Mary met Dr. Smith in Paris. They didn't stay!\n" for i in range(FIRST_WINDOW + 300)]
    data = "".join(lines).encode()
    maker = Predictor.from_loaded(load_model(trained_model)).window_maker

    def read(workers):
        windows = list(read_windows(io.BytesIO(data), "<test>", kind, maker, workers=workers, window=200))
        for sentences, arrays in windows:  # each window's arrays are its sentences'
            assert arrays == maker([s.tokens for s in sentences])
        return windows, [(s.tokens, list(s.offsets or []), s.text) for w, _ in windows for s in w]

    (_, inline), (parallel_windows, parallel), (_, three) = read(0), read(1), read(3)
    assert parallel == inline
    assert three == inline  # several workers (feeding a GPU): still in input order
    assert len(parallel_windows) > 2  # the worker did some
    assert len(inline) == len(lines) * (2 if kind == "text" else 1)
    if kind == "text":
        tokens, flat = tokenize_flat(lines[0])[0]
        pairs = list(zip(flat[::2], flat[1::2]))
        assert inline[0][:2] == (tokens, pairs)


def test_offsets_point_at_the_tokens_across_lines():
    text = "Mary lives in Paris.\r\n\nBob works at Acme Corp. He likes it.\nÜber café — ok\n"
    sentences = list(read_sentences(io.BytesIO(text.encode()), "<test>"))
    assert [s.tokens[0] for s in sentences] == ["Mary", "Bob", "He", "Über"]
    for s in sentences:
        for token, (start, end) in zip(s.tokens, s.offsets, strict=True):
            assert text[start:end] == token


# Documents (a model that reads context): what the maker gets, and where windows end


class DocMaker:
    """A stand-in for a maker that reads context (``arrays.WindowMaker(..., context=True)``): its
    "arrays" are the sentences and the documents it was given."""

    context = True

    def __call__(self, sentences, docs=None):
        return [list(s) for s in sentences], None if docs is None else list(docs)


class PlainMaker(DocMaker):
    context = False


def doc_windows(data: str, kind: str, maker=None, window: int = windows.WINDOW, stream=None) -> list:
    """(tokens, documents) per window that ``read_windows`` gives the maker."""
    stream = stream or io.BytesIO(data.encode())
    found = read_windows(stream, "<test>", kind, maker or DocMaker(), window=window)
    return [arrays for _, arrays in found]


def grouped(found: list) -> list[list[str]]:
    """The documents of windows from ``doc_windows``, each as the first tokens of its sentences: the same
    list whatever the windows, when a document is never cut by a window's end."""
    docs: list[list[str]] = []
    for sentences, numbers in found:
        assert numbers == sorted(numbers) and (not numbers or numbers[0] == 0)  # numbered from 0 in each window
        assert sorted(set(numbers)) == list(range(len(set(numbers))))  # with no gap
        last = None
        for tokens, number in zip(sentences, numbers):
            if number != last:
                docs.append([])
                last = number
            docs[-1].append(tokens[0])
    return docs


@pytest.mark.parametrize("kind", ["text", "tokens"])
def test_a_blank_line_ends_a_document(kind):
    data = "A1 b .\nA2 c .\n\nB1 d .\n \t\r\n\n\nC1 e .\nC2 f .\n"
    assert grouped(doc_windows(data, kind)) == [["A1", "A2"], ["B1"], ["C1", "C2"]]


def test_the_sentences_of_a_line_of_raw_text_are_in_its_document():
    data = "Mary met Bob. He left.\n\nAna lives in Paris. She works there. Ok.\n"
    assert grouped(doc_windows(data, "text")) == [["Mary", "He"], ["Ana", "She", "Ok"]]


def test_a_maker_that_reads_no_context_gets_no_documents_and_windows_as_before():
    data = "".join(f"S{i} x .\n" + ("\n" if i % 3 == 0 else "") for i in range(10))
    found = doc_windows(data, "tokens", PlainMaker(), window=4)
    assert [numbers for _, numbers in found] == [None] * 4
    assert [len(sentences) for sentences, _ in found] == [3, 3, 3, 1]  # 4 lines each (blank ones too)


@pytest.mark.parametrize("kind", ["text", "tokens"])
@pytest.mark.parametrize("window", [1, 2, 3, 7, 1000])
def test_windows_end_only_where_documents_end(kind, window, monkeypatch):
    """A full window takes lines until its last document ends, so every window gets the same documents;
    a document is cut after DOC_MAX lines counted from its start, whatever the windows."""
    monkeypatch.setattr(windows, "DOC_MAX", 4)
    blocks = [3, 1, 6, 4, 9, 2]  # lines per blank-line-separated block
    data = "\n".join("".join(f"L{b}x{i} y .\n" for i in range(n)) for b, n in enumerate(blocks))
    expected = []
    for b, n in enumerate(blocks):
        lines = [f"L{b}x{i}" for i in range(n)]
        expected += [lines[at : at + 4] for at in range(0, n, 4)]
    found = doc_windows(data, kind, window=window)
    assert grouped(found) == expected
    if window < 1000:
        assert len(found) > 1


def test_a_window_holds_at_most_doc_max_lines_beyond_its_size(monkeypatch):
    monkeypatch.setattr(windows, "DOC_MAX", 5)
    found = doc_windows("".join(f"L{i} x .\n" for i in range(40)), "tokens", window=3)
    assert [len(sentences) for sentences, _ in found] == [5] * 8  # no blank line: DOC_MAX lines per document


def test_a_run_of_blank_lines_never_holds_a_window_open():
    """A full window waits for its document's end, not for the next document: blank lines after a document
    (any number of them) are cut into windows of their own size, so memory stays flat."""
    from tagger.data.reader import decoded_lines

    data = ("a x\nb x\nc x\n" + "\n" * 10_000 + "d x\n").encode()
    chunks = list(windows._line_chunks(decoded_lines(io.BytesIO(data), "<test>"), 2, 2, context=True))
    assert max(len(kept) for kept, _, _ in chunks) == 4  # a, b, c and the blank line that ends them
    assert grouped(doc_windows(data.decode(), "tokens", window=2)) == [["a", "b", "c"], ["d"]]


def test_conll_documents_are_its_sentences_doc_numbers(monkeypatch):
    """The CoNLL reader numbers documents (Sentence.doc, from -DOCSTART-); a document is cut after DOC_MAX
    sentences, and windows end only where documents end."""
    monkeypatch.setattr(windows, "DOC_MAX", 3)
    docs = [0, 0, 1, 2, 2, 2, 2, 2, 3]
    source = [SimpleNamespace(tokens=[f"s{i}", "x"], doc=d) for i, d in enumerate(docs)]
    for window in (1, 2, 4, 100):
        chunks = list(windows._sentence_chunks(iter(source), window, window, context=True))
        found = [([list(t) for t in chunk], list(chunk.docs)) for _, chunk, _ in chunks]
        assert grouped(found) == [["s0", "s1"], ["s2"], ["s3", "s4", "s5"], ["s6", "s7"], ["s8"]], window
    plain = list(windows._sentence_chunks(iter(source), 4, 4))
    assert [len(chunk) for _, chunk, _ in plain] == [4, 4, 1] and not hasattr(plain[0][1], "docs")


def test_a_pause_cuts_a_document_and_its_lines_still_count_towards_doc_max(monkeypatch):
    """Slow input is answered at once: the lines before a pause are a window (a document of their own for the
    model), and the document's cut after DOC_MAX lines stays where the whole document puts it."""
    monkeypatch.setattr(windows, "DOC_MAX", 3)
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stream:
        found = read_windows(stream, "<pipe>", "tokens", DocMaker())
        os.write(write_end, b"a1 x\na2 x\n")
        assert next(found)[1] == ([["a1", "x"], ["a2", "x"]], [0, 0])  # answered while the writer is open
        os.write(write_end, b"a3 x\na4 x\na5 x\n\nb1 x\n")
        os.close(write_end)
        rest = [arrays for _, arrays in found]
    assert grouped(rest) == [["a3"], ["a4", "a5"], ["b1"]]


def test_a_full_chunk_takes_items_until_one_starts_a_document():
    def starts(item):
        return item % 5 == 0

    chunks = list(windows.cut_chunks(range(12), 2, 2, no_weight, starts))
    assert chunks == [([0, 1, 2, 3, 4], False), ([5, 6, 7, 8, 9], False), ([10, 11], False)]
    # the item that fills a chunk starts a document: it opens the next chunk instead
    assert list(windows.cut_chunks(range(4), 2, 2, no_weight, lambda i: i in (0, 1, 3))) == [
        ([0], False),
        ([1, 2], False),
        ([3], False),
    ]
    # a pause while a full chunk waits for its document's end: the chunk is answered (slow input)
    assert list(windows.cut_chunks([0, 1, 2, None, 3, 5], 2, 2, no_weight, starts)) == [
        ([0, 1, 2], True),
        ([3], False),
        ([5], False),
    ]


def test_input_read_ahead_is_never_cut_by_time(monkeypatch):
    monkeypatch.setattr(windows, "MAX_WAIT", 0.01)

    def trickle():
        for i in range(10):
            time.sleep(0.005)
            yield i

    assert list(windows.cut_chunks(trickle(), 100, 100, no_weight, wait=False)) == [(list(range(10)), False)]
    assert len(list(windows.cut_chunks(trickle(), 100, 100, no_weight))) > 1


def test_document_numbers_and_line_documents(monkeypatch):
    monkeypatch.setattr(windows, "DOC_MAX", 2)
    lines = ["a", "b", "c", "", " ", "d", None, "e", "", "f"]
    found = list(windows.line_documents(lines, lambda text: not text.strip()))
    # a boundary before a document's first line, and before a blank line after a blank line (a run of them)
    assert [pair and pair[1] for pair in found] == [True, False, True, False, True, True, None, False, False, True]
    assert list(windows.document_numbers([True, False, True, False, True])) == [0, 0, 1, 1, 2]
    assert list(windows.document_numbers([False, True])) == [0, 1]  # a chunk's first item is in document 0


def test_a_chunk_with_documents_reaches_a_worker_whole():
    import pickle
    from array import array

    chunk = windows.DocChunk(["a b", "", "c"], array("q", [0, 0, 1]))
    copy = pickle.loads(pickle.dumps(chunk))
    assert copy == ["a b", "", "c"] and list(copy.docs) == [0, 0, 1]
    packed = windows._token_line_window(DocMaker(), copy)
    assert packed[-1] == ([["a", "b"], ["c"]], [0, 1])


def test_token_windows_end_where_documents_end(monkeypatch):
    from tagger.data.types import TaggedSentence

    monkeypatch.setattr(windows, "DOC_MAX", 3)
    sentences = [TaggedSentence([f"s{i}"], []) for i in range(8)]
    one = list(windows.token_windows(sentences, DocMaker(), None, window=2))  # one document, cut after DOC_MAX
    assert grouped([arrays for _, arrays in one]) == [["s0", "s1", "s2"], ["s3", "s4", "s5"], ["s6", "s7"]]
    assert [s for chunk, _ in one for s in chunk] == sentences
    given = list(windows.token_windows(sentences, DocMaker(), [5, 5, 1, 1, 1, 1, "x", 5], window=2))
    assert grouped([arrays for _, arrays in given]) == [["s0", "s1"], ["s2", "s3", "s4"], ["s5"], ["s6"], ["s7"]]
    plain = list(windows.token_windows(sentences, PlainMaker(), None, window=3))
    assert [(len(chunk), arrays) for chunk, arrays in plain] == [(3, None), (3, None), (2, None)]


# With the model's own context option (once merged)


def expected_documents(data: str, kind: str) -> list[int]:
    """Each sentence's document as the issue defines them, found here without windows: blank-line blocks
    (-DOCSTART- documents in CoNLL), each cut after DOC_MAX lines (sentences) counted from its start."""
    from tagger.data.reader import iter_conll

    if kind == "conll":
        keys = [s.doc for s in iter_conll(io.BytesIO(data.encode()), "<test>", with_tags=False)]
        sizes = [1] * len(keys)
    else:
        keys, sizes, block = [], [], 0
        for line in data.removeprefix("\ufeff").splitlines():
            if not line.strip(windows.BLANK):
                block += 1
                continue
            keys.append(block)
            sizes.append(len(tokenize_flat(line)) if kind == "text" else 1)
    docs: list[int] = []
    number, count, last = -1, 0, None
    for key, size in zip(keys, sizes):
        if key != last or count == windows.DOC_MAX:
            number, count, last = number + 1, 0, key
        count += 1
        docs += [number] * size
    return docs


@needs_context
@pytest.mark.parametrize("kind", ["text", "tokens", "conll"])
def test_a_context_model_tags_each_document_as_the_predictor_does(tmp_path, kind):
    """``tagger tag`` on a file: each sentence gets the tags ``Predictor.predict`` gives it with its document
    (blank-line blocks, -DOCSTART- documents; one longer than DOC_MAX cut there), whatever the window."""
    predictor = Predictor.from_loaded(load_model(save_context_model(tmp_path / "context.pt")))
    assert predictor.window_maker.context
    data = documents_conll() if kind == "conll" else documents_text()
    if kind == "tokens":
        data = "".join(" ".join(line.split()) + "\n" for line in data.splitlines())
    docs = expected_documents(data, kind)
    assert len(set(docs)) > 5
    for window in (5, 64, windows.WINDOW):
        found = read_windows(io.BytesIO(data.encode()), "<test>", kind, predictor.window_maker, window=window)
        tagged = list(tag_stream(predictor, found))
        assert len(tagged) == len(docs)
        assert [s.tags for s in tagged] == predictor.predict([s.tokens for s in tagged], docs), window


@needs_context
@pytest.mark.parametrize("kind", ["text", "conll"])
def test_a_window_of_a_context_model_has_the_arrays_of_its_documents(tmp_path, kind):
    maker = Predictor.from_loaded(load_model(save_context_model(tmp_path / "context.pt"))).window_maker
    data = documents_conll(3) if kind == "conll" else documents_text(3)
    docs = expected_documents(data, kind)
    at = 0
    for sentences, arrays in read_windows(io.BytesIO(data.encode()), "<test>", kind, maker, window=4):
        mine = docs[at : at + len(sentences)]
        assert at + len(sentences) == len(docs) or docs[at + len(sentences)] != mine[-1]  # ends with a document
        assert arrays == maker([s.tokens for s in sentences], [d - mine[0] for d in mine])
        at += len(sentences)
    assert at == len(docs)


@pytest.mark.slow
@needs_context
@pytest.mark.parametrize("kind", ["text", "conll"])
def test_with_a_context_model_the_worker_process_reads_exactly_like_inline(tmp_path, kind):
    maker = Predictor.from_loaded(load_model(save_context_model(tmp_path / "context.pt"))).window_maker
    data = (documents_conll() if kind == "conll" else documents_text()).encode()

    def read(workers):
        found = list(read_windows(io.BytesIO(data), "<test>", kind, maker, workers=workers, window=50))
        return [(s.tokens, arrays) for w, arrays in found for s in w[:1]], [s.tokens for w, _ in found for s in w]

    (inline_windows, inline), (worker_windows, worker) = read(0), read(1)
    assert worker == inline
    assert worker_windows == inline_windows  # the same windows, with the same arrays (documents included)


@pytest.mark.slow
@needs_context
def test_with_a_context_model_each_line_is_still_answered_within_a_second(tmp_path):
    """A terminal is answered at once: a pause ends a window (and so a document) before its blank line."""
    tagger = Filter(save_context_model(tmp_path / "context.pt"), "fifo", tmp_path, "--input", "tokens")
    try:
        tagger.send(ONE_SENTENCE["tokens"])
        assert [a["tokens"] for a in tagger.answers(1, timeout=120)] == [SENTENCE]
        for _ in range(2):
            time.sleep(0.3)
            took = tagger.answer_time(ONE_SENTENCE["tokens"])
            assert took < 1, f"answered after {took:.2f} s"
        check_interrupted(tagger)
    finally:
        tagger.close()


# Long lines: tagged in pieces (reader.LINE_PIECE), each its own document; a dead reader process


def test_a_long_line_is_tagged_in_pieces_with_offsets_into_the_whole_input(monkeypatch, capsys):
    monkeypatch.setattr(windows, "LINE_PIECE", 24)
    text = "ok\n" + "Mary lives in Paris. " * 4 + "é" * 30 + " John Smith works\n" + "short line\n"
    sentences = list(read_sentences(io.BytesIO(text.encode("utf-8")), "in.txt"))
    tokens = [token for sentence in sentences for token in sentence.tokens]
    assert "".join(tokens) == "".join(text.split())
    for sentence in sentences:
        for token, (start, end) in zip(sentence.tokens, sentence.offsets):
            assert text[start:end] == token
    assert max(len(token.encode("utf-8")) for token in tokens) <= 24
    assert capsys.readouterr().err.startswith("warning: in.txt:2: a run of more than ")


def test_each_piece_of_a_cut_line_starts_a_document():
    from operator import itemgetter

    lines = [(1, "a", 2), (2, "b ", 2), (2, "c ", 2), (2, "d", 2), (3, "e", 2), (3, " ", 1)]
    found = list(windows.line_documents(lines, windows._text_blank, itemgetter(0)))
    assert [start for _, start in found] == [True, False, True, True, False, True]


@pytest.mark.slow
def test_a_line_of_several_megabytes_is_tagged_with_one_warning_and_true_offsets(tmp_path, trained_model):
    """Before: a 5 MB line was one sentence (1.7 GB with the tests' tiny model, 5 GB with a real one), and a
    5 MB token a MemoryError inside the tokenizer."""
    from tests.helpers import run_cli_process

    text = "Mary lives in Paris with John Smith, who works for Google in Berlin . " * 20_000 + "é" * 150_000
    path = tmp_path / "long.txt"
    path.write_text("ok\n" + text + " end\nlast line\n", encoding="utf-8")
    result = run_cli_process("tag", "-m", trained_model, path, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {path}:2: a run of more than 100,000 bytes with no space or tab: cut every 100,000 bytes "
        "(a token that long is split)"
    ]
    whole = path.read_text(encoding="utf-8")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    for record in records:
        assert [whole[start:end] for start, end in record["offsets"]] == record["tokens"]
    assert "".join(token for record in records for token in record["tokens"]) == "".join(whole.split())


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

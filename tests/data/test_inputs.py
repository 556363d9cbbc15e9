"""Reading an input into windows (``inputs.read_windows``): windows end where slow input pauses and are
stoppable while waiting; `tagger tag` as a filter, in real processes: each line answered within a second, Ctrl-C
on a waiting stdin (a FIFO or a terminal whose writer stays open) status 130 at once; offsets point at the tokens
across lines; documents of a model that reads context; long lines tagged in pieces."""

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

from tagger.data import chunks, inputs, windows
from tagger.data.inputs import read_sentences, read_windows
from tagger.data.tokenizer import tokenize_flat
from tagger.tagging.model import open_model
from tagger.tagging.predictor import Predictor
from tagger.tagging.stream import tag_stream
from tests.contextual import (
    DocMaker,
    PlainMaker,
    documents_conll,
    documents_text,
    grouped,
    needs_context,
    save_context_model,
)

ROOT = Path(__file__).resolve().parents[2]


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


def test_closing_a_tag_stream_that_waits_for_input_ends_its_reader_thread_at_once(trained_model):
    """What Ctrl-C does on a waiting stdin: the thread reading the input is told to stop, and is gone
    before the interpreter exits (a thread left in a buffered read of stdin aborts it)."""
    predictor = Predictor(open_model(trained_model))
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
    burst = [f"Mary lives in Paris {i} ." for i in range(inputs.FIRST_WINDOW + windows.WINDOW + 300)]
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


def test_offsets_point_at_the_tokens_across_lines():
    text = "Mary lives in Paris.\r\n\nBob works at Acme Corp. He likes it.\nÜber café — ok\n"
    sentences = list(read_sentences(io.BytesIO(text.encode()), "<test>"))
    assert [s.tokens[0] for s in sentences] == ["Mary", "Bob", "He", "Über"]
    for s in sentences:
        for token, (start, end) in zip(s.tokens, s.offsets, strict=True):
            assert text[start:end] == token


# Documents (a model that reads context): what the maker gets, and where windows end


def doc_windows(data: str, kind: str, maker=None, window: int = windows.WINDOW, stream=None) -> list:
    """(tokens, documents) per window that ``read_windows`` gives the maker."""
    stream = stream or io.BytesIO(data.encode())
    found = read_windows(stream, "<test>", kind, maker or DocMaker(), window=window)
    return [arrays for _, arrays in found]


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
    monkeypatch.setattr(chunks, "DOC_MAX", 4)
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
    monkeypatch.setattr(chunks, "DOC_MAX", 5)
    found = doc_windows("".join(f"L{i} x .\n" for i in range(40)), "tokens", window=3)
    assert [len(sentences) for sentences, _ in found] == [5] * 8  # no blank line: DOC_MAX lines per document


def test_a_run_of_blank_lines_never_holds_a_window_open():
    """A full window waits for its document's end, not for the next document: blank lines after a document
    (any number of them) are cut into windows of their own size, so memory stays flat."""
    from tagger.data.reader import decoded_lines

    data = ("a x\nb x\nc x\n" + "\n" * 10_000 + "d x\n").encode()
    cut = list(inputs._line_chunks(decoded_lines(io.BytesIO(data), "<test>"), 2, 2, context=True))
    assert max(len(kept) for kept, _, _ in cut) == 4  # a, b, c and the blank line that ends them
    assert grouped(doc_windows(data.decode(), "tokens", window=2)) == [["a", "b", "c"], ["d"]]


def test_conll_documents_are_its_sentences_doc_numbers(monkeypatch):
    """The CoNLL reader numbers documents (Sentence.doc, from -DOCSTART-); a document is cut after DOC_MAX
    sentences, and windows end only where documents end."""
    monkeypatch.setattr(chunks, "DOC_MAX", 3)
    docs = [0, 0, 1, 2, 2, 2, 2, 2, 3]
    source = [SimpleNamespace(tokens=[f"s{i}", "x"], doc=d) for i, d in enumerate(docs)]
    for window in (1, 2, 4, 100):
        cut = list(inputs._sentence_chunks(iter(source), window, window, context=True))
        found = [([list(t) for t in chunk], list(chunk.docs)) for _, chunk, _ in cut]
        assert grouped(found) == [["s0", "s1"], ["s2"], ["s3", "s4", "s5"], ["s6", "s7"], ["s8"]], window
    plain = list(inputs._sentence_chunks(iter(source), 4, 4))
    assert [len(chunk) for _, chunk, _ in plain] == [4, 4, 1] and not hasattr(plain[0][1], "docs")


def test_a_pause_cuts_a_document_and_its_lines_still_count_towards_doc_max(monkeypatch):
    """Slow input is answered at once: the lines before a pause are a window (a document of their own for the
    model), and the document's cut after DOC_MAX lines stays where the whole document puts it."""
    monkeypatch.setattr(chunks, "DOC_MAX", 3)
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stream:
        found = read_windows(stream, "<pipe>", "tokens", DocMaker())
        os.write(write_end, b"a1 x\na2 x\n")
        assert next(found)[1] == ([["a1", "x"], ["a2", "x"]], [0, 0])  # answered while the writer is open
        os.write(write_end, b"a3 x\na4 x\na5 x\n\nb1 x\n")
        os.close(write_end)
        rest = [arrays for _, arrays in found]
    assert grouped(rest) == [["a3"], ["a4", "a5"], ["b1"]]


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
            if not line.strip(chunks.BLANK):
                block += 1
                continue
            keys.append(block)
            sizes.append(len(tokenize_flat(line)) if kind == "text" else 1)
    docs: list[int] = []
    number, count, last = -1, 0, None
    for key, size in zip(keys, sizes):
        if key != last or count == chunks.DOC_MAX:
            number, count, last = number + 1, 0, key
        count += 1
        docs += [number] * size
    return docs


@needs_context
@pytest.mark.parametrize("kind", ["text", "tokens", "conll"])
def test_a_context_model_tags_each_document_as_the_predictor_does(tmp_path, kind):
    """``tagger tag`` on a file: each sentence gets the tags ``Predictor.predict`` gives it with its document
    (blank-line blocks, -DOCSTART- documents; one longer than DOC_MAX cut there), whatever the window."""
    predictor = Predictor(open_model(save_context_model(tmp_path / "context.pt")))
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
    maker = Predictor(open_model(save_context_model(tmp_path / "context.pt"))).window_maker
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
    monkeypatch.setattr(inputs, "LINE_PIECE", 24)
    text = "ok\n" + "Mary lives in Paris. " * 4 + "é" * 30 + " John Smith works\n" + "short line\n"
    sentences = list(read_sentences(io.BytesIO(text.encode("utf-8")), "in.txt"))
    tokens = [token for sentence in sentences for token in sentence.tokens]
    assert "".join(tokens) == "".join(text.split())
    for sentence in sentences:
        for token, (start, end) in zip(sentence.tokens, sentence.offsets):
            assert text[start:end] == token
    assert max(len(token.encode("utf-8")) for token in tokens) <= 24
    assert capsys.readouterr().err.startswith("warning: in.txt:2: a run of more than ")


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


# Raw text that is a column file (tag's default --input text given a CoNLL file)


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("-DOCSTART- -X- -X- O\n\nSOCCER NN B-NP O\n", True),
        ("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\ncall NN I-NP O\n", True),
        ("John\tB-PER\nlives\tO\nin\tO\nParis\tB-LOC\n\nHe\tO\n", True),
        ("The\tDET\ncat\tNOUN\nsat\tVERB\n", True),  # a part-of-speech file
        ("Angela Merkel met Emmanuel Macron in Paris.\nShe left on Tuesday.\n", False),
        ("Hello world\nGood morning\nSee you\n", False),  # two words a line, but no tags
        ("John B-PER\n", False),  # too little to tell
        ("", False),
    ],
)
def test_a_file_that_opens_as_columns_is_told_from_raw_text(tmp_path, text, columns):
    path = tmp_path / "in.txt"
    path.write_text(text, encoding="utf-8")
    assert inputs.looks_like_columns(path) is columns
    assert inputs.looks_like_columns(tmp_path / "missing.txt") is False  # reading it says why, later


def test_only_the_first_bytes_are_read_to_tell(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"EU NNP B-NP B-ORG\n" * 5 + b"x" * (10 * inputs.PEEK_BYTES))
    assert inputs.looks_like_columns(path) is True


def test_stdin_is_looked_at_where_it_is_a_file_and_left_where_it_was(tmp_path, monkeypatch):
    path = tmp_path / "in.txt"
    path.write_bytes(b"-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        monkeypatch.setattr("sys.stdin", open(fd, closefd=False))  # `tagger tag < in.txt`
        os.lseek(fd, 1, os.SEEK_SET)
        assert inputs.looks_like_columns("-") is False  # read from where stdin is: past the - of -DOCSTART-
        os.lseek(fd, 0, os.SEEK_SET)
        assert inputs.looks_like_columns("-") is True
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0  # left where it was: the tagging reads it all
    finally:
        os.close(fd)
    read_end, write_end = os.pipe()
    os.write(write_end, path.read_bytes())
    with os.fdopen(read_end, "rb") as pipe:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(pipe))
        assert inputs.looks_like_columns("-") is False  # a pipe is not looked at: what is read of it is gone
    os.close(write_end)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_is_not_opened_to_look_at(tmp_path):
    """Opening a named pipe to look would take its writer's bytes (or block until one comes): it is not looked at,
    and its bytes are all there for the tagging."""
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    assert inputs.looks_like_columns(fifo) is False  # returns at once: no writer has opened it, nothing waited for

"""tagger.tagging.jobs: --jobs N output equals single-process output byte for byte; a dead worker stops the run;
an exported model's workers tag with onnxruntime and never import torch."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tagger.data.chunks import reads_ahead
from tagger.errors import DataError, WorkerError
from tagger.tagging.jobs import tag_parallel
from tests.contextual import documents_conll, documents_text, needs_context, save_context_model
from tests.corpora import PEOPLE, PLACES, make_sentences

TEXT = (
    "\ufeffJohn Smith lives in Paris. Mary works for Acme Corp in Berlin!\r\n"
    "\n"
    "  Ana Lopez met Bob – in Lake Tahoe, at 5 p.m. Ça va? Über-Straße\n"
    "\ufeffAngela Merkel visited New York.\n"
    "no entities here\n"
) * 9


def _inputs() -> dict[str, bytes]:
    sentences = make_sentences(40, 7)
    tokens = "".join(" ".join(t for t, _ in s) + "\n" for s in sentences) + "\n\n  \n"
    conll = "-DOCSTART- O\n\n" + "".join("".join(f"{t}\tO\n" for t, _ in s) + "\n" for s in sentences)
    return {"text": TEXT.encode("utf-8"), "tokens": tokens.encode("utf-8"), "conll": conll.encode("utf-8")}


def _single(path, model, kind, fmt) -> str:
    from tagger.tagging.files import tag_file
    from tagger.tagging.options import TagOptions

    out = io.StringIO()
    tag_file(str(path), out, model, TagOptions(input_kind=kind, output_format=fmt, jobs=1))
    return out.getvalue()


def _parallel(data: bytes, model, kind, fmt, jobs, window) -> tuple[int, str]:
    out = io.StringIO()
    count = tag_parallel(io.BytesIO(data), "in.txt", out, model, kind, fmt, jobs=jobs, window=window)
    return count, out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["text", "tokens", "conll"])
def test_jobs_1_and_2_write_what_one_process_writes(trained_model, tmp_path, kind):
    data = _inputs()[kind]
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    for fmt in ("conll", "jsonl", "inline"):
        expected = _single(path, trained_model, kind, fmt)
        for jobs, window in ((1, 2048), (2, 7), (2, 2048)):  # window 7: many windows, offsets across them
            count, got = _parallel(data, trained_model, kind, fmt, jobs, window)
            assert got == expected, (fmt, jobs, window)
            assert count == expected.count("\n\n" if fmt == "conll" else "\n")


def test_bad_utf8_names_its_line_in_the_whole_input(trained_model):
    data = b"ok\n" * 10 + b"bad \xff here\n"
    found = r"in.txt:11: bytes that are not UTF-8 \(byte 0xff at column 5, byte offset 34\)"
    with pytest.raises(DataError, match=found):
        _parallel(data, trained_model, "text", "conll", 2, 4)


def test_bad_conll_names_its_line_as_today(trained_model):
    with pytest.raises(DataError, match=r"in.txt:3: 3 columns where this sentence has 2"):
        _parallel(b"a O\nb O\nc x O\n", trained_model, "conll", "conll", 2, 4)


@pytest.mark.slow  # starts worker processes
def test_empty_input_tags_nothing(trained_model):
    assert _parallel(b"", trained_model, "text", "conll", 2, 4) == (0, "")


@pytest.mark.slow  # starts worker processes
@pytest.mark.parametrize("data", [b"", b"John lives in Paris.\n" * 30], ids=["empty", "text"])
@pytest.mark.parametrize("content", [None, b"junk"], ids=["missing", "junk"])
def test_a_bad_model_is_reported_by_the_first_worker_as_without_jobs(tmp_path, data, content):
    """The parent never loads the model: a worker does, and its one-line error (status 2) comes back,
    with an empty input too."""
    from tagger.errors import ModelFileError

    path = tmp_path / "bad.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        _parallel(data, path, "text", "conll", 2, 4)
    assert info.value.exit_code == 2 and "\n" not in str(info.value) and "bad.pt" in str(info.value)


PARENT = """
import io, sys
from tagger.tagging.jobs import tag_file_jobs
from tagger.tagging.options import TagOptions
out = io.StringIO()
count = tag_file_jobs(sys.argv[2], out, sys.argv[1], TagOptions(jobs=2))
print(count, out.getvalue().count("B-PER"), "torch" in sys.modules)
"""


@pytest.mark.slow
def test_the_parent_of_the_jobs_never_imports_torch(trained_model, tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"John Smith lives in Paris.\n" * 30)
    run = subprocess.run([sys.executable, "-c", PARENT, str(trained_model), str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    count, people, torch_imported = run.stdout.split()
    assert count == "30" and int(people) > 0 and torch_imported == "False"


class _Recorder(io.StringIO):
    def __init__(self):
        super().__init__()
        self.wrote = threading.Event()

    def write(self, text):
        self.wrote.set()
        return super().write(text)


def _lines(n: int) -> bytes:
    return "".join(f"{PEOPLE[i % 5]} went to {PLACES[i % 5]} on day {i}.\n" for i in range(n)).encode()


@pytest.mark.slow
def test_a_worker_killed_stops_the_run_within_5_seconds_naming_it(trained_model):
    import multiprocessing

    data = _lines(40_000)
    out, caught = _Recorder(), {}

    def run():
        try:
            tag_parallel(io.BytesIO(data), "big.txt", out, trained_model, "text", "conll", jobs=2, window=200)
        except BaseException as err:  # noqa: B036 - handed to the test thread
            caught["err"], caught["at"] = err, time.monotonic()

    runner = threading.Thread(target=run)
    runner.start()
    assert out.wrote.wait(120), "no output"
    victim = next(p for p in multiprocessing.active_children() if p.name == "tagger-job-2")
    os.kill(victim.pid, signal.SIGKILL)
    killed = time.monotonic()
    runner.join(60)
    err = caught.get("err")
    assert isinstance(err, WorkerError) and err.exit_code == 1
    assert caught["at"] - killed < 5
    assert f"tagging worker 2 of 2 (pid {victim.pid}) died (killed by SIGKILL)" in str(err)
    assert "\n" not in str(err)
    written = out.getvalue()
    assert written and written.endswith("\n\n")  # whole windows, and the error says where it stopped
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("tagger-job")]


SCRIPT = """
import sys
from tagger.data.chunks import reads_ahead
from tagger.tagging.jobs import tag_parallel
try:
    tag_parallel(sys.stdin.buffer, "<stdin>", sys.stdout, sys.argv[1], "text", "conll", jobs=2, window=100)
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.slow
def test_ctrl_c_stops_every_process_with_status_130(trained_model, tmp_path):
    source = tmp_path / "big.txt"
    source.write_bytes(_lines(200_000))
    with source.open("rb") as stdin:
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(trained_model)],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert proc.stdout.read(1000)  # tagging has begun
        group = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(group) >= 3  # the parent and its 2 workers
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        proc.stdout.read()
        assert proc.wait(30) == 130, proc.stderr.read()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # multiprocessing's resource tracker leaves once it sees the parent gone
        left = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
        if not left:
            break
        time.sleep(0.1)
    shown = subprocess.run(["ps", "-o", "pid,args", "-g", str(proc.pid)], capture_output=True, text=True).stdout
    assert left == [], shown


def test_only_files_on_disk_are_read_a_window_ahead(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"x\n")
    with path.open("rb") as stream:
        assert reads_ahead(stream)
    read, write = os.pipe()
    with os.fdopen(read, "rb") as stream, os.fdopen(write, "wb"):
        assert not reads_ahead(stream)


@pytest.mark.slow
def test_the_jobs_option_gives_the_same_output_and_falls_back_where_it_does_not_apply(trained_model, tmp_path):
    from tests.helpers import run_cli_process

    path = tmp_path / "in.txt"
    path.write_bytes(_inputs()["text"])
    one = run_cli_process("tag", "-m", trained_model, path, "--jobs", "1", "--format", "jsonl")
    two = run_cli_process("tag", "-m", trained_model, path, "--jobs", "2", "--format", "jsonl")
    assert one.returncode == two.returncode == 0, two.stderr
    assert two.stdout == one.stdout
    # html is one page and scores need the CRF's probabilities: those take the single-process path
    page = run_cli_process("tag", "-m", trained_model, path, "--jobs", "2", "--format", "html", "--scores", "entities")
    assert page.returncode == 0, page.stderr
    assert page.stdout.count("<!DOCTYPE html>") == 1
    missing = run_cli_process("tag", "-m", tmp_path / "none.pt", path, "--jobs", "2")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "none.pt" in missing.stderr


# A model that reads context: chunks end where documents end


def _chunk_lines(chunks) -> list[list[str]]:
    return [data.decode("utf-8").splitlines() for data, _ in chunks]


def test_line_chunks_end_where_documents_end(monkeypatch):
    """For every model: the parent never loads it, so it cannot ask whether it reads context."""
    from tagger.data import chunks
    from tagger.tagging import jobs

    monkeypatch.setattr(chunks, "DOC_MAX", 3)
    data = b"a1\na2\n\nb1\nb2\nb3\nb4\n \t\nc1\n"
    chunks = list(jobs._line_chunks(io.BytesIO(data), "in.txt", 2))
    assert _chunk_lines(chunks) == [["a1", "a2", ""], ["b1", "b2", "b3"], ["b4", " \t"], ["c1"]]
    assert [position for _, position in chunks] == [0, 7, 16, 22]  # characters before each chunk


def test_a_byte_order_mark_opening_the_input_is_no_text_and_one_later_is():
    from tagger.tagging import jobs

    marked = list(jobs._blank_marked(io.BytesIO(b"\xef\xbb\xbf\r\n\xef\xbb\xbf\n \t\nx\n"), "in.txt", None))
    assert [blank for _, blank, _, _ in marked] == [True, False, True, False]


def test_conll_goes_as_token_lines_with_a_blank_line_where_a_document_starts(monkeypatch):
    """The worker reads token lines, where a blank line ends a document: its documents are the reader's
    (Sentence.doc, numbered at each -DOCSTART-), cut after DOC_MAX sentences."""
    from types import SimpleNamespace

    from tagger.data import chunks
    from tagger.tagging import jobs

    monkeypatch.setattr(chunks, "DOC_MAX", 3)
    docs = [0, 0, 1, 1, 1, 1, 1, 2]
    sentences = [SimpleNamespace(tokens=[f"s{i}", "x"], doc=d) for i, d in enumerate(docs)]
    monkeypatch.setattr(jobs, "iter_conll", lambda stream, name, with_tags: iter(sentences))
    chunks = list(jobs._conll_chunks(io.BytesIO(b""), "in.txt", 5))
    assert _chunk_lines(chunks) == [["s0 x", "s1 x", "", "s2 x", "s3 x", "s4 x"], ["s5 x", "s6 x", "", "s7 x"]]
    chunks = list(jobs._conll_chunks(io.BytesIO(b""), "in.txt", 2))
    assert _chunk_lines(chunks) == [["s0 x", "s1 x"], ["s2 x", "s3 x", "s4 x"], ["s5 x", "s6 x"], ["s7 x"]]


@pytest.mark.slow
@needs_context
@pytest.mark.parametrize("context", [True, False], ids=["context", "no-context"])
@pytest.mark.parametrize("kind", ["text", "tokens", "conll"])
def test_with_documents_any_jobs_writes_what_one_process_writes(tmp_path, kind, context, trained_model):
    """Documents longer than DOC_MAX, blank-line blocks and -DOCSTART- documents: the same bytes for
    any --jobs and window, as the single-process path (which cuts its windows its own way), with a model
    that reads context and one that does not (its chunks end at documents too, which changes nothing)."""
    model = save_context_model(tmp_path / "context.pt") if context else trained_model
    if kind == "conll":
        data = documents_conll().encode("utf-8")
    elif kind == "text":
        data = documents_text().encode("utf-8")
    else:
        data = "".join(" ".join(line.split()) + "\n" for line in documents_text().splitlines()).encode("utf-8")
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    for fmt in ("conll", "jsonl"):
        expected = _single(path, model, kind, fmt)
        for jobs, window in ((1, 2048), (2, 7), (3, 100)):
            count, got = _parallel(data, model, kind, fmt, jobs, window)
            assert got == expected, (fmt, jobs, window)
            assert count == expected.count("\n\n" if fmt == "conll" else "\n")


@pytest.mark.slow  # starts a fork server and worker processes
@pytest.mark.skipif(not hasattr(os, "fork"), reason="spawned workers where there is no fork server")
def test_workers_come_from_a_fork_server_stopped_after_the_run(trained_model):
    """The fork server (torch imported once, shared by the workers) is stopped when the run ends: a
    long-lived process (the Python API) does not keep its memory; a fork server of the caller is left alone."""
    import multiprocessing
    from multiprocessing import forkserver

    from tagger.tagging import jobs

    server = forkserver._forkserver
    if server._forkserver_pid is not None:
        pytest.skip("a fork server of another test is running")
    seen = {}
    real_start = multiprocessing.context.ForkServerProcess._Popen

    def spy(process_obj):
        popen = real_start(process_obj)
        seen["server"], seen["preload"] = server._forkserver_pid, list(server._preload_modules)
        return popen

    multiprocessing.context.ForkServerProcess._Popen = staticmethod(spy)
    try:
        assert _parallel(b"John lives in Paris.\n" * 20, trained_model, "text", "conll", 2, 4)[0] == 20
    finally:
        multiprocessing.context.ForkServerProcess._Popen = staticmethod(real_start)
    assert seen["server"] is not None and seen["preload"] == [*jobs.PRELOAD, "tagger.tagging.preload"]
    assert server._forkserver_pid is None and server._preload_modules == ["__main__"]
    with pytest.raises(ChildProcessError):
        os.waitpid(seen["server"], os.WNOHANG)  # reaped: it has exited


@pytest.mark.slow  # starts fork servers and worker processes
@pytest.mark.skipif(not hasattr(os, "fork"), reason="spawned workers where there is no fork server")
def test_a_fork_server_of_the_caller_is_left_running_and_its_preload_list_kept(trained_model):
    """What jobs._ForkServer reads multiprocessing's own state for (it has no public call that says whether a
    fork server runs, or what it will import): a fork server the calling program started is used as it is
    and still starts the caller's processes after the run (a run that took it for its own would stop it,
    and the caller's running processes would lose their exit status), and the caller's preload list is back
    after a run that started its own fork server with the tagger's."""
    import multiprocessing
    from multiprocessing import forkserver

    from tagger.tagging import jobs

    server, context = forkserver._forkserver, multiprocessing.get_context("forkserver")
    if jobs._ForkServer().running():
        pytest.skip("a fork server of another test is running")
    context.set_forkserver_preload(["json"])
    try:
        assert _parallel(b"John lives in Paris.\n" * 20, trained_model, "text", "conll", 2, 4)[0] == 20
        assert not jobs._ForkServer().running() and jobs._ForkServer().preload() == ["json"]
        mine = context.Process(target=os.getpid)
        mine.start()  # the caller's own fork server starts here
        mine.join()
        started = server._forkserver_pid
        assert _parallel(b"John lives in Paris.\n" * 20, trained_model, "text", "conll", 2, 4)[0] == 20
        assert server._forkserver_pid == started and jobs._exists(started)
        again = context.Process(target=os.getpid)
        again.start()
        again.join()
        assert again.exitcode == 0
    finally:
        jobs._ForkServer().stop()
        context.set_forkserver_preload(["__main__"])


@pytest.mark.slow  # starts the command line as a process
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_with_jobs_is_tagged_whole_by_one_process(trained_model, tmp_path):
    # A named pipe is input that trickles in: it must go to the single-process path unopened, since
    # opening and closing it to look would leave its writer without a reader (the run then waited forever).
    from tests.helpers import run_cli_process

    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    text = "John lives in Paris.\nMary works in Berlin.\n"
    writer = threading.Thread(target=fifo.write_text, args=(text,))
    writer.start()
    piped = run_cli_process("tag", fifo, "--jobs", "2", "-m", trained_model, timeout=120)
    writer.join(timeout=10)
    expected = run_cli_process("tag", "-m", trained_model, "--jobs", "1", input=text)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == expected.stdout and piped.stdout.count("\n\n") == 2


# Long lines: the parent and the workers cut them alike; a dead fork server


@pytest.mark.slow
@pytest.mark.parametrize("context", [False, True])
def test_long_lines_are_cut_and_tagged_as_one_process_does_with_one_warning(trained_model, tmp_path, capsys, context):
    """A worker given some pieces of a long line cuts them as the whole line is cut (reader.line_pieces), each
    its own document; the parent alone warns. A chunk (256 kB) ends inside the line of 450 kB."""
    words = "Mary lives in Paris with John Smith , who works for Google in Berlin . Ça va ? "
    text = "ok\n" + words * 4_000 + "é" * 60_000 + " end\n" + "x" * 30 + "\nlast " * 3
    path = tmp_path / "in.txt"
    path.write_text(text, encoding="utf-8")
    model = save_context_model(tmp_path / "context.pt") if context else trained_model
    warning = ":2: a run of more than 100,000 bytes with no space or tab"
    cut = ": cut every 100,000 bytes (a token that long is split)\n"
    for fmt in ("jsonl", "conll"):
        expected = _single(path, model, "text", fmt)
        assert capsys.readouterr().err == f"warning: {path}{warning}{cut}"
        count, got = _parallel(text.encode("utf-8"), model, "text", fmt, 2, 2048)
        assert got == expected
        assert capsys.readouterr().err.count(f"warning: in.txt{warning}") == 1


def _fork_server(tagger: int, processes: list) -> list[int]:
    children = {parent for _, parent, _ in processes}  # the fork server is the parent of the workers
    return [pid for pid, parent, args in processes if parent == tagger and "forkserver" in args and pid in children]


@pytest.mark.slow
def test_a_killed_fork_server_ends_the_run_within_5_seconds_and_stops_its_workers(trained_model, tmp_path):
    """Before: every worker was said to have died (exit status 255, which it had not), and the workers were
    left running, nobody's children, one waiting for a task forever."""
    from tests.processes import big_text, kill_while_tagging

    path = big_text(tmp_path / "big.txt")
    code, took, stderr, left = kill_while_tagging(["-m", trained_model, path, "--jobs", "2"], _fork_server)
    assert code == 1 and took < 5, (code, took, stderr)
    assert stderr == (
        f"tagger: error: {path}: the fork server that starts the tagging workers died (its 2 worker(s) are "
        "stopped); the output stops before the window being tagged\n"
    )
    assert not [args for _, _, args in left if "forkserver" in args]


# An exported model (tagger export): the workers run it on onnxruntime, and no process of the run imports torch.


def _mapped(pid: int) -> str:
    """The files process ``pid`` has mapped (its shared libraries among them)."""
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as maps:
        return maps.read()


@pytest.mark.slow  # starts a fork server and worker processes
@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads the workers' /proc/PID/maps")
def test_an_exported_models_workers_load_onnxruntime_and_never_torch(onnx_model):
    import multiprocessing

    out, caught = _Recorder(), {}
    runner = threading.Thread(
        target=lambda: caught.update(count=tag_parallel(io.BytesIO(_lines(20_000)), "big.txt", out, onnx_model, jobs=2))
    )
    runner.start()
    try:
        assert out.wrote.wait(120), "no output"
        workers = [p for p in multiprocessing.active_children() if p.name.startswith("tagger-job")]
        maps = {p.name: _mapped(p.pid) for p in workers}
    finally:
        runner.join(120)
    assert sorted(maps) == ["tagger-job-1", "tagger-job-2"]
    for name, mapped in maps.items():
        assert "onnxruntime" in mapped, name
        assert "libtorch" not in mapped and "libc10" not in mapped, name
    assert caught["count"] == 20_000


@pytest.mark.slow  # starts worker processes
@pytest.mark.parametrize("kind", ["text", "conll"])
def test_an_exported_model_with_jobs_writes_what_one_process_writes(onnx_model, tmp_path, kind):
    data = _inputs()[kind]
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    for fmt in ("conll", "jsonl"):
        expected = _single(path, onnx_model, kind, fmt)
        assert _parallel(data, onnx_model, kind, fmt, 2, 7)[1] == expected, fmt


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["text", "conll"])
def test_an_exported_context_model_with_jobs_writes_what_one_process_writes(context_model, tmp_path, kind):
    """Documents longer than DOC_MAX and -DOCSTART- documents: an exported model that reads document context
    gives the same bytes for any --jobs and window, as its .pt model does in one process."""
    from tagger.nn.export import export_model
    from tagger.nn.model_file import load_model

    onnx = export_model(load_model(context_model), tmp_path / "context.onnx")
    data = (documents_conll() if kind == "conll" else documents_text()).encode("utf-8")
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    expected = _single(path, context_model, kind, "jsonl")
    assert _single(path, onnx, kind, "jsonl") == expected
    for jobs, window in ((2, 7), (3, 100)):
        assert _parallel(data, onnx, kind, "jsonl", jobs, window)[1] == expected, (jobs, window)


@pytest.mark.slow  # runs the command line
def test_tag_jobs_with_an_exported_model_as_a_real_command(onnx_model, trained_model, tmp_path):
    from tests.helpers import run_cli_process

    path = tmp_path / "in.txt"
    path.write_bytes(_lines(3000))
    alone = run_cli_process("tag", path, "-m", onnx_model, "--jobs", "1")
    parallel = run_cli_process("tag", path, "-m", onnx_model, "--jobs", "2")
    assert parallel.returncode == 0, parallel.stderr
    assert parallel.stdout == alone.stdout == run_cli_process("tag", path, "-m", trained_model).stdout


@pytest.mark.slow  # runs the command line
def test_tag_jobs_with_an_exported_model_where_no_process_can_import_torch(onnx_model, tmp_path):
    """A ``torch`` that fails to import, first on the path of every process of the run (the parent, the fork
    server, the workers): the run still writes what one process writes."""
    from tests.helpers import run_cli_process

    blocked = tmp_path / "blocked" / "torch"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('torch is blocked here')\n", encoding="utf-8")
    path = tmp_path / "in.txt"
    path.write_bytes(_lines(3000))
    env = {**os.environ, "PYTHONPATH": str(blocked.parent)}
    parallel = run_cli_process("tag", path, "-m", onnx_model, "--jobs", "2", "--format", "jsonl", env=env)
    assert parallel.returncode == 0, parallel.stderr
    assert parallel.stdout == run_cli_process("tag", path, "-m", onnx_model, "--jobs", "1", "--format", "jsonl").stdout


@pytest.mark.slow  # starts worker processes
@pytest.mark.parametrize("content", [None, b"junk"], ids=["missing", "junk"])
def test_a_bad_exported_model_is_reported_by_the_first_worker(tmp_path, content):
    from tagger.errors import ModelFileError

    path = tmp_path / "bad.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        _parallel(b"John lives in Paris.\n" * 30, path, "text", "conll", 2, 4)
    assert info.value.exit_code == 2 and "\n" not in str(info.value) and "bad.onnx" in str(info.value)


@pytest.mark.parametrize(("threads", "session"), [(0, 1), (1, 1), (2, 2)])
def test_an_exported_models_worker_runs_one_onnxruntime_thread_unless_told(onnx_model, monkeypatch, threads, session):
    """``--threads`` reaches each worker's onnxruntime session; 0 (the default) is one thread a worker (the
    workers are the parallelism), not $TAGGER_THREADS."""
    from tagger.runtime import model as runtime_model
    from tagger.tagging import jobs

    asked = []
    real = runtime_model.load_onnx
    monkeypatch.setattr(runtime_model, "load_onnx", lambda path, threads: asked.append(threads) or real(path, 1))
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setenv("TAGGER_THREADS", "3")
    predictor = jobs._predictor(str(onnx_model), 8, "cpu", threads)
    assert asked == [session]
    assert type(predictor.model.network).__name__ == "OnnxModel"


def test_the_jobs_pass_threads_on_to_their_workers(onnx_model, tmp_path, monkeypatch):
    from tagger.tagging import jobs
    from tagger.tagging.options import TagOptions

    seen = {}
    monkeypatch.setattr(jobs, "tag_parallel", lambda stream, name, out, **setup: seen.update(setup) or 0)
    path = tmp_path / "in.txt"
    path.write_bytes(b"John lives in Paris.\n")
    assert jobs.tag_file_jobs(str(path), io.StringIO(), onnx_model, TagOptions(jobs=2, threads=2)) == 0
    assert seen["threads"] == 2 and seen["model_path"] == onnx_model

"""`tagger serve` as a real process on 127.0.0.1: shutdown on SIGTERM and Ctrl-C, hostile clients, and the
page in headless Chromium. Each test is bounded in time."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# The command line, with the head time-out and the lingering close shortened so that a test waits 1 and 2 s for
# them, not 10.
START = (
    "import sys; from tagger.service.server import GuardedProtocol; GuardedProtocol.head_seconds = 1.0; "
    "GuardedProtocol.linger_seconds = 2.0; from tagger.cli import app; sys.argv = ['tagger', *sys.argv[1:]]; app()"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(*args: str, model: str | Path = "en-news") -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [sys.executable, "-c", START, "serve", "-m", str(model), "--port", str(port), *args]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/ready", timeout=1) as answer:
                if answer.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    pytest.fail(f"the server did not get ready: {server.communicate()[1][-2000:]}")


def _post(url: str, body: dict) -> tuple[int, dict | None]:
    request = urllib.request.Request(url + "/tag", data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except OSError:  # refused or reset: the server had stopped taking requests
        return 0, None


@pytest.fixture(scope="module")
def server():
    found, url = _start("--no-access-log")
    yield url
    found.send_signal(signal.SIGTERM)
    found.communicate(timeout=30)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_lets_the_requests_in_flight_finish_and_exits_0(signum):
    server, url = _start()
    text = "Angela Merkel met Emmanuel Macron in Paris on Tuesday. " * 40
    with ThreadPoolExecutor(16) as pool:
        answers = [pool.submit(_post, url, {"text": text}) for _ in range(48)]
        time.sleep(0.3)  # requests in flight and queued
        server.send_signal(signum)
        stopped = time.monotonic()
        results = [a.result(timeout=60) for a in answers]
    stdout, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr[-2000:]
    assert time.monotonic() - stopped < 15
    done = [body for status, body in results if status == 200]
    assert done, results
    assert all(len(body["sentences"]) == 40 for body in done)  # every 200 is a whole answer
    assert all(status in (0, 200) for status, _ in results)
    assert "Shutting down" in stderr and '"POST /tag HTTP/1.1" 200' in stdout  # uvicorn's access log


def _raw(url: str, data: bytes, wait: float = 5.0) -> bytes:
    """What the server sends back on a raw connection given ``data`` (b"" when it closes without a word)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_idle_and_trickling_clients_are_cut_off(server):
    started = time.monotonic()
    assert _raw(server, b"") == b""  # connected, said nothing: closed after the head time-out
    assert _raw(server, b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-") == b""
    assert time.monotonic() - started < 6


def test_hostile_requests_get_their_status_and_the_server_stays_up(server):
    assert _raw(server, b"\x00\xff garbage\r\n\r\n").startswith(b"HTTP/1.1 400")
    big = b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n"
    assert _raw(server, big).startswith(b"HTTP/1.1 413")
    body = b'{"text": "Bob lives in Berlin ."}'
    slow = b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + body  # the rest never comes
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(slow)
        s.close()  # and leaves mid-body
    status, answer = _post(server, {"text": "Bob lives in Berlin ."})
    assert status == 200 and [e["text"] for e in answer["sentences"][0]["entities"]] == ["Bob", "Berlin"]


def _big_post(url: str, body, **options) -> tuple[int, dict]:
    """POST /tag with http.client, which sends the whole body before it reads the answer (as requests does)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", "/tag", body=body, headers={"content-type": "application/json"}, **options)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def test_a_client_that_sends_a_big_body_before_reading_gets_the_413(server):
    """Issue 30: the server closed at once and the kernel reset the connection over the unread body, so Python's
    http.client and requests saw "connection reset" or "broken pipe" while sending 20 MB, never the 413."""
    body = b'{"text": "' + b"a" * (20 << 20) + b'"}'
    for _ in range(2):
        status, answer = _big_post(server, body)
        assert status == 413 and answer["error"] == f"the body has {len(body)} bytes; at most 1048576"
    chunks = (b"a" * 65536 for _ in range(320))  # no Content-Length: refused once past the limit
    assert _big_post(server, chunks, encode_chunked=True) == (413, {"error": "the body has more than 1048576 bytes"})
    assert _post(server, {"text": "Bob lives in Berlin ."})[0] == 200


def test_a_refused_body_is_read_and_dropped_for_a_bounded_time_only(server):
    host, port = server.removeprefix("http://").split(":")
    head = b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n"
    answer, started = b"", time.monotonic()
    with socket.create_connection((host, int(port)), timeout=0.05) as s:
        s.sendall(head)
        with pytest.raises(OSError):  # a reset or broken pipe once the server stops reading (2 s in this test)
            while time.monotonic() - started < 15:
                s.sendall(b"a" * 1024)  # slowly: under the bytes' bound, so the time's ends it
                with contextlib.suppress(TimeoutError):
                    answer += s.recv(65536)
                time.sleep(0.05)
    assert answer.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 10


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_the_page_in_chromium_shows_entities_and_never_runs_the_text(server, tmp_path):
    text = (
        "<script>document.title='ran'</script><img src=x onerror=\"document.title='ran'\"> Angela Merkel visited Paris."
    )
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
        "--virtual-time-budget=3000", "--dump-dom", f"{server}/?text={quote(text)}",
    ]  # fmt: skip
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    marks = re.findall(r'<mark class="ent"[^>]*title="(\w+)">(.*?)<span class="t">', dom)
    assert ("PER", "Angela Merkel") in marks and ("LOC", "Paris") in marks
    assert "<title>tagger</title>" in dom  # the script did not run
    assert "&lt;script&gt;document.title='ran'&lt;/script&gt;" in dom and "<img" not in dom


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


@pytest.mark.usefixtures("cli_env")
def test_an_exported_model_is_served_without_torch(onnx_model, tmp_path):
    """``serve -m model.onnx``: the records of ``tagger tag --format jsonl``, /info is ``tagger info``'s, and the
    server process never maps torch's libraries (it runs the model on onnxruntime) nor seqeval's (scikit-learn's
    and scipy's: the tagging-only install serves without the evaluate extra)."""
    from tagger.tagging.info import model_info
    from tests.helpers import run_cli

    text = "John Smith lives in Paris .\nAcme Corp hired Angela Merkel in New York ."
    path = tmp_path / "in.txt"
    path.write_text(text, encoding="utf-8")
    server, url = _start("--no-access-log", model=onnx_model)
    try:
        status, answer = _post(url, {"text": text, "scores": "tokens", "nbest": 2})
        info, ready = _get(url + "/info"), _get(url + "/ready")
        maps = Path(f"/proc/{server.pid}/maps").read_text() if Path("/proc/self/maps").exists() else None
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    tagged = run_cli("tag", "-m", onnx_model, "--format", "jsonl", "--scores", "tokens", "--nbest", "2", path)
    assert status == 200 and answer == {"sentences": [json.loads(line) for line in tagged.stdout.splitlines()]}
    assert info == json.loads(json.dumps(model_info(onnx_model))) and info["format"] == "tagger-onnx"
    assert ready["model"] == str(onnx_model) and ready["context"] is False
    if maps is not None:
        assert "onnxruntime" in maps and "libtorch" not in maps and "libc10" not in maps
        assert "/sklearn/" not in maps and "/scipy/" not in maps

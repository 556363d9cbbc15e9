"""Load test of `tagger serve` on this machine (127.0.0.1 only), bounded in requests and time.

    python bench/serve_load.py [--requests 20000] [--clients 64] [--large 1000] [--large-size 200]

Starts `tagger serve` (the shipped model, --no-access-log unless --access-log) and runs, each answer
checked against `tagger tag --format jsonl` on the same sentence (each sentence its own document, as a
request's text is). The client is aiohttp (`pip install -c constraints.txt -e ".[bench]"`): httpx spent 20 times
its CPU per request here (2.7 ms against 0.13 ms), and the client shares the 2 cores with the server:

1. --requests single-sentence requests from --clients concurrent clients (asyncio + aiohttp), with a hostile
   mix beside them (garbage bodies, 10 MB bodies, half-open connections, clients that leave mid-body):
   errors, mismatches, requests/s, p50 and p99 latency; what the hostile clients got.
2. --large requests of --large-size sentences each (4 clients), against `tagger tag` on the same
   sentences as one file: sentences/s of each and the ratio.
3. SIGTERM in the middle of a load: every 200 holds a whole, correct answer; the exit status and how
   long the server took to exit.
The sentences are those of data/test.txt and data/dev.txt (WNUT-17), tokens joined by spaces.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


def sentences(limit: int | None = None) -> list[str]:
    """The data's sentences as text lines (tokens joined by spaces), unique, in file order."""
    found, seen = [], set()
    for name in ("test.txt", "dev.txt"):
        tokens: list[str] = []
        for line in (ROOT / "data" / name).read_text(encoding="utf-8").splitlines() + [""]:
            if line.strip():
                tokens.append(line.split("\t")[0].strip())
            elif tokens:
                text = " ".join(t for t in tokens if t)
                if text.strip() and text not in seen:
                    seen.add(text)
                    found.append(text)
                tokens = []
    return found[:limit]


def reference(texts: list[str], folder: Path) -> tuple[dict[str, list[dict]], float]:
    """`tagger tag --format jsonl` on the texts as one file, a blank line after each (its own document):
    each text's records with offsets counted from the text's start, and the run's wall time."""
    path = folder / "sentences.txt"
    path.write_text("".join(text + "\n\n" for text in texts), encoding="utf-8")
    starts, at = [], 0
    for text in texts:
        starts.append(at)
        at += len(text) + 2
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "cli.py", "tag", "--format", "jsonl", str(path)], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if run.returncode:
        raise SystemExit(f"tagger tag failed: {run.stderr.strip()}")
    out: dict[str, list[dict]] = {text: [] for text in texts}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        i = bisect.bisect_right(starts, record["offsets"][0][0]) - 1
        out[texts[i]].append(_shifted(record, -starts[i]))
    return out, elapsed


def _shifted(record: dict, by: int) -> dict:
    record["offsets"] = [[a + by, b + by] for a, b in record["offsets"]]
    for entity in record["entities"]:
        entity["char_start"] += by
        entity["char_end"] += by
    return record


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, access_log: bool) -> subprocess.Popen:
    args = [sys.executable, "cli.py", "serve", "--port", str(port)] + ([] if access_log else ["--no-access-log"])
    log = open(Path(tempfile.gettempdir()) / "serve_load_server.log", "w")  # the server's own lines, if it fails
    server = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not get ready in 60 s")


async def load(url: str, bodies: list, expected: list, clients: int) -> dict:
    """Post ``bodies`` from ``clients`` concurrent clients; each 200 is checked against ``expected``."""
    stats = {"ok": 0, "errors": 0, "mismatches": 0, "statuses": {}, "latencies": []}
    queue = iter(range(len(bodies)))
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as client:

        async def worker() -> None:
            for i in queue:
                started = time.perf_counter()
                try:
                    async with client.post("/tag", json=bodies[i]) as answer:
                        status, found = answer.status, await answer.read()
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    _count(stats, type(error).__name__, error=True)
                    continue
                stats["latencies"].append(time.perf_counter() - started)
                if status != 200:
                    _count(stats, status, error=True)
                elif _answer(json.loads(found)) != expected[i]:
                    _count(stats, status)
                    stats["mismatches"] += 1
                else:
                    _count(stats, status)
                    stats["ok"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        stats["seconds"] = time.perf_counter() - started
    return stats


def _count(stats: dict, outcome, error: bool = False) -> None:
    stats["statuses"][outcome] = stats["statuses"].get(outcome, 0) + 1
    stats["errors"] += error


def _answer(found: dict):
    """The records of an answer: per text for "texts", else the text's."""
    return found["sentences"] if "sentences" in found else [r["sentences"] for r in found["results"]]


async def hostile(host: str, port: int, stop: asyncio.Event, first: int = 0) -> dict:
    """Bad clients until ``stop``, each kind in turn from ``first``: what each got (a status, or how it ended)."""
    got: dict[str, dict] = {}
    kinds = [_garbage, _huge, _leaves_mid_body, _half_open]
    rng = random.Random(7 + first)
    turn = first
    while not stop.is_set():
        kind = kinds[turn % len(kinds)]
        turn += 1
        try:
            outcome = await asyncio.wait_for(kind(host, port, rng), 20)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
            outcome = type(error).__name__
        counts = got.setdefault(kind.__name__.strip("_"), {})
        counts[outcome] = counts.get(outcome, 0) + 1
        await asyncio.sleep(0.02)
    return got


async def _status(reader: asyncio.StreamReader) -> str:
    line = await reader.readline()
    return line.decode("latin-1").split(" ")[1] if line else "closed"


async def _garbage(host: str, port: int, rng: random.Random) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    body = rng.randbytes(rng.randint(1, 4000))
    writer.write(b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    status = await _status(reader)
    writer.close()
    return status


async def _huge(host: str, port: int, rng: random.Random) -> str:
    """A 10 MB body: the server answers 413 from the header and closes; the rest of the body is refused."""
    reader, writer = await asyncio.open_connection(host, port)
    size = 10 << 20
    writer.write(
        b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size
    )
    writer.write(b'{"text": "' + b"a" * (1 << 16))
    await writer.drain()
    status = await _status(reader)
    try:
        for _ in range(10):
            writer.write(b"a" * (1 << 20))
            await writer.drain()
        status += ", took the rest"
    except OSError:
        status += ", refused the rest"
    writer.close()
    return status


async def _half_open(host: str, port: int, rng: random.Random) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-")  # and nothing more
    await writer.drain()
    started = time.monotonic()
    data = await reader.read(100)  # the server closes it after its head time-out
    writer.close()
    return f"closed after {round(time.monotonic() - started)} s" if not data else "answered"


async def _leaves_mid_body(host: str, port: int, rng: random.Random) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b'POST /tag HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"text": "Bob lives')
    await writer.drain()
    writer.close()
    return "left"


async def with_hostile(url: str, port: int, bodies: list, expected: list, clients: int, bad: int) -> tuple:
    """``load`` with ``bad`` hostile clients beside it, stopped when the load ends."""
    stop = asyncio.Event()
    bad_tasks = [asyncio.create_task(hostile("127.0.0.1", port, stop, i)) for i in range(bad)]
    stats = await load(url, bodies, expected, clients)
    stop.set()
    got: dict = {}
    for found in await asyncio.gather(*bad_tasks):
        for kind, counts in found.items():
            for outcome, n in counts.items():
                got.setdefault(kind, {})[outcome] = got.setdefault(kind, {}).get(outcome, 0) + n
    return stats, got


def summary(stats: dict, sentences_per_request: int = 1) -> dict:
    cuts = statistics.quantiles(stats["latencies"], n=100) if len(stats["latencies"]) > 1 else [0] * 99
    done = stats["ok"] + stats["mismatches"]
    return {
        "ok": stats["ok"],
        "errors": stats["errors"],
        "mismatches": stats["mismatches"],
        "statuses": {str(k): v for k, v in stats["statuses"].items()},
        "seconds": round(stats["seconds"], 2),
        "requests_per_s": round(done / stats["seconds"], 1),
        "sentences_per_s": round(done * sentences_per_request / stats["seconds"], 1),
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
    }


def tag_seconds(texts: list[str], folder: Path) -> float:
    """Wall time of `tagger tag --format jsonl` on the texts as one file (each its own document)."""
    path = folder / "large.txt"
    path.write_text("".join(text + "\n\n" for text in texts), encoding="utf-8")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "cli.py", "tag", "--format", "jsonl", str(path)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def sigterm_phase(pool: list[str], ref: dict, args) -> dict:
    """SIGTERM one second into a load: every 200 must be whole and right; the server must exit 0."""
    port = free_port()
    server = start_server(port, args.access_log)
    rng = random.Random(3)
    picks = [rng.choice(pool) for _ in range(args.sigterm_requests)]

    async def run():
        task = asyncio.create_task(
            load(f"http://127.0.0.1:{port}", [{"text": t} for t in picks], [ref[t] for t in picks], args.clients)
        )
        await asyncio.sleep(1.0)
        server.send_signal(signal.SIGTERM)
        signalled = time.perf_counter()
        code = await asyncio.to_thread(server.wait, 60)
        return await task, code, time.perf_counter() - signalled

    stats, code, seconds = asyncio.run(run())
    return {"exit_status": code, "exit_seconds": round(seconds, 2), **summary(stats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--hostile", type=int, default=4, help="hostile clients beside the load")
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--large-size", type=int, default=200)
    parser.add_argument("--sigterm-requests", type=int, default=5000)
    parser.add_argument("--access-log", action="store_true")
    parser.add_argument("--phases", default="single,large,sigterm")
    args = parser.parse_args()
    results = ROOT / "bench" / "results"
    folder = Path(tempfile.mkdtemp(prefix="serve_load."))  # the input files of `tagger tag`
    pool = sentences()
    ref, _ = reference(pool, folder)
    out: dict = {"uptime_before": os.popen("uptime").read().strip(), "sentences": len(pool)}
    rng = random.Random(1)
    port = free_port()
    server = start_server(port, args.access_log)
    url = f"http://127.0.0.1:{port}"
    try:
        if "single" in args.phases:
            picks = [rng.choice(pool) for _ in range(args.requests)]
            bodies, expected = [{"text": t} for t in picks], [ref[t] for t in picks]
            stats, bad = asyncio.run(with_hostile(url, port, bodies, expected, args.clients, args.hostile))
            out["single"], out["hostile"] = summary(stats), bad
            print(json.dumps({"single": out["single"], "hostile": bad}), flush=True)
        if "large" in args.phases:
            groups = [[rng.choice(pool) for _ in range(args.large_size)] for _ in range(args.large)]
            bodies = [{"texts": g} for g in groups]
            expected = [[ref[t] for t in g] for g in groups]
            stats = asyncio.run(load(url, bodies, expected, 4))
            out["large"] = summary(stats, args.large_size)
            seconds = tag_seconds([t for g in groups for t in g], folder)
            out["large"]["tagger_tag_sentences_per_s"] = round(args.large * args.large_size / seconds, 1)
            out["large"]["ratio"] = round(
                out["large"]["sentences_per_s"] / out["large"]["tagger_tag_sentences_per_s"], 3
            )
            print(json.dumps({"large": out["large"]}), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        out["server_exit_status"] = server.wait(60)
    if "sigterm" in args.phases:
        out["sigterm"] = sigterm_phase(pool, ref, args)
        print(json.dumps({"sigterm": out["sigterm"]}), flush=True)
    out["uptime_after"] = os.popen("uptime").read().strip()
    (results / "serve_load.json").write_text(json.dumps(out, indent=1) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

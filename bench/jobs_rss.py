"""Where the memory of a ``tagger tag --jobs N`` worker goes (issue 13: at most about 250 MB per job).

    python bench/jobs_rss.py [--model M.pt|M.onnx] [--text FILE | --copies 5] [--jobs 2]
                             [--env NAME=VALUE ...]
    python bench/jobs_rss.py --stages [--model ...] [--text FILE] [--env NAME=VALUE ...]

Without ``--stages``: runs ``tagger tag TEXT -m MODEL --jobs N`` (the real command line, output to /dev/null)
and polls every process of it from /proc every 50 ms: peak RSS (VmHWM), and the largest anonymous RSS, file-backed
RSS and PSS (``smaps_rollup``: shared pages divided among the processes sharing them) seen. Each ``--env`` is set for
the tagger and so for its workers (for example MALLOC_ARENA_MAX=1).

With ``--stages``: a fresh Python does a worker's steps one by one, as ``job_worker._tagger`` does them (import torch,
import the tagger, load the model, make the Predictor, tag the text window by window) and prints the figures after
each step, then after ``malloc_trim(0)`` (what glibc holds freed but not returned to the system). An exported model
(``--model m.onnx``) goes through its own steps: import numpy and onnxruntime, open it (``tagging.model.open_model``,
one thread), make the ``Predictor``; torch is never imported.

The default text is the CoNLL-2003 test sentences, one per line (46,435 tokens), repeated 5 times (``--copies``).
Nothing here is a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIELDS = ("VmHWM", "VmRSS", "RssAnon", "RssFile")


def status(pid: int | str = "self") -> dict[str, float]:
    """MB figures of /proc/PID/status (FIELDS), and Pss and Uss (private pages) of smaps_rollup; empty once
    the process is gone."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in FIELDS:
                found[key] = int(value.split()[0]) / 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key == "Pss":
                found["Pss"] = int(value.split()[0]) / 1024
            elif key in ("Private_Clean", "Private_Dirty"):  # pages no other process maps: what it alone costs
                found["Uss"] = found.get("Uss", 0.0) + int(value.split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        return {}
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children are listed under the thread that started them)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def command_name(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = b" ".join(args).decode(errors="replace")
    for part, name in (("resource_tracker", "resource tracker"), ("forkserver", "fork server"), ("cli.py", "parent")):
        if part in text:
            return name
    return "worker"


def poll_run(args: list[str], env: dict[str, str]) -> dict[int, dict]:
    """Run the tagger with ``args`` and keep, per process, the largest of each figure seen."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    peaks: dict[int, dict] = {0: {"name": "all at once", "Pss": 0.0}}
    while proc.poll() is None:
        now = 0.0
        for pid in [proc.pid, *descendants(proc.pid)]:
            figures = status(pid)
            now += figures.get("Pss", 0.0)
            if figures:
                seen = peaks.setdefault(pid, {"name": "parent"})
                if seen["name"] == "parent" and pid != proc.pid:  # a child is forked before it execs: look again
                    seen["name"] = command_name(pid)
                    if seen["name"] == "fork server" and parent_of(pid) != proc.pid:  # forked by the server
                        seen["name"] = "worker (forked)"
                for key, value in figures.items():
                    seen[key] = max(seen.get(key, 0.0), value)
        peaks[0]["Pss"] = max(peaks[0]["Pss"], now)
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"tagger {' '.join(args)} failed: {proc.stderr.read().decode()[-500:]}")
    return peaks


def stages(model: str, text: Path) -> None:
    """A worker's steps, one by one, in this (fresh) process, with the figures after each."""
    import ctypes
    import io

    def show(label: str) -> None:
        figures = status()
        print(f"{label:<40}" + "".join(f" {k} {figures.get(k, 0):4.0f}" for k in (*FIELDS, "Pss", "Uss")), flush=True)

    show("python started")
    predictor = (_exported_predictor if model.endswith(".onnx") else _torch_predictor)(model, show)
    from tagger.data.inputs import read_windows
    from tagger.data.windows import WINDOW
    from tagger.tagging.stream import tag_stream
    from tagger.tagging.writer import write

    lines = text.read_bytes().splitlines(keepends=True)
    for number, start in enumerate(range(0, len(lines), WINDOW)):
        out = io.StringIO()
        data = io.BytesIO(b"".join(lines[start : start + WINDOW]))
        windows = read_windows(data, "<window>", "text", predictor.window_maker, 0, window=1 << 30)
        write(tag_stream(predictor, windows), out, "conll")
        if number == 0:
            show("first window tagged")
    show(f"all {number + 1} windows tagged")
    show(f"  lookup cache: {len(predictor.window_maker.lookup._cache)} forms")
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    show("after malloc_trim(0)")


def _torch_predictor(model: str, show):
    import torch  # noqa: F401

    show("import torch")
    from tagger.nn.network import TorchNetwork  # noqa: F401
    from tagger.tagging.model import open_model
    from tagger.tagging.predictor import Predictor

    show("import the tagger's modules")
    loaded = open_model(model, threads=1)
    show("open_model (1 thread)")
    predictor = Predictor(loaded, 64)
    show("Predictor")
    return predictor


def _exported_predictor(model: str, show):
    import numpy  # noqa: F401

    show("import numpy")
    import onnxruntime  # noqa: F401

    show("import onnxruntime")
    from tagger.runtime.model import OnnxModel  # noqa: F401
    from tagger.tagging.model import open_model
    from tagger.tagging.predictor import Predictor

    show("import the tagger's modules")
    loaded = open_model(model, threads=1)
    show("open_model (1 thread)")
    predictor = Predictor(loaded, 64)
    show("Predictor")
    return predictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "tagger" / "models" / "en-news.pt"))
    parser.add_argument("--text", help="raw text to tag (default: CoNLL-2003 test sentences x 5)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "conll2003"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--copies", type=int, default=5, help="times the default text repeats the test sentences")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the tagger's processes")
    parser.add_argument("--stages", action="store_true", help="a worker's steps one by one, in a fresh process")
    parser.add_argument("--stage-child", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.stage_child:
        stages(opts.model, Path(opts.text))
        return
    text = Path(opts.text) if opts.text else default_text(Path(opts.data), opts.copies)
    env = {**os.environ, "TAGGER_THREADS": "1", **dict(e.split("=", 1) for e in opts.env)}
    print(f"model {opts.model}; text {text} ({text.stat().st_size / 1e6:.1f} MB); env {' '.join(opts.env) or '-'}")
    if opts.stages:
        child = [sys.executable, __file__, "--stage-child", "--model", opts.model, "--text", str(text)]
        subprocess.run(child, check=True, env=env)
        return
    peaks = poll_run(["tag", str(text), "-m", opts.model, "--jobs", str(opts.jobs)], env)
    print(f"tagger tag --jobs {opts.jobs}: per process, the largest figure seen (MB)")
    together = peaks.pop(0)["Pss"]
    for pid, seen in peaks.items():
        figures = "".join(f" {k} {seen.get(k, 0):4.0f}" for k in (*FIELDS, "Pss", "Uss"))
        print(f"  {seen['name']:<16} pid {pid:>7}{figures}")
    total = sum(seen.get("VmHWM", 0) for seen in peaks.values())
    print(f"  sum of the processes' VmHWM: {total:.0f} MB ({total / opts.jobs:.0f} per job)")
    print(
        f"  largest sum of Pss at one time (what the run held): {together:.0f} MB ({together / opts.jobs:.0f} per job)"
    )


def default_text(data: Path, copies: int = 5) -> Path:
    from tagger.data.reader import read_conll

    lines = "".join(" ".join(s.tokens) + "\n" for s in read_conll(data / "test.txt"))
    path = Path(tempfile.gettempdir()) / f"tagger-jobs-rss-test{copies}.txt"
    if not path.exists():
        path.write_text(lines * copies, encoding="utf-8")
    return path


if __name__ == "__main__":
    main()

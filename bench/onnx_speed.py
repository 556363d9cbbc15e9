"""An exported model (.onnx) against its torch model (.pt): start-up, memory and throughput (issue 22's targets).

    python bench/onnx_speed.py MODEL.onnx MODEL.pt [--tokens 1000000] [--rss-mb 200] [--first 10] [--pairs 3]

Prints, in one run, each figure for both models, the runs taken in turn (onnx, pt, onnx, pt, ...):
- first answer: ``echo SENTENCE | tagger tag -m MODEL``, a whole process, from its start to its first output
  line (median of --first runs; CPU seconds beside), through ``cli.py`` and through the installed console
  script's code (``from tagger.cli import app; app()``, run from this checkout);
- peak RSS of ``tagger tag BIG.txt -m MODEL`` on --rss-mb MB of raw text (VmHWM of the tagger's process, and of
  it and its reader process together, polled);
- throughput on about --tokens tokens of raw text (whole processes, output to /dev/null), and a bare torch
  forward (char encoder, embeddings, BiLSTM, projection) of the .pt over the same sentences, batched as the
  tagger batches them, in this process on one thread: the ratios the issue asks for;
- where an exported model's time goes: each stage of tagging the same text, timed alone in this process on
  one thread (read, tokenize, lookups and arrays, network (``session.run``), decode, output rewrite, format,
  write).
The texts are CoNLL-2003 sentences (``--data``'s train.txt), joined by spaces, one a line, repeated; they are
written under --work. Nothing here is a test; ``--out FILE`` also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from speed import _children  # bench/speed.py: a process's children, whichever thread started them

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCE = b"John Smith lives in Paris and works for the United Nations .\n"
# The installed `tagger` script's code (pip's console-script template), run from this checkout.
CONSOLE = "import re, sys\nfrom tagger.cli import app\nsys.argv[0] = 'tagger'\nsys.exit(app())"
LAUNCHERS = {"cli.py": [sys.executable, str(ROOT / "cli.py")], "console script": [sys.executable, "-c", CONSOLE]}
STAGES = ("read", "tokenize", "lookups and arrays", "network", "decode", "output rewrite", "format", "write")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def first_answer(launcher: list[str], model: Path) -> tuple[float, float]:
    """Seconds from process start to the first output line for one sentence on stdin, and the CPU seconds
    the whole process took."""
    cpu = children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*launcher, "tag", "-m", str(model)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    proc.stdin.write(SENTENCE)
    proc.stdin.close()
    line = proc.stdout.readline()
    wall = time.perf_counter() - start
    proc.stdout.read()
    if proc.wait() != 0 or not line.strip():
        raise SystemExit(f"tagging one sentence with {model} failed (status {proc.returncode})")
    return wall, children_cpu() - cpu


def peak_rss(args: list[str]) -> tuple[float, float]:
    """Peak RSS in MiB (VmHWM, polled) of a `tagger` process: its own, and its and its children's summed."""
    proc = subprocess.Popen(
        [*LAUNCHERS["cli.py"], *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    own = total = 0.0
    while proc.poll() is None:
        seen = {pid: _hwm(pid) for pid in [proc.pid, *_children(proc.pid)]}
        own, total = max(own, seen[proc.pid]), max(total, sum(seen.values()))
        time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(f"tagger {' '.join(args)} failed with status {proc.returncode}")
    return own, total


def _hwm(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def timed_tag(text: Path, model: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``tagger tag TEXT -m MODEL > /dev/null``, a whole process (and its reader)."""
    cpu = children_cpu()
    start = time.perf_counter()
    subprocess.run(
        [*LAUNCHERS["cli.py"], "tag", str(text), "-m", str(model)], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, check=True, cwd=ROOT,
    )  # fmt: skip
    return time.perf_counter() - start, children_cpu() - cpu


def write_text(data: Path, path: Path, tokens: int = 0, megabytes: int = 0) -> None:
    """CoNLL-2003 train's sentences as raw text, one a line, repeated to ``tokens`` tokens or ``megabytes`` MB."""
    from tagger.data.reader import read_conll

    sentences = [s.tokens for s in read_conll(data / "train.txt", with_tags=False) if s.tokens]
    if tokens:  # whole sentences up to ``tokens``
        lines, count = [], 0
        while count < tokens:
            for s in sentences:
                lines.append(" ".join(s) + "\n")
                count += len(s)
                if count >= tokens:
                    break
        path.write_text("".join(lines), encoding="utf-8")
        return
    block = "".join(" ".join(s) + "\n" for s in sentences).encode("utf-8")
    with path.open("wb") as out:
        for _ in range(max(1, megabytes * 1_000_000 // len(block))):
            out.write(block)


def torch_forward(pt: Path, sentences: list[list[str]], window: int = 2048) -> float:
    """Seconds of the .pt's bare forward (char encoder once per window's forms, then embeddings, encoder and
    projection per batch) over ``sentences``, batched as the tagger batches them; one thread."""
    from tagger.tagging.model import open_model
    from tagger.tagging.predictor import Predictor

    predictor = Predictor(open_model(pt, threads=1))
    model = predictor.model
    prepared = [predictor.prepare(sentences[at : at + window]) for at in range(0, len(sentences), window)]
    start = time.perf_counter()
    for p in prepared:
        forms = model.forms(p.arrays)
        for _, feed, _ in p.batches:
            model.run(feed, forms)
    return time.perf_counter() - start


def stage_costs(onnx: Path, text: Path) -> dict[str, float]:
    """CPU seconds of each stage of tagging ``text`` with the exported model, each timed alone, one thread."""
    from tagger.data.types import TaggedSentence
    from tagger.data.windows import WINDOW, text_window, unpacked
    from tagger.runtime.crf import viterbi
    from tagger.tagging.model import open_model
    from tagger.tagging.predictor import Predictor
    from tagger.tagging.writer import format_conll

    clock, spent = time.process_time, dict.fromkeys(STAGES, 0.0)
    start = clock()
    lines = text.read_bytes().decode("utf-8").splitlines()
    spent["read"] = clock() - start
    predictor = Predictor(open_model(onnx, threads=1))
    decoding = predictor.model.transitions()
    texts = []
    for at in range(0, len(lines), WINDOW):
        part = lines[at : at + WINDOW]
        start = clock()
        sentences, _ = unpacked([(line, len(line) + 1) for line in part], text_window(None, part), 0)
        spent["tokenize"] += clock() - start
        start = clock()
        arrays = predictor.prepare([s.tokens for s in sentences])
        spent["lookups and arrays"] += clock() - start
        start = clock()
        found = list(predictor._emissions(arrays))
        spent["network"] += clock() - start
        start = clock()
        decoded = [(index, viterbi(emissions, mask, decoding)) for index, emissions, mask in found]
        spent["decode"] += clock() - start
        start = clock()
        for index, ids in decoded:
            for i, row in zip(index, ids):
                sentences[i].tags = predictor.rewrite(row)
        spent["output rewrite"] += clock() - start
        start = clock()
        texts.append("".join(format_conll(TaggedSentence(s.tokens, s.tags)) for s in sentences))
        spent["format"] += clock() - start
    start = clock()
    with open(os.devnull, "w", encoding="utf-8") as out:
        for chunk in texts:
            out.write(chunk)
    spent["write"] = clock() - start
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("onnx", type=Path, help="the exported model (tagger export)")
    parser.add_argument("pt", type=Path, help="the model file it was exported from")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "conll2003")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "tagger-onnx-speed",
        help="where the texts are written",
    )
    parser.add_argument("--tokens", type=int, default=1_000_000, help="tokens of the throughput text")
    parser.add_argument("--rss-mb", type=int, default=200, help="MB of the RSS text (0: skip)")
    parser.add_argument("--rss-pt", action="store_true", help="measure the .pt's RSS too (about 2x as long)")
    parser.add_argument("--first", type=int, default=10, help="first-answer runs of each model and launcher")
    parser.add_argument("--pairs", type=int, default=3, help="throughput runs of each model")
    parser.add_argument("--skip", nargs="*", default=[], choices=["first", "rss", "throughput", "profile"])
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    opts = parser.parse_args()
    os.environ["TAGGER_THREADS"] = "1"
    opts.work.mkdir(parents=True, exist_ok=True)
    models = {"onnx": opts.onnx, "pt": opts.pt}
    found: dict = {"models": {k: str(v) for k, v in models.items()}, "cores": os.cpu_count()}
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; TAGGER_THREADS=1")
    if "first" not in opts.skip:
        found["first"] = first_answers(models, opts.first)
    if opts.rss_mb and "rss" not in opts.skip:
        found["rss"] = rss(models, opts)
    text = opts.work / f"text-{opts.tokens}.txt"
    if not text.exists():
        write_text(opts.data, text, tokens=opts.tokens)
    if "throughput" not in opts.skip:
        found["throughput"] = throughput(models, text, opts.pairs)
    if "profile" not in opts.skip:
        found["profile"] = profile(opts.onnx, text)
    if opts.out:
        opts.out.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")


def first_answers(models: dict[str, Path], runs: int) -> dict:
    times: dict = {(name, kind): [] for name in LAUNCHERS for kind in models}
    for _ in range(runs):
        for name, launcher in LAUNCHERS.items():
            for kind, model in models.items():
                times[name, kind].append(first_answer(launcher, model))
    out = {}
    for (name, kind), pairs in times.items():
        wall, cpu = statistics.median(w for w, _ in pairs), statistics.median(c for _, c in pairs)
        out[f"{name} {kind}"] = {"wall_s": wall, "cpu_s": cpu}
        print(f"first answer, {name}, {kind}: {wall:.3f} s wall, {cpu:.3f} s CPU (median of {runs})")
    for name in LAUNCHERS:
        a, b = out[f"{name} onnx"], out[f"{name} pt"]
        print(f"  {name}: onnx/pt wall {a['wall_s'] / b['wall_s']:.2f}, CPU {a['cpu_s'] / b['cpu_s']:.2f}")
    return out


def rss(models: dict[str, Path], opts) -> dict:
    big = opts.work / f"big-{opts.rss_mb}mb.txt"
    if not big.exists():
        write_text(opts.data, big, megabytes=opts.rss_mb)
    out = {}
    for kind, model in models.items():
        if kind == "pt" and not opts.rss_pt:
            continue
        start = time.perf_counter()
        own, total = peak_rss(["tag", str(big), "-m", str(model)])
        out[kind] = {"own_mib": own, "with_reader_mib": total, "seconds": time.perf_counter() - start}
        print(
            f"peak RSS tagging {big.stat().st_size / 1e6:.0f} MB, {kind}: {own:.0f} MiB (tagger), {total:.0f} MiB "
            f"(with its reader process); {out[kind]['seconds']:.0f} s"
        )
    return out


def throughput(models: dict[str, Path], text: Path, pairs: int) -> dict:
    from tagger.data.inputs import read_sentences

    with text.open("rb") as stream:
        sentences = [s.tokens for s in read_sentences(stream, str(text))]
    tokens = sum(len(s) for s in sentences)
    runs: dict = {"onnx": [], "pt": [], "forward": []}
    for _ in range(pairs):
        for kind, model in models.items():
            runs[kind].append(timed_tag(text, model))
        runs["forward"].append((torch_forward(models["pt"], sentences), 0.0))
    wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items() if k != "forward"}
    rates = {k: tokens / w for k, w in wall.items()}
    print(f"throughput, {tokens:,} tokens of raw text ({text}), median of {pairs}:")
    for k in ("onnx", "pt"):
        print(f"  tagger tag {k}: {rates[k]:,.0f} tokens/s ({wall[k]:.1f} s wall, {cpu[k]:.1f} s CPU)")
    print(f"  bare torch forward of the .pt, one thread: {rates['forward']:,.0f} tokens/s ({wall['forward']:.1f} s)")
    print(
        f"  onnx/pt: {rates['onnx'] / rates['pt']:.2f}x (CPU {cpu['pt'] / cpu['onnx']:.2f}x); "
        f"onnx/forward {rates['onnx'] / rates['forward']:.2f}; pt/forward {rates['pt'] / rates['forward']:.2f}"
    )
    return {"tokens": tokens, "wall_s": wall, "cpu_s": cpu, "tokens_per_s": rates}


def profile(onnx: Path, text: Path) -> dict:
    spent = stage_costs(onnx, text)
    total = sum(spent.values())
    print(f"where the exported model's time goes ({text.name}, each stage alone, one thread, CPU):")
    for stage, seconds in spent.items():
        print(f"  {stage + ':':<20} {seconds:6.2f} s  {seconds / total:6.1%}")
    return spent


if __name__ == "__main__":
    main()

"""Speed benchmark: tagging and training throughput, start-up time and memory (CoNLL-2003).

    python bench/speed.py [--data ../shared/data/conll2003] [--rss-mb 200] [--repeat 3]

Prints, in one run: end-to-end `tagger tag` throughput on about 1 million
tokens of raw text and of pre-tokenized lines (the real CLI, in a
subprocess, tokenizing and writing included); the model's own limit on the
same sentences (embeddings + encoder + emissions forward alone, batched the
same way) and the ratio; training throughput for one epoch of CoNLL-2003
train with the default recipe; `tagger --help` wall time; time to the first
output line for one sentence on stdin (beside `import torch` alone, which is
most of it); peak RSS while tagging a large file; raw-text jsonl throughput with
and without ``--scores entities``.

Every core (``--jobs``): raw-text throughput with 1 job (today's single-process
path) and with 2 worker processes (``tagger.tagging.jobs``); the cost per token of
each stage of tagging, each timed alone in this process on one thread; and
from those costs, the throughput the --jobs design predicts on 16 cores and on
16 cores with a GPU (labelled predicted: a model, not a measurement); and the
memory of ``--jobs 2`` (``bench/jobs_rss.py``: each process's peak RSS, and the
largest sum of their Pss at one time, which counts a page shared by processes once).
Times are medians over --repeat runs. Nothing here is a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TAGGER = [sys.executable, str(ROOT / "cli.py")]


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(args: list[str], stdin=None, stdout=subprocess.DEVNULL) -> None:
    subprocess.run(TAGGER + args, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, check=True)


def peak_rss_of(args: list[str]) -> float:
    """Peak RSS in MB of a `tagger` subprocess and its worker process, from /proc (VmHWM, polled).

    (wait4's ru_maxrss would count the benchmark's own memory, which the
    child shares between fork and exec.)
    """
    proc = subprocess.Popen(TAGGER + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        total = 0.0
        for pid in [proc.pid, *_children(proc.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
            except OSError:
                pass
        peak = max(peak, total)
        time.sleep(0.2)
    if proc.returncode != 0:
        raise SystemExit(f"tagger {' '.join(args)} failed with status {proc.returncode}")
    return peak


def _children(pid: int) -> list[int]:
    """Child processes of ``pid``, whichever of its threads started them (the worker process is
    started by the tagger's reader thread, and /proc lists children under the thread)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


# `tagger tag --jobs N` through tagger.tagging.jobs, for a command line that has no --jobs option yet.
JOBS_DRIVER = """
import sys
from tagger.tagging.jobs import tag_parallel
with open(sys.argv[1], "rb") as stream:
    tag_parallel(stream, sys.argv[1], sys.stdout, sys.argv[2], "text", "conll", jobs=int(sys.argv[3]))
"""


def tag_with_jobs(text_file: Path, model_path: Path, jobs: int) -> None:
    """Tag ``text_file`` with ``jobs`` worker processes, output to /dev/null."""
    helped = subprocess.run(TAGGER + ["tag", "--help"], capture_output=True, text=True).stdout
    if "--jobs" in helped:
        run(["tag", str(text_file), "-m", str(model_path), "--jobs", str(jobs)])
    else:
        command = [sys.executable, "-c", JOBS_DRIVER, str(text_file), str(model_path), str(jobs)]
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)


def jobs_memory(text_file: Path, model_path: Path, jobs: int) -> None:
    """Peak memory of ``tagger tag --jobs N``, every process of it (bench/jobs_rss.py polls them)."""
    from jobs_rss import poll_run

    peaks = poll_run(["tag", str(text_file), "-m", str(model_path), "--jobs", str(jobs)], dict(os.environ))
    together = peaks.pop(0)["Pss"]
    each = ", ".join(f"{seen['name']} {seen.get('VmHWM', 0):.0f}" for seen in peaks.values())
    print(f"--jobs {jobs} memory: peak RSS (VmHWM) per process, MB: {each}")
    print(f"--jobs {jobs} memory held at once (sum of Pss): {together:.0f} MB, {together / jobs:.0f} MB per job")


def cpu_seconds(fn) -> float:
    """User + system CPU seconds of the processes ``fn`` runs and waits for (their workers included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    fn()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def jobs_throughput(text_file: Path, model_path: Path, n_tokens: int, repeat: int) -> dict:
    """Raw-text tokens/s: --jobs 1 (today's path, the command line as it is) and 2 worker processes,
    with the CPU time each takes (on a machine others share, wall time understates what the cores give)."""
    runs = {
        "--jobs 1 (single process)": lambda: run(["tag", str(text_file), "-m", str(model_path)]),
        "parallel, 1 worker": lambda: tag_with_jobs(text_file, model_path, 1),
        "--jobs 2": lambda: tag_with_jobs(text_file, model_path, 2),
    }
    rates = {}
    for label, fn in runs.items():
        wall = median_time(fn, repeat)
        cpu = cpu_seconds(fn)
        print(
            f"{label + ':':<27} {n_tokens / wall:>8.0f} tokens/s ({wall:.1f} s, start-up included), measured; "
            f"CPU {1e6 * cpu / n_tokens:.1f} us/token (all its processes)"
        )
        rates[2 if label == "--jobs 2" else 1 if label.startswith("--jobs 1") else 0] = n_tokens / wall
        if label == "--jobs 2":
            rates["cpu_us_2"] = 1e6 * cpu / n_tokens
    one_line = text_file.with_name("one-line.txt")
    one_line.write_text("Apple is opening a new store in Paris next week .\n", encoding="utf-8")
    rates["startup_s"] = median_time(lambda: tag_with_jobs(one_line, model_path, 1), repeat)
    print(f"--jobs start-up (one line: python, imports, a worker, its model): {rates['startup_s']:.2f} s, measured")
    return rates


def stage_costs(model_path: Path, text_file: Path, window: int = 2048) -> dict[str, float]:
    """CPU microseconds per token of each stage of tagging raw text, each timed alone on one thread:
    the parent's (read: lines in chunks, checked as UTF-8; write: the output text to a file) and
    a worker's (tokenize, lookups and arrays, network, decode, output rewrite, format)."""
    from tagger.data.tokenizer import tokenize_flat
    from tagger.data.types import TaggedSentence
    from tagger.data.windows import WINDOW
    from tagger.runtime.crf import viterbi
    from tagger.tagging.jobs import _line_chunks
    from tagger.tagging.model import open_model
    from tagger.tagging.predictor import Predictor
    from tagger.tagging.writer import format_conll

    # CPU time, not wall time: on a machine others share, wall time counts their turns too
    clock, spent = time.process_time, dict.fromkeys(STAGES, 0.0)
    start = clock()
    with text_file.open("rb") as stream:
        chunks = [data for data, _ in _line_chunks(stream, str(text_file), WINDOW)]
    spent["read"] = clock() - start
    lines = [line for data in chunks for line in data.decode("utf-8").splitlines()]
    start = clock()
    sentences = [tokens for line in lines for tokens, _ in tokenize_flat(line)]
    spent["tokenize"] = clock() - start
    predictor = Predictor(open_model(model_path, threads=1))  # one thread, as each worker runs
    model, texts = predictor.model, []
    decoding = model.transitions()
    for at in range(0, len(sentences), window):
        part = sentences[at : at + window]
        start = clock()
        prepared = predictor.prepare(part)
        spent["lookup and arrays"] += clock() - start
        tags: list[list[str]] = [[] for _ in part]
        start = clock()
        forms = model.forms(prepared.arrays)  # once per window, as tagging does
        spent["network"] += clock() - start
        for index, feed, mask in prepared.batches:
            start = clock()
            emissions, _ = model.run(feed, forms)
            spent["network"] += clock() - start
            start = clock()
            ids = viterbi(emissions, mask, decoding)
            spent["decode"] += clock() - start
            start = clock()
            for i, seq in zip(index, ids):
                tags[i] = predictor.rewrite(seq)
            spent["output rewrite"] += clock() - start
        start = clock()
        texts.append("".join(format_conll(TaggedSentence(s, t)) for s, t in zip(part, tags)))
        spent["format"] += clock() - start
    start = clock()
    with open(os.devnull, "w", encoding="utf-8") as out:
        for text in texts:
            out.write(text)
            out.flush()
    spent["write"] = clock() - start
    n_tokens = sum(len(s) for s in sentences)
    return {stage: 1e6 * seconds / n_tokens for stage, seconds in spent.items()}


STAGES = ("read", "tokenize", "lookup and arrays", "network", "decode", "output rewrite", "format", "write")
PARENT = ("read", "write")  # the parent's stages with --jobs N; a worker does the rest


def predict(costs: dict[str, float], measured: dict, gpu_tokens_per_s: float, n_tokens: int) -> None:
    """The throughput the --jobs design predicts from the per-token costs: the parent's stages run
    once, serially; the workers' share the cores. Scaled by the efficiency measured on 2 cores."""
    parent = sum(costs[s] for s in PARENT)
    worker = sum(costs[s] for s in STAGES if s not in PARENT)
    on_cpu_with_gpu = worker - costs["network"] - costs["decode"]

    def rate(cores: int, per_worker: float, gpu: float | None = None) -> float:
        bounds = [1e6 / parent, cores * 1e6 / (parent + per_worker)]
        return min(bounds + ([gpu] if gpu else []))

    efficiency = measured[2] / rate(2, worker) if 2 in measured else 1.0
    print(f"per token: parent {parent:.2f} us (serial), worker {worker:.2f} us (over the cores)")
    print(
        f"design, 2 cores:   {rate(2, worker):>9.0f} tokens/s bound; measured {measured.get(2, 0):.0f}: "
        f"efficiency {efficiency:.0%} (start-up, memory bandwidth, the machine's other load)"
    )
    startup = measured.get("startup_s", 0.0)  # workers start side by side: paid once, whatever the cores
    for label, value in (
        ("16 cores", rate(16, worker)),
        ("16 cores + GPU", rate(16, on_cpu_with_gpu, gpu_tokens_per_s)),
    ):
        whole = n_tokens / (startup + n_tokens / value)  # the bound, plus start-up (not scaled twice)
        print(f"PREDICTED {label + ',':<16} this input end to end ({startup:.1f} s start-up): {whole:>9.0f} tokens/s")
        print(
            f"PREDICTED {label + ':':<16} {value:>9.0f} tokens/s bound, {efficiency * value:>9.0f} at the 2-core "
            "efficiency (not measured)"
        )
    if "cpu_us_2" in measured:  # what --jobs 2 cost in CPU, start-up included, spread over 16 busy cores
        value = 16e6 / measured["cpu_us_2"]
        print(f"PREDICTED 16 cores, from --jobs 2's measured CPU time: {value:>9.0f} tokens/s (not measured)")
    print(
        f"  (with a GPU: network and decode on the GPU at {gpu_tokens_per_s:,.0f} tokens/s, an assumption from the "
        "issue's H100 forward figure halved for Viterbi; the rest on the CPU workers)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "conll2003"))
    parser.add_argument("--model", help="a trained model (default: train one epoch of CoNLL-2003 here)")
    parser.add_argument("--tokens", type=int, default=1_000_000, help="tokens of text to tag")
    parser.add_argument("--rss-mb", type=int, nargs="*", default=[20, 200], help="sizes of the RSS test files")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: the tagger's default)")
    parser.add_argument("--gpu-rate", type=float, default=5.45e6, help="GPU tokens/s assumed for the prediction")
    opts = parser.parse_args()
    if opts.threads:
        os.environ["TAGGER_THREADS"] = str(opts.threads)

    import torch

    from tagger.data.inputs import read_sentences
    from tagger.data.reader import read_conll
    from tagger.nn.device import configure_torch
    from tagger.tagging.model import open_model, thread_count
    from tagger.tagging.predictor import Predictor

    threads = configure_torch(thread_count(opts.threads))
    work = Path(tempfile.mkdtemp(prefix="tagger-speed-"))
    print(f"machine: {os.cpu_count()} cores; torch {torch.__version__}, {threads} thread(s); work files in {work}")

    # Training throughput: one epoch of CoNLL-2003 train with the default recipe.
    model_path = Path(opts.model) if opts.model else work / "conll.pt"
    if not opts.model:
        from tagger.nn.config import TrainConfig
        from tagger.training.loop import train

        result = train(
            Path(opts.data) / "train.txt",
            model_path,
            dev_file=Path(opts.data) / "valid.txt",
            config=TrainConfig(epochs=1),
        )
        row = result["history"][0]
        print(
            f"training, 1 epoch of CoNLL-2003 train (default recipe): {row['sentences_per_second']:.0f} sentences/s, "
            f"{row['train_seconds']:.1f} s training + {row['seconds'] - row['train_seconds']:.1f} s dev scoring"
        )

    # Input of about opts.tokens tokens: the test sentences, joined into lines and repeated.
    sentences = [s.tokens for s in read_conll(Path(opts.data) / "test.txt")]
    per_pass = sum(len(s) for s in sentences)
    repeats = max(1, round(opts.tokens / per_pass))
    text_file, token_file = work / "input.txt", work / "input.tok"
    with text_file.open("w", encoding="utf-8") as text, token_file.open("w", encoding="utf-8") as tok:
        for _ in range(repeats):
            for s in sentences:
                line = " ".join(s)
                text.write(line + "\n")
                tok.write(line + "\n")
    tokenized = [s.tokens for s in read_sentences(text_file.open("rb"), str(text_file))]
    n_tokens = sum(len(s) for s in tokenized)
    print(f"input: {len(tokenized)} sentences, {n_tokens} tokens of raw text ({text_file.stat().st_size / 1e6:.1f} MB)")

    t_text = median_time(lambda: run(["tag", str(text_file), "-m", str(model_path)]), opts.repeat)
    t_tok = median_time(lambda: run(["tag", str(token_file), "-m", str(model_path), "--input", "tokens"]), opts.repeat)
    print(f"tagger tag, raw text:     {n_tokens / t_text:>9.0f} tokens/s ({t_text:.1f} s, start-up included)")
    print(f"tagger tag, --input tokens: {n_tokens / t_tok:>7.0f} tokens/s ({t_tok:.1f} s)")
    # Scores (the CRF's forward-backward and entity probabilities) against the same jsonl output without them.
    jsonl = ["tag", str(text_file), "-m", str(model_path), "--format", "jsonl"]
    t_plain = median_time(lambda: run(jsonl), opts.repeat)
    t_scored = median_time(lambda: run([*jsonl, "--scores", "entities"]), opts.repeat)
    print(
        f"raw text, jsonl:          {n_tokens / t_plain:>9.0f} tokens/s; with --scores entities "
        f"{n_tokens / t_scored:.0f} ({t_plain / t_scored:.0%} of it)"
    )

    # The model's own limit: the same sentences, batched the same way, forward to emissions only.
    predictor = Predictor(open_model(model_path, threads=threads))
    model = predictor.model
    # As the tagger does it: per window of 2,048 sentences, a table of distinct forms
    # (characters encoded once each), then batches of similar length, by the tagger's own
    # Predictor.prepare. Arrays are made before timing; the timed part is the network:
    # character encoder, embeddings, encoder and emission layer.
    window = 2048
    windows = [predictor.prepare(tokenized[start : start + window]) for start in range(0, len(tokenized), window)]

    def forward() -> None:
        for prepared in windows:
            forms = model.forms(prepared.arrays)
            for _, feed, _ in prepared.batches:
                model.run(feed, forms)

    t_limit = median_time(forward, opts.repeat)
    print(f"model forward alone:      {n_tokens / t_limit:>9.0f} tokens/s ({t_limit:.1f} s)")
    print(f"end-to-end / limit:       {t_limit / t_text:>9.1%} (raw text), {t_limit / t_tok:.1%} (tokens)")

    # Every core: --jobs 1 and 2, each stage's cost, and what the design predicts on more hardware.
    rates = jobs_throughput(text_file, model_path, n_tokens, opts.repeat)
    jobs_memory(text_file, model_path, 2)
    costs = stage_costs(model_path, text_file)
    print("cost per token of each stage (one thread, measured here):")
    for stage, us in costs.items():
        print(f"  {stage + ':':<20} {us:>6.2f} us/token  ({'parent' if stage in PARENT else 'worker'})")
    predict(costs, rates, opts.gpu_rate, n_tokens)

    # Start-up.
    t_help = median_time(lambda: run(["--help"]), max(5, opts.repeat))
    print(f"tagger --help:            {t_help:>9.2f} s")
    firsts = []
    for _ in range(opts.repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(
            TAGGER + ["tag", "-m", str(model_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        proc.stdin.write(b"Apple is opening a new store in Paris next week .\n")
        proc.stdin.close()
        proc.stdout.readline()
        firsts.append(time.perf_counter() - start)
        proc.wait()
    print(f"first output line:        {statistics.median(firsts):>9.2f} s (one sentence on stdin)")
    # Most of the first line is `import torch`, whose time moves with the machine: measured beside it.
    t_torch = median_time(
        lambda: subprocess.run([sys.executable, "-c", "import torch"], check=True), max(5, opts.repeat)
    )
    print(f"  `import torch` alone:   {t_torch:>9.2f} s (python start-up included)")

    # Peak RSS while tagging big files (flat in input size when streaming).
    line_bytes = sum(len(" ".join(s)) + 1 for s in sentences)
    for mb in opts.rss_mb:
        big = work / f"big{mb}.txt"
        with text_file.open("rb") as src:
            block = src.read(line_bytes)
        with big.open("wb") as out:
            for _ in range(max(1, mb * 1_000_000 // len(block))):
                out.write(block)
        rss = peak_rss_of(["tag", str(big), "-m", str(model_path), "--format", "jsonl"])
        print(f"peak RSS tagging {big.stat().st_size / 1e6:.0f} MB:  {rss:>7.0f} MB (tagger and its worker process)")
        big.unlink()


if __name__ == "__main__":
    main()

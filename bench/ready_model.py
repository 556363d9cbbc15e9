"""Rebuild the ready English news model that the package ships (tagger/models/en-news.pt and .onnx), in one command.

    python bench/ready_model.py [--seeds 1] [--force] [--compare WNUT17.pt] [--threads 1] [--data DIR]
    python bench/ready_model.py --from MODEL.pt [--force] [--compare WNUT17.pt]

It trains the default recipe (`tagger train`'s defaults, document context on, through the library's train()) on
CoNLL-2003 train with GloVe 6B 50d vectors (the training words plus the 100,000 most frequent others, the default of
--keep-vectors), once per seed; the model of the best dev F1 is kept (dev chooses; the test file is read only at the
end). Its embedding tables are then stored as 16-bit floats if that does not lower its dev F1 (both are printed),
and an ``about`` entry (checkpoint.py) says what it is, its data, licences, scores and this command. It is written
to --out, never over an existing file without --force, and exported beside it as the .onnx that the tagging-only
install runs (``tagger export``, with the same ``about``). Last it prints the written file's test F1, its size, its
median load time (``model_file.load_model``) and the median time of `tagger tag -m` on one sentence in a new
process, beside the same for the model given by --compare (a WNUT-17 model trained by `tagger train data/`).
``--from`` skips the training and converts a model trained elsewhere with the same recipe. It runs in the repository
root (paths recorded in the model are relative to it) and reads ../shared/data (--data: elsewhere); on the CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path("..") / "shared" / "data"  # relative to ROOT, as the model file records it
GLOVE = Path("embeddings") / "glove.6B.50d.txt.gz"
OUT = ROOT / "tagger" / "models" / "en-news.pt"
SENTENCE = "Angela Merkel met Emmanuel Macron in Paris on Tuesday.\n"
COMMAND = "python bench/ready_model.py --seeds {seeds} --force"

ABOUT = {
    "name": "en-news",
    "description": "English named entities in news text: PER, ORG, LOC, MISC (BiLSTM-CNN-CRF with document context)",
    "data": "CoNLL-2003 English (Reuters news, 1996-97): trained on train (eng.train), model chosen on dev "
    "(eng.testa), scored on test (eng.testb)",
    "vectors": "GloVe 6B 50d (Pennington et al. 2014), cut to the training words and the most frequent others",
    "licence": {
        "model": "MIT, as tagger",
        "data": "CoNLL-2003 / Reuters RCV1: research use; the text is not in this file, only weights learned from it",
        "vectors": "GloVe 6B: PDDL 1.0 (Public Domain Dedication and License)",
    },
    "weak_at": "text unlike 1990s news wire: all-lowercase text (finds nothing), social media; names newer than "
    "1997 (Tesla, Bitcoin); a company named like a word or a place with little context (misses Apple in 'Apple is "
    "opening a new store in Paris next week', reads Amazon as a place); MISC is its weakest type",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1], help="one training run per seed")
    parser.add_argument("--from", dest="source", type=Path, help="convert this model instead of training")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write the model (default {OUT})")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument("--compare", type=Path, help="a WNUT-17 model (`tagger train data/`) to compare load times")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "ready", help="where runs go")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the reference data (default {DATA})")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--loads", type=int, default=21, help="loads of each file for the median load time")
    opts = parser.parse_args()
    for name in ("source", "out", "compare", "work", "data"):  # given relative to where the command runs
        if getattr(opts, name) not in (None, DATA):
            setattr(opts, name, getattr(opts, name).absolute())
    os.chdir(ROOT)
    conll = opts.data / "conll2003"
    if opts.out.exists() and not opts.force:
        sys.exit(f"ready_model: {opts.out} exists; --force replaces it")
    os.environ.setdefault("TAGGER_THREADS", str(opts.threads))

    chosen = opts.source or best_of(train_seeds(opts.seeds, opts.work, opts.threads, conll, opts.data / GLOVE))
    checkpoint, dev_f1 = smallest(chosen, opts.work, conll / "valid.txt")
    test_f1 = f1(conll / "test.txt", write(opts.work / "final.pt", checkpoint))
    seeds = " ".join(map(str, opts.seeds))
    rebuild = COMMAND.format(seeds=seeds)
    checkpoint["about"] = {**ABOUT, "scores": {"dev_f1": dev_f1, "test_f1": test_f1}, "rebuild": rebuild}
    write(opts.out, checkpoint)
    exported(opts.out, checkpoint["about"])
    report(opts.out, opts.compare, opts.loads, conll / "test.txt")


def train_seeds(seeds: list[int], work: Path, threads: int, conll: Path, vectors: Path) -> list[Path]:
    """One model per seed, trained with the default recipe and GloVe 50d; a run already finished is kept."""
    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.training.loop import train

    paths = []
    for seed in seeds:
        path = work / f"en-s{seed}.pt"
        if not path.exists() or path.with_name(path.name + ".resume").exists():
            started = time.perf_counter()
            result = train(
                conll / "train.txt",
                path,
                dev_file=conll / "valid.txt",
                test_file=None,  # the test file is scored once, on the file that ships
                model_config=ModelConfig(),
                config=TrainConfig(embeddings=str(vectors), seed=seed, threads=threads),
                resume=path.with_name(path.name + ".resume").exists(),
                log=lambda message: print(message, file=sys.stderr),
            )
            print(f"seed {seed}: dev F1 {100 * result['dev']['f1']:.2f} ({time.perf_counter() - started:.0f} s)")
        paths.append(path)
    return paths


def best_of(paths: list[Path]) -> Path:
    """The model of the best dev F1 (as its training recorded it)."""
    from tagger.nn.checkpoint import read_checkpoint

    scored = [(read_checkpoint(p)["metadata"]["dev_scores"]["f1"], p) for p in paths]
    for score, path in scored:
        print(f"{path}: dev F1 {100 * score:.2f}")
    return max(scored)[1]


def smallest(path: Path, work: Path, dev: Path) -> tuple[dict, float]:
    """The checkpoint of ``path`` with 16-bit embedding tables if that does not lower its dev F1, else as it is;
    and its dev F1."""
    from tagger.nn.checkpoint import read_checkpoint
    from tagger.nn.model_file import half_tables

    full = read_checkpoint(path)
    half = half_tables(full)
    full_f1, half_f1 = f1(dev, path), f1(dev, write(work / "half.pt", half))
    kept = half_f1 >= full_f1
    bits = 16 if kept else 32
    print(f"dev F1: {100 * full_f1:.2f} with 32-bit tables, {100 * half_f1:.2f} with 16-bit: keeping {bits}-bit")
    return (half, half_f1) if kept else (full, full_f1)


def exported(path: Path, about: dict) -> Path:
    """The model at ``path`` exported beside it (``.onnx``), as `tagger export` writes it, with its description."""
    from tagger.nn.export import export_model
    from tagger.nn.model_file import load_model

    onnx = export_model(load_model(path), path.with_suffix(".onnx"), str(path), about)
    print(f"wrote {onnx} ({onnx.stat().st_size / 1e6:.1f} MB)")
    return onnx


def f1(data: Path, model: Path) -> float:
    from tagger.training.evaluation import evaluate

    return evaluate(data, model)["f1"]


def write(path: Path, checkpoint: dict) -> Path:
    from tagger.nn.checkpoint import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, checkpoint)
    return path


def report(path: Path, compare: Path | None, loads: int, test: Path) -> None:
    """The written file's test F1, size and median load time (and the --compare model's)."""
    print(f"wrote {path}: test F1 {100 * f1(test, path):.2f}, {path.stat().st_size / 1e6:.1f} MB")
    files = [path] + ([compare] if compare else [])
    for name, seconds, whole in zip(files, load_times(files, loads), tag_times(files, max(1, loads // 4))):
        size = name.stat().st_size / 1e6
        print(f"{name} ({size:.1f} MB): load_model median {1000 * seconds:.1f} ms of {loads}; ", end="")
        print(f"`tagger tag -m` of one sentence in a new process: median {whole:.2f} s of {max(1, loads // 4)}")


def tag_times(paths: list[Path], runs: int) -> list[float]:
    """Median seconds of `tagger tag -m MODEL` on one sentence in a new process (what a user waits for), in turn."""
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(runs):
        for i, path in enumerate(paths):
            started = time.perf_counter()
            command = [sys.executable, "cli.py", "tag", "-m", str(path)]
            subprocess.run(command, input=SENTENCE, text=True, capture_output=True, check=True)
            times[i].append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


def load_times(paths: list[Path], loads: int) -> list[float]:
    """Median seconds of ``model_file.load_model`` for each file, the files loaded in turn (a warm page cache)."""
    from tagger.nn.model_file import load_model

    times: list[list[float]] = [[] for _ in paths]
    for _ in range(loads):
        for i, path in enumerate(paths):
            started = time.perf_counter()
            load_model(path)
            times[i].append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


if __name__ == "__main__":
    main()

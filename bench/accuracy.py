"""Accuracy benchmark: test F1 over several seeds on the reference data sets.

    python bench/accuracy.py [--settings conll03-glove conll03 wnut17-glove conll02-es] [--seeds 1 2 3]
                             [--results bench/out/accuracy.jsonl] [--threads 1]
                             [--set hidden_size=200 --set word_dropout=0.5 ...]

For each setting and seed it trains with the default recipe (`tagger train`'s
defaults, through the same library function), selects the model on the
development file, scores the test file with seqeval's default
(conlleval-compatible) mode on the file's original tags, and prints dev F1,
test F1, epochs and wall time; then the mean and standard deviation per
setting. ``--set NAME=VALUE`` changes one field of the model or training
configuration (for trying a recipe against the defaults); the changes are
recorded with each run and runs with different changes are kept apart.
Each finished run is appended to --results (JSON lines) and skipped when the
script is run again, so a long benchmark can be stopped and resumed.
Reads ../shared/data; runs on the CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
GLOVE = DATA / "embeddings" / "glove.6B.50d.txt.gz"

SETTINGS = {
    "conll03-glove": (DATA / "conll2003", "train.txt", "valid.txt", "test.txt", GLOVE),
    "conll03": (DATA / "conll2003", "train.txt", "valid.txt", "test.txt", None),
    "wnut17-glove": (DATA / "wnut17", "train.txt", "dev.txt", "test.txt", GLOVE),
    "wnut17": (DATA / "wnut17", "train.txt", "dev.txt", "test.txt", None),
    "conll02-es": (DATA / "conll2002" / "es", "train.txt", "valid.txt", "test.txt", None),
}
PUBLISHED = {
    "conll03-glove": "Lample 2016: 90.94 (100d); NCRF++: ~91.1 mean (100d)",
    "conll03": "Lample 2016: 83.63; Huang 2015: 84.26",
    "wnut17-glove": "shared-task best 40.78",
    "wnut17": "",
    "conll02-es": "Stanford CMM baseline 81.14",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["conll03-glove", "conll03", "wnut17-glove", "conll02-es"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--results", default=str(ROOT / "bench" / "out" / "accuracy.jsonl"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=0, help="override the default number of epochs")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        dest="changes",
        help="change a field of ModelConfig or TrainConfig (repeatable)",
    )
    opts = parser.parse_args()

    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.training.loop import train

    changes = parse_changes(opts.changes, ModelConfig, TrainConfig)
    label = " ".join(f"{k}={v}" for k, v in sorted(changes.items()))

    results_path = Path(opts.results)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    done = []
    if results_path.exists():
        done = [json.loads(line) for line in results_path.read_text().splitlines() if line.strip()]

    def key(r: dict) -> tuple:
        return (r["setting"], r["seed"], r.get("epochs_max", 0), r.get("changes", ""))

    finished = {key(r) for r in done}
    for setting in opts.settings:
        folder, train_name, dev_name, test_name, vectors = SETTINGS[setting]
        for seed in opts.seeds:
            if (setting, seed, opts.epochs, label) in finished:
                continue
            config = TrainConfig(seed=seed, threads=opts.threads, embeddings=str(vectors) if vectors else None)
            model_config = ModelConfig()
            if opts.epochs:
                config.epochs = opts.epochs
            for name, value in changes.items():
                setattr(config if hasattr(config, name) else model_config, name, value)
            model_path = Path(tempfile.mkdtemp(prefix="tagger-acc-")) / "model.pt"
            start = time.perf_counter()
            result = train(
                folder / train_name,
                model_path,
                dev_file=folder / dev_name,
                test_file=folder / test_name,
                model_config=model_config,
                config=config,
                log=lambda m: print(f"  {m}", file=sys.stderr),
                on_epoch=lambda row: print(
                    f"  epoch {row['epoch']}: dev F1 {100 * row['dev']['f1']:.2f} ({row['seconds']:.0f} s)",
                    file=sys.stderr,
                ),
            )
            best = result["history"][result["best_epoch"] - 1]
            row = {
                "setting": setting,
                "seed": seed,
                "epochs_max": opts.epochs,
                "changes": label,
                "dev_f1": 100 * result["dev"]["f1"],
                "test_f1": 100 * result["test"]["f1"],
                "best_epoch": result["best_epoch"],
                "epochs_run": result["epochs_run"],
                "seconds": time.perf_counter() - start,
                "seconds_to_best": sum(r["seconds"] for r in result["history"][: result["best_epoch"]]),
                "sentences_per_second": best["sentences_per_second"],
                "model": str(model_path),  # kept, for measuring it afterwards (bench/speed.py)
            }
            done.append(row)
            with results_path.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(
                f"{setting} {label} seed {seed}: dev F1 {row['dev_f1']:.2f}  test F1 {row['test_f1']:.2f}  "
                f"best epoch {row['best_epoch']}/{row['epochs_run']}  {row['seconds'] / 60:.1f} min",
                flush=True,
            )

    print()
    if label:
        print(f"changes from the defaults: {label}")
    print(f"{'setting':<15} {'runs':>4} {'dev F1':>14} {'test F1':>14} {'min to best':>12}  published")
    for setting in opts.settings:
        rows = [
            r
            for r in done
            if r["setting"] == setting and r.get("epochs_max", 0) == opts.epochs and r.get("changes", "") == label
        ]
        if not rows:
            continue

        def mean_std(values: list[float]) -> str:
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.2f} +- {std:.2f}"

        print(
            f"{setting:<15} {len(rows):>4} {mean_std([r['dev_f1'] for r in rows]):>14} "
            f"{mean_std([r['test_f1'] for r in rows]):>14} "
            f"{statistics.median(r['seconds_to_best'] for r in rows) / 60:>12.1f}  {PUBLISHED[setting]}"
        )


def parse_changes(items: list[str], *configs: type) -> dict:
    """``NAME=VALUE`` strings to a dict, each value converted to the type of the field's default."""
    defaults = {}
    for cls in configs:
        defaults.update({f.name: getattr(cls(), f.name) for f in fields(cls)})
    changes = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or name not in defaults:
            raise SystemExit(f"--set {item}: expected NAME=VALUE with NAME one of {', '.join(sorted(defaults))}")
        default = defaults[name]
        if isinstance(default, bool):
            value = text.lower() in ("1", "true", "yes")
        elif isinstance(default, (int, float)):
            value = type(default)(text)
        else:
            value = text
        changes[name] = value
    return changes


if __name__ == "__main__":
    main()

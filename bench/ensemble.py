"""Ensemble benchmark: test F1 and tagging speed of single models and of ensembles of them.

    python bench/ensemble.py --models a.pt b.pt c.pt d.pt e.pt [--sizes 3 5] [--threads 1]
                             [--data ../shared/data/conll2003] [--out bench/results/ensemble]

The models are trained on the same data with different seeds
(bench/results/ensemble-models.txt: how). Each single model, the ensemble of the first 3 and of all 5
(``--sizes``) tag the development and test files through ``tagging.Predictor``,
as ``tagger evaluate`` does, and are scored with ``evaluation.score`` on the
file's own scheme (conlleval-compatible). For each ensemble size it also
scores every other choice of that many models (their mean says how much of
a gain is the luck of which models were picked). Tokens per second: tagging
the test file's token lists (lookups, tensors, network, decoding; no reading
or writing), the fastest of five rounds that each time every single model and
timed ensemble once, on ``--threads`` threads.

Writes OUT.txt (the table) and OUT.jsonl (one line per single model or ensemble). Scores already
in OUT.jsonl for the same model files are reused (speeds are measured again), so the script can
run again as more models finish training (``--models`` the finished ones) and score only what is new.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUNS = 5  # timed rounds over the test file; the fastest counts (the others lose time to other processes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True, help="model files of one recipe, several seeds")
    parser.add_argument("--sizes", nargs="+", type=int, default=[3, 5])
    parser.add_argument(
        "--data", default=str(ROOT.parent / "shared" / "data" / "conll2003"), help="folder with valid.txt and test.txt"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "ensemble"))
    opts = parser.parse_args()

    from tagger.data.corpus import load_tagged
    from tagger.nn.device import configure_torch
    from tagger.nn.model_file import load_model
    from tagger.tagging.model import thread_count

    threads = configure_torch(thread_count(opts.threads))
    files = {"dev": load_tagged(Path(opts.data) / "valid.txt"), "test": load_tagged(Path(opts.data) / "test.txt")}
    loaded = [load_model(p) for p in opts.models]
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = out.with_suffix(".jsonl")
    # Scores of an earlier run of the same model files are kept (a run can add models as their
    # training ends); speeds are measured again in every run, all in the same minutes.
    earlier = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    known = {tuple(r["models"]): r for r in earlier}
    rows = []
    for chosen, _ in plan(len(loaded), opts.sizes):
        paths = [opts.models[i] for i in chosen]
        row = known.get(tuple(paths)) or score_choice(paths, [loaded[i] for i in chosen], files, opts.batch_size)
        row = {k: v for k, v in row.items() if k != "tokens_per_second"}
        rows.append(row | {"numbers": [i + 1 for i in chosen], "threads": threads})
        report(rows[-1])
    timed = [(chosen, rows[n]) for n, (chosen, timing) in enumerate(plan(len(loaded), opts.sizes)) if timing]
    speeds = time_choices([[loaded[i] for i in c] for c, _ in timed], files["test"], opts.batch_size)
    for (_, row), speed in zip(timed, speeds):
        row["tokens_per_second"] = speed
        report(row)
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = summary(rows, opts.models, opts.sizes, threads, files["test"].tokens)
    out.with_suffix(".txt").write_text(table)
    print(table, end="")


def plan(count: int, sizes: list[int]) -> list[tuple[tuple[int, ...], bool]]:
    """The model choices to measure, and whether to time them: each model alone, then for each size
    the first ``size`` models (timed) and every other choice of that many (scored only)."""
    steps = [((i,), True) for i in range(count)]
    for size in [s for s in sizes if 1 < s <= count]:
        first = tuple(range(size))
        steps.append((first, True))
        steps += [(c, False) for c in itertools.combinations(range(count), size) if c != first]
    return steps


def predictor_of(members: list, batch_size: int, paths: list[str] | None = None):
    """A ``Predictor`` of one loaded model, or of the ensemble of several (checked as ``load_ensemble`` checks)."""
    from tagger.nn.ensemble import Ensemble, mismatch
    from tagger.tagging.model import from_torch
    from tagger.tagging.predictor import Predictor

    first = members[0]
    if len(members) == 1:
        return Predictor(from_torch(first.model, first.vocab, first.data_scheme), batch_size)
    paths = paths or [str(i + 1) for i in range(len(members))]
    for path, other in zip(paths[1:], members[1:]):
        problem = mismatch(first, other)
        if problem:
            raise SystemExit(f"{path}: cannot be combined with {paths[0]}: {problem}")
    ensemble = Ensemble([m.model for m in members]).eval()
    return Predictor(from_torch(ensemble, first.vocab, first.data_scheme), batch_size)


def score_choice(paths: list[str], members: list, files: dict, batch_size: int) -> dict:
    """Dev and test scores of the ensemble of ``members`` (one: the model itself), as ``tagger evaluate``
    computes them: the predictions in the file's scheme against its gold tags."""
    from tagger.data.schemes import convert
    from tagger.training.evaluation import score

    predictor = predictor_of(members, batch_size, paths)
    row: dict = {"models": paths, "size": len(paths)}
    for name, data in files.items():
        predicted = predictor.predict([s.tokens for s in data.sentences], [s.doc for s in data.sentences])
        result = score(data.tags_in(data.scheme), [convert(p, data.scheme) for p in predicted])
        for key in ("f1", "precision", "recall"):
            row[f"{name}_{key}"] = 100 * result[key]
    return row


def time_choices(choices: list[list], data, batch_size: int) -> list[float]:
    """Tokens per second of each choice of models tagging ``data``: the fastest of ``RUNS`` rounds,
    each round timing every choice once, so that all of them meet the same load from other processes."""
    predictors = [predictor_of(members, batch_size) for members in choices]
    tokens, docs = [s.tokens for s in data.sentences], [s.doc for s in data.sentences]
    best = [float("inf")] * len(predictors)
    for _ in range(RUNS):
        for i, predictor in enumerate(predictors):
            start = time.perf_counter()
            predictor.predict(tokens, docs)
            best[i] = min(best[i], time.perf_counter() - start)
    return [data.tokens / seconds for seconds in best]


def report(row: dict) -> None:
    speed = f"  {row['tokens_per_second']:,.0f} tokens/s" if "tokens_per_second" in row else ""
    names = " + ".join(Path(p).stem for p in row["models"])
    print(f"{names}: dev F1 {row['dev_f1']:.2f}  test F1 {row['test_f1']:.2f}{speed}", file=sys.stderr, flush=True)


def summary(rows: list[dict], models: list[str], sizes: list[int], threads: int, tokens: int) -> str:
    """The table of OUT.txt: each timed row, then per size the mean over every choice of models."""
    singles = [r for r in rows if r["size"] == 1]
    base_speed = statistics.mean(r["tokens_per_second"] for r in singles)
    lines = [f"model {i + 1}: {p}" for i, p in enumerate(models)]
    lines += [
        f"{threads} thread(s); tokens/s: tagging the test file's {tokens} tokens (lookups, network, decoding),",
        f"the fastest of {RUNS} rounds; cost: the single models' mean tokens/s over this row's.",
        "",
        f"{'models':<12} {'dev F1':>7} {'test F1':>8} {'tokens/s':>9} {'cost':>6}",
    ]
    for r in rows:
        if "tokens_per_second" not in r:
            continue
        names = "+".join(str(n) for n in r["numbers"])
        lines.append(
            f"{names:<12} {r['dev_f1']:>7.2f} {r['test_f1']:>8.2f} {r['tokens_per_second']:>9,.0f} "
            f"{base_speed / r['tokens_per_second']:>5.1f}x"
        )
    lines.append("")

    def mean_std(values: list[float]) -> str:
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.2f} +- {std:.2f}"

    lines.append(f"{'size':<6} {'choices':>7} {'dev F1':>15} {'test F1':>15} {'test gain':>10}")
    single_test = statistics.mean(r["test_f1"] for r in singles)
    for size in [1] + [s for s in sizes if s > 1]:
        chosen = [r for r in rows if r["size"] == size]
        if not chosen:
            continue
        gain = statistics.mean(r["test_f1"] for r in chosen) - single_test
        lines.append(
            f"{size:<6} {len(chosen):>7} {mean_std([r['dev_f1'] for r in chosen]):>15} "
            f"{mean_std([r['test_f1'] for r in chosen]):>15} {gain:>+10.2f}"
        )
    lines.append("(size 1: the single models; test gain: mean test F1 over the single models' mean)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

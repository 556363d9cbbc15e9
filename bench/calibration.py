"""Calibration of entity scores on CoNLL-2003 test, and what computing the scores costs.

    python bench/calibration.py --model MODEL.pt
        [--data ../shared/data/conll2003/test.txt] [--fit-on ../shared/data/conll2003/valid.txt]
        [--bins 10] [--repeat 3] [--nbest 5] [--threads 1] [--out bench/results/calibration.txt]

Tags the test file with scores (``Predictor(scores=True)``) and prints: a reliability table (predicted
entities binned by score: how many, their mean score, the fraction that are correct, i.e. a gold entity
with the same type and span); the expected calibration error of the entity scores (the bins' gaps
between mean score and fraction correct, weighted by their share of the entities); precision, recall and
F1 when entities below a threshold are dropped (``--min-score``); and tagging throughput with scores and
without (and of n-best lists alone), in this one process on the same prepared windows (medians of
``--repeat`` runs, interleaved).

The tables come twice: with the model's own temperature, and with one fitted on ``--fit-on`` (the dev
data, never the test data: the temperature on a grid that gives the dev entities the lowest ECE,
``Predictor.fit_temperature``;
``--fit-on ''`` skips it). ``--save-temperature`` writes the fitted one into the model file, where
tagging then uses it. The output also goes to ``--out``. Nothing here is a test: it prints figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONLL = ROOT.parent / "shared" / "data" / "conll2003"  # the reference data beside the checkout
sys.path.insert(0, str(ROOT))

from tagger.data.corpus import load_tagged  # noqa: E402
from tagger.data.schemes import to_spans  # noqa: E402
from tagger.nn.model_file import read_checkpoint, write_atomically  # noqa: E402
from tagger.runtime.scores import calibration_error  # noqa: E402
from tagger.tagging.model import open_model, thread_count  # noqa: E402
from tagger.tagging.predictor import Predictor  # noqa: E402

WINDOW = 2048  # sentences per prepared window, as tagging reads them
THRESHOLDS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]


def predicted_entities(results: list[dict], gold: list[list[str]]) -> tuple[list[tuple[float, bool]], int]:
    """(score, correct) of every predicted entity, and the number of gold entities."""
    found, total = [], 0
    for result, gold_tags in zip(results, gold):
        truth = set(to_spans(gold_tags))
        total += len(truth)
        spans = to_spans(result["tags"])
        if len(spans) != len(result["entity_scores"]):
            raise SystemExit(f"{len(result['entity_scores'])} scores for {len(spans)} entities: {spans}")
        found += [(score, span in truth) for span, score in zip(spans, result["entity_scores"])]
    return found, total


def reliability(found: list[tuple[float, bool]], bins: int) -> tuple[list[str], float]:
    """The reliability table's lines and the expected calibration error (``scores.calibration_error``)."""
    lines = [f"{'score bin':>13} {'entities':>9} {'mean score':>11} {'correct':>8} {'gap':>7}"]
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(s, c) for s, c in found if min(int(s * bins), bins - 1) == b]  # the bins of calibration_error
        if not inside:
            lines.append(f"[{low:.2f}, {high:.2f}) {0:>9} {'-':>11} {'-':>8} {'-':>7}")
            continue
        confidence = statistics.fmean(s for s, _ in inside)
        accuracy = sum(c for _, c in inside) / len(inside)
        gap = accuracy - confidence
        lines.append(f"[{low:.2f}, {high:.2f}) {len(inside):>9} {confidence:>11.4f} {accuracy:>8.4f} {gap:>+7.4f}")
    return lines, calibration_error([s for s, _ in found], [c for _, c in found], bins)


def threshold_table(found: list[tuple[float, bool]], gold_total: int) -> list[str]:
    """Precision, recall and F1 (%) of the entities kept at each --min-score."""
    lines = [f"{'--min-score':>11} {'kept':>6} {'precision':>9} {'recall':>7} {'F1':>6}"]
    for threshold in THRESHOLDS:
        kept = [c for s, c in found if s >= threshold]
        correct = sum(kept)
        precision = correct / len(kept) if kept else 0.0
        recall = correct / gold_total if gold_total else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        lines.append(f"{threshold:>11.2f} {len(kept):>6} {100 * precision:>9.2f} {100 * recall:>7.2f} {100 * f1:>6.2f}")
    return lines


def throughput(predictor: Predictor, prepared: list, tokens: int, repeat: int, nbest: int) -> list[str]:
    """Tokens per second of ``run`` (no scores), ``run_scored`` (scores) and, with ``nbest``, of
    ``run_scored`` for the n-best lists alone, on the same windows."""
    p = predictor
    ranked = Predictor(p.model, p.batch_size, nbest=nbest, temperature=p.temperature)
    runs = {"without scores": predictor.run, "with scores": predictor.run_scored}
    if nbest:
        runs[f"n-best {nbest}"] = ranked.run_scored
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):  # interleaved, so drift in the machine's load touches all alike
        for name, run in runs.items():
            start = time.perf_counter()
            for window in prepared:
                run(window)
            times[name].append(time.perf_counter() - start)
    speed = {name: tokens / statistics.median(t) for name, t in times.items()}
    base = speed["without scores"]
    return [
        f"{name:>15}: {value:>9,.0f} tokens/s (median of {repeat}), {value / base:.2f} of without"
        for name, value in speed.items()
    ]


def scored(predictor: Predictor, path: str) -> tuple[list, list[tuple[float, bool]], int]:
    """Prepared windows of a gold file, and (score, correct) of each predicted entity and the gold count."""
    data = load_tagged(path)
    sentences = [s.tokens for s in data.sentences]
    prepared = [predictor.prepare(sentences[i : i + WINDOW]) for i in range(0, len(sentences), WINDOW)]
    results = [r for window in prepared for r in predictor.run_scored(window)]
    return prepared, *predicted_entities(results, data.tags_in(data.scheme))


def report(found: list[tuple[float, bool]], gold_total: int, bins: int, title: str) -> list[str]:
    table, ece = reliability(found, bins)
    return [
        f"Reliability of entity scores, {title} (correct: a gold entity with the same type and span)",
        *table,
        f"expected calibration error (ECE, {bins} bins): {ece:.4f}",
        "",
        f"Entities kept at each --min-score, {title} (precision, recall, F1 in %)",
        *threshold_table(found, gold_total),
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model file (bench/README.md: CoNLL-2003 + GloVe, seed 1)")
    parser.add_argument("--data", default=str(CONLL / "test.txt"))
    parser.add_argument("--fit-on", default=str(CONLL / "valid.txt"))
    parser.add_argument("--save-temperature", action="store_true")
    parser.add_argument("--bins", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nbest", type=int, default=5, help="also time n-best lists of this length (0: not)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "calibration.txt"))
    args = parser.parse_args()
    threads = thread_count(args.threads)
    predictor = Predictor(open_model(args.model, threads=threads), scores=True)
    own = predictor.temperature
    prepared, found, gold_total = scored(predictor, args.data)
    tokens = sum(int(feed["lengths"].sum()) for window in prepared for _, feed, _ in window.batches)
    lines = [
        f"model {args.model}; data {args.data}: {tokens} tokens, "
        f"{gold_total} gold and {len(found)} predicted entities; {threads} thread(s)",
        "",
        *report(found, gold_total, args.bins, f"temperature {own:g} (the model's)"),
    ]
    if args.fit_on:
        dev = load_tagged(args.fit_on)
        temperature, dev_ece = predictor.fit_temperature([s.tokens for s in dev.sentences], dev.tags_in(dev.scheme))
        lines.append(f"temperature fitted on {args.fit_on}: {temperature:g} (dev ECE {dev_ece:.4f})\n")
        predictor.temperature = temperature
        _, found, _ = scored(predictor, args.data)
        lines += report(found, gold_total, args.bins, f"temperature {temperature:g} (fitted on dev)")
        if args.save_temperature:
            checkpoint = read_checkpoint(args.model)
            checkpoint["config"]["temperature"] = temperature
            write_atomically(Path(args.model), checkpoint)
            lines.append(f"temperature {temperature:g} saved in {args.model}\n")
    lines += [
        f"Tagging throughput at temperature {predictor.temperature:g}, network and decoding "
        "(prepared windows; reading and writing not included)",
        *throughput(predictor, prepared, tokens, args.repeat, args.nbest),
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

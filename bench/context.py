"""Document context benchmark: test and dev F1 and tagging speed of models with and without document context.

    python bench/context.py --models models/conll-glove.pt ctx1.pt [--threads 1] [--rounds 5]
                            [--data ../shared/data/conll2003]

Each model tags the development and test files through ``tagging.Predictor`` with the files'
documents (-DOCSTART-), as ``tagger evaluate`` does, and is scored with ``evaluation.score`` in the
file's own scheme (conlleval-compatible). Tokens per second: tagging the test file's token lists
(lookups, tensors, network, decoding; no reading or writing), the fastest of ``--rounds`` rounds that
each time every model once (so all share the same minutes of a busy machine), on ``--threads``
threads; the cost is the first model's tokens/s over each one's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True, help="model files; the first is the baseline")
    parser.add_argument(
        "--data", default=str(ROOT.parent / "shared" / "data" / "conll2003"), help="folder with valid.txt and test.txt"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()

    from tagger.data.corpus import load_tagged
    from tagger.data.schemes import convert
    from tagger.tagging.model import open_model, thread_count
    from tagger.tagging.predictor import Predictor
    from tagger.training.evaluation import score

    threads = thread_count(opts.threads)
    files = {"dev": load_tagged(Path(opts.data) / "valid.txt"), "test": load_tagged(Path(opts.data) / "test.txt")}
    predictors = [Predictor(open_model(p, threads=threads), opts.batch_size) for p in opts.models]
    rows = []
    for path, predictor in zip(opts.models, predictors):
        row = {"model": path, "context": predictor.model.config["context"]}
        for name, data in files.items():
            predicted = predictor.predict([s.tokens for s in data.sentences], [s.doc for s in data.sentences])
            row[name] = 100 * score(data.tags_in(data.scheme), [convert(p, data.scheme) for p in predicted])["f1"]
        rows.append(row)
    test = files["test"]
    tokens, docs = [s.tokens for s in test.sentences], [s.doc for s in test.sentences]
    best = [float("inf")] * len(predictors)
    for _ in range(opts.rounds):
        for i, predictor in enumerate(predictors):
            start = time.perf_counter()
            predictor.predict(tokens, docs)
            best[i] = min(best[i], time.perf_counter() - start)
    print(f"{threads} thread(s); tokens/s: tagging the test file's {test.tokens} tokens with its documents")
    print(f"(lookups, tensors, network, decoding), the fastest of {opts.rounds} rounds; cost: the first model's")
    print("tokens/s over this row's.\n")
    print(f"{'model':<40} {'context':<9} {'dev F1':>7} {'test F1':>7} {'tokens/s':>10} {'cost':>6}")
    for row, seconds in zip(rows, best):
        scores = f"{row['dev']:>7.2f} {row['test']:>7.2f}"
        speed = f"{test.tokens / seconds:>10,.0f} {seconds / best[0]:>5.2f}x"
        print(f"{row['model']:<40} {row['context']:<9} {scores} {speed}")


if __name__ == "__main__":
    main()

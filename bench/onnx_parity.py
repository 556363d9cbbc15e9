"""Parity of the exported model with the torch one: the same file tagged both ways, compared token by token.

    python bench/onnx_parity.py MODEL [MODEL ...] --data FILE [--input conll] [--nbest 3] [--threads 1]
                                [--out parity.json]

Each MODEL is a model file (or a shipped model's name); ``a.pt+b.pt`` is an ensemble, exported as one graph. For
each, the script exports it (``tagger export``, into a temporary folder), then tags ``--data`` with the .pt
model(s) and with the .onnx file, each through ``tagger tag --scores tokens --nbest N --format jsonl`` in a
process of its own (the exported one never imports torch), and prints: the share of tokens tagged identically,
of sentences tagged identically and of sentences with identical n-best paths; the largest difference between
entity scores (matched by type and span), token scores, sequence probabilities and n-best probabilities; and
each run's wall time. Writes nothing into the repository; ``--out`` writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "cli.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="model files; a.pt+b.pt: an ensemble")
    parser.add_argument("--data", required=True, help="the file to tag (CoNLL-2003 test, say)")
    parser.add_argument("--input", default="conll", help="tag's --input (conll reads the file's documents)")
    parser.add_argument("--nbest", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="write the figures here as JSON")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="onnx_parity_") as scratch:
        for spec in args.models:
            members = spec.split("+")
            onnx = Path(scratch) / "model.onnx"
            run_tagger(["export", *members, "-o", str(onnx)], args.threads)
            tag = ["--input", args.input, "--scores", "tokens", "--nbest", str(args.nbest), "--format", "jsonl"]
            tag += ["--batch-size", str(args.batch_size), args.data]
            torch_out, torch_s = timed(["tag", *[a for m in members for a in ("-m", m)], *tag], args.threads)
            onnx_out, onnx_s = timed(["tag", "-m", str(onnx), *tag], args.threads)
            found = compare(records(torch_out), records(onnx_out))
            found.update({"model": spec, "data": args.data, "torch_s": round(torch_s, 2), "onnx_s": round(onnx_s, 2)})
            found["onnx_mb"] = round(onnx.stat().st_size / 1e6, 1)
            show(found)
            results.append(found)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


def run_tagger(argv: list[str], threads: int) -> str:
    """``tagger ARGV`` in a process of its own; its stdout (a failure ends the script with its stderr)."""
    env = {**os.environ, "TAGGER_THREADS": str(threads)}
    done = subprocess.run([sys.executable, str(CLI), *argv], capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"tagger {' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def timed(argv: list[str], threads: int) -> tuple[str, float]:
    start = time.perf_counter()
    out = run_tagger(argv, threads)
    return out, time.perf_counter() - start


def records(jsonl: str) -> list[dict]:
    return [json.loads(line) for line in jsonl.splitlines() if line.strip()]


def compare(want: list[dict], got: list[dict]) -> dict:
    """The figures of the exported model's records ``got`` against the torch model's ``want``."""
    if len(want) != len(got) or any(w["tokens"] != g["tokens"] for w, g in zip(want, got)):
        sys.exit("the two runs tagged different sentences")
    tokens = sum(len(w["tags"]) for w in want)
    same_tokens = sum(a == b for w, g in zip(want, got) for a, b in zip(w["tags"], g["tags"]))
    same_sentences = sum(w["tags"] == g["tags"] for w, g in zip(want, got))
    same_nbest = sum(paths(w) == paths(g) for w, g in zip(want, got))
    entity, token, sequence, nbest = [0.0], [0.0], [0.0], [0.0]
    for w, g in zip(want, got):
        theirs = {(e["type"], e["start"], e["end"]): e["score"] for e in w.get("entities", [])}
        for e in g.get("entities", []):
            if (e["type"], e["start"], e["end"]) in theirs:
                entity.append(abs(e["score"] - theirs[(e["type"], e["start"], e["end"])]))
        if w["tags"] == g["tags"]:
            token += [abs(a - b) for a, b in zip(w["token_scores"], g["token_scores"])]
            sequence.append(abs(w["probability"] - g["probability"]))
        if paths(w) == paths(g):
            nbest += [abs(a["probability"] - b["probability"]) for a, b in zip(w["nbest"], g["nbest"])]
    return {
        "sentences": len(want),
        "tokens": tokens,
        "entities": sum(len(w.get("entities", [])) for w in want),
        "identical_tags_pct": 100.0 * same_tokens / max(tokens, 1),
        "identical_sentences_pct": 100.0 * same_sentences / max(len(want), 1),
        "identical_nbest_pct": 100.0 * same_nbest / max(len(want), 1),
        "max_entity_score_diff": max(entity),
        "max_token_score_diff": max(token),
        "max_probability_diff": max(sequence),
        "max_nbest_probability_diff": max(nbest),
    }


def paths(record: dict) -> list[list[str]]:
    return [n["tags"] for n in record.get("nbest", [])]


def show(found: dict) -> None:
    print(f"{found['model']} on {found['data']}: {found['sentences']} sentences, {found['tokens']} tokens, "
          f"{found['entities']} entities; export {found['onnx_mb']} MB")  # fmt: skip
    print(f"  identical tags: {found['identical_tags_pct']:.4f}% of tokens, {found['identical_sentences_pct']:.4f}% of "
          f"sentences; identical n-best paths: {found['identical_nbest_pct']:.4f}% of sentences")  # fmt: skip
    print(f"  max difference: entity score {found['max_entity_score_diff']:.2e}, token score "
          f"{found['max_token_score_diff']:.2e}, sequence probability {found['max_probability_diff']:.2e}, n-best "
          f"probability {found['max_nbest_probability_diff']:.2e}")  # fmt: skip
    print(f"  wall time tagging (process start to end): torch {found['torch_s']:.2f} s, onnx {found['onnx_s']:.2f} s")


if __name__ == "__main__":
    main()

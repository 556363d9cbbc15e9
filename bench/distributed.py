"""Data-parallel training on gloo: the hand-written gradient averaging that training used before (kept here,
``hand_step``) against DistributedDataParallel (``training.distributed.DataParallel``, what training uses), on the
same data, seed and steps.

    python bench/distributed.py [--repeat 3] [--epochs 1] [--data data/]

Each run is ``torchrun --nproc-per-node 2`` on this machine's CPUs (one thread a rank), training on the bundled
data with the default recipe; the two paths alternate run by run (which goes first too) and the figures are
medians. Rank 0 reports the seconds of an epoch's optimizer steps (no dev scoring), steps per second, its summed
loss and the weights after the last epoch; the parent prints the largest difference between the two paths'
weights. Nothing here is a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_once(mode: str, data: Path, epochs: int, out: Path) -> dict:
    """One ``torchrun --nproc-per-node 2`` run of ``mode``; rank 0's figures."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
        __file__, "--worker", mode, "--data", str(data), "--epochs", str(epochs), "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TAGGER_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker(mode: str, data: Path, epochs: int, out: Path) -> None:
    import torch

    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.nn.device import configure_torch
    from tagger.training.data import load_data
    from tagger.training.distributed import session
    from tagger.training.run import Run
    from tagger.training.trainer import build_trainer, shuffled_batches

    config = TrainConfig(threads=1, epochs=epochs)
    configure_torch(1)
    torch.manual_seed(config.seed)
    with session("cpu") as rank:
        run = Run(out / "m.pt", lambda message: None, rank=rank)
        loaded = load_data(data / "train.txt", data / "dev.txt", None, -1, None, config, run)
        trainer = build_trainer(loaded, ModelConfig(), config, run)
        step = hand_step(trainer) if mode == "hand" else trainer.step
        sentences = [s.tokens for s in loaded.train.sentences]
        trainer.model.train()
        steps, none, seconds, loss = 0, 0, [], 0.0
        for _ in range(epochs):
            started = time.perf_counter()
            for batch, total in shuffled_batches(trainer, sentences):
                loss += step(batch, total) * (len(batch.lengths) if batch is not None else 0)
                steps, none = steps + 1, none + (batch is None)
            seconds.append(time.perf_counter() - started)
        if rank.is_main:
            torch.save(trainer.model.state_dict(), out / f"{mode}.pt")
            figures = {"mode": mode, "seconds_per_epoch": statistics.median(seconds), "steps": steps}
            figures.update(steps_per_second=steps / sum(seconds), rank0_batches_without_share=none, loss=loss)
            figures.update(document_context=bool(trainer.maker.context))
            print(json.dumps(figures), flush=True)


def hand_step(trainer):
    """``Trainer.step`` as it was with the hand-written averaging: a backward of this rank's mean loss, then one
    all-reduce per dense parameter after it, weighted by the share's size, and the sparse word table merged
    on the union of the rows (as ``DataParallel`` still does)."""
    import torch
    import torch.distributed as dist

    from tagger.data.vocabulary import UNK
    from tagger.training.distributed import _empty_sparse, _sum_sparse
    from tagger.training.trainer import clip_gradients

    def average_gradients(model, local, total):
        weight = local / total
        for param in model.parameters():
            grad = param.grad
            if grad is not None and grad.is_sparse:
                param.grad = _sum_sparse(grad.coalesce() * weight)
            elif grad is None and param is model.word_embed.weight:
                param.grad = _sum_sparse(_empty_sparse(param))
            else:
                dense = grad * weight if grad is not None else torch.zeros_like(param)
                dist.all_reduce(dense)
                param.grad = dense

    def step(batch, total):
        config, model = trainer.config, trainer.model
        trainer.optimizer.zero_grad()
        loss = torch.zeros(())
        if batch is not None:
            if config.word_dropout > 0:
                chance = torch.rand(batch.words.shape, device=batch.words.device)  # shape: (batch, time)
                replace_ = trainer.singleton[batch.words] & (chance < config.word_dropout)  # shape: (batch, time)
                batch.words = batch.words.masked_fill(replace_, UNK)
            loss = model.loss(batch)
            loss.backward()
        average_gradients(model, len(batch.lengths) if batch is not None else 0, total)
        if config.clip > 0:
            clip_gradients(model.parameters(), config.clip)
        trainer.optimizer.step()
        return loss.item()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--modes", default="hand,ddp")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.data, args.epochs, args.out)
    import torch

    modes = args.modes.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {mode: [] for mode in modes}
        for i in range(args.repeat):
            for mode in modes if i % 2 == 0 else modes[::-1]:  # interleaved, alternating which goes first
                runs[mode].append(run_once(mode, args.data, args.epochs, Path(tmp)))
                print(json.dumps(runs[mode][-1]), file=sys.stderr)
            weights = {mode: torch.load(Path(tmp) / f"{mode}.pt") for mode in modes}
        for mode in modes:
            seconds = statistics.median(r["seconds_per_epoch"] for r in runs[mode])
            rate = statistics.median(r["steps_per_second"] for r in runs[mode])
            print(f"{mode:5} {seconds:7.2f} s per epoch  {rate:6.2f} steps/s  loss {runs[mode][0]['loss']:.4f}")
        for other in modes[1:]:
            a, b = weights[modes[0]], weights[other]
            diff = max(float((a[k] - b[k]).abs().max()) for k in a if a[k].numel())
            print(f"largest weight difference, {modes[0]} and {other}, after {args.epochs} epoch(s): {diff:.3g}")


if __name__ == "__main__":
    main()

"""Data-parallel training with PyTorch's own engine (``torchrun --nproc-per-node N ... train ...``).

Every process (rank) builds the same model from the same seed and walks the
same shuffled global batches; each takes its share of a batch's sentences
(``share``), runs forward and backward on it, and the gradients are summed
over the ranks, each weighted by its share's size (``average_gradients``), so
one step equals a single process's step on the whole global batch. The word
embeddings' gradients are sparse (``trainer.Optimizers`` steps them with
SparseAdam): they are merged on the union of the rows the ranks touched, so
SparseAdam sees the rows a single process would. Only rank 0 writes files and
prints (``Rank.is_main``). Without torchrun's environment this is one process
and every function here is a no-op.

Gloo carries the gradients between CPU processes, NCCL between GPUs (one per
rank, ``cuda:LOCAL_RANK``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from tagger.errors import TaggerError

__all__ = ["Rank", "average_gradients", "from_env", "session", "share"]


@dataclass(frozen=True)
class Rank:
    rank: int = 0  # this process among all (RANK)
    world_size: int = 1  # processes in all (WORLD_SIZE)
    local_rank: int = 0  # this process among those on its machine (LOCAL_RANK): its GPU

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the model and prints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def device(self, device: str) -> str:
        """This rank's device: ``cuda`` becomes ``cuda:LOCAL_RANK`` (one GPU per rank)."""
        return f"cuda:{self.local_rank}" if self.distributed and device == "cuda" else device


def from_env(environ: dict | None = None) -> Rank:
    """The rank that torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) gives; one process without it."""
    environ = os.environ if environ is None else environ
    values = {}
    for name, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)):
        raw = environ.get(name, str(default))
        if not raw.isdigit():
            raise TaggerError(f"${name} must be a whole number (torchrun sets it), got {raw!r}")
        values[name] = int(raw)
    if not 0 <= values["RANK"] < max(values["WORLD_SIZE"], 1):
        raise TaggerError(f"$RANK {values['RANK']} is not below $WORLD_SIZE {values['WORLD_SIZE']}")
    return Rank(values["RANK"], max(values["WORLD_SIZE"], 1), values["LOCAL_RANK"])


@contextmanager
def session(device: str = "cpu", environ: dict | None = None) -> Iterator[Rank]:
    """Join the process group torchrun set up (gloo on a CPU, NCCL on GPUs) for the block, and leave it after.

    One process (no torchrun) joins nothing. The model must then be built the same on every
    rank (the same seed); ``broadcast_parameters`` makes sure of it.
    """
    rank = from_env(environ)
    if not rank.distributed or dist.is_initialized():
        yield rank
        return
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(rank.local_rank)
    dist.init_process_group(backend, rank=rank.rank, world_size=rank.world_size)
    try:
        yield rank
    finally:
        dist.destroy_process_group()


def share(ids: Sequence[int], rank: Rank) -> list[int]:
    """This rank's sentences of a global batch: every ``world_size``-th, from its rank on.

    The batches are sorted by length, so striding gives every rank sentences of all
    lengths (little padding each); a rank may get none of a batch smaller than the world.
    """
    return list(ids[rank.rank :: rank.world_size])


def broadcast_parameters(model: nn.Module, rank: Rank) -> None:
    """Rank 0's weights (and buffers) on every rank."""
    if not rank.distributed:
        return
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            dist.broadcast(tensor.data, src=0)


def average_gradients(model: nn.Module, local: int, total: int, rank: Rank) -> None:
    """Make each parameter's gradient the gradient of the mean loss over the global batch.

    Each rank's loss is the mean over its ``local`` sentences of the ``total``; its gradients
    are weighted by ``local / total`` and summed over the ranks. A rank with no sentences
    (no backward) takes part with zero gradients. Call it after ``backward`` and before
    clipping and the optimizer step.
    """
    if not rank.distributed:
        return
    if total <= 0:
        raise ValueError(f"a global batch of {total} sentences")
    weight = local / total
    for param in model.parameters():
        if not param.requires_grad:
            continue
        grad = param.grad
        if grad is not None and grad.is_sparse:
            param.grad = _sum_sparse(grad.coalesce() * weight)
        elif grad is None and _sparse_param(model, param):  # a dense gradient is never an embedding's here
            param.grad = _sum_sparse(_empty_sparse(param))  # this rank touched no row
        else:
            dense = grad * weight if grad is not None else torch.zeros_like(param)
            dist.all_reduce(dense)
            param.grad = dense


def _sparse_param(model: nn.Module, param: nn.Parameter) -> bool:
    """A parameter whose gradient is sparse on the ranks that ran backward (an ``Embedding(sparse=True)``)."""
    return any(isinstance(m, nn.Embedding) and m.sparse and m.weight is param for m in model.modules())


def _empty_sparse(param: torch.Tensor) -> torch.Tensor:
    indices = torch.zeros(1, 0, dtype=torch.long, device=param.device)  # shape: (1, 0)
    values = torch.zeros(0, *param.shape[1:], dtype=param.dtype, device=param.device)  # shape: (0, dim)
    return torch.sparse_coo_tensor(indices, values, param.shape).coalesce()


def _sum_sparse(grad: torch.Tensor) -> torch.Tensor:
    """The sum over the ranks of a coalesced sparse row gradient, on the union of their rows."""
    rows, values = grad.indices()[0], grad.values()  # shapes: (nnz,), (nnz, dim)
    sizes = [torch.zeros(1, dtype=torch.long, device=rows.device) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor([rows.numel()], device=rows.device))
    longest = int(max(s.item() for s in sizes))
    padded = torch.full((longest,), -1, dtype=torch.long, device=rows.device)  # shape: (longest,)
    padded[: rows.numel()] = rows
    gathered = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(gathered, padded)
    union = torch.cat(gathered)
    union = torch.unique(union[union >= 0])  # shape: (rows,) sorted, as coalescing leaves them
    merged = torch.zeros(union.numel(), *values.shape[1:], dtype=values.dtype, device=values.device)
    merged.index_add_(0, torch.searchsorted(union, rows), values)  # shape: (rows, dim)
    dist.all_reduce(merged)
    return torch.sparse_coo_tensor(union.unsqueeze(0), merged, grad.shape).coalesce()


def reduce_sum(value: float, rank: Rank) -> float:
    """A number summed over the ranks (a loss total, a sentence count) for rank 0 to report."""
    if not rank.distributed:
        return value
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL carries GPU tensors only
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor.item())

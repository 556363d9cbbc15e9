"""Data-parallel training with PyTorch's own engine (``torchrun --nproc-per-node N ... train ...``).

Every rank builds the same model from the same seed, walks the same shuffled global batches and takes its
share of each (``share``); ``DataParallel`` weighs the gradients so that one step equals a single process's
step on the whole batch. Only rank 0 writes files and prints. Without torchrun's environment this is one
process and every function here is a no-op. Gloo carries the gradients between CPUs, NCCL between GPUs.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from tagger.errors import TaggerError
from tagger.nn.tensors import Batch

__all__ = ["DataParallel", "Rank", "from_env", "session", "share"]


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

    One process (no torchrun) joins nothing. ``broadcast_parameters`` makes the model the same on every rank.
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
    """This rank's sentences of a global batch: every ``world_size``-th, from its rank on (all lengths, little
    padding); a rank may get none of a batch smaller than the world."""
    return list(ids[rank.rank :: rank.world_size])


def broadcast_parameters(model: nn.Module, rank: Rank) -> None:
    """Rank 0's weights (and buffers) on every rank."""
    if not rank.distributed:
        return
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            dist.broadcast(tensor.data, src=0)


class DataParallel:
    """The loss and backward of each optimizer step: in one process, the model's own; under torchrun,
    ``DistributedDataParallel``'s, which all-reduces the dense gradients in buckets while backward still runs.

    Each rank's mean loss over its ``local`` sentences of a global batch of ``total`` is scaled by
    ``world_size * local / total`` before backward, so DDP's mean over the ranks is the global batch's gradient.
    A rank with no share runs a stand-in batch with its loss times 0, to take part in the all-reduce and get the
    summed gradients (``DDP.join()`` leaves a joined rank without them, yet it steps). The word table's sparse
    gradient is left out of DDP (NCCL has no sparse all-reduce); ``_sum_sparse`` merges it on the union of the
    rows the ranks touched, so SparseAdam sees the rows one process would.
    """

    def __init__(self, model: nn.Module, rank: Rank):
        self.model, self.rank = model, rank
        self.sparse = [p for p in model.parameters() if p.requires_grad and _sparse_param(model, p)]
        self.ddp: DistributedDataParallel | None = None
        if rank.distributed:
            wrapper = _Loss(model)
            ignored = [f"model.{name}" for name, p in model.named_parameters() if any(p is q for q in self.sparse)]
            DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(wrapper, ignored)
            self.ddp = DistributedDataParallel(wrapper, **_NO_BUFFER_SYNC)

    def backward(self, batch: Batch | None, local: int, total: int, stand_in: Batch | None = None) -> torch.Tensor:
        """The mean loss of ``batch`` (this rank's ``local`` sentences of a global batch of ``total``; None: no
        share, and ``stand_in`` runs in its place), with the gradient of the global batch's mean loss left on
        each parameter."""
        if self.ddp is None:
            loss = self.model.loss(batch)
            loss.backward()
            return loss
        if total <= 0:
            raise ValueError(f"a global batch of {total} sentences")
        if batch is None:
            (self.ddp(stand_in) * 0.0).backward()  # zero gradients, all-reduced like the others'
            loss = torch.zeros(())
        else:
            loss = self.ddp(batch)
            (loss * (self.rank.world_size * local / total)).backward()
        for param in self.sparse:  # DDP left it out: the mean over the ranks, on the union of their rows
            grad = param.grad.coalesce() if batch is not None and param.grad is not None else _empty_sparse(param)
            param.grad = _sum_sparse(grad / self.rank.world_size)
        return loss


# The model's buffers never change in training: no broadcast of them before each forward (the keyword was
# renamed in torch 2.13, and the old one warns there).
_NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


class _Loss(nn.Module):
    """The model with its loss as ``forward``: DDP prepares its all-reduce in the forward of what it wraps."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.model.loss(batch)


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

"""Process-wide torch settings: how many threads to use."""

from __future__ import annotations

import os

import torch

DEFAULT_THREADS = 1


def configure_torch(threads: int = 0) -> int:
    """Set torch's intra-op thread count and return it.

    0 means ``$TAGGER_THREADS`` if set, else ``DEFAULT_THREADS``: on small
    CPU machines the network's matrices are too small for more threads to
    pay, and idle OpenMP threads spin against other processes.
    """
    if threads <= 0:
        env = os.environ.get("TAGGER_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else DEFAULT_THREADS
    threads = max(1, min(threads, os.cpu_count() or 1))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads

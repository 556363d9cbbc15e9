"""Process-wide torch settings: which device to run on, how many threads to use (the count is chosen by
``tagging.model.thread_count``, which reads ``$TAGGER_THREADS``)."""

from __future__ import annotations

import torch

DEVICE_TYPES = ("cpu", "cuda")  # the devices the tagger is built and tested for


def check_device(device: str, name: str = "device") -> str:
    """``device`` if the tagger can run on it here, else ValueError naming ``name`` and the value.

    Checked before any work, so a typo or a missing GPU is a usage error, not a
    failure halfway through loading a model.
    """
    usable = "cpu, cuda or cuda:N"
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"{name} must be {usable}; {device!r} is not a torch device") from None
    if parsed.type not in DEVICE_TYPES:
        raise ValueError(f"{name} must be {usable}; {device!r} is a torch device the tagger does not run on")
    if parsed.type == "cuda":
        found = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if found == 0:
            raise ValueError(f"{name} must be cpu here; {device!r} needs a CUDA device and none is available")
        if parsed.index is not None and parsed.index >= found:
            raise ValueError(
                f"{name} must be cuda:0 to cuda:{found - 1} here; there is no CUDA device {parsed.index} "
                f"({found} found), got {device!r}"
            )
    return device


def configure_torch(threads: int) -> int:
    """Set torch's intra-op thread count to ``threads`` (a count, as ``tagging.model.thread_count`` chooses it)
    and return it."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads

"""Which device the tagger runs on, and how many threads torch uses."""

from __future__ import annotations

import pytest
import torch

from tagger.nn.runtime import check_device, configure_torch


@pytest.mark.parametrize("device", ["cpu", "cpu:0"])
def test_cpu_is_always_usable(device):
    assert check_device(device) == device


@pytest.mark.parametrize(
    ("device", "reason"),
    [
        ("foo", "'foo' is not a torch device"),
        ("", "'' is not a torch device"),
        ("cuda:x", "'cuda:x' is not a torch device"),
        ("mps", "'mps' is a torch device the tagger does not run on"),
        ("xpu", "'xpu' is a torch device the tagger does not run on"),
        ("meta", "'meta' is a torch device the tagger does not run on"),
    ],
)
def test_devices_the_tagger_cannot_run_on(device, reason):
    with pytest.raises(ValueError) as info:
        check_device(device, "--device")
    assert str(info.value) == f"--device must be cpu, cuda or cuda:N; {reason}"


def test_cuda_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match=rf"device must be cpu here; '{device}' needs a CUDA device"):
            check_device(device)


def test_cuda_with_two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert [check_device(d) for d in ("cuda", "cuda:0", "cuda:1")] == ["cuda", "cuda:0", "cuda:1"]
    with pytest.raises(ValueError) as info:
        check_device("cuda:2")
    assert str(info.value) == "device must be cuda:0 to cuda:1 here; there is no CUDA device 2 (2 found), got 'cuda:2'"


def test_configure_torch_reads_the_environment_and_caps_at_the_cores(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("TAGGER_THREADS", "1")
        assert configure_torch(0) == 1 == torch.get_num_threads()
        monkeypatch.setenv("TAGGER_THREADS", "many")
        assert configure_torch(0) == 1
        assert configure_torch(10_000) == __import__("os").cpu_count()
    finally:
        torch.set_num_threads(before)

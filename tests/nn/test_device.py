"""Which device the tagger runs on, and how many threads torch uses."""

from __future__ import annotations

import pytest
import torch

from tagger.nn.device import check_device, configure_torch


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


def test_configure_torch_sets_the_count_it_is_given():
    before = torch.get_num_threads()
    try:
        assert configure_torch(1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)

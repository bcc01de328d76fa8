"""Which device each process takes and how the processes talk, on every kind of machine:
the tests stand in for the accelerator torch would find."""

import pytest
import torch

from demo import device
from demo.device import DeviceError


def test_an_explicit_device_wins():
    assert device.get_device("cpu") == torch.device("cpu")


def test_the_default_device_runs_a_computation():
    assert (torch.ones(2, device=device.get_device()) * 2).sum().item() == 4


@pytest.fixture
def machine(monkeypatch):
    """A machine with `count` accelerators of a type (None: no accelerator)."""

    def stand_in(device_type, count=1, xccl=True):
        found = torch.device(device_type) if device_type else None
        monkeypatch.setattr(device, "accelerator", lambda: found)
        monkeypatch.setattr(device, "device_count", lambda kind: count)
        monkeypatch.setattr(device.dist, "is_xccl_available", lambda: xccl, raising=False)

    return stand_in


@pytest.mark.parametrize(
    ("device_type", "expected", "backend"),
    [
        ("cuda", "cuda:1", "nccl"),  # ROCm builds answer as cuda too: RCCL under NCCL's name
        ("xpu", "xpu:1", "xccl"),
        ("mps", "cpu", "gloo"),  # MPS takes one process: several share the CPU
        (None, "cpu", "gloo"),
    ],
)
def test_each_process_takes_its_own_device(machine, device_type, expected, backend):
    machine(device_type, count=2)
    taken = device.process_device(local_rank=1, world_size=2)
    assert taken == torch.device(expected)
    assert device.process_group_backend(taken) == backend


def test_one_process_trains_on_mps(machine):
    machine("mps")
    assert device.process_device(local_rank=0, world_size=1) == torch.device("mps")


def test_a_process_without_a_gpu_of_its_own_is_told_how_many_to_start(machine):
    machine("cuda", count=2)
    with pytest.raises(DeviceError, match=r"this machine has 2; .*--nproc-per-node 2"):
        device.process_device(local_rank=2, world_size=4)


def test_several_processes_on_mps_by_request_are_refused(machine):
    machine("mps")
    with pytest.raises(DeviceError, match="MPS runs one process.*--device cpu"):
        device.process_device(local_rank=0, world_size=2, prefer="mps")


def test_the_cpu_by_request_under_torchrun(machine):
    machine("cuda", count=2)
    assert device.process_device(local_rank=1, world_size=2, prefer="cpu") == torch.device("cpu")


def test_xpu_without_xccl_says_what_to_do(machine):
    machine("xpu", count=2, xccl=False)
    with pytest.raises(DeviceError, match="no XCCL backend.*--device cpu"):
        device.process_group_backend(device.process_device(local_rank=0, world_size=2))


@pytest.mark.parametrize(
    ("device_type", "bf16", "dtype"),
    [
        ("cpu", "real", torch.bfloat16),
        ("xpu", "real", torch.bfloat16),
        ("cuda", "real", torch.bfloat16),  # Ampere and newer, ROCm
        ("cuda", "emulated", torch.float16),  # T4, V100: bfloat16 only emulated, slower
        ("cuda", "none", torch.float16),  # older NVIDIA GPUs
        ("mps", "none", torch.float16),
    ],
)
def test_mixed_precision_takes_bfloat16_where_the_device_computes_in_it(
    monkeypatch, device_type, bf16, dtype
):
    def is_bf16_supported(including_emulation=True):
        return bf16 == "real" or (bf16 == "emulated" and including_emulation)

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    assert device.amp_dtype(torch.device(device_type)) == dtype
    assert device.needs_grad_scaler(dtype) == (dtype == torch.float16)


def test_a_device_this_torch_lacks_is_not_available():
    assert device.available("cpu")
    assert device.available("cuda") == torch.cuda.is_available()

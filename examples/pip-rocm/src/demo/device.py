"""Pick the device to run on: the accelerator torch finds (CUDA, ROCm, MPS, XPU), else CPU;
under torchrun, each process's own device and how the processes talk (NCCL, XCCL, gloo)."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import torch
import torch.distributed as dist


class DeviceError(ValueError):
    """A process has no device to run on; the message says how to start it instead."""


def accelerator() -> torch.device | None:
    """The accelerator of this machine, or None."""
    if torch.accelerator.is_available():
        return torch.accelerator.current_accelerator()
    return None


def device_count(device_type: str) -> int:
    """How many devices of this type (cuda, xpu) this machine has."""
    return getattr(torch, device_type).device_count()


def available(device_type: str) -> bool:
    """Whether this torch runs on `device_type` here (cpu, cuda, mps, xpu)."""
    if device_type == "cpu":
        return True
    if device_type == "mps":
        return torch.backends.mps.is_available()
    module = getattr(torch, device_type, None)
    return module is not None and module.is_available()


def get_device(prefer: str | None = None) -> torch.device:
    """`prefer` ("cpu", "cuda", "cuda:1", ...) wins; otherwise the accelerator, else CPU."""
    if prefer:
        return torch.device(prefer)
    return accelerator() or torch.device("cpu")


def process_device(local_rank: int, world_size: int, prefer: str | None = None) -> torch.device:
    """The device of the process with this LOCAL_RANK among `world_size` processes: its own
    GPU (cuda:LOCAL_RANK, xpu:LOCAL_RANK; ROCm answers as cuda), MPS when it is the only
    process (several processes share the CPU instead), else the CPU. `prefer` ("cpu", "cuda")
    picks the kind. Raises DeviceError when this process has no GPU of its own."""
    device = get_device(prefer)
    if device.type == "mps" and world_size > 1:
        if prefer:
            raise DeviceError(
                f"MPS runs one process, not {world_size}: train with `python -m "
                f"{__package__}.train`, or pass --device cpu to share the CPU"
            )
        return torch.device("cpu")
    if device.type in ("cpu", "mps") or device.index is not None:
        return device
    count = device_count(device.type)
    if local_rank >= count:
        raise DeviceError(
            f"LOCAL_RANK {local_rank} has no {device.type} device of its own: this machine has "
            f"{count}; start at most {count} processes per machine (--nproc-per-node {count})"
        )
    return torch.device(device.type, local_rank)


def process_group_backend(device: torch.device) -> str:
    """How processes on this kind of device talk: NCCL on CUDA (RCCL on ROCm, under the same
    name), XCCL on XPU, gloo on the CPU. Raises DeviceError for XPU where torch lacks XCCL."""
    if device.type == "cuda":
        return "nccl"
    if device.type == "xpu":
        if not getattr(dist, "is_xccl_available", lambda: False)():
            raise DeviceError(
                f"torch {torch.__version__} has no XCCL backend for several XPU processes "
                "(torch 2.8 and later have it): train in one process, or pass --device cpu"
            )
        return "xccl"
    return "gloo"


def use_device(device: torch.device) -> None:
    """Make `device` the current one of this process (NCCL and XCCL expect it)."""
    if device.type in ("cuda", "xpu"):
        torch.accelerator.set_device_index(device)


def amp_dtype(device: torch.device) -> torch.dtype:
    """The autocast type of `--amp`: bfloat16 where the device computes in it (CPU, XPU,
    CUDA from Ampere on, ROCm), else float16 (older CUDA GPUs, MPS), which needs a gradient
    scaler (see `needs_grad_scaler`)."""
    # Emulated bfloat16 (T4, V100) is slower than float16: ask for the real thing
    # (pytorch/pytorch#148322; the argument's default counts emulation).
    if device.type == "cuda" and not torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.bfloat16


def needs_grad_scaler(dtype: torch.dtype) -> bool:
    """float16 gradients underflow without loss scaling; bfloat16 has float32's range."""
    return dtype == torch.float16

"""Pick the device to run on: the accelerator torch finds (CUDA, ROCm, MPS, XPU), else CPU."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import torch


def accelerator() -> torch.device | None:
    """The accelerator of this machine, or None."""
    if torch.accelerator.is_available():
        return torch.accelerator.current_accelerator()
    return None


def get_device(prefer: str | None = None) -> torch.device:
    """`prefer` ("cpu", "cuda", "cuda:1", ...) wins; otherwise the accelerator, else CPU."""
    if prefer:
        return torch.device(prefer)
    return accelerator() or torch.device("cpu")

"""How a project starts training on its backend's devices: torchrun's process count, whether a
SLURM job asks for GPUs, and the `docker run` options that give a container the devices
(part of the render-time model)."""

from __future__ import annotations

from dataclasses import dataclass

from extensions.index_model import (
    Release,
)

# What `docker run` needs to give a container the GPUs of each family (CUDA: the NVIDIA
# Container Toolkit on the host; ROCm and XPU: the devices of the host's driver).
CONTAINER_DEVICES = {
    "cpu": "",
    "cuda": "--gpus all",
    "rocm": "--device /dev/kfd --device /dev/dri --group-add video",
    "xpu": "--device /dev/dri",
}


@dataclass(frozen=True)
class Launch:
    """How a project's README starts training on its backend's devices: torchrun's
    `--nproc-per-node` on one machine (`per_machine`) and on each of several (`per_node`),
    what those processes are (`processes`), whether a SLURM job asks for GPUs, and the
    `docker run` options that give a container the devices (`docker`, "" or ending in a
    space)."""

    per_machine: str
    per_node: str
    processes: str
    slurm_gpus: bool
    docker: str


def launch(family: str, the_release: Release) -> Launch:
    """The `Launch` of a backend `family` with this torch. torchrun's `--nproc-per-node gpu`
    counts CUDA and ROCm GPUs, `xpu` Intel GPUs where the release's torchrun takes it
    (`Release.torchrun_xpu`), else a number (torch.distributed.run); the collective library
    is torch's default for the device (`distributed.py` of the generated project)."""
    devices = CONTAINER_DEVICES[family]
    docker = f"{devices} " if devices else ""
    if family in ("cuda", "rocm"):
        every_gpu = "every GPU of this machine, one process each (NCCL, RCCL on ROCm)"
        return Launch("gpu", "gpu", every_gpu, True, docker)
    if family == "xpu" and the_release.torchrun_xpu:
        return Launch(
            "xpu", "xpu", "every XPU of this machine, one process each (XCCL)", False, docker
        )
    if family == "xpu":
        torch = the_release.torch
        two = f"two processes, one per XPU (XCCL; torch {torch}'s torchrun cannot count them)"
        return Launch("2", "2", two, False, docker)
    return Launch("2", "1", "two processes on this machine's CPU (gloo)", False, docker)

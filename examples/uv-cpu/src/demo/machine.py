"""Which PyTorch build a machine takes, from what its GPU tools say.

`probe()` asks the tools (`nvidia-smi`, `rocminfo` / `amd-smi`, `xpu-smi` / `sycl-ls`);
`choose_backend()` is a pure function of what they said and of what one torch release offers.
Standard library only, Python 3.9+: the template answers `torch_backend: auto` with it at copy
time, and a generated project's doctor carries this same file for its advice.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field

NVIDIA_SMI = ("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader")
AMD_TOOLS = (("rocminfo",), ("amd-smi", "list"))
INTEL_TOOLS = (("xpu-smi", "discovery"), ("sycl-ls",))


@dataclass(frozen=True)
class Machine:
    """What a machine's GPU tools said: the NVIDIA driver's version ("" without one), and the
    tool that found an AMD (ROCm) or an Intel GPU ("" without one)."""

    nvidia_driver: str = ""
    amd_tool: str = ""
    intel_tool: str = ""


@dataclass(frozen=True)
class Offer:
    """What one torch release offers a machine: its CUDA variants, oldest first, each with the
    oldest NVIDIA driver that runs it; the CUDA variant recommended for it; its families."""

    torch: str
    cuda_drivers: dict[str, str] = field(
        default_factory=dict
    )  # variant -> minimum driver ("580.65.06")
    recommended_cuda: str = ""
    families: tuple[str, ...] = ("cpu",)


@dataclass(frozen=True)
class Choice:
    """The backend for a machine (a CUDA variant such as `cu129`, else a family: `rocm`,
    `xpu`, `cpu`) and why, in a few words for the user."""

    backend: str
    reason: str


def driver_version(text: str) -> tuple[int, ...]:
    """`580.65.06` -> (580, 65, 6): NVIDIA driver versions are dotted integers (not Python
    package versions). Raises ValueError for anything else."""
    return tuple(int(part) for part in text.strip().split("."))


def nvidia_driver(output: str | None) -> str:
    """The driver version in `nvidia-smi --query-gpu=driver_version --format=csv,noheader`'s
    output (one line per GPU, the same driver), "" when it printed none."""
    for line in (output or "").splitlines():
        try:
            driver_version(line)
        except ValueError:
            continue
        return line.strip()
    return ""


def choose_backend(machine: Machine, offer: Offer) -> Choice:
    """The backend of `offer` for `machine`. An NVIDIA driver takes the recommended CUDA
    variant when it runs it, else the newest variant it runs (the drivers come from the
    template's matrix: NVIDIA's minimum driver per CUDA major version), else the CPU build;
    an AMD GPU takes `rocm`, an Intel GPU `xpu`, when the release has them; else `cpu`."""
    if machine.nvidia_driver:
        return _choose_cuda(machine.nvidia_driver, offer)
    for tool, family, kind in (
        (machine.amd_tool, "rocm", "AMD"),
        (machine.intel_tool, "xpu", "Intel"),
    ):
        if tool and family in offer.families:
            return Choice(family, f"{tool} found an {kind} GPU")
        if tool:
            return Choice(
                "cpu", f"{tool} found an {kind} GPU, but torch {offer.torch} has no {family} build"
            )
    return Choice("cpu", "no NVIDIA, AMD or Intel GPU found")


def _choose_cuda(driver: str, offer: Offer) -> Choice:
    """The CUDA variant of `offer` that NVIDIA driver `driver` runs (see `choose_backend`)."""
    torch = offer.torch
    runs = [
        variant
        for variant, minimum in offer.cuda_drivers.items()
        if driver_version(driver) >= driver_version(minimum)
    ]
    recommended = offer.recommended_cuda
    if recommended in runs:
        return Choice(recommended, f"NVIDIA driver {driver} runs {recommended}")
    if runs:
        needs = offer.cuda_drivers[recommended]
        return Choice(
            runs[-1],
            f"NVIDIA driver {driver}: {recommended} needs {needs} or newer, {runs[-1]} is "
            f"the newest CUDA build of torch {torch} it runs",
        )
    if offer.cuda_drivers:
        oldest, needs = next(iter(offer.cuda_drivers.items()))
        return Choice(
            "cpu",
            f"NVIDIA driver {driver} runs no CUDA build of torch {torch} ({oldest} needs "
            f"{needs} or newer): update the driver to use the GPU",
        )
    return Choice("cpu", f"NVIDIA driver {driver}, but torch {torch} has no CUDA build")


def probe() -> Machine:
    """What this machine's GPU tools say (a tool that is missing, fails or finds no GPU says
    nothing)."""
    return Machine(
        nvidia_driver=nvidia_driver(_output(NVIDIA_SMI)),
        amd_tool=_first_finding(AMD_TOOLS, ("gfx", "GPU")),
        intel_tool=_first_finding(INTEL_TOOLS, ("Device Name", "level_zero:gpu")),
    )


def _first_finding(commands: tuple[tuple[str, ...], ...], signs: tuple[str, ...]) -> str:
    """The name of the first command whose output shows a GPU (one of `signs`), else ""."""
    for command in commands:
        output = _output(command)
        if output and any(sign in output for sign in signs):
            return command[0]
    return ""


def _output(command: tuple[str, ...]) -> str | None:
    """A tool's standard output, None when it is not on PATH, fails or hangs."""
    if shutil.which(command[0]) is None:
        return None
    try:
        result = subprocess.run(
            list(command), capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None

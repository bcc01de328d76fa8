"""Check that the installed torch is the build this project is configured for.

    python -m demo.doctor

Prints the torch build and the device it finds; exits 1, saying how to fix it, when the
installed build is not the configured one (e.g. a CUDA build on a CPU project).
"""

from __future__ import annotations  # `list[str]` annotations on Python 3.9

import platform
import sys

import torch

from demo.device import accelerator

CONFIGURED_VERSION = "2.14.1"
# The builds this project installs on each platform (sys.platform, platform.machine()), one
# per backend: the configured one where its index has it, else the CPU build (README.md).
EXPECTED_BUILDS = {
    ("linux", "x86_64"): ("rocm7.2", "cpu"),
    ("linux", "aarch64"): ("cpu",),
    ("win32", "AMD64"): ("cpu",),
    ("darwin", "arm64"): ("cpu",),
}
REINSTALL = "pip install --force-reinstall --no-deps -r requirements.txt"
# The oldest NVIDIA driver (Linux) that runs each CUDA build of this project.
MINIMUM_DRIVERS = {}


def expected_builds(sys_platform: str = sys.platform, machine: str = "") -> tuple:
    """The builds this project installs on this platform; () where torch has no build."""
    return EXPECTED_BUILDS.get((sys_platform, machine or platform.machine()), ())


def installed_build() -> str:
    """The build of the imported torch: cu130, rocm7.1, xpu or cpu."""
    if torch.version.cuda:
        return "cu" + torch.version.cuda.replace(".", "")
    if torch.version.hip:
        return "rocm" + torch.version.hip
    if getattr(torch.version, "xpu", None) or torch.__version__.endswith("+xpu"):
        return "xpu"
    return "cpu"


def matches(installed: str, expected: str) -> bool:
    # HIP reports its full version (7.1.25424-...) where the index says rocm7.1.
    return installed == expected or (expected.startswith("rocm") and installed.startswith(expected))


def problems() -> list[str]:
    found = []
    version = torch.__version__.split("+")[0]
    if version != CONFIGURED_VERSION:
        found.append(f"torch {version} is installed, the project pins {CONFIGURED_VERSION}")
    expected = expected_builds()
    here = f"{sys.platform} {platform.machine()}"
    if not expected:
        found.append(f"torch {CONFIGURED_VERSION} has no build for {here}")
    elif not any(matches(installed_build(), build) for build in expected):
        found.append(
            f"torch is a {installed_build()} build, the project installs the "
            f"{' or '.join(expected)} build on {here}"
        )
    return found


def gpu_warning(device: torch.device | None) -> str:
    """Why a GPU build of torch runs on the CPU here, or "" (a driver older than the build's
    CUDA needs, or no GPU at all)."""
    build = installed_build()
    if build == "cpu" or device is not None:
        return ""
    warning = f"this {build} build of torch finds no usable GPU and runs on the CPU"
    if build in MINIMUM_DRIVERS:
        warning += (
            f"; CUDA {torch.version.cuda} needs an NVIDIA driver >= {MINIMUM_DRIVERS[build]} on "
            "Linux (nvidia-smi shows yours)"
        )
    return warning


def main() -> int:
    device = accelerator()
    print(f"torch      {torch.__version__} ({installed_build()} build)")
    print(f"CUDA       {torch.version.cuda or '-'}")
    print(f"HIP        {torch.version.hip or '-'}")
    print(f"XPU        {getattr(torch.version, 'xpu', None) or '-'}")
    print(f"python     {platform.python_version()} on {sys.platform} {platform.machine()}")
    print(f"device     {device if device else 'cpu (no accelerator found)'}")
    if device is not None and device.type == "cuda":
        print(f"GPU        {torch.cuda.get_device_name(device)}")
    print(f"configured {CONFIGURED_VERSION} ({' or '.join(expected_builds()) or 'no'} build)")
    found = problems()
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if found:
        print(f"Reinstall the configured build: {REINSTALL}", file=sys.stderr)
        return 1
    if warning := gpu_warning(device):
        print(f"warning: {warning}", file=sys.stderr)
        print("the installed torch is the configured build, but no GPU is used")
        return 0
    print("ok: the installed torch is the configured build")
    return 0


if __name__ == "__main__":
    sys.exit(main())

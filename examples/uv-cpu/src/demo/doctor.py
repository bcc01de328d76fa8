"""Check that the installed torch is the configured build and runs on this machine's GPU.

    python -m demo.doctor

Prints the torch build, the device it finds and the build this machine would take; exits 1,
saying how to fix it, when torch is missing, is not the configured build (e.g. a CUDA build on
a CPU project), or has no kernels for a GPU it sees (e.g. a CUDA 13 build on a Pascal GPU).
"""

from __future__ import annotations  # `list[str]` annotations on Python 3.9

import platform
import sys

from demo import machine

try:
    import torch

    from demo.device import accelerator
except ModuleNotFoundError as missing:  # e.g. a sync without the extra that installs torch
    if missing.name != "torch":
        raise
    torch = None  # type: ignore[assignment]

CONFIGURED_VERSION = "2.15.0"
# The builds this project installs on each platform (sys.platform, platform.machine()), one
# per backend: the configured one where its index has it, else the CPU build (README.md).
EXPECTED_BUILDS = {
    ("linux", "x86_64"): ("cpu",),
    ("linux", "aarch64"): ("cpu",),
    ("win32", "AMD64"): ("cpu",),
    ("darwin", "arm64"): ("cpu",),
}
# The command that installs torch with each backend of the project (README.md).
INSTALL = {
    "cpu": "uv sync",
}
REINSTALL = "uv sync --reinstall-package torch"
# The oldest NVIDIA driver (Linux) that runs each CUDA build of this project.
MINIMUM_DRIVERS: dict[str, str] = {}
# What torch 2.15.0 offers a machine: the doctor's advice, as `torch_backend: auto` decides.
OFFER = machine.Offer(
    torch="2.15.0",
    cuda_drivers={
        "cu130": "580.65.06",
        "cu132": "580.65.06",
    },
    recommended_cuda="cu130",
    families=("cpu", "cuda"),
)
# Oldest GPU (compute capability) -> the answers of a CUDA build that runs it (the template's
# matrix: CUDA 13 builds start at 7.5, Turing; Maxwell, Pascal and Volta need CUDA 12).
GPU_FIXES = {
    "3.7": "-d torch_version=2.7.1 -d torch_backend=cu118",
    "5.0": "-d torch_version=2.14.1 -d torch_backend=cu126",
    "7.5": "-d torch_backend=cu132",
}
UPDATE = "copier update --trust --defaults"
AFTER_UPDATE = " && ".join(
    (
        "uv lock",
        "uv sync",
    )
)


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
    """Whether the installed build is the expected variant. HIP reports its own version
    (7.1.25424-...) where the index says rocm7.1 or rocm6.2.4: ROCm builds match on
    major.minor (rocm7.14 is not rocm7.1)."""
    rocm = "rocm"
    if expected.startswith(rocm) and installed.startswith(rocm):
        return installed[len(rocm) :].split(".")[:2] == expected[len(rocm) :].split(".")[:2]
    return installed == expected


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


def runs_on(capability: tuple, arch_list: list[str]) -> bool:
    """Whether a CUDA build with these architectures (`torch.cuda.get_arch_list()`) has
    kernels for a GPU of this compute capability, (6, 1): `sm_XY` machine code runs on X.Y and
    later minors of X, `compute_XY` (PTX) is compiled for X.Y and newer, `sm_XYa` runs on X.Y
    only."""
    for arch in arch_list:
        kind, _, number = arch.partition("_")
        digits = number.rstrip("af")
        if not digits.isdigit() or len(digits) < 2:
            continue
        built = (int(digits[:-1]), int(digits[-1]))
        if number.endswith("a"):
            runs = tuple(capability) == built
        elif kind == "compute":
            runs = tuple(capability) >= built
        else:
            runs = capability[0] == built[0] and capability[1] >= built[1]
        if runs:
            return True
    return False


def unsupported_gpus() -> list[tuple[str, tuple]]:
    """The CUDA GPUs torch sees that the installed build has no kernels for: (name,
    compute capability)."""
    if torch.version.hip or not torch.cuda.is_available():
        return []
    arch_list = torch.cuda.get_arch_list()
    found = []
    for index in range(torch.cuda.device_count()):
        capability = tuple(torch.cuda.get_device_capability(index))
        if not runs_on(capability, arch_list):
            found.append((torch.cuda.get_device_name(index), capability))
    return found


def gpu_fix(capability: tuple) -> str:
    """The answers (`-d` flags) of a CUDA build that runs a GPU of this compute capability,
    "" when no build of the template's matrix does."""
    levels = [level for level in GPU_FIXES if tuple(capability) >= version_tuple(level)]
    return GPU_FIXES[max(levels, key=version_tuple)] if levels else ""


def version_tuple(capability: str) -> tuple:
    """`7.5` -> (7, 5)."""
    return tuple(int(part) for part in capability.split("."))


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


def advice() -> str:
    """The build this machine would take, and why: what `torch_backend: auto` answers here."""
    choice = machine.choose_backend(machine.probe(), OFFER)
    return f"this machine would take {choice.backend}: {choice.reason}"


def say_how_to_install() -> int:
    """Print how to install torch, which is missing; the exit status."""
    print("error: torch is not installed in this environment", file=sys.stderr)
    print("Install it with one of the project's builds:", file=sys.stderr)
    for variant, command in INSTALL.items():
        print(f"  {command}  # the {variant} build", file=sys.stderr)
    print(advice())
    return 1


def report(device) -> None:
    """Print the installed torch, this machine, the device found and the configured build."""
    print(f"torch      {torch.__version__} ({installed_build()} build)")
    print(f"CUDA       {torch.version.cuda or '-'}")
    print(f"HIP        {torch.version.hip or '-'}")
    print(f"XPU        {getattr(torch.version, 'xpu', None) or '-'}")
    print(f"python     {platform.python_version()} on {sys.platform} {platform.machine()}")
    print(f"device     {device if device else 'cpu (no accelerator found)'}")
    if device is not None and device.type == "cuda":
        print(f"GPU        {torch.cuda.get_device_name(device)}")
    print(f"configured {CONFIGURED_VERSION} ({' or '.join(expected_builds()) or 'no'} build)")
    print(advice())


def main() -> int:
    if torch is None:
        return say_how_to_install()
    device = accelerator()
    report(device)
    found = problems()
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if found:
        print(f"Reinstall the configured build: {REINSTALL}", file=sys.stderr)
        return 1
    unsupported = unsupported_gpus()
    for name, capability in unsupported:
        major, minor = capability
        print(
            f"error: this {installed_build()} build of torch has no kernels for the GPU {name} "
            f"(compute capability {major}.{minor}; the build runs "
            f"{', '.join(torch.cuda.get_arch_list())})",
            file=sys.stderr,
        )
        fix = gpu_fix(capability)
        if fix:
            print(
                f"Take a build that runs it: {UPDATE} {fix}, then {AFTER_UPDATE}",
                file=sys.stderr,
            )
        else:
            print("No torch build of the template runs it: use the CPU", file=sys.stderr)
    if unsupported:
        return 1
    if warning := gpu_warning(device):
        print(f"warning: {warning}", file=sys.stderr)
        print("the installed torch is the configured build, but no GPU is used")
        return 0
    print("ok: the installed torch is the configured build")
    return 0


if __name__ == "__main__":
    sys.exit(main())

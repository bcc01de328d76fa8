"""The machine side of the answers (part of the render-time model): the oldest NVIDIA driver
and GPU each CUDA variant runs on, the fixes the doctor names for an older GPU, what a torch
offers a machine, and `torch_backend: auto` (detected on this machine, then resolved in the
render context and the recorded answers). The torch_backend choices live here, not in
`choices.py`, because they end with `auto` and what it detects."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from packaging.version import Version

from extensions import machine
from extensions.choices import (
    Choices,
    answer_errors,
    backend_choices,
    backend_error,
    copier_choices,
    default_python,
    resolve_backend,
    resolve_torch,
    torch_version_error,
)
from extensions.index_model import (
    FAMILIES,
    MODEL,
    Model,
    Variant,
    family_of,
    ordered,
)

AUTO = "auto"  # torch_backend: the backend this machine takes, detected at copy time


def torch_backend_choices(
    torch_version: str, current: str = "", *, model: Model = MODEL
) -> Choices:
    """Copier choices of torch_backend: `backend_choices`, `current` disabled with why, then
    `auto` (the backend this machine takes, detected now)."""
    offered = backend_choices(torch_version, model=model)
    error = backend_error(torch_version, current, model=model) if current != AUTO else ""
    choices = copier_choices(offered, current if current != AUTO else "", error)
    detected = detect_backend(torch_version, model=model).backend
    choices[f"auto (detect this machine: {detected})"] = AUTO
    return choices


def minimum_drivers(variants: Iterable[str], *, model: Model = MODEL) -> dict[str, str]:
    """CUDA variant -> the oldest NVIDIA driver (Linux) that runs its wheels, for the CUDA
    variants among `variants`."""
    return {v: minimum_driver(v, model=model) for v in variants if family_of(v) == "cuda"}


def minimum_driver(variant: str, *, model: Model = MODEL) -> str:
    """The oldest NVIDIA driver (Linux) that runs a CUDA variant's wheels (the matrix's
    `drivers`), "" for other families: `cu130` -> the `cuda13` entry. Raises KeyError for a
    CUDA major version the matrix has no driver for."""
    parsed = Variant.parse(variant)
    if parsed.family != "cuda":
        return ""
    return model.drivers[f"cuda{parsed.number.major // 10}"]


def oldest_gpu(variant: str, *, model: Model = MODEL) -> Version | None:
    """The oldest GPU (CUDA compute capability, 7.5) that a CUDA variant's PyTorch wheels run
    on, None for other families (the matrix's `oldest_gpu`, with its evidence there)."""
    parsed = Variant.parse(variant)
    if parsed.family != "cuda":
        return None
    return model.oldest_gpu.get(variant) or model.oldest_gpu[f"cuda{parsed.number.major // 10}"]


def gpu_fixes(torch_version: str, *, model: Model = MODEL) -> dict[str, str]:
    """Compute capability -> the answers (`-d` flags) of a CUDA build that runs a GPU of that
    capability or newer, for each oldest GPU some variant of the matrix runs on (oldest
    first): the newest such variant of this torch, else of the newest torch that has one.
    The doctor takes the fix of the highest capability its GPU reaches."""
    torch = resolve_torch(torch_version, model=model)
    cuda = {
        (version, v): oldest_gpu(v, model=model)
        for version, release in model.releases.items()
        for v in release.variants
        if family_of(v) == "cuda"
    }
    fixes = {}
    for level in sorted({oldest for oldest in cuda.values() if oldest is not None}):
        runs = [key for key, oldest in cuda.items() if oldest is not None and oldest <= level]
        own = [v for t, v in runs if t == torch]
        if own:
            fixes[str(level)] = f"-d torch_backend={max(own, key=Variant.parse)}"
        else:
            newest = max((t for t, _ in runs), key=Version)
            variant = max((v for t, v in runs if t == newest), key=Variant.parse)
            fixes[str(level)] = f"-d torch_version={newest} -d torch_backend={variant}"
    return fixes


def machine_offer(torch_version: str, *, model: Model = MODEL) -> machine.Offer:
    """What this torch offers a machine (`machine.choose_backend`): its CUDA variants, oldest
    first, with their minimum drivers, its recommended CUDA variant, its families."""
    offered = backend_choices(torch_version, model=model)
    cuda = ordered(v for v in offered if family_of(v) == "cuda" and v != "cuda")
    return machine.Offer(
        torch=resolve_torch(torch_version, model=model),
        cuda_drivers=minimum_drivers(cuda, model=model),
        recommended_cuda=resolve_backend(torch_version, "cuda", model=model) if cuda else "",
        families=tuple(f for f in FAMILIES if f in offered),
    )


@cache
def _probe(path: str) -> machine.Machine:
    """This machine's GPU tools, asked once per PATH (Copier renders many times)."""
    return machine.probe()


def detect_backend(
    torch_version: str,
    found: machine.Machine | None = None,
    answers: Mapping[str, Any] | None = None,
    *,
    model: Model = MODEL,
) -> machine.Choice:
    """The answer `torch_backend: auto` stands for on the machine `found` (default: this one,
    probed), for this torch. Where that is cpu for want of a driver new enough, the reason
    names the older torch the driver runs that the project's other `answers` (Python,
    libraries, extra backends) allow."""
    if found is None:
        found = _probe(os.environ.get("PATH", ""))
    choice = machine.choose_backend(found, machine_offer(torch_version, model=model))
    if choice.backend != "cpu" or not found.nvidia_driver:
        return choice
    if older := cuda_answers_for_driver(found.nvidia_driver, answers, model=model):
        return machine.Choice("cpu", f"{choice.reason}; or keep this driver with `{older}`")
    return choice


def cuda_answers_for_driver(
    driver: str, answers: Mapping[str, Any] | None = None, *, model: Model = MODEL
) -> str:
    """The answers (`-d` flags) of the newest torch of the matrix with a CUDA build that
    NVIDIA driver `driver` runs and that the other `answers` (python_version,
    torch_libraries, extra_backends; absent: any) allow, that torch's newest such variant;
    "" when none does or no driver is given. The minimum drivers are the matrix's `drivers`."""
    if not driver:
        return ""
    given = {k: v for k, v in (answers or {}).items() if k in OTHER_ANSWERS and v}
    installed = machine.driver_version(driver)
    for torch in model.torch_versions:  # newest first
        cuda = ordered(v for v in model.releases[torch].variants if family_of(v) == "cuda")
        for variant, minimum in reversed(minimum_drivers(cuda, model=model).items()):
            if installed < machine.driver_version(minimum):
                continue
            candidate = {"python_version": default_python(torch, model=model), **given}
            candidate.update(torch_version=torch, torch_backend=variant)
            if not answer_errors(candidate, model=model):
                return f"-d torch_version={torch} -d torch_backend={variant}"
    return ""


# The answers besides torch_version and torch_backend that a build must allow.
OTHER_ANSWERS = ("python_version", "torch_libraries", "extra_backends")


def resolve_auto(context: dict[str, Any]) -> None:
    """Replace `torch_backend: auto` in a render context by the backend this machine takes,
    in the answers Copier records too (a project records what it installs, and updates keep
    it); `detected_backend` holds the `machine.Choice`. Leaves a context whose torch_version
    is not (yet) a valid answer as it is."""
    torch_version = context.get("torch_version")
    if context.get("torch_backend") != AUTO or not isinstance(torch_version, str):
        return
    if torch_version_error(torch_version):
        return
    choice = detect_backend(torch_version, answers=context)
    context["torch_backend"] = choice.backend
    context["detected_backend"] = choice
    if isinstance(context.get("_copier_answers"), dict):
        context["_copier_answers"] = {**context["_copier_answers"], "torch_backend": choice.backend}

"""The rules of the answers and the Jinja extension that gives them to copier.yml and the
templates (part of the render-time model: Copier loads it; it imports no maintainers' tool).

Everything here is a plain function of the model (`index_model.MODEL`, from `torch_matrix.yml`
and `index_facts.yml`; tests pass another with `model=`) and of the answers, so the rules
(which backend exists for which torch, which pins go together, what a valid answer is) are
unit-tested without Copier. `TorchMatrixExtension` only registers them in Jinja, and
`BuildContext` adds the `Build` of valid answers to the templates' context.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from copier_template_extensions import ContextHook
from jinja2 import Environment
from jinja2.ext import Extension
from packaging.version import Version


def _import_siblings_from_this_template() -> None:
    """Copier loads this file by path, and an update loads two versions of the template in
    one process: import `extensions.*` from this copy of the template, not another one."""
    root = str(Path(__file__).resolve().parent.parent)
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
        if name.split(".")[0] == "extensions" and not str(where).startswith(root):
            del sys.modules[name]
    if root not in sys.path[:1]:
        sys.path.insert(0, root)


_import_siblings_from_this_template()

from extensions import answers as answer_rules  # noqa: E402
from extensions import configs, machine, project_tools  # noqa: E402
from extensions.index_model import (  # noqa: E402
    CONFLICT_MARKER,
    FAMILIES,
    LIBRARY_NAMES,
    MANAGERS,
    MODEL,
    RECOMMENDED,
    VARIANT_PREFIXES,
    Library,
    Model,
    Plan,
    Release,
    Variant,
    family_of,
    index_url,
    ordered,
    plan,
)

Choices = dict[str, Any]  # Copier's choices: label -> value, or {value, validator}
AUTO = "auto"  # torch_backend: the backend this machine takes, detected at copy time
QUESTIONS_PATH = Path(__file__).resolve().parent.parent / "copier.yml"


def torch_versions(*, model: Model = MODEL) -> list[str]:
    """Torch releases the template supports, newest first (PEP 440 order)."""
    return model.torch_versions


def resolve_torch(torch_version: str, *, model: Model = MODEL) -> str:
    """The concrete torch version of an answer: `recommended` follows the matrix."""
    return model.recommended.torch if torch_version == RECOMMENDED else torch_version


def release(torch_version: str, *, model: Model = MODEL) -> Release:
    """The release of a torch_version answer. Raises KeyError for one the matrix lacks."""
    return model.releases[resolve_torch(torch_version, model=model)]


def _choices(
    offered: list[str], current: str, reason: str, labels: Mapping[str, str] | None = None
) -> Choices:
    """Copier choices: the offered values, plus the current answer, disabled with `reason`,
    when it is not among them (Copier then prints the reason and writes nothing)."""
    labels = labels or {}
    choices: Choices = {labels.get(value, value): value for value in offered}
    if current and current not in offered:
        choices[f"{current} (not available)"] = {"value": current, "validator": reason}
    return choices


def torch_version_error(torch_version: str, *, model: Model = MODEL) -> str:
    """Why a torch_version answer is not in the matrix (the fix first), or ""."""
    offered = [RECOMMENDED, *model.torch_versions]
    if torch_version in offered:
        return ""
    return (
        f"Use `-d torch_version={offered[1]}`: torch {torch_version} is not in this "
        f"template's matrix ({', '.join(offered)})."
    )


def torch_version_choices(current: str = "", *, model: Model = MODEL) -> Choices:
    """Copier choices of torch_version: `recommended`, then every release, newest first."""
    offered = [RECOMMENDED, *model.torch_versions]
    labels = {RECOMMENDED: f"recommended (now {model.recommended.torch})"}
    return _choices(offered, current, torch_version_error(current, model=model), labels)


def resolve_backend(torch_version: str, backend: str, *, model: Model = MODEL) -> str:
    """The index variant of an answer: a family means its recommended variant for this torch
    (or the newest one it has), an explicit variant stays as it is."""
    variants = release(torch_version, model=model).variants
    if backend not in FAMILIES or backend in variants:
        return backend
    preferred = model.recommended.variants.get(backend)
    if preferred is not None and preferred in variants:
        return preferred
    in_family = release(torch_version, model=model).in_family(backend)
    return in_family[-1] if in_family else backend


def backend_choices(torch_version: str, *, model: Model = MODEL) -> list[str]:
    """Families this torch has a build for, then every explicit variant."""
    variants = release(torch_version, model=model).variants
    families = [f for f in FAMILIES if any(family_of(v) == f for v in variants)]
    return families + [v for v in variants if v not in families]


def backend_error(torch_version: str, backend: str, *, model: Model = MODEL) -> str:
    """Why a backend answer cannot be built, or "" when it can: the choices, why this torch
    does not offer it (when the matrix says) and which torch releases do."""
    offered = backend_choices(torch_version, model=model)
    if backend in offered:
        return ""
    why = (
        release(torch_version, model=model).reason_not_offered(backend)
        if Variant.is_name(backend)
        else ""
    )
    because = f", not offered: {why.split('. ')[0]}" if why else ""
    question, answer = backend_fix(torch_version, backend, model=model)
    torch = resolve_torch(torch_version, model=model)
    return (
        f"Use `-d {question}={answer}`: torch {torch} has no '{backend}' build{because} "
        f"({', '.join(offered)})."
    )


def backend_fix(torch_version: str, backend: str, *, model: Model = MODEL) -> tuple[str, str]:
    """The answer (question, value) that replaces a backend this torch has no build for: its
    family where this torch has it, else the newest torch that has the backend, else cpu."""
    offered = backend_choices(torch_version, model=model)
    family = family_of(backend) if Variant.is_name(backend) else ""
    if family in offered:  # keep torch and the family
        return "torch_backend", family
    elsewhere = [v for v in model.torch_versions if backend in backend_choices(v, model=model)]
    if elsewhere:  # keep the backend, move torch
        return "torch_version", elsewhere[0]
    return "torch_backend", "cpu"


def torch_backend_choices(
    torch_version: str, current: str = "", *, model: Model = MODEL
) -> Choices:
    """Copier choices of torch_backend: `backend_choices`, `current` disabled with why, then
    `auto` (the backend this machine takes, detected now)."""
    offered = backend_choices(torch_version, model=model)
    error = backend_error(torch_version, current, model=model) if current != AUTO else ""
    choices = _choices(offered, current if current != AUTO else "", error)
    detected = detect_backend(torch_version, model=model).backend
    choices[f"auto (detect this machine: {detected})"] = AUTO
    return choices


def python_choices(torch_version: str, *, model: Model = MODEL) -> list[str]:
    """The Pythons this torch has wheels for."""
    return list(release(torch_version, model=model).python)


def default_python(torch_version: str, *, model: Model = MODEL) -> str:
    """The recommended Python when this torch supports it, else the newest it supports."""
    supported = python_choices(torch_version, model=model)
    preferred = model.recommended.python
    return preferred if preferred in supported else max(supported, key=Version)


def python_error(torch_version: str, python_version: str, *, model: Model = MODEL) -> str:
    """Why this torch cannot go with `python_version` (the fix first), or ""."""
    supported = python_choices(torch_version, model=model)
    if python_version in supported:
        return ""
    torch = resolve_torch(torch_version, model=model)
    return (
        f"Use `-d python_version={default_python(torch_version, model=model)}`: torch {torch} "
        f"supports Python {', '.join(supported)}."
    )


def python_version_choices(
    torch_version: str, current: str = "", *, model: Model = MODEL
) -> Choices:
    """Copier choices of python_version, `current` disabled with why when this torch lacks it."""
    offered = python_choices(torch_version, model=model)
    return _choices(offered, current, python_error(torch_version, current, model=model))


def library_error(
    library: str,
    torch_version: str,
    backend: str,
    python_version: str = "",
    *,
    model: Model = MODEL,
) -> str:
    """Why `library` cannot be offered next to this torch, backend (and Python), or ""."""
    the_release = release(torch_version, model=model)
    facts = the_release.libraries.get(library)
    if not facts:
        return f"no {library} build pairs with torch {the_release.torch}"
    variant = resolve_backend(torch_version, backend, model=model)
    if facts.lacks(variant):
        return _library_lacks_variant(the_release, facts, variant)
    if python_version and facts.python and python_version not in facts.python:
        return (
            f"Leave {library} out: {library} {facts.version} has no wheel for Python "
            f"{python_version} (it has {', '.join(facts.python)})"
        )
    return ""


def _library_lacks_variant(the_release: Release, library: Library, variant: str) -> str:
    """The refusal of a library without a build for `variant`: the newest variant of its
    family that has one, else leave the library out."""
    with_it = [v for v in the_release.in_family(family_of(variant)) if not library.lacks(v)]
    fix = f"Use `-d torch_backend={with_it[-1]}` or l" if with_it else "L"
    return (
        f"{fix}eave {library.name} out: {library.name} {library.version} has no {variant} build "
        f"for torch {the_release.torch}"
    )


def answer_errors(answers: Mapping[str, Any], *, model: Model = MODEL) -> list[str]:
    """What is wrong with a project's recorded answers under this matrix (used on updates,
    where Copier would otherwise replace an answer that is no longer valid by its default)."""
    torch_version = answers.get("torch_version", RECOMMENDED)
    if error := torch_version_error(torch_version, model=model):
        return [error]
    backend = answers.get("torch_backend", "cpu")
    python = answers.get("python_version", "")
    libraries = answers.get("torch_libraries") or []
    errors = [
        backend_error(torch_version, backend, model=model),
        python_error(torch_version, python, model=model),
    ]
    if not errors[0]:
        errors += [
            library_error(library, torch_version, backend, python, model=model)
            for library in libraries
        ]
        extras = answers.get("extra_backends") or []
        errors.append(extra_backends_error(torch_version, backend, extras, libraries, model=model))
    return [error for error in errors if error]


def other_backend(torch_version: str, variant: str, *, model: Model = MODEL) -> str:
    """An explicit variant this torch has besides `variant` (the newest CUDA one first), for
    the README's example of moving a project to another backend."""
    others = [
        v for v in backend_choices(torch_version, model=model) if v not in FAMILIES and v != variant
    ]
    cuda = [v for v in others if family_of(v) == "cuda"]
    return ordered(cuda or others or ["cpu"])[-1]


def extra_backend_choices(
    torch_version: str, torch_backend: str, *, model: Model = MODEL
) -> Choices:
    """Multiselect choices of `extra_backends`: every backend this torch has; the one
    `torch_backend` already installs is listed disabled, with why."""
    primary = resolve_backend(torch_version, torch_backend, model=model)
    return {
        answer: {
            "value": answer,
            "validator": (
                f"'{answer}' is the torch_backend already ({primary}): leave it out"
                if resolve_backend(torch_version, answer, model=model) == primary
                else ""
            ),
        }
        for answer in backend_choices(torch_version, model=model)
    }


def default_extra_backends(torch_backend: str) -> list[str]:
    """A GPU project also installs the CPU build (laptops, CI); a CPU project nothing more."""
    return [] if torch_backend == "cpu" else ["cpu"]


def extra_backends_error(
    torch_version: str,
    torch_backend: str,
    extra_backends: Iterable[str],
    libraries: Iterable[str] = (),
    *,
    model: Model = MODEL,
) -> str:
    """Why these further backends cannot go beside `torch_backend` in one project, or ""."""
    primary = resolve_backend(torch_version, torch_backend, model=model)
    families: dict[str, str] = {}
    for answer in extra_backends:
        if error := _extra_backend_error(torch_version, answer, extra_backends, primary, model):
            return error
        variant = resolve_backend(torch_version, answer, model=model)
        if variant == primary:
            return (
                f"'{answer}' is the torch_backend already ({primary}): leave it out of "
                "extra_backends"
            )
        family = family_of(variant)
        if family in families:
            return (
                f"choose one {family} backend among extra_backends, not both "
                f"'{families[family]}' and '{answer}' (each gets requirements-<name>.txt)"
            )
        families[family] = answer
        if error := _extra_lacks_library(torch_version, answer, libraries, model):
            return error
    return ""


def _extra_backend_error(
    torch_version: str,
    answer: str,
    extra_backends: Iterable[str],
    primary: str,
    model: Model,
) -> str:
    """`backend_error` for `answer`, one of `extra_backends`: where the fix is another
    backend, the `-d` it names is the list answer with that backend for `answer` (left out
    where it is the torch_backend, variant `primary`, already), as `copier` takes it."""
    error = backend_error(torch_version, answer, model=model)
    question, fix = backend_fix(torch_version, answer, model=model)
    if not error or question != "torch_backend":
        return error
    fixed = [fix if a == answer else a for a in extra_backends]
    if resolve_backend(torch_version, fix, model=model) == primary:
        fixed.remove(fix)
    flag = shlex.quote(f"extra_backends=[{', '.join(dict.fromkeys(fixed))}]")
    return error.replace(f"-d torch_backend={fix}", f"-d {flag}")


def _extra_lacks_library(
    torch_version: str, answer: str, libraries: Iterable[str], model: Model
) -> str:
    """Why a chosen library rules out the extra backend `answer`, or ""."""
    for library in libraries:
        if library_error(library, torch_version, answer, model=model):
            variant = resolve_backend(torch_version, answer, model=model)
            version = release(torch_version, model=model).libraries[library].version
            return (
                f"Leave '{answer}' out of extra_backends, or {library} out of "
                f"torch_libraries: {library} {version} has no {variant} build"
            )
    return ""


def available_libraries(
    torch_version: str, backend: str, python_version: str = "", *, model: Model = MODEL
) -> list[str]:
    """The libraries with a build for this torch, backend and Python, in the offered order."""
    return [
        lib
        for lib in LIBRARY_NAMES
        if not library_error(lib, torch_version, backend, python_version, model=model)
    ]


def library_choices(
    torch_version: str, backend: str, python_version: str = "", *, model: Model = MODEL
) -> Choices:
    """Multiselect choices; a library without a compatible build is listed disabled, with why."""
    helps = {c.companion: c.help for c in model.companions}
    choices: Choices = {}
    for library in LIBRARY_NAMES:
        reason = library_error(library, torch_version, backend, python_version, model=model)
        label = f"{library} ({helps[library]})" if library in helps else library
        choices[label] = {"value": library, "validator": reason}
    return choices


def with_companions(
    torch_version: str,
    backend: str,
    libraries: Iterable[str] | None,
    python_version: str = "",
    extra_backends: Iterable[str] = (),
    *,
    model: Model = MODEL,
) -> list[str]:
    """The chosen libraries, plus what a chosen one needs (the matrix's `companions`:
    torchcodec beside torchaudio >= 2.9) when it has a build for this torch and Python on
    every backend of the project; in the offered order."""
    chosen = set(libraries or [])
    paired = release(torch_version, model=model).libraries
    backends = [backend, *extra_backends]
    for c in model.companions:
        needs = c.library in chosen and Version(paired[c.library].version) >= c.since
        if needs and not any(
            library_error(c.companion, torch_version, b, python_version, model=model)
            for b in backends
        ):
            chosen.add(c.companion)
    return [library for library in LIBRARY_NAMES if library in chosen]


def pins(torch_version: str, libraries: Iterable[str], *, model: Model = MODEL) -> dict[str, str]:
    """Exact versions of torch and the chosen libraries, from the matrix's pairing."""
    the_release = release(torch_version, model=model)
    chosen = set(libraries)
    result = {"torch": the_release.torch}
    result.update(
        {lib: the_release.libraries[lib].version for lib in LIBRARY_NAMES if lib in chosen}
    )
    return result


# pip itself, pinned (the matrix's `tools`): a project's install and CI never take whatever
# pip is newest that day.
PIP_UPGRADE = f"python -m pip install pip=={MODEL.tools['pip']}"


@dataclass(frozen=True)
class Commands:
    """The shell commands a project's README, CI and messages give for one of its backends:
    `install` (run in order), `run` (prefix to run a tool in the environment), `lock`,
    `sync` (bring an installed environment to the pins), `relock` (after an update: re-lock,
    then sync, in the project's folder, from a shell without the environment activated),
    `locked` (install exactly the lock, failing when it is stale: CI), `pip` (pip itself,
    pinned) and `reinstall` (put the configured torch build back)."""

    install: tuple[str, ...]
    run: str
    lock: str
    sync: str
    relock: str
    locked: str
    reinstall: str
    pip: str = ""  # pip itself, pinned (pip projects; "" for the others)


def commands(
    package_manager: str, python_version: str, backend: configs.Backend | None = None
) -> Commands:
    """The `Commands` of a project with `package_manager` (one of `MANAGERS`), for one of its
    backends (default: a one-backend project). Raises ValueError for another manager."""
    extra = backend.extra if backend else ""
    if package_manager == "uv":
        return _uv_commands(extra)
    if package_manager == "poetry":
        option = f" --extras {extra}" if extra else ""
        return Commands(
            install=(f"poetry env use python{python_version}", f"poetry install{option}"),
            run="poetry run ",
            lock="poetry lock",
            sync=f"poetry install{option}",
            relock=f"poetry lock && poetry install{option}",
            locked=f"poetry check --lock && poetry sync{option}",
            reinstall=f"poetry sync{option}",
        )
    if package_manager == "pip":
        return _pip_commands(python_version, backend)
    raise ValueError(f"Use one of {', '.join(MANAGERS)}: '{package_manager}' is not a manager")


def _uv_commands(extra: str) -> Commands:
    """uv's `Commands` for the backend of the optional dependency set `extra` ("": none)."""
    sync = f"uv sync --extra {extra}" if extra else "uv sync"
    return Commands(
        install=(sync,),
        run="uv run ",
        lock="uv lock",
        sync=sync,
        relock=f"uv lock && {sync}",
        locked=sync.replace("uv sync", "uv sync --locked"),
        reinstall=f"{sync} --reinstall-package torch",
    )


def _pip_commands(python_version: str, backend: configs.Backend | None) -> Commands:
    """pip's `Commands`: the torch build from the PyTorch index first, then the project and
    its dev tools."""
    requirements = backend.requirements_file if backend else "requirements.txt"
    pip_installs = (f"pip install -r {requirements}", "pip install -e . --group dev")
    return Commands(
        install=(
            f"python{python_version} -m venv .venv",
            ". .venv/bin/activate",
            f"{PIP_UPGRADE}  # 25.1+ reads [dependency-groups]",
            *pip_installs,
        ),
        run="",
        lock="",
        sync=" && ".join(pip_installs),
        relock=" && ".join([". .venv/bin/activate", *pip_installs]),
        pip=PIP_UPGRADE,
        locked=" && ".join(pip_installs),
        reinstall=f"pip install --force-reinstall --no-deps -r {requirements}",
    )


@dataclass(frozen=True)
class ContainerSteps:
    """How the project's Dockerfile installs it, with its own manager and lock, into
    `/app/.venv`: `setup` (the manager, pinned, or the environment), then `lock_files`
    (copied first) and `dependencies` (installed from them, without the project: a layer
    rebuilt only when the lock changes), then `project`, once `project_files` and the source
    are copied."""

    env: dict[str, str]
    setup: str
    lock_files: tuple[str, ...]
    dependencies: str
    project_files: tuple[str, ...]
    project: str


def container_steps(
    package_manager: str, backend: configs.Backend | None = None, *, model: Model = MODEL
) -> ContainerSteps:
    """The Dockerfile's install steps per package manager, for one backend of the project
    (default: a one-backend project); the manager's version is the one in the matrix's
    `tools`, which this template's tests run."""
    extra = backend.extra if backend else ""
    if package_manager == "uv":
        uv_extra = f" --extra {extra}" if extra else ""
        return ContainerSteps(
            env={"UV_PYTHON_DOWNLOADS": "never", "UV_NO_CACHE": "1"},
            setup=f"pip install --no-cache-dir uv=={model.tools['uv']}",
            lock_files=("pyproject.toml", "uv.lock"),
            dependencies=f"uv sync --locked --no-dev{uv_extra} --no-install-project",
            project_files=("README.md",),
            project=f"uv sync --locked --no-dev{uv_extra}",
        )
    if package_manager == "poetry":
        return _poetry_container_steps(extra, model.tools["poetry"])
    requirements = backend.requirements_file if backend else "requirements.txt"
    return ContainerSteps(
        env={},
        setup="python -m venv .venv",
        lock_files=(requirements,),
        dependencies=f"pip install --no-cache-dir -r {requirements}",
        project_files=("pyproject.toml", "README.md"),
        project="pip install --no-cache-dir .",
    )


def _poetry_container_steps(extra: str, version: str) -> ContainerSteps:
    """poetry's `ContainerSteps` (see `container_steps`), poetry `version` installed."""
    extras = f" --extras {extra}" if extra else ""
    sync = f'poetry sync --only main{extras}{{}} && rm -rf "$POETRY_CACHE_DIR"'
    return ContainerSteps(
        env={
            "POETRY_VIRTUALENVS_IN_PROJECT": "true",
            "POETRY_NO_INTERACTION": "1",
            "POETRY_CACHE_DIR": "/tmp/poetry-cache",
        },
        setup=f"pip install --no-cache-dir poetry=={version}",
        lock_files=("pyproject.toml", "poetry.lock"),
        dependencies=sync.format(" --no-root"),
        project_files=("README.md",),
        project=sync.format(""),
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


def git_config(key: str) -> str:
    """A value from the user's git configuration, "" when git or the key is absent."""
    try:
        result = subprocess.run(
            ["git", "config", "--get", key], capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return result.stdout.strip()


def git_author(key: str) -> str:
    """The user's git `user.name` or `user.email` when the author questions accept it, else
    "" (absent, or refused, e.g. `jane@localhost`: as a default it would stop a copy with
    `--defaults` over a value the user never typed)."""
    value = git_config(key)
    check = {"user.name": answer_rules.text_error, "user.email": answer_rules.email_error}[key]
    return value if value and not check(value) else ""


def requires_python(python_version: str, libraries: Iterable[Library]) -> str:
    """`requires-python` of a project on `python_version` ("3.14") with torch and these
    libraries: `==3.14.*`, less the patch releases a library's Requires-Python excludes
    (torchvision 0.26-0.29: `!=3.14.1`). Poetry's solver crashes on a project range wider
    than its dependencies' (NOTES: poetry with `==3.14.*` and `!=3.14.1`)."""
    specifiers = [f"=={python_version}.*"]
    for library in libraries:
        for spec in library.requires_python:
            if spec.operator == "!=" and spec.version.startswith(f"{python_version}."):
                specifiers.append(str(spec))
    return ",".join(specifiers)


@dataclass(frozen=True)
class PipFile:
    """One pip requirements file of a project: its name, the backend's variant, its lines."""

    name: str
    variant: str
    lines: list[str]


@dataclass(frozen=True)
class Build:
    """What the answers mean for the generated files (see `extensions/configs.py`). The first
    backend is `torch_backend`'s; a project with `extra_backends` has one extra per backend."""

    torch: str
    variant: str
    family: str
    pins: dict[str, str]  # torch and the chosen libraries -> version
    backends: list[configs.Backend]  # torch_backend's first
    requires_python: str
    dependencies: dict[str, list[str]]  # extra ("" = [project] dependencies) -> requirements
    indexes: dict[str, str]  # name -> URL of each PyTorch index the project uses
    index_name: str  # the name of the variant's index
    index_url: str
    uv_sources: dict[str, list[dict[str, str]]]
    uv_conflicts: list[list[dict[str, str]]]
    poetry_dependencies: dict[str, list[dict[str, str]]]
    pip_files: dict[str, PipFile]  # "main" (the first backend) or an extra's family -> file
    expected_builds: dict[tuple[str, str], tuple[str, ...]]  # (sys.platform, machine) -> builds
    constraints: tuple[str, ...]
    accelerator_api: bool
    tools: dict[str, str]
    launch: Launch  # how the README starts training on the first backend's devices

    @property
    def plan(self) -> Plan:
        """The first backend's plan."""
        return self.backends[0].plan

    @property
    def extras(self) -> bool:
        return bool(self.backends[0].extra)

    @property
    def ci_backend(self) -> configs.Backend:
        """The backend CI installs: the one of the CPU build (no GPU wheels on a runner),
        else, in a project without one, the first."""
        return next((b for b in self.backends if b.variant == "cpu"), self.backends[0])


def build(answers: Mapping[str, Any], *, model: Model = MODEL) -> Build:
    """The `Build` of a project's answers (`BUILD_ANSWERS`, `torch_libraries`,
    `extra_backends`). Raises KeyError for an answer absent or not in the matrix."""
    the_release = release(answers["torch_version"], model=model)
    chosen = pins(answers["torch_version"], chosen_libraries(answers, model=model), model=model)
    backends = _backends(answers, chosen, model)
    base = answers["pytorch_index_url"]  # a base URL or a template (index_model.index_url)
    first = backends[0]
    libraries = [the_release.libraries[name] for name in chosen if name != "torch"]
    return Build(
        torch=the_release.torch,
        variant=first.variant,
        family=family_of(first.variant),
        pins=chosen,
        backends=backends,
        requires_python=requires_python(answers["python_version"], libraries),
        dependencies=configs.dependencies(backends, chosen),
        indexes=configs.indexes(backends, base),
        index_name=configs.index_name(first.variant),
        index_url=index_url(base, first.variant),
        uv_sources=configs.uv_sources(backends),
        uv_conflicts=configs.uv_conflicts(backends),
        poetry_dependencies=configs.poetry_dependencies(backends),
        pip_files=_pip_files(backends, chosen, base),
        expected_builds=configs.expected_builds(backends),
        constraints=the_release.constraints,
        accelerator_api=the_release.accelerator_api,
        tools=model.tools,
        launch=launch(family_of(first.variant), the_release),
    )


def chosen_libraries(answers: Mapping[str, Any], *, model: Model = MODEL) -> list[str]:
    """The libraries a project pins: its torch_libraries with their companions (see
    `with_companions`)."""
    return with_companions(
        answers["torch_version"],
        answers["torch_backend"],
        answers.get("torch_libraries"),
        answers.get("python_version", ""),
        answers.get("extra_backends") or [],
        model=model,
    )


def _backends(
    answers: Mapping[str, Any], pins: dict[str, str], model: Model
) -> list[configs.Backend]:
    """The project's backends: torch_backend's, then each of extra_backends, each with its
    plan for the manager, and its extra when the project has several."""
    torch_version = answers["torch_version"]
    the_release = release(torch_version, model=model)
    extra_answers = list(answers.get("extra_backends") or [])
    backends: list[configs.Backend] = []
    for answer in [answers["torch_backend"], *extra_answers]:
        variant = resolve_backend(torch_version, answer, model=model)
        the_plan = plan(the_release, variant, pins, model.platforms, answers["package_manager"])
        taken = [b.extra for b in backends]
        extra = configs.extra_name(variant, taken) if extra_answers else ""
        requirements = f"requirements-{extra}.txt" if backends else "requirements.txt"
        backends.append(configs.Backend(answer, the_plan, extra, requirements))
    return backends


def _pip_files(
    backends: list[configs.Backend], pins: dict[str, str], base: str
) -> dict[str, PipFile]:
    """pip's requirements files: "main" for the first backend, the family for the others."""
    return {
        ("main" if i == 0 else family_of(b.variant)): PipFile(
            b.requirements_file, b.variant, configs.pip_requirements(b.plan, pins, base)
        )
        for i, b in enumerate(backends)
    }


BUILD_ANSWERS = (
    "package_manager",
    "torch_version",
    "torch_backend",
    "python_version",
    "pytorch_index_url",
)


def buildable(context: Mapping[str, Any]) -> bool:
    """Whether the answers in `context` make a `Build`: every one of `BUILD_ANSWERS` given,
    the list answers lists, and no error under the matrix. While Copier still asks the
    questions an answer may be missing or wrong: then there is no `build` yet."""
    if not all(isinstance(context.get(key), str) for key in BUILD_ANSWERS):
        return False
    lists = [context.get(key) or [] for key in ("torch_libraries", "extra_backends")]
    if not all(isinstance(value, list) for value in lists):
        return False
    return context["package_manager"] in MANAGERS and not answer_errors(context)


def jinja_globals() -> dict[str, object]:
    """What copier.yml and the templates call by name: the model (as `matrix`), the answer
    rules and choices above, the commands, and the answers' validators."""
    return dict(
        matrix=MODEL,
        managers=MANAGERS,
        conflict_marker=CONFLICT_MARKER,
        variant_prefixes=VARIANT_PREFIXES,
        torch_version_choices=torch_version_choices,
        torch_backend_choices=torch_backend_choices,
        python_version_choices=python_version_choices,
        default_python=default_python,
        library_choices=library_choices,
        extra_backend_choices=extra_backend_choices,
        other_backend=other_backend,
        default_extra_backends=default_extra_backends,
        extra_backends_error=extra_backends_error,
        available_libraries=available_libraries,
        git_author=git_author,
        commands=commands,
        container_steps=container_steps,
        minimum_driver=minimum_driver,
        minimum_drivers=minimum_drivers,
        machine_offer=machine_offer,
        gpu_fixes=gpu_fixes,
        credential_commands=configs.credential_commands,
        **project_tools.jinja_globals(MODEL),
        **answer_rules.VALIDATORS,
    )


class TorchMatrixExtension(Extension):
    """Registers `jinja_globals` and the escaping filters for copier.yml and the templates."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        answer_rules.print_refusals_without_traceback()
        environment.globals.update(jinja_globals())
        environment.filters.update(
            to_yaml=_to_yaml,
            toml_inline=configs.toml_inline,
            toml_items=configs.toml_items,
            toml_arrays=configs.toml_arrays,
            shell_quote=shlex.quote,
            **answer_rules.FILTERS,
        )


@cache
def questions(path: Path = QUESTIONS_PATH) -> dict[str, dict[str, Any]]:
    """The questions of copier.yml: name -> its settings (`type`, `multiselect`, ...)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: spec for name, spec in data.items() if not name.startswith("_")}


def given_answers_error(context: Mapping[str, Any]) -> str:
    """Why an answer given as data (`-d`, `--data-file`) or as a settings default is of a
    type its question cannot take, or "" (checked before any question uses it)."""
    conf = context.get("_copier_conf")
    if conf is None:
        return ""
    given = {**(conf["user_defaults"] or {}), **(conf["data"] or {})}
    for name, value in given.items():
        if name in questions() and (
            error := answer_rules.answer_type_error(name, value, questions()[name])
        ):
            return error
    return ""


class BuildContext(ContextHook):
    """Refuses answers given with the wrong type (a data file's `torch_libraries: null`) with
    the template's message, before any question uses them; resolves `torch_backend: auto`
    (`resolve_auto`); adds `build` (a `Build`) to the templates' context once the answers
    make one (see `buildable`): an error in `build` itself surfaces with its cause."""

    def hook(self, context: dict[str, Any]) -> None:
        if error := given_answers_error(context):
            raise answer_rules.AnswerTypeError(error)
        resolve_auto(context)
        if "build" not in context and buildable(context):
            context["build"] = build(context)


def _to_yaml(value: object) -> str:
    """`value` as one line of YAML flow style (what Copier's templated choices parse)."""
    text: str = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6)
    return text.strip()

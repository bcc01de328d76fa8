"""The version matrix and the Jinja extension that gives it to copier.yml and the templates.

Everything here is a plain function of the matrix in `torch_matrix.yml` and of the answers, so
the rules (which backend exists for which torch, which pins go together, what a valid answer
is) are unit-tested without Copier. `TorchMatrixExtension` only registers them in Jinja.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from copier_template_extensions import ContextHook
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
from extensions import configs, project_tools  # noqa: E402
from extensions.index_model import (  # noqa: E402
    LIBRARY_NAMES,
    Model,
    family_of,
    load_model,
    plan,
)

MATRIX_PATH = Path(__file__).with_name("torch_matrix.yml")
FACTS_PATH = Path(__file__).with_name("index_facts.yml")
RECOMMENDED = "recommended"
LIBRARIES = LIBRARY_NAMES


@cache
def load_matrix(path: Path = MATRIX_PATH) -> dict:
    """The matrix file, parsed once per process."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def load_facts(path: Path = FACTS_PATH) -> dict:
    """The index facts file, parsed once per process."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


FAMILIES = tuple(load_facts()["families"])  # cpu, cuda, rocm, xpu


def model(matrix: dict | None = None) -> Model:
    """The typed model of the index: `matrix` (default: the template's) and the index facts."""
    if matrix is None or matrix is load_matrix():
        return _template_model()
    return load_model(matrix, load_facts())


@cache
def _template_model() -> Model:
    return load_model(load_matrix(), load_facts())


def torch_versions(matrix: dict | None = None) -> list[str]:
    """Torch releases the template supports, newest first (PEP 440 order)."""
    matrix = matrix or load_matrix()
    return sorted(matrix["releases"], key=Version, reverse=True)


def variant_key(variant: str) -> tuple[int, Version]:
    """Order of index variants: by family, then by version (`rocm7.2` < `rocm7.14`)."""
    family = family_of(variant)
    number = variant.removeprefix({"cuda": "cu", "rocm": "rocm"}.get(family, variant)) or "0"
    return FAMILIES.index(family), Version(number)


def resolve_torch(torch_version: str, matrix: dict | None = None) -> str:
    """The concrete torch version of an answer: `recommended` follows the matrix."""
    matrix = matrix or load_matrix()
    return matrix["recommended"]["torch"] if torch_version == RECOMMENDED else torch_version


def release(torch_version: str, matrix: dict | None = None) -> dict:
    matrix = matrix or load_matrix()
    return matrix["releases"][resolve_torch(torch_version, matrix)]


def _choices(offered: list[str], current: str, reason: str, labels: dict | None = None) -> dict:
    """Copier choices: the offered values, plus the current answer, disabled with `reason`,
    when it is not among them (Copier then prints the reason and writes nothing)."""
    labels = labels or {}
    choices: dict = {labels.get(value, value): value for value in offered}
    if current and current not in offered:
        choices[f"{current} (not available)"] = {"value": current, "validator": reason}
    return choices


def torch_version_error(torch_version: str, matrix: dict | None = None) -> str:
    offered = [RECOMMENDED, *torch_versions(matrix)]
    if torch_version in offered:
        return ""
    return (
        f"Use `-d torch_version={offered[1]}`: torch {torch_version} is not in this "
        f"template's matrix ({', '.join(offered)})."
    )


def torch_version_choices(current: str = "", matrix: dict | None = None) -> dict:
    matrix = matrix or load_matrix()
    offered = [RECOMMENDED, *torch_versions(matrix)]
    labels = {RECOMMENDED: f"recommended (now {matrix['recommended']['torch']})"}
    return _choices(offered, current, torch_version_error(current, matrix), labels)


def resolve_backend(torch_version: str, backend: str, matrix: dict | None = None) -> str:
    """The index variant of an answer: a family means its recommended variant for this torch
    (or the newest one it has), an explicit variant stays as it is."""
    matrix = matrix or load_matrix()
    variants = release(torch_version, matrix)["variants"]
    if backend not in FAMILIES or backend in variants:
        return backend
    preferred = matrix["recommended"].get(backend)
    if preferred in variants:
        return preferred
    in_family = [v for v in variants if family_of(v) == backend]
    return max(in_family, key=variant_key) if in_family else backend


def backend_choices(torch_version: str, matrix: dict | None = None) -> list[str]:
    """Families this torch has a build for, then every explicit variant."""
    variants = release(torch_version, matrix)["variants"]
    families = [f for f in FAMILIES if any(family_of(v) == f for v in variants)]
    return families + [v for v in variants if v not in families]


def backend_error(torch_version: str, backend: str, matrix: dict | None = None) -> str:
    """Why a backend answer cannot be built, or "" when it can: the choices, why this torch
    does not offer it (when the matrix says) and which torch releases do."""
    offered = backend_choices(torch_version, matrix)
    if backend in offered:
        return ""
    torch = resolve_torch(torch_version, matrix)
    elsewhere = [v for v in torch_versions(matrix) if backend in backend_choices(v, matrix)]
    row = release(torch_version, matrix)
    reasons = {**row.get("unconfirmed", {}), **row.get("withheld", {})}
    why = reasons.get(backend) or reasons.get(family_of(backend))
    because = f", not offered: {why.split('. ')[0]}" if why else ""
    if family_of(backend) in offered:  # keep torch and the family
        fix = f"torch_backend={family_of(backend)}"
    elif elsewhere:  # keep the backend, move torch
        fix = f"torch_version={elsewhere[0]}"
    else:
        fix = "torch_backend=cpu"
    return (
        f"Use `-d {fix}`: torch {torch} has no '{backend}' build{because} ({', '.join(offered)})."
    )


def torch_backend_choices(torch_version: str, current: str = "", matrix: dict | None = None):
    offered = backend_choices(torch_version, matrix)
    return _choices(offered, current, backend_error(torch_version, current, matrix))


def python_choices(torch_version: str, matrix: dict | None = None) -> list[str]:
    return list(release(torch_version, matrix)["python"])


def default_python(torch_version: str, matrix: dict | None = None) -> str:
    """The recommended Python when this torch supports it, else the newest it supports."""
    matrix = matrix or load_matrix()
    supported = python_choices(torch_version, matrix)
    preferred = matrix["recommended"]["python"]
    return preferred if preferred in supported else max(supported, key=Version)


def python_error(torch_version: str, python_version: str, matrix: dict | None = None) -> str:
    supported = python_choices(torch_version, matrix)
    if python_version in supported:
        return ""
    torch = resolve_torch(torch_version, matrix)
    return (
        f"Use `-d python_version={default_python(torch_version, matrix)}`: torch {torch} "
        f"supports Python {', '.join(supported)}."
    )


def python_version_choices(torch_version: str, current: str = "", matrix: dict | None = None):
    offered = python_choices(torch_version, matrix)
    return _choices(offered, current, python_error(torch_version, current, matrix))


def library_error(
    library: str,
    torch_version: str,
    backend: str,
    matrix: dict | None = None,
    python_version: str = "",
) -> str:
    """Why `library` cannot be offered next to this torch, backend (and Python), or ""."""
    row = release(torch_version, matrix)
    facts = row.get(library)
    torch = resolve_torch(torch_version, matrix)
    if not facts:
        return f"no {library} build pairs with torch {torch}"
    variant = resolve_backend(torch_version, backend, matrix)
    missing = facts.get("missing", [])
    if variant in missing or family_of(variant) in missing:
        with_it = [
            v
            for v in release(torch_version, matrix)["variants"]
            if family_of(v) == family_of(variant)
            and v not in missing
            and family_of(v) not in missing
        ]
        fix = f"Use `-d torch_backend={max(with_it, key=variant_key)}` or l" if with_it else "L"
        return (
            f"{fix}eave {library} out: {library} {facts['version']} has no {variant} build "
            f"for torch {torch}"
        )
    pythons = model(matrix).releases[torch].libraries[library].python
    if python_version and pythons and python_version not in pythons:
        return (
            f"Leave {library} out: {library} {facts['version']} has no wheel for Python "
            f"{python_version} (it has {', '.join(pythons)})"
        )
    return ""


def answer_errors(answers: dict, matrix: dict | None = None) -> list[str]:
    """What is wrong with a project's recorded answers under this matrix (used on updates,
    where Copier would otherwise replace an answer that is no longer valid by its default)."""
    torch_version = answers.get("torch_version", RECOMMENDED)
    if error := torch_version_error(torch_version, matrix):
        return [error]
    backend = answers.get("torch_backend", "cpu")
    errors = [
        backend_error(torch_version, backend, matrix),
        python_error(torch_version, answers.get("python_version", ""), matrix),
    ]
    if not errors[0]:
        errors += [
            library_error(
                library, torch_version, backend, matrix, answers.get("python_version", "")
            )
            for library in answers.get("torch_libraries") or []
        ]
        errors.append(
            extra_backends_error(
                torch_version,
                backend,
                answers.get("extra_backends") or [],
                answers.get("torch_libraries") or [],
                matrix,
            )
        )
    return [error for error in errors if error]


def other_backend(torch_version: str, variant: str, matrix: dict | None = None) -> str:
    """An explicit variant this torch has besides `variant` (the newest CUDA one first), for
    the README's example of moving a project to another backend."""
    others = [
        v for v in backend_choices(torch_version, matrix) if v not in FAMILIES and v != variant
    ]
    cuda = [v for v in others if family_of(v) == "cuda"]
    return max(cuda or others or ["cpu"], key=variant_key)


def extra_backend_choices(torch_version: str, torch_backend: str, matrix=None) -> dict:
    """Multiselect choices of `extra_backends`: every backend this torch has; the one
    `torch_backend` already installs is listed disabled, with why."""
    primary = resolve_backend(torch_version, torch_backend, matrix)
    return {
        answer: {
            "value": answer,
            "validator": (
                f"'{answer}' is the torch_backend already ({primary}): leave it out"
                if resolve_backend(torch_version, answer, matrix) == primary
                else ""
            ),
        }
        for answer in backend_choices(torch_version, matrix)
    }


def default_extra_backends(torch_backend: str) -> list[str]:
    """A GPU project also installs the CPU build (laptops, CI); a CPU project nothing more."""
    return [] if torch_backend == "cpu" else ["cpu"]


def extra_backends_error(
    torch_version: str, torch_backend: str, extra_backends, libraries=(), matrix=None
) -> str:
    """Why these further backends cannot go beside `torch_backend` in one project, or ""."""
    primary = resolve_backend(torch_version, torch_backend, matrix)
    families = {}
    for answer in extra_backends:
        if error := backend_error(torch_version, answer, matrix):
            return error.replace("-d torch_backend=", "-d extra_backends=")
        variant = resolve_backend(torch_version, answer, matrix)
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
        for library in libraries:
            if library_error(library, torch_version, answer, matrix):
                version = release(torch_version, matrix)[library]["version"]
                return (
                    f"Leave '{answer}' out of extra_backends, or {library} out of "
                    f"torch_libraries: {library} {version} has no {variant} build"
                )
    return ""


def available_libraries(
    torch_version: str, backend: str, matrix: dict | None = None, python_version: str = ""
) -> list:
    return [
        lib
        for lib in LIBRARIES
        if not library_error(lib, torch_version, backend, matrix, python_version)
    ]


def library_choices(
    torch_version: str, backend: str, matrix: dict | None = None, python_version: str = ""
) -> dict:
    """Multiselect choices; a library without a compatible build is listed disabled, with why."""
    choices = {}
    for library in LIBRARIES:
        reason = library_error(library, torch_version, backend, matrix, python_version)
        label = f"{library} ({COMPANION_HELP[library]})" if library in COMPANION_HELP else library
        choices[label] = {"value": library, "validator": reason}
    return choices


# torchaudio >= 2.9 delegates `load` / `save` to TorchCodec (without it: `ImportError:
# TorchCodec is required`): choosing torchaudio brings torchcodec where it has a build.
COMPANIONS = {"torchaudio": ("torchcodec", "2.9")}
COMPANION_HELP = {"torchcodec": "added with torchaudio >= 2.9, whose load/save need it"}


def with_companions(
    torch_version: str,
    backend: str,
    libraries,
    matrix: dict | None = None,
    python_version: str = "",
    extra_backends=(),
) -> list[str]:
    """The chosen libraries, plus what a chosen one needs (torchcodec beside torchaudio >= 2.9)
    when it has a build for this torch and Python on every backend of the project; in the
    offered order."""
    chosen = set(libraries or [])
    row = release(torch_version, matrix)
    for library, (companion, since) in COMPANIONS.items():
        needs = library in chosen and Version(row[library]["version"]) >= Version(since)
        if needs and not any(
            library_error(companion, torch_version, b, matrix, python_version)
            for b in [backend, *extra_backends]
        ):
            chosen.add(companion)
    return [library for library in LIBRARIES if library in chosen]


def pins(torch_version: str, libraries: list[str], matrix: dict | None = None) -> dict:
    """Exact versions of torch and the chosen libraries, from the matrix's pairing."""
    row = release(torch_version, matrix)
    result = {"torch": resolve_torch(torch_version, matrix)}
    result.update({lib: row[lib]["version"] for lib in LIBRARIES if lib in libraries})
    return result


# pip itself, pinned (the matrix's `tools`): a project's install and CI never take whatever
# pip is newest that day.
PIP_UPGRADE = f"python -m pip install pip=={load_matrix()['tools']['pip']}"


def commands(package_manager: str, python_version: str, backend=None) -> dict:
    """The shell commands a project's README, CI and messages give, per package manager, for
    one of its backends (a `configs.Backend`; default: a one-backend project): `install` (a
    list, run in order), `run` (prefix to run a tool in the environment), `lock`, `sync`
    (bring an installed environment to the pins), `locked` (install exactly the lock, failing
    when it is stale: CI), `reinstall` (put the configured torch build back) and, for pip,
    `pip` (pip itself at the pinned version)."""
    extra = backend.extra if backend else ""
    if package_manager == "uv":
        sync = f"uv sync --extra {extra}" if extra else "uv sync"
        return {
            "install": [sync],
            "run": "uv run ",
            "lock": "uv lock",
            "sync": sync,
            "locked": sync.replace("uv sync", "uv sync --locked"),
            "reinstall": f"{sync} --reinstall-package torch",
        }
    if package_manager == "poetry":
        option = f" --extras {extra}" if extra else ""
        return {
            "install": [f"poetry env use python{python_version}", f"poetry install{option}"],
            "run": "poetry run ",
            "lock": "poetry lock",
            "sync": f"poetry install{option}",
            "locked": f"poetry check --lock && poetry sync{option}",
            "reinstall": f"poetry sync{option}",
        }
    # The torch build from the PyTorch index first, then the project and its dev tools.
    requirements = backend.requirements_file if backend else "requirements.txt"
    pip_installs = [f"pip install -r {requirements}", "pip install -e . --group dev"]
    return {
        "install": [
            f"python{python_version} -m venv .venv",
            ". .venv/bin/activate",
            f"{PIP_UPGRADE}  # 25.1+ reads [dependency-groups]",
            *pip_installs,
        ],
        "pip": PIP_UPGRADE,
        "run": "",
        "lock": "",
        "sync": " && ".join(pip_installs),
        "locked": " && ".join(pip_installs),
        "reinstall": f"pip install --force-reinstall --no-deps -r {requirements}",
    }


@dataclass(frozen=True)
class ContainerSteps:
    """How the project's Dockerfile installs it, with its own manager and lock, into
    `/app/.venv`: `setup` (the manager, pinned, or the environment), then `lock_files`
    (copied first) and `dependencies` (installed from them, without the project: a layer
    rebuilt only when the lock changes), then `project`, once `project_files` and the source
    are copied."""

    env: dict
    setup: str
    lock_files: tuple
    dependencies: str
    project_files: tuple
    project: str


def container_steps(package_manager: str, backend=None, matrix=None) -> ContainerSteps:
    """The Dockerfile's install steps per package manager, for one backend of the project (a
    `configs.Backend`, default: a one-backend project); the manager's version is the one in
    the matrix's `tools`, which this template's tests run."""
    tools = (matrix or load_matrix())["tools"]
    extra = backend.extra if backend else ""
    if package_manager == "uv":
        uv_extra = f" --extra {extra}" if extra else ""
        return ContainerSteps(
            env={"UV_PYTHON_DOWNLOADS": "never", "UV_NO_CACHE": "1"},
            setup=f"pip install --no-cache-dir uv=={tools['uv']}",
            lock_files=("pyproject.toml", "uv.lock"),
            dependencies=f"uv sync --locked --no-dev{uv_extra} --no-install-project",
            project_files=("README.md",),
            project=f"uv sync --locked --no-dev{uv_extra}",
        )
    if package_manager == "poetry":
        extras = f" --extras {extra}" if extra else ""
        sync = f'poetry sync --only main{extras}{{}} && rm -rf "$POETRY_CACHE_DIR"'
        return ContainerSteps(
            env={
                "POETRY_VIRTUALENVS_IN_PROJECT": "true",
                "POETRY_NO_INTERACTION": "1",
                "POETRY_CACHE_DIR": "/tmp/poetry-cache",
            },
            setup=f"pip install --no-cache-dir poetry=={tools['poetry']}",
            lock_files=("pyproject.toml", "poetry.lock"),
            dependencies=sync.format(" --no-root"),
            project_files=("README.md",),
            project=sync.format(""),
        )
    requirements = backend.requirements_file if backend else "requirements.txt"
    return ContainerSteps(
        env={},
        setup="python -m venv .venv",
        lock_files=(requirements,),
        dependencies=f"pip install --no-cache-dir -r {requirements}",
        project_files=("pyproject.toml", "README.md"),
        project="pip install --no-cache-dir .",
    )


# What `docker run` needs to give a container the GPUs of each family (CUDA: the NVIDIA
# Container Toolkit on the host; ROCm and XPU: the devices of the host's driver).
CONTAINER_DEVICES = {
    "cpu": "",
    "cuda": "--gpus all",
    "rocm": "--device /dev/kfd --device /dev/dri --group-add video",
    "xpu": "--device /dev/dri",
}


def minimum_drivers(variants, matrix: dict | None = None) -> dict[str, str]:
    """CUDA variant -> the oldest NVIDIA driver (Linux) that runs its wheels, for the CUDA
    variants among `variants`."""
    return {v: minimum_driver(v, matrix) for v in variants if family_of(v) == "cuda"}


def minimum_driver(variant: str, matrix: dict | None = None) -> str:
    """The oldest NVIDIA driver (Linux) that runs a CUDA variant's wheels, "" for other
    families: `cu130` -> the `cuda13` entry."""
    if family_of(variant) != "cuda":
        return ""
    matrix = matrix or load_matrix()
    return matrix["drivers"]["linux"][f"cuda{variant[2:-1]}"]


def git_config(key: str) -> str:
    """A value from the user's git configuration, "" when git or the key is absent."""
    try:
        result = subprocess.run(
            ["git", "config", "--get", key], capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return result.stdout.strip()


def requires_python(python_version: str, libraries, matrix: dict | None = None) -> str:
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
class Build:
    """What the answers mean for the generated files (see `extensions/configs.py`). The first
    backend is `torch_backend`'s; a project with `extra_backends` has one extra per backend."""

    torch: str
    variant: str
    family: str
    pins: dict  # torch and the chosen libraries -> version
    backends: list  # configs.Backend, torch_backend's first
    requires_python: str
    dependencies: dict  # extra ("" = [project] dependencies) -> torch-family requirements
    indexes: dict  # name -> URL of each PyTorch index the project uses
    index_name: str  # the name of the variant's index
    index_url: str
    uv_sources: dict
    uv_conflicts: list
    poetry_dependencies: dict
    pip_files: dict  # "main" (the first backend) or an extra's family -> name, variant, lines
    expected_builds: dict  # (sys.platform, platform.machine()) -> builds, one per backend
    constraints: tuple
    accelerator_api: bool
    tools: dict

    @property
    def plan(self):
        """The first backend's plan."""
        return self.backends[0].plan

    @property
    def extras(self) -> bool:
        return bool(self.backends[0].extra)

    @property
    def cpu_backend(self):
        """The backend that installs the CPU build (for CI), else None."""
        return next((b for b in self.backends if b.variant == "cpu"), None)


def build(answers: dict, matrix: dict | None = None) -> Build:
    """The `Build` of a project's answers. Raises KeyError for an answer the matrix lacks."""
    matrix = matrix or load_matrix()
    torch_version = answers["torch_version"]
    row = release(torch_version, matrix)
    torch = resolve_torch(torch_version, matrix)
    the_release = model(matrix).releases[torch]
    libraries = with_companions(
        torch_version,
        answers["torch_backend"],
        answers.get("torch_libraries"),
        matrix,
        answers.get("python_version", ""),
        answers.get("extra_backends") or [],
    )
    chosen = pins(torch_version, libraries, matrix)
    extra_answers = answers.get("extra_backends") or []
    backends = []
    for answer in [answers["torch_backend"], *extra_answers]:
        variant = resolve_backend(torch_version, answer, matrix)
        the_plan = plan(the_release, variant, chosen, model().platforms, answers["package_manager"])
        taken = [b.extra for b in backends]
        extra = configs.extra_name(variant, taken) if extra_answers else ""
        requirements = f"requirements-{extra}.txt" if backends else "requirements.txt"
        backends.append(configs.Backend(answer, the_plan, extra, requirements))
    first = backends[0]
    base = answers["pytorch_index_url"].strip().rstrip("/")
    libraries = [the_release.libraries[name] for name in chosen if name != "torch"]
    return Build(
        torch=torch,
        variant=first.variant,
        family=family_of(first.variant),
        pins=chosen,
        backends=backends,
        requires_python=requires_python(answers["python_version"], libraries),
        dependencies=configs.dependencies(backends, chosen),
        indexes=configs.indexes(backends, base),
        index_name=configs.index_name(first.variant),
        index_url=configs.index_url(base, first.variant),
        uv_sources=configs.uv_sources(backends),
        uv_conflicts=configs.uv_conflicts(backends),
        poetry_dependencies=configs.poetry_dependencies(backends),
        pip_files={
            ("main" if b is first else family_of(b.variant)): {
                "name": b.requirements_file,
                "variant": b.variant,
                "lines": configs.pip_requirements(b.plan, chosen, base),
            }
            for b in backends
        },
        expected_builds=configs.expected_builds(backends),
        constraints=tuple(row.get("constraints", [])),
        accelerator_api=row.get("accelerator_api", True),
        tools=matrix["tools"],
    )


BUILD_ANSWERS = (
    "package_manager",
    "torch_version",
    "torch_backend",
    "python_version",
    "pytorch_index_url",
)


class TorchMatrixExtension(Extension):
    """Registers the functions above for copier.yml and the templates."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update(
            matrix=load_matrix(),
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
            git_config=git_config,
            commands=commands,
            container_steps=container_steps,
            container_devices=CONTAINER_DEVICES,
            minimum_driver=minimum_driver,
            minimum_drivers=minimum_drivers,
            actions=project_tools.load_actions(),
            template_pins=project_tools.template_pins(model()),
            hook_runner=project_tools.hook_runner,
            **answer_rules.VALIDATORS,
        )
        environment.filters.update(
            to_yaml=_to_yaml,
            toml_inline=configs.toml_inline,
            shell_quote=shlex.quote,
            **answer_rules.FILTERS,
        )


class BuildContext(ContextHook):
    """Adds `build` (a `Build`) to the templates' context once the answers it needs are known;
    while questions are still asked, an answer may be invalid: no `build` yet."""

    def hook(self, context: dict) -> None:
        if all(key in context for key in BUILD_ANSWERS) and "build" not in context:
            with contextlib.suppress(KeyError, TypeError):
                context["build"] = build(context)


def _to_yaml(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6).strip()

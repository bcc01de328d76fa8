"""The version matrix and the Jinja extension that gives it to copier.yml and the templates.

Everything here is a plain function of the matrix in `torch_matrix.yml` and of the answers, so
the rules (which backend exists for which torch, which pins go together, what a valid answer
is) are unit-tested without Copier. `TorchMatrixExtension` only registers them in Jinja.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import cache
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import yaml
from jinja2.ext import Extension


def _load_beside(name: str):
    """The module `name`.py next to this file. Copier's extension loader imports this file by
    path, with no package around it, so a sibling is loaded the same way."""
    spec = spec_from_file_location(f"{__name__}_{name}", Path(__file__).with_name(f"{name}.py"))
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "extensions.torch_matrix":  # imported as a package (tests, migrate.py)
    from extensions import answers as answer_rules
else:
    answer_rules = _load_beside("answers")

MATRIX_PATH = Path(__file__).with_name("torch_matrix.yml")
RECOMMENDED = "recommended"
FAMILIES = ("cpu", "cuda", "rocm", "xpu")
LIBRARIES = ("torchvision", "torchaudio")


@cache
def load_matrix(path: Path = MATRIX_PATH) -> dict:
    """The matrix file, parsed once per process."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def torch_versions(matrix: dict | None = None) -> list[str]:
    """Torch releases the template supports, newest first."""
    matrix = matrix or load_matrix()
    return sorted(matrix["releases"], key=_version_key, reverse=True)


def resolve_torch(torch_version: str, matrix: dict | None = None) -> str:
    """The concrete torch version of an answer: `recommended` follows the matrix."""
    matrix = matrix or load_matrix()
    return matrix["recommended"]["torch"] if torch_version == RECOMMENDED else torch_version


def release(torch_version: str, matrix: dict | None = None) -> dict:
    matrix = matrix or load_matrix()
    return matrix["releases"][resolve_torch(torch_version, matrix)]


def family_of(variant: str) -> str:
    """`cu130` -> `cuda`, `rocm7.1` -> `rocm`, `cpu` and `xpu` are their own family."""
    if variant.startswith("cu"):
        return "cuda"
    if variant.startswith("rocm"):
        return "rocm"
    return variant


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
    return max(in_family, key=_version_key) if in_family else backend


def backend_choices(torch_version: str, matrix: dict | None = None) -> list[str]:
    """Families this torch has a build for, then every explicit variant."""
    variants = release(torch_version, matrix)["variants"]
    families = [f for f in FAMILIES if any(family_of(v) == f for v in variants)]
    return families + [v for v in variants if v not in families]


def backend_error(torch_version: str, backend: str, matrix: dict | None = None) -> str:
    """Why a backend answer cannot be built, or "" when it can."""
    offered = backend_choices(torch_version, matrix)
    if backend in offered:
        return ""
    torch = resolve_torch(torch_version, matrix)
    elsewhere = [v for v in torch_versions(matrix) if backend in backend_choices(v, matrix)]
    if family_of(backend) in offered:  # keep torch and the family
        fix = f"torch_backend={family_of(backend)}"
    elif elsewhere:  # keep the backend, move torch
        fix = f"torch_version={elsewhere[0]}"
    else:
        fix = "torch_backend=cpu"
    return f"Use `-d {fix}`: torch {torch} has no '{backend}' build ({', '.join(offered)})."


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
    return preferred if preferred in supported else max(supported, key=_version_key)


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
    library: str, torch_version: str, backend: str, matrix: dict | None = None
) -> str:
    """Why `library` cannot be offered next to this torch and backend, or ""."""
    row = release(torch_version, matrix)
    facts = row.get(library)
    torch = resolve_torch(torch_version, matrix)
    if not facts:
        return f"no {library} build pairs with torch {torch}"
    variant = resolve_backend(torch_version, backend, matrix)
    missing = facts.get("missing", [])
    if variant in missing:
        with_it = [
            v
            for v in release(torch_version, matrix)["variants"]
            if family_of(v) == family_of(variant) and v not in missing
        ]
        fix = f"Use `-d torch_backend={max(with_it, key=_version_key)}` or l" if with_it else "L"
        return (
            f"{fix}eave {library} out: {library} {facts['version']} has no {variant} build "
            f"for torch {torch}"
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
            library_error(library, torch_version, backend, matrix)
            for library in answers.get("torch_libraries") or []
        ]
    return [error for error in errors if error]


def available_libraries(torch_version: str, backend: str, matrix: dict | None = None) -> list:
    return [lib for lib in LIBRARIES if not library_error(lib, torch_version, backend, matrix)]


def library_choices(torch_version: str, backend: str, matrix: dict | None = None) -> dict:
    """Multiselect choices; a library without a compatible build is listed disabled, with why."""
    choices = {}
    for library in LIBRARIES:
        reason = library_error(library, torch_version, backend, matrix)
        choices[library] = {"value": library, "validator": reason}
    return choices


def pins(torch_version: str, libraries: list[str], matrix: dict | None = None) -> dict:
    """Exact versions of torch and the chosen libraries, from the matrix's pairing."""
    row = release(torch_version, matrix)
    result = {"torch": resolve_torch(torch_version, matrix)}
    result.update({lib: row[lib]["version"] for lib in LIBRARIES if lib in libraries})
    return result


def index_url(base: str, variant: str) -> str:
    return f"{base.rstrip('/')}/{variant}"


# Where an index variant has builds, as PEP 508 markers, with their negation: there the
# project uses the index; elsewhere (always macOS) the default build, PyPI's for uv and poetry,
# the CPU index's for pip.
LINUX_OR_WINDOWS = (
    "sys_platform == 'linux' or sys_platform == 'win32'",
    "sys_platform != 'linux' and sys_platform != 'win32'",
)
X86_LINUX_OR_WINDOWS = (
    "sys_platform == 'linux' and platform_machine == 'x86_64' or sys_platform == 'win32'",
    "(sys_platform != 'linux' or platform_machine != 'x86_64') and sys_platform != 'win32'",
)
X86_LINUX = (
    "sys_platform == 'linux' and platform_machine == 'x86_64'",
    "sys_platform != 'linux' or platform_machine != 'x86_64'",
)


def index_platforms(variant: str, package_manager: str) -> tuple[str, str]:
    """(where the variant's index is used, where it is not), as PEP 508 markers."""
    family = family_of(variant)
    if family == "rocm":
        return X86_LINUX
    if family == "xpu":
        return X86_LINUX_OR_WINDOWS
    if family == "cpu" and package_manager == "poetry":
        # poetry locks one version per marker: the CPU index's x86_64 `+cpu` would be chosen
        # for Linux aarch64 too, whose wheel there is unlabeled. aarch64 takes PyPI's instead.
        return X86_LINUX_OR_WINDOWS
    return LINUX_OR_WINDOWS


def commands(package_manager: str, python_version: str) -> dict:
    """The shell commands a project's README, CI and messages give, per package manager:
    `install` (a list, run in order), `run` (prefix to run a tool in the environment),
    `lock`, `sync` (bring an installed environment to the pins) and `reinstall` (put the
    configured torch build back)."""
    if package_manager == "uv":
        return {
            "install": ["uv sync"],
            "run": "uv run ",
            "lock": "uv lock",
            "sync": "uv sync",
            "reinstall": "uv sync --reinstall-package torch",
        }
    if package_manager == "poetry":
        return {
            "install": [f"poetry env use python{python_version}", "poetry install"],
            "run": "poetry run ",
            "lock": "poetry lock",
            "sync": "poetry install",
            "reinstall": "poetry sync",
        }
    # The torch build from the PyTorch index first, then the project and its dev tools.
    pip_installs = ["pip install -r requirements.txt", "pip install -e . --group dev"]
    return {
        "install": [
            f"python{python_version} -m venv .venv",
            ". .venv/bin/activate",
            "python -m pip install --upgrade pip  # 25.1+ reads [dependency-groups]",
            *pip_installs,
        ],
        "run": "",
        "lock": "",
        "sync": " && ".join(pip_installs),
        "reinstall": "pip install --force-reinstall --no-deps -r requirements.txt",
    }


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


@dataclass(frozen=True)
class Build:
    """What the answers mean for the generated files."""

    torch: str
    variant: str
    family: str
    pins: dict
    index_url: str
    index_name: str
    cpu_index_url: str
    marker: str  # PEP 508: where the index is used (the doctor evaluates it as Python)
    fallback_marker: str  # PEP 508: where it is not
    constraints: tuple
    accelerator_api: bool
    tools: dict


def build(answers: dict, matrix: dict | None = None) -> Build:
    matrix = matrix or load_matrix()
    torch_version = answers["torch_version"]
    row = release(torch_version, matrix)
    variant = resolve_backend(torch_version, answers["torch_backend"], matrix)
    base = answers["pytorch_index_url"].strip().rstrip("/")
    marker, fallback = index_platforms(variant, answers["package_manager"])
    return Build(
        torch=resolve_torch(torch_version, matrix),
        variant=variant,
        family=family_of(variant),
        pins=pins(torch_version, answers.get("torch_libraries") or [], matrix),
        index_url=index_url(base, variant),
        index_name=f"pytorch-{variant}",
        cpu_index_url=index_url(base, "cpu"),
        marker=marker,
        fallback_marker=fallback,
        constraints=tuple(row.get("constraints", [])),
        accelerator_api=row.get("accelerator_api", True),
        tools=matrix["tools"],
    )


BUILD_ANSWERS = ("package_manager", "torch_version", "torch_backend", "pytorch_index_url")


class TorchMatrixExtension(Extension):
    """Registers the functions above for copier.yml and the templates, and adds `build`
    (a `Build`) to the context once the answers it needs are known."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update(
            matrix=load_matrix(),
            torch_version_choices=torch_version_choices,
            torch_backend_choices=torch_backend_choices,
            python_version_choices=python_version_choices,
            default_python=default_python,
            library_choices=library_choices,
            available_libraries=available_libraries,
            git_config=git_config,
            commands=commands,
            minimum_driver=minimum_driver,
            **answer_rules.VALIDATORS,
        )
        environment.filters.update(to_yaml=_to_yaml, **answer_rules.FILTERS)
        parent_context = environment.context_class

        class BuildContext(parent_context):
            def __init__(self, env, parent, *args, **kwargs):
                if all(key in parent for key in BUILD_ANSWERS) and "build" not in parent:
                    parent = {**parent, "build": _build_or_none(parent)}
                super().__init__(env, parent, *args, **kwargs)

        environment.context_class = BuildContext


def _build_or_none(answers: dict) -> Build | None:
    """While questions are asked, an answer may still be invalid: no build yet."""
    try:
        return build(answers)
    except (KeyError, TypeError):
        return None


def _to_yaml(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6).strip()

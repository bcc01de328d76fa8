"""Each package manager's commands: what a project's README, CI and messages run to install,
lock, sync and run (`commands`), and how its Dockerfile installs it (`container_steps`); the
managers' versions are the matrix's `tools` (part of the render-time model)."""

from __future__ import annotations

from dataclasses import dataclass

from extensions import configs
from extensions.index_model import (
    MANAGERS,
    MODEL,
    Model,
)

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


@dataclass(frozen=True)
class TemplateUpdate:
    """What a project's template-update script (`.github/template_update.py`) runs: `copier`
    (Copier pinned, with the template's Jinja extensions, through uvx), then `relock` (the
    project's manager re-locks; "" where the project has no lock: pip's pinned requirements
    are rendered by the template), then `checks`, in order, each a shell line in the project's
    folder: the CI's install of its CPU build from the lock, lint, format, type check, tests,
    doctor."""

    copier: tuple[str, ...]
    relock: str
    checks: tuple[str, ...]


# The checks the project's CI runs once its environment is installed, `run`-prefixed.
CHECKED_TOOLS = ("ruff check .", "ruff format --check .", "mypy", "pytest")


def template_update(
    package_manager: str,
    python_version: str,
    backend: configs.Backend | None,
    package_name: str,
    *,
    model: Model = MODEL,
) -> TemplateUpdate:
    """The `TemplateUpdate` of a project with `package_manager`, whose CI installs `backend`
    (its `build.ci_backend`); Copier's and its extensions' versions are the matrix's `tools`.
    Raises ValueError for another manager."""
    cmd = commands(package_manager, python_version, backend)
    if package_manager == "pip":
        run, install = ".venv/bin/", _pip_venv_install(python_version, backend)
    else:
        run, install = cmd.run, (*cmd.install[:-1], *cmd.locked.split(" && "))
    tools = (*CHECKED_TOOLS, f"python -m {package_name}.doctor")
    return TemplateUpdate(
        copier=pinned_copier(model),
        relock=cmd.lock,
        checks=(*install, *(f"{run}{tool}" for tool in tools)),
    )


def pinned_copier(model: Model = MODEL) -> tuple[str, ...]:
    """The command that runs Copier at the matrix's `tools` version, with the Jinja extensions
    this template loads, through uvx."""
    return (
        "uvx",
        "--from",
        f"copier=={model.tools['copier']}",
        "--with",
        f"copier-template-extensions=={model.tools['copier_template_extensions']}",
        "--with",
        f"jinja2-time=={model.tools['jinja2_time']}",
        "copier",
    )


def _pip_venv_install(python_version: str, backend: configs.Backend | None) -> tuple[str, ...]:
    """A pip project's install into `.venv` as CI does it, each line runnable on its own (no
    activation): the backend's pinned requirements, then the project and its dev tools."""
    requirements = backend.requirements_file if backend else "requirements.txt"
    return (
        f"python{python_version} -m venv .venv",
        f".venv/bin/{PIP_UPGRADE}",
        f".venv/bin/pip install -r {requirements}",
        ".venv/bin/pip install -e . --group dev",
    )

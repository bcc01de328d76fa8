"""Each package manager's commands: what a project's README, CI and messages run to install,
lock, sync and run (`commands`), and how its Dockerfile installs it (`container_steps`); the
managers' versions are the matrix's `tools` (part of the render-time model)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from extensions import configs
from extensions.index_model import (
    MANAGERS,
    MODEL,
    Model,
)

# pip itself, pinned (the matrix's `tools`): a project's install and CI never take whatever
# pip is newest that day; 26.1+ installs a pylock.toml (docs/decisions/0006).
PIP_UPGRADE = f"python -m pip install pip=={MODEL.tools['pip']}"
# The venv's pip stops inviting an upgrade that would undo the pin (.venv/pip.conf).
PIP_QUIET = "python -m pip config --site set global.disable-pip-version-check true"


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
    first_lock: str = ""  # pip: write the backend's lock unless it exists ("" for the others)
    # pip: install on a platform other than the one that wrote the lock (`pip lock` locks the
    # platform it runs on: docs/decisions/0006): the pinned requirements, then the project
    # with its dev group ("" for the others, whose lock holds every platform).
    unlocked: str = ""


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
    """pip's `Commands`: the backend's lock (`pylock.toml`, written by the project's `lock.py`
    with `pip lock`: the torch family from the PyTorch index, the rest from the default
    index, every file with its hash) installed with hashes required, then the project itself
    (docs/decisions/0006)."""
    requirements = backend.requirements_file if backend else "requirements.txt"
    lock_file = backend.lock_file if backend else "pylock.toml"
    lock = "python lock.py" + ("" if lock_file == "pylock.toml" else f" {requirements} {lock_file}")
    first_lock = f"[ -f {lock_file} ] || {lock}"
    from_lock = (f"pip install --require-hashes -r {lock_file}", "pip install --no-deps -e .")
    return Commands(
        install=(
            f"python{python_version} -m venv .venv",
            ". .venv/bin/activate",
            f"{PIP_UPGRADE}  # 26.1+ installs pylock.toml",
            PIP_QUIET,
            f"{first_lock}  # the first time: writes the lock (commit it)",
            *from_lock,
        ),
        run="",
        lock=lock,
        sync=" && ".join(from_lock),
        relock=" && ".join([". .venv/bin/activate", lock, *from_lock]),
        pip=PIP_UPGRADE,
        locked=" && ".join([*from_lock, "pip check"]),
        reinstall=f"pip install --force-reinstall --no-deps --require-hashes -r {lock_file}",
        first_lock=first_lock,
        unlocked=f"pip install -r {requirements} && pip install -e . --group dev",
    )


@dataclass(frozen=True)
class InstallTask:
    """The task runner's `install` recipe: its `parameter` (`backend="cuda"`, the first
    backend's extra by default; "" in a one-backend project) and its `lines`, the manager's
    install of that backend with just's `{{ backend }}` in place of the extra, one command
    a line (Windows PowerShell 5 has no `&&`)."""

    parameter: str
    lines: tuple[str, ...]

    @property
    def header(self) -> str:
        """The recipe's first line, less its colon: `install backend="cuda"` or `install`."""
        return f"install {self.parameter}".strip()


def install_task(
    package_manager: str, python_version: str, backends: list[configs.Backend]
) -> InstallTask:
    """The `InstallTask` of a project with these backends (its first is the default): the
    `sync` of `commands`, for the backend the recipe's parameter names. pip's first backend
    has `requirements.txt` and `pylock.toml`, the others `requirements-<extra>.txt` and
    `pylock.<extra>.toml` (`build._backends`, `configs.Backend.lock_file`)."""
    first = backends[0]
    if not first.extra:
        lines = commands(package_manager, python_version, first).sync.split(" && ")
        return InstallTask("", tuple(lines))
    chosen = "{{ backend }}"
    requirements = (
        f'{{{{ if backend == "{first.extra}" {{ "requirements.txt" }} '
        f'else {{ "requirements-" + backend + ".txt" }} }}}}'
    )
    any_backend = replace(first, extra=chosen, requirements_file=requirements)
    lines = commands(package_manager, python_version, any_backend).sync.split(" && ")
    # pip's lock, named like its requirements file: `pylock.toml` for the first backend.
    lock = (
        f'{{{{ if backend == "{first.extra}" {{ "pylock.toml" }} '
        f'else {{ "pylock." + backend + ".toml" }} }}}}'
    )
    lines = [line.replace(any_backend.lock_file, lock) for line in lines]
    return InstallTask(f'backend="{first.extra}"', tuple(lines))


@dataclass(frozen=True)
class ContainerSteps:
    """How the project's Dockerfile installs it, with its own manager and lock, into
    `/app/.venv`: `setup` (the manager, pinned, or the environment), then `lock_files`
    (copied first) and `dependencies` (installed from them, without the project: a layer
    rebuilt only when the lock changes), then `project`, once `project_files` and the source
    are copied. Both installs keep the manager's downloads in `cache`, a BuildKit cache mount
    (`RUN --mount=type=cache,target=...`): after a lock change the image downloads only what
    changed, and the cache is not in the image (uv's Docker guide: a cache mount with
    `UV_LINK_MODE=copy`, the cache being on another file system than the environment)."""

    env: dict[str, str]
    setup: str
    lock_files: tuple[str, ...]
    dependencies: str
    project_files: tuple[str, ...]
    project: str
    cache: str


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
            env={"UV_PYTHON_DOWNLOADS": "never", "UV_LINK_MODE": "copy"},
            setup=f"pip install --no-cache-dir uv=={model.tools['uv']}",
            lock_files=("pyproject.toml", "uv.lock"),
            dependencies=f"uv sync --locked --no-dev{uv_extra} --no-install-project",
            project_files=("README.md",),
            project=f"uv sync --locked --no-dev{uv_extra}",
            cache="/root/.cache/uv",
        )
    if package_manager == "poetry":
        return _poetry_container_steps(extra, model.tools["poetry"])
    lock_file = backend.lock_file if backend else "pylock.toml"
    return ContainerSteps(
        env={"PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        setup=f"python -m venv .venv && {PIP_UPGRADE.replace('install', 'install --no-cache-dir')}",
        lock_files=(lock_file,),
        dependencies=f"pip install --require-hashes -r {lock_file}",
        project_files=("pyproject.toml", "README.md"),
        project="pip install --no-deps .",
        cache="/root/.cache/pip",
    )


def _poetry_container_steps(extra: str, version: str) -> ContainerSteps:
    """poetry's `ContainerSteps` (see `container_steps`), poetry `version` installed."""
    extras = f" --extras {extra}" if extra else ""
    sync = f"poetry sync --only main{extras}{{}}"
    return ContainerSteps(
        env={"POETRY_VIRTUALENVS_IN_PROJECT": "true", "POETRY_NO_INTERACTION": "1"},
        setup=f"pip install --no-cache-dir poetry=={version}",
        lock_files=("pyproject.toml", "poetry.lock"),
        dependencies=sync.format(" --no-root"),
        project_files=("README.md",),
        project=sync.format(""),
        cache="/root/.cache/pypoetry",  # poetry's own cache folder for root, the builder
    )


def dev_container_setup(
    package_manager: str,
    python_version: str,
    backend: configs.Backend,
    *,
    dockerfile: bool,
    model: Model = MODEL,
) -> str:
    """The dev container's `postCreateCommand`, one shell line: the manager where the image
    has none (`python:X.Y-slim`; the project's Dockerfile installs it), the README's install
    of `backend` into the workspace with the dev tools, then the doctor (`just doctor`)."""
    cmd = commands(package_manager, python_version, backend)
    steps = list(cmd.install)
    if not dockerfile and package_manager != "pip":
        steps.insert(0, container_steps(package_manager, backend, model=model).setup)
    steps.append(f"{cmd.run}just doctor")
    return " && ".join(step.split("  #")[0] for step in steps)


@dataclass(frozen=True)
class TemplateUpdate:
    """What a project's template-update script (`.github/template_update.py`) runs: `copier`
    (Copier pinned, with the template's Jinja extensions, through uvx), then `relock` (the
    project's manager re-locks every lock of the project: uv's and poetry's one, pip's one per
    backend), then `checks`, in order, each a shell line in the project's
    folder: the CI's install of its CPU build from the lock, then CI's tasks (`CI_TASKS`)."""

    copier: tuple[str, ...]
    relock: tuple[str, ...]
    checks: tuple[str, ...]


# The tasks CI runs once the environment is installed (the justfile's), `run`-prefixed.
CI_TASKS = ("just lint", "just test", "just doctor")


def template_update(
    package_manager: str,
    python_version: str,
    backends: list[configs.Backend],
    ci_backend: configs.Backend,
    *,
    model: Model = MODEL,
) -> TemplateUpdate:
    """The `TemplateUpdate` of a project with `package_manager` and these `backends`, whose CI
    installs `ci_backend` (its `build.ci_backend`); Copier's and its extensions' versions are
    the matrix's `tools`. Raises ValueError for another manager."""
    cmd = commands(package_manager, python_version, ci_backend)
    if package_manager == "pip":
        run, relock = ". .venv/bin/activate && ", _pip_relock(python_version, backends)
        install = tuple(f".venv/bin/{line}" for line in cmd.locked.split(" && "))
    else:
        run, relock = cmd.run, (cmd.lock,)
        install = (*cmd.install[:-1], *cmd.locked.split(" && "))
    return TemplateUpdate(
        copier=pinned_copier(model),
        relock=relock,
        checks=(*install, *(f"{run}{task}" for task in CI_TASKS)),
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


def _pip_relock(python_version: str, backends: list[configs.Backend]) -> tuple[str, ...]:
    """A pip project's re-lock, each line runnable without activation: `.venv` with the pinned
    pip (26.1+ locks and installs `pylock.toml`), then each backend's `lock.py`."""
    locks = (f".venv/bin/{commands('pip', python_version, b).lock}" for b in backends)
    return (f"python{python_version} -m venv .venv", f".venv/bin/{PIP_UPGRADE}", *locks)

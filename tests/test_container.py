"""The container of a generated project: its Dockerfile passes hadolint, installs the
configured torch build from the project's lock with the project's own manager (run here step
by step against the stand-in index: no Docker daemon or registry on these machines), and the
README says how to build and run it on each kind of GPU."""

import importlib.metadata
import subprocess
from pathlib import Path, PurePosixPath

import pytest
from dockerfile_parse import DockerfileParser

from extensions.index_model import FAMILIES, MANAGERS, MODEL
from tests import docker_build
from tests.tools import (
    BIN,
    adapt_poetry_to_simple_api,
    installed_version,
    readme_commands,
    render,
    sh,
)

TORCH = "2.13.0"  # has a build of every family
LOCK_FILES = {"uv": "uv.lock", "poetry": "poetry.lock", "pip": "pylock.toml"}


def render_project(path: Path, manager: str, backend: str, **more) -> Path:
    return render(
        path,
        project_name="Demo",
        package_manager=manager,
        torch_version=TORCH,
        torch_backend=backend,
        python_version="3.11",
        **more,
    )


def instructions(project: Path) -> list[tuple[str, str]]:
    structure = DockerfileParser(path=str(project / "Dockerfile")).structure
    return [(s["instruction"], s["value"]) for s in structure if s["instruction"] != "COMMENT"]


@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize("family", FAMILIES)
def test_the_dockerfile_passes_hadolint(tmp_path, manager, family):
    project = render_project(tmp_path / "demo", manager, family)
    hadolint = BIN / "hadolint"
    assert hadolint.exists(), "hadolint is a dev dependency of this template: run `uv sync`"
    lint = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=project, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("manager", MANAGERS)
def test_the_image_is_the_projects_python_and_installs_from_its_lock(tmp_path, manager):
    project = render_project(tmp_path / "demo", manager, "cuda")
    steps = instructions(project)
    assert steps[0] == ("FROM", "python:3.11-slim")  # no CUDA image: the wheels bring CUDA
    copied = [value.split()[:-1] for instruction, value in steps if instruction == "COPY"]
    # The lock alone first (a layer that changes only with it), then the source.
    assert LOCK_FILES[manager] in copied[0] and "src/" not in copied[0]
    assert copied[-1] == ["src/"]
    assert steps[-2] == ("USER", "1000")  # not root
    ignored = docker_build.dockerignore(project)
    for sources in copied:
        for source in sources:
            assert not docker_build.is_ignored(PurePosixPath(source.rstrip("/")), ignored)
    for heavy in (".venv", ".git", "runs/losses.json", "src/demo/__pycache__/x.pyc"):
        assert docker_build.is_ignored(PurePosixPath(heavy), ignored), heavy


def test_the_image_installs_the_managers_this_template_tests():
    tools = MODEL.tools
    assert tools["uv"] == importlib.metadata.version("uv")
    assert tools["poetry"] == importlib.metadata.version("poetry")


@pytest.mark.parametrize(
    ("family", "options", "nproc"),
    [
        ("cpu", "", "2"),
        ("cuda", "--gpus all ", "gpu"),
        ("rocm", "--device /dev/kfd --device /dev/dri --group-add video ", "gpu"),
        ("xpu", "--device /dev/dri ", "xpu"),
    ],
)
def test_the_readme_runs_the_container_with_the_familys_devices(tmp_path, family, options, nproc):
    project = render_project(tmp_path / "demo", "uv", family)
    [lines] = readme_commands(project, "Container")
    assert lines[:2] == [
        "uv lock  # the image installs from uv.lock: lock first",
        "docker build -t demo .",
    ]
    assert f"docker run --rm {options}demo" in lines
    torchrun = f"torchrun --standalone --nproc-per-node {nproc} -m demo.train"
    assert f"docker run --rm {options}--ipc=host demo {torchrun}" in lines


def test_without_a_dockerfile_the_readme_has_no_container_section(tmp_path):
    project = render_project(tmp_path / "demo", "uv", "cuda", dockerfile=False)
    assert "docker" not in (project / "README.md").read_text().lower()


# torch_backend -> the build the image must hold (Linux x86_64)
LABELS = {"cuda": MODEL.recommended.variants["cuda"], "rocm": "rocm7.2", "cpu": "cpu"}


@pytest.mark.tools
@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize("backend", ["cuda", "rocm"])
def test_the_dockerfile_installs_the_locked_build(tmp_path, stand_in_index, manager, backend):
    project = render_project(
        tmp_path / "demo", manager, backend, pytorch_index_url=stand_in_index.url
    )
    if manager == "poetry":
        adapt_poetry_to_simple_api(project)
    # The README's lines before `docker build`: the lock.
    [lines] = readme_commands(project, "Container")
    for line in lines[: lines.index("docker build -t demo .")]:
        sh(line, project)

    image = docker_build.build(project, tmp_path / "image")

    # Only the user is not created here (it needs root in the image).
    assert image.not_run == ["useradd --create-home --uid 1000 app"]
    python = image.python()
    assert python == image.path("/app/.venv/bin/python")
    label = LABELS[backend]
    assert installed_version(python, "torch") == f"{TORCH}+{label}"
    assert installed_version(python, "torchvision").endswith(f"+{label}")
    assert installed_version(python, "demo") == "0.1.0"
    dev_tools = subprocess.run([python, "-c", "import pytest"], capture_output=True)
    # uv and poetry install the main group alone; pip's one pylock holds the dev group too
    # (its README says so).
    assert (dev_tools.returncode == 0) == (manager == "pip"), "the image's dev tools"

"""Rendering: every package manager x backend gives the exact files, configured exactly right."""

import ast
import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from extensions.build import build
from extensions.choices import resolve_backend
from extensions.commands import commands
from extensions.configs import extra_name
from extensions.index_model import CONFLICT_MARKER, MANAGERS, MODEL, family_of
from extensions.project_tools import COVERAGE_FLOOR
from tests.tools import BIN, TEMPLATE, jinja_left, load_toml, readme_commands, tool_env

RECOMMENDED = MODEL.recommended
COMMON_FILES = {
    ".copier-answers.yml",
    ".devcontainer/devcontainer.json",
    ".dockerignore",
    ".github/template_update.py",
    ".github/workflows/ci.yml",
    ".github/workflows/template-update.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "Dockerfile",
    "LICENSE",
    "README.md",
    "justfile",
    "pyproject.toml",
    "renovate.json",
    "src/demo/__init__.py",
    "src/demo/checkpoint.py",
    "src/demo/config.py",
    "src/demo/data.py",
    "src/demo/device.py",
    "src/demo/distributed.py",
    "src/demo/doctor.py",
    "src/demo/machine.py",
    "src/demo/metrics.py",
    "src/demo/predict.py",
    "src/demo/preemption.py",
    "src/demo/sharding.py",
    "src/demo/train.py",
    "tests/test_checkpoint.py",
    "tests/test_config.py",
    "tests/test_device.py",
    "tests/test_distributed.py",
    "tests/test_doctor.py",
    "tests/test_gpu.py",
    "tests/test_train.py",
}
CONTAINER_FILES = {"Dockerfile", ".dockerignore"}
MANAGER_FILES = {
    "uv": {".python-version"},
    "poetry": {"poetry.toml"},
    "pip": {"requirements.txt", "lock.py"},
}
# A GPU project also installs the CPU build by default (extra_backends: [cpu]).
EXTRA_FILES = {"uv": set(), "poetry": set(), "pip": {"requirements-cpu.txt"}}
# What a family means for torch 2.13.0: the recommended variant where 2.13.0 has it, else its
# newest (test_matrix.py specifies `resolve_backend`).
CUDA = resolve_backend("2.13.0", "cuda")
ROCM = resolve_backend("2.13.0", "rocm")
# (torch_backend answer, torch_version) -> the index variant it must mean
CASES = {
    ("cpu", "2.13.0"): "cpu",
    ("cuda", "2.13.0"): CUDA,
    ("rocm", "2.13.0"): ROCM,
    ("xpu", "2.13.0"): "xpu",
    ("cu126", "2.13.0"): "cu126",
    ("rocm7.1", "2.13.0"): "rocm7.1",
    ("cu118", "2.7.1"): "cu118",
    ("cuda", "2.6.0"): "cu126",  # before torch.accelerator: the device helper asks each backend
    ("rocm", "2.10.0"): "rocm7.1",  # the recommended rocm7.2 does not exist for 2.10
}


def answers(manager: str, backend: str, torch: str = "2.13.0", **more) -> dict:
    return {
        "project_name": "Demo",
        "package_manager": manager,
        "torch_backend": backend,
        "torch_version": torch,
        "python_version": "3.11",
        **more,
    }


def rendered_files(project: Path) -> set[str]:
    return {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}


@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize(("backend", "torch"), list(CASES))
def test_each_manager_and_backend_renders_a_complete_configured_project(
    copie, manager, backend, torch
):
    result = copie.copy(extra_answers=answers(manager, backend, torch))
    assert result.exception is None, result.exception
    project = result.project_dir
    variant = CASES[(backend, torch)]

    extras = variant != "cpu"
    assert rendered_files(project) == (
        COMMON_FILES | MANAGER_FILES[manager] | (EXTRA_FILES[manager] if extras else set())
    )
    for path in project.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not jinja_left(path, text), f"Jinja left in {path}"
            # What the project's pre-commit hooks check (they clone from GitHub: not here).
            assert text.endswith("\n") and not text.endswith("\n\n"), f"end of file: {path}"
            assert not re.search(r"[ \t]$", text, flags=re.M), f"trailing whitespace: {path}"
            if path.suffix in (".yml", ".yaml"):
                yaml.safe_load(text)
            if path.suffix == ".toml":
                load_toml(path)

    pyproject = load_toml(project / "pyproject.toml")
    torchvision = MODEL.releases[torch].libraries["torchvision"]
    pins = [f"torch=={torch}", f"torchvision=={torchvision.version}"]
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    expected = build(recorded)
    index_only = [str(r) for r in expected.plan.requirements()]
    assert bool(index_only) == (family_of(variant) in ("rocm", "xpu"))
    if extras:  # one extra per backend: torch_backend's, and cpu
        assert pyproject["project"]["dependencies"] == ["numpy", "tensorboard"]
        assert pyproject["project"]["optional-dependencies"] == {
            backend: [*pins, *index_only] if backend == extra_name(variant) else pins
            for backend in (extra_name(variant), "cpu")
        }
    else:
        assert pyproject["project"]["dependencies"] == [*pins, *index_only, "numpy", "tensorboard"]
    assert pyproject["project"]["requires-python"] == "==3.11.*"
    check_manager_configuration(manager, project, pyproject, variant)
    assert variant in (project / "src/demo/doctor.py").read_text()
    for lint in (["check", "."], ["format", "--check", "."]):
        ruff = subprocess.run([BIN / "ruff", *lint], cwd=project, capture_output=True, text=True)
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def check_manager_configuration(manager, project, pyproject, variant):
    """The manager's configuration says what the project's build plan says (its rules are
    specified in test_index_model.py): only PyTorch indexes, explicit, for the torch family and
    every package torch needs from the index alone."""
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    expected = build(recorded)
    assert expected.variant == variant
    index_only = {requirement.name for requirement in expected.plan.requirements()}
    tool = pyproject.get("tool", {})
    if manager == "uv":
        assert tool["uv"]["index"] == [
            {"name": name, "url": url, "explicit": True} for name, url in expected.indexes.items()
        ]
        assert tool["uv"]["sources"] == expected.uv_sources
        assert set(tool["uv"]["sources"]) == set(expected.pins) | index_only
        assert "poetry" not in tool
    elif manager == "poetry":
        assert tool["poetry"]["source"] == [
            {"name": name, "url": url, "priority": "explicit"}
            for name, url in expected.indexes.items()
        ]
        assert tool["poetry"]["dependencies"] == expected.poetry_dependencies
        assert set(tool["poetry"]["dependencies"]) == set(expected.pins) | index_only
        assert "uv" not in tool
    else:
        for file in expected.pip_files.values():
            lines = (project / file.name).read_text().splitlines()
            assert [line for line in lines if not line.startswith("#")] == file.lines
        lines = (project / "requirements.txt").read_text().splitlines()
        options = [line for line in lines if line.startswith("--")]
        assert options[0] == f"--index-url https://download.pytorch.org/whl/{variant}"
        # Only PyTorch's own indexes: no PyPI beside them.
        assert all("download.pytorch.org/whl/" in option for option in options)
        assert "uv" not in tool and "poetry" not in tool
    doctor = (project / "src/demo/doctor.py").read_text()
    readme = (project / "README.md").read_text()
    for (sys_platform, machine), builds in expected.expected_builds.items():
        assert f'("{sys_platform}", "{machine}"): {builds!r}'.replace("'", '"') in doctor
    for backend in expected.backends:
        for line in backend.where:
            assert f"- {line}\n" in readme


@pytest.mark.parametrize("manager", MANAGERS)
def test_without_a_dockerfile_the_project_has_no_container_files(copie, manager):
    result = copie.copy(extra_answers=answers(manager, "cpu", dockerfile=False))
    assert result.exception is None, result.exception
    assert rendered_files(result.project_dir) == (
        COMMON_FILES - CONTAINER_FILES | MANAGER_FILES[manager]
    )


def test_the_defaults_follow_the_recommendation(copie):
    result = copie.copy(extra_answers={"project_name": "Demo"})
    assert result.exception is None, result.exception
    assert result.answers["torch_version"] == "recommended"
    assert result.answers["torch_backend"] == "cpu"
    assert result.answers["python_version"] == RECOMMENDED.python
    assert result.answers["dockerfile"] is True
    pyproject = load_toml(result.project_dir / "pyproject.toml")
    assert f"torch=={RECOMMENDED.torch}" in pyproject["project"]["dependencies"]
    assert pyproject["tool"]["uv"]["index"][0]["url"].endswith("/whl/cpu")


def test_a_cpu_pip_project_pins_the_cpu_label_except_on_macos(copie):
    result = copie.copy(extra_answers=answers("pip", "cpu"))
    requirements = (result.project_dir / "requirements.txt").read_text()
    assert "torch==2.13.0+cpu ; sys_platform == 'linux' or sys_platform == 'win32'" in requirements
    assert (
        "torch==2.13.0 ; sys_platform != 'linux' and sys_platform != 'win32'" in requirements
    )  # unlabeled there


def test_an_accelerator_pip_project_pins_the_label_and_falls_back_to_the_cpu_index(copie):
    result = copie.copy(extra_answers=answers("pip", "cuda"))
    requirements = (result.project_dir / "requirements.txt").read_text()
    variant = CUDA
    assert (
        f"torch==2.13.0+{variant} ; sys_platform == 'linux' or sys_platform == 'win32'"
        in requirements
    )
    assert "torch==2.13.0 ; sys_platform != 'linux' and sys_platform != 'win32'" in requirements
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements


@pytest.mark.parametrize("manager", MANAGERS)
def test_ci_of_an_accelerator_project_installs_the_cpu_build_from_the_lock(copie, manager):
    result = copie.copy(extra_answers=answers(manager, "cuda"))
    workflow = yaml.safe_load((result.project_dir / ".github/workflows/ci.yml").read_text())
    steps = [str(step.get("run", "")) for step in workflow["jobs"]["test"]["steps"]]
    install = {
        "uv": "uv sync --locked --extra cpu",
        "poetry": "poetry check --lock && poetry sync --extras cpu",
        "pip": "pip install --require-hashes -r pylock.cpu.toml",
    }[manager]
    assert install in steps
    assert not any("--index-url" in step for step in steps)  # never beside the lock
    for task in ("lint", "test", "doctor"):  # the justfile's: ruff and mypy, pytest, the doctor
        assert any(step.endswith(f"just {task}") for step in steps)


def test_libraries_are_pinned_to_the_matching_release(copie):
    result = copie.copy(
        extra_answers=answers("uv", "cpu", torch_libraries=["torchvision", "torchaudio"])
    )
    dependencies = load_toml(result.project_dir / "pyproject.toml")["project"]["dependencies"]
    assert dependencies == [
        "torch==2.13.0",
        "torchvision==0.28.0",
        "torchaudio==2.11.0",
        "torchcodec==0.16.0",  # torchaudio's load/save need it
        "numpy",
        "tensorboard",
    ]


def test_no_library_is_a_valid_choice(copie):
    result = copie.copy(extra_answers=answers("uv", "cpu", torch_libraries=[]))
    dependencies = load_toml(result.project_dir / "pyproject.toml")["project"]["dependencies"]
    assert dependencies == ["torch==2.13.0", "numpy", "tensorboard"]
    assert (
        "torchvision"
        not in load_toml(result.project_dir / "pyproject.toml")["tool"]["uv"]["sources"]
    )


def test_a_mirror_url_replaces_the_pytorch_index_everywhere(copie):
    mirror = "https://mirror.example.com/pytorch/whl/"
    result = copie.copy(extra_answers=answers("pip", "cuda", pytorch_index_url=mirror))
    text = "".join(p.read_text() for p in result.project_dir.rglob("*") if p.is_file())
    assert "download.pytorch.org" not in text
    assert f"--index-url https://mirror.example.com/pytorch/whl/{CUDA}" in text


@pytest.mark.parametrize("license_id", ["MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"])
def test_the_license_file_matches_the_answer(copie, license_id):
    """... and names the recorded year, whatever the year of the render."""
    result = copie.copy(extra_answers=answers("uv", "cpu", license=license_id, copyright_year=2019))
    text = (result.project_dir / "LICENSE").read_text()
    assert re.search(r"^Copyright (\(c\) )?2019\b", text, flags=re.M)
    recorded = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert recorded["copyright_year"] == 2019
    first_words = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "BSD-3-Clause": "BSD 3-Clause",
        "Proprietary": "proprietary",
    }
    assert first_words[license_id] in text
    expected = "LicenseRef-Proprietary" if license_id == "Proprietary" else license_id
    assert load_toml(result.project_dir / "pyproject.toml")["project"]["license"] == expected


def test_the_copyright_year_defaults_to_this_year_and_is_recorded(copie):
    result = copie.copy(extra_answers=answers("uv", "cpu"))
    this_year = datetime.now(UTC).year
    assert f"Copyright (c) {this_year} " in (result.project_dir / "LICENSE").read_text()
    recorded = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert recorded["copyright_year"] == this_year


def test_the_readme_create_command_renders_the_default_project(tmp_path):
    """The template README's command (1), run as written (with another destination)."""
    readme = (TEMPLATE / "README.md").read_text()
    command = next(line for line in readme.splitlines() if line.startswith("uv run copier copy"))
    command = command.split("#")[0].replace("../my-project", str(tmp_path / "my-project"))
    subprocess.run(
        command, shell=True, cwd=TEMPLATE, env=tool_env(), check=True, capture_output=True
    )
    answers = yaml.safe_load((tmp_path / "my-project/.copier-answers.yml").read_text())
    assert answers["package_name"] == "my_project"
    assert (answers["package_manager"], answers["torch_backend"]) == ("uv", "cpu")
    assert answers["torch_version"] == "recommended"


@pytest.mark.parametrize(
    ("backend", "torch", "per_machine", "per_node"),
    [
        ("cpu", "2.13.0", "2", "1"),
        ("cuda", "2.13.0", "gpu", "gpu"),
        ("rocm", "2.13.0", "gpu", "gpu"),
        ("xpu", "2.13.0", "xpu", "xpu"),
        ("xpu", "2.8.0", "2", "2"),
    ],
)
def test_the_readme_starts_the_processes_torchrun_can_count_on_the_backend(
    copie, backend, torch, per_machine, per_node
):
    """torchrun's `--nproc-per-node gpu` counts CUDA (and ROCm) GPUs only: on an XPU machine
    it fails with "Cuda is not available". `xpu` counts Intel GPUs from torch 2.9 on (a
    1-XPU laptop cannot start two processes on XPUs); the CPU and older XPU torch take a
    count."""
    project = copie.copy(extra_answers=answers("uv", backend, torch)).project_dir
    one, several = (
        readme_commands(project, "Train")[0],
        readme_commands(project, "Train on several machines")[0],
    )
    torchrun = [line for line in one if "torchrun" in line]
    assert len(torchrun) == 3  # DDP, restarted, FSDP
    assert all(f"--nproc-per-node {per_machine} " in line for line in torchrun)
    assert f"--nnodes 2 --nproc-per-node {per_node} " in several[-1]


def test_poetry_installs_a_package_named_unlike_the_project(copie):
    """`poetry install` installs the project itself from `tool.poetry.packages` (else it
    looks for a folder named after the project: "No file/folder found for package foo-app")."""
    extra = answers("poetry", "cpu", project_name="foo-app", package_name="bar")
    project = copie.copy(extra_answers=extra).project_dir
    poetry = load_toml(project / "pyproject.toml")["tool"]["poetry"]
    assert poetry["packages"] == [{"include": "bar", "from": "src"}]


@pytest.mark.parametrize(("backend", "torch"), [("cpu", "2.13.0"), ("cuda", "2.6.0")])
def test_a_project_with_a_long_package_name_passes_its_own_lint(copie, backend, torch):
    """Its CI runs `ruff check` and `ruff format --check` on the first push."""
    package = "a_package_name_that_goes_on_and_on_for_sixty_characters_long"
    assert len(package) == 60
    result = copie.copy(extra_answers=answers("uv", backend, torch, package_name=package))
    assert result.exception is None, result.exception
    for check in (["check"], ["format", "--check", "--diff"]):
        ruff = subprocess.run(
            [BIN / "ruff", *check, "."], cwd=result.project_dir, capture_output=True, text=True
        )
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr


@pytest.mark.parametrize("torch", [v for v, r in MODEL.releases.items() if "3.9" in r.python])
def test_a_python_3_9_project_evaluates_no_newer_syntax_at_run_time(copie, torch):
    """torch 2.6-2.8 offer Python 3.9: `X | None` must stay an unevaluated annotation there."""
    result = copie.copy(extra_answers=answers("uv", "cuda", torch, python_version="3.9"))
    assert result.exception is None, result.exception
    project = result.project_dir
    for path in project.rglob("*.py"):
        tree = ast.parse(path.read_text(), feature_version=(3, 9))
        future = any(
            isinstance(node, ast.ImportFrom)
            and node.module == "__future__"
            and any(alias.name == "annotations" for alias in node.names)
            for node in tree.body
        )
        annotations = [
            node.annotation if hasattr(node, "annotation") else node.returns
            for node in ast.walk(tree)
            if isinstance(node, (ast.arg, ast.AnnAssign))
            and node.annotation is not None
            or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.returns
        ]
        uses_union = any(
            isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr)
            for annotation in annotations
            for part in ast.walk(annotation)
        )
        assert future or not uses_union, f"{path}: `X | Y` evaluated on Python 3.9"
    ruff = subprocess.run(
        [BIN / "ruff", "check", "--target-version", "py39", "--extend-select", "FA102", "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout


@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_a_project_checks_itself(copie, manager, backend):
    """Hooks and CI catch conflict markers and stale locks; the README's commands are the
    ones that work for this project."""
    result = copie.copy(extra_answers=answers(manager, backend))
    project = result.project_dir
    pyproject = load_toml(project / "pyproject.toml")
    assert any(d.startswith("pre-commit>=") for d in pyproject["dependency-groups"]["dev"])
    hooks = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    assert "check-merge-conflict" in [h["id"] for repo in hooks["repos"] for h in repo["hooks"]]
    steps = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())["jobs"]["test"]
    runs = [step.get("run", "") for step in steps["steps"]]
    assert any("git grep" in run and CONFLICT_MARKER in run for run in runs)
    lock_check = {
        "uv": ["uv sync --locked"],
        "poetry": ["poetry check --lock"],
        # hashes required; `pip check` fails when pyproject.toml needs what the lock lacks
        "pip": ["pip install --require-hashes -r pylock.", "pip check"],  # CI's backend's
    }[manager]
    # CI installs from the lock and fails when it is stale
    assert all(any(run.startswith(check) for run in runs) for check in lock_check)

    readme = (project / "README.md").read_text()
    assert readme.index("git init") < readme.index("pre-commit install")
    updates = [line for line in readme.splitlines() if "copier update" in line]
    assert updates and all("--defaults" in line for line in updates)
    assert ("--nproc-per-node gpu" in readme) == (backend != "cpu")
    assert "--nproc-per-node 2" in readme


@pytest.mark.parametrize(
    ("backend", "torch"),
    [("cu118", "2.7.1"), ("cu126", "2.13.0"), ("cuda", "2.13.0"), ("rocm", "2.13.0")],
)
def test_the_doctor_knows_the_minimum_driver_of_its_cuda_build(copie, backend, torch):
    result = copie.copy(extra_answers=answers("uv", backend, torch))
    doctor = (result.project_dir / "src/demo/doctor.py").read_text()
    drivers = MODEL.drivers
    expected = {
        "cu118": f'{{"cu118": "{drivers["cuda11"]}"}}',
        "cu126": f'{{"cu126": "{drivers["cuda12"]}"}}',
        "cuda": f'{{"{CUDA}": "{drivers["cuda13"]}"}}',  # cu130 or cu132: CUDA 13
    }
    assert f"MINIMUM_DRIVERS: dict[str, str] = {expected.get(backend, '{}')}" in doctor


def test_both_readmes_install_copier_with_every_extension_the_template_loads(copie):
    """The one line that gets a Copier able to run this template, in the template's README
    and in the project's (for its updates)."""
    extensions = yaml.safe_load((TEMPLATE / "copier.yml").read_text())["_jinja_extensions"]
    modules = {name.split(".")[0] for name in extensions if not name.startswith("extensions/")}
    packages = sorted(module.replace("_", "-") for module in modules)
    line = "uv tool install copier " + " ".join(f"--with {p}" for p in packages)
    assert line in (TEMPLATE / "README.md").read_text()
    result = copie.copy(extra_answers=answers("uv", "cpu"))
    readme = " ".join((result.project_dir / "README.md").read_text().split())
    assert line in readme


def jsonc(text: str) -> dict:
    """A JSON-with-comments file (devcontainer.json), its `//` comments outside strings removed."""
    return json.loads(
        re.sub(r'"(?:\\.|[^"\\])*"|//[^\n]*', lambda m: m[0] if m[0][0] == '"' else "", text)
    )


def just_recipes(justfile: str) -> dict[str, list[str]]:
    """A justfile's recipes: name -> its command lines (the indented lines below its header)."""
    recipes: dict[str, list[str]] = {}
    for block in re.findall(r"^([a-z][\w-]*)[^\n:]*:\n((?:    .*\n?)+)", justfile, flags=re.M):
        recipes[block[0]] = [line.strip() for line in block[1].splitlines()]
    return recipes


@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize("backend", ["cpu", "cuda"])
@pytest.mark.parametrize("dockerfile", [True, False])
def test_a_project_is_ready_for_daily_work(copie, manager, backend, dockerfile):
    """A dev container, a task runner that the README and CI use, coverage with a floor,
    `[project.scripts]`, CI that pins uv and caches downloads, macOS and Windows jobs, and an
    image build that keeps its downloads in a cache mount."""
    result = copie.copy(extra_answers=answers(manager, backend, dockerfile=dockerfile))
    assert result.exception is None, result.exception
    project = result.project_dir
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    expected = build(recorded)
    cmd = commands(manager, "3.11", expected.backends[0])

    container = jsonc((project / ".devcontainer/devcontainer.json").read_text())
    if dockerfile:
        assert container["build"] == {"dockerfile": "../Dockerfile", "context": ".."}
    else:
        assert container["image"] == "python:3.11-slim"
    setup = container["postCreateCommand"].split(" && ")
    assert setup[-len(cmd.install) - 1 : -1] == [line.split("  #")[0] for line in cmd.install]
    assert setup[-1] == f"{cmd.run}just doctor"
    if not dockerfile and manager != "pip":  # the manager itself, pinned, on a bare Python
        assert setup[0] == f"pip install --no-cache-dir {manager}=={MODEL.tools[manager]}"
    assert container.get("hostRequirements") == ({"gpu": "optional"} if backend != "cpu" else None)

    recipes = just_recipes((project / "justfile").read_text())
    assert {"install", "test", "lint", "train", "doctor"} <= set(recipes)
    assert recipes["test"] == [f"{cmd.run}pytest --cov {{{{ args }}}}"]
    assert recipes["lint"] == [
        f"{cmd.run}{tool}" for tool in ("ruff check .", "ruff format --check .", "mypy")
    ]
    assert recipes["train"] == [f"{cmd.run}demo-train {{{{ args }}}}"]
    assert recipes["doctor"] == [f"{cmd.run}demo-doctor"]
    if manager != "pip":  # the README's install, of the backend the recipe's parameter names
        [install] = recipes["install"]
        extra = expected.backends[0].extra
        assert install == cmd.sync.replace(extra, "{{ backend }}") if extra else cmd.sync
    [tasks] = readme_commands(project, "Test and lint")[:1]
    assert [line.split("#")[0].strip() for line in tasks] == [
        f"{cmd.run}just test",
        f"{cmd.run}just lint",
        f"{cmd.run}just --list",
    ]

    pyproject = load_toml(project / "pyproject.toml")
    assert pyproject["project"]["scripts"] == {
        "demo-train": "demo.train:main",
        "demo-doctor": "demo.doctor:main",
    }
    dev = pyproject["dependency-groups"]["dev"]
    assert f"pytest-cov>={MODEL.tools['pytest_cov']}" in dev
    assert f"rust-just>={MODEL.tools['rust_just']}" in dev
    assert pyproject["tool"]["coverage"]["report"]["fail_under"] == COVERAGE_FLOOR

    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    jobs = workflow["jobs"]
    assert [s["run"] for s in jobs["test"]["steps"] if "just" in s.get("run", "")] == [
        f"{cmd.run}just {task}" for task in ("lint", "test", "doctor")
    ]
    platforms = jobs["platforms"]
    assert platforms["strategy"]["matrix"]["os"] == ["macos-latest", "windows-latest"]
    assert platforms["defaults"]["run"]["shell"] == "bash"
    runs = [s.get("run", "") for s in platforms["steps"]]
    assert runs[-2:] == [f"{cmd.run}just test", f"{cmd.run}just doctor"]
    ci = commands(manager, "3.11", expected.ci_backend)
    # The same lock, the cpu build; pip: the pinned requirements (its lock is Linux's alone).
    assert (ci.unlocked if manager == "pip" else ci.locked) in " && ".join(runs)
    for job in jobs.values():
        setup = {s["uses"].split("@")[0]: s.get("with", {}) for s in job["steps"] if "uses" in s}
        if manager == "uv":  # pinned, to the Dockerfile's uv
            assert setup["astral-sh/setup-uv"]["version"] == MODEL.tools["uv"]
        else:
            assert setup["actions/setup-python"]["cache"] == manager

    if dockerfile:
        runs = [
            line
            for line in (project / "Dockerfile").read_text().splitlines()
            if line.startswith("RUN --mount")
        ]
        assert len(runs) == 2 and all("--mount=type=cache,target=/root/.cache/" in r for r in runs)
        if manager == "uv":
            assert "UV_LINK_MODE=copy" in (project / "Dockerfile").read_text()


def test_ci_of_a_project_without_a_cpu_backend_has_no_other_platforms(copie):
    """A GPU-only project's CI installs its GPU backend: no macOS or Windows job downloads it."""
    result = copie.copy(extra_answers=answers("uv", "cuda", extra_backends=[]))
    assert result.exception is None, result.exception
    workflow = yaml.safe_load((result.project_dir / ".github/workflows/ci.yml").read_text())
    assert list(workflow["jobs"]) == ["test"]


@pytest.mark.parametrize("manager", MANAGERS)
def test_the_install_task_installs_each_backend_as_the_readme_does(copie, manager):
    """`just install` (the first backend) and `just install <extra>` for every other backend run
    the manager's own install of that backend; for pip, its lock and requirements exist."""
    result = copie.copy(extra_answers=answers(manager, "cuda"))
    assert result.exception is None, result.exception
    project = result.project_dir
    the_build = build(yaml.safe_load((project / ".copier-answers.yml").read_text()))
    assert len(the_build.backends) > 1
    for given, backend in zip(
        ["", *(b.extra for b in the_build.backends[1:])], the_build.backends, strict=True
    ):
        dry_run = subprocess.run(
            [str(BIN / "just"), "--dry-run", "install", *([given] if given else [])],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        )
        lines = dry_run.stderr.splitlines()
        assert lines == commands(manager, "3.11", backend).sync.split(" && ")
        if manager == "pip":
            (project / backend.requirements_file).read_text()  # rendered beside its lock's name
            assert backend.lock_file in lines[0]

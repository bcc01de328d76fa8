"""For real: a generated CPU project installs a real torch 2.13.0 through its own index setting,
passes its own tests and lint, its doctor, and trains on one and on two processes (torchrun)."""

import json
import os
import re
import subprocess

import pytest
import yaml

from extensions.project_tools import hook_runner
from tests.tools import (
    install_as_readme_says,
    installed_version,
    load_toml,
    readme_commands,
    render,
    render_real_cpu_project,
    sh,
    tool_env,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("manager", ["uv", "poetry", "pip"])
def test_a_cpu_project_works_with_real_torch(tmp_path, real_cpu_index, manager):
    project = render_real_cpu_project(tmp_path / "demo", manager, real_cpu_index.url)
    python = install_as_readme_says(project, manager)
    assert installed_version(python, "torch") == "2.13.0+cpu"

    def run(line: str) -> str:
        # As in the activated virtual environment (pip's README lines assume it).
        return sh(line, project, PATH=f"{python.parent}{os.pathsep}{tool_env()['PATH']}")

    checks, hooks = readme_commands(project, "Test and lint")[:2]
    for line in checks:  # pytest, ruff, mypy: the type checker passes with the real torch
        run(line)
    commit_with_the_hooks_offline(project, manager, hooks, run)

    [doctor_line] = readme_commands(project, "Install")[1]
    doctor = run(doctor_line)
    assert "2.13.0+cpu (cpu build)" in doctor
    assert "ok: the installed torch is the configured build" in doctor
    # The same torch in a project configured for cu130: the doctor fails and says the fix.
    mismatch = subprocess.run(
        [
            python,
            "-c",
            "import demo.doctor as d; "
            "d.EXPECTED_BUILDS = dict.fromkeys(d.EXPECTED_BUILDS, ('cu130',)); "
            "exit(d.main())",
        ],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert mismatch.returncode == 1
    assert "torch is a cpu build, the project installs the cu130 build" in mismatch.stderr
    assert "Reinstall the configured build: " in mismatch.stderr

    prefix = {"uv": "uv run ", "poetry": "poetry run ", "pip": ""}[manager]
    single = run(f"{prefix}python -m demo.train --epochs 4 --output single/losses.json")
    losses = json.loads((project / "single/losses.json").read_text())["losses"]
    assert losses[-1] < losses[0], single

    two = run(
        f"{prefix}torchrun --standalone --nproc-per-node 2 -m demo.train "
        "--epochs 4 --output ddp/losses.json"
    )
    assert "rank 0/2 on cpu (gloo)" in two and "rank 1/2 on cpu (gloo)" in two
    assert len(re.findall(r"^epoch \d/4", two, flags=re.M)) == 4  # only rank 0 reports
    ddp = json.loads((project / "ddp/losses.json").read_text())
    assert ddp["world_size"] == 2
    # Two ranks on half the global batch each take the same steps as one process.
    assert ddp["losses"] == pytest.approx(losses, rel=1e-4)


# Any connection through these fails: the hooks must need none.
NO_NETWORK = {name: "http://127.0.0.1:9" for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")} | {
    name.lower(): "http://127.0.0.1:9" for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
}


def commit_with_the_hooks_offline(project, manager, hooks, run):
    """The README's hook lines (git init, pre-commit install), then a first commit without a
    network: every hook (the file checks, ruff, mypy on the real torch) runs from the project's
    environment, nothing is cloned, and the hooks' ruff is the lock's ruff."""
    home = project.parent / "pre-commit-home"
    for line in hooks:
        run(line)
    identity = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.com"}
    offline = {**NO_NETWORK, **identity, "PRE_COMMIT_HOME": str(home)}
    sh("git add -A && git commit -q -m 'First commit'", project, **offline)
    assert sh("git status --porcelain", project) == ""  # no hook had to fix a file
    assert not [path for path in home.iterdir() if path.name.startswith("repo")]  # no clones

    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    [ruff] = [h["entry"] for h in config["repos"][0]["hooks"] if h["id"] == "ruff-check"]
    assert ruff.startswith(hook_runner(manager))
    version = sh(ruff.replace("check --fix", "--version"), project, **NO_NETWORK).split()[-1]
    if manager == "pip":  # no lock: the venv's ruff, which its install put there
        assert version == installed_version(project / ".venv/bin/python", "ruff")
    else:
        lock = load_toml(project / f"{manager}.lock")
        [locked] = [p["version"] for p in lock["package"] if p["name"] == "ruff"]
        assert version == locked


def test_a_project_with_hostile_answers_passes_its_own_tests(tmp_path, real_cpu_index):
    """Quotes, backslashes and other scripts in every free-text answer, a package name unlike
    the project's: the project installs, imports, and its tests and lint pass."""
    project = render(
        tmp_path / "project",
        project_name='Ünï "Seg" \\ 3D',
        package_name="imgcls",
        description='Say "hi" \\ to <all> """',
        author_name='DOMAIN\\user "J", Jr.',
        author_email="o'neil+tag@example.co.uk",
        package_manager="uv",
        torch_version="2.13.0",
        torch_backend="cpu",
        python_version="3.11",
        torch_libraries=[],
        pytorch_index_url=real_cpu_index.url,
    )
    install_as_readme_says(project, "uv")
    for line in readme_commands(project, "Test and lint")[0]:
        sh(line, project)
    assert "ok: the installed torch" in sh("uv run python -m imgcls.doctor", project)

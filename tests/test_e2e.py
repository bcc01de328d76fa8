"""For real: a generated CPU project installs a real torch 2.13.0 through its own index setting,
passes its own tests and lint, its doctor, and trains on one and on two processes (torchrun)."""

import json
import os
import re
import subprocess

import pytest

from extensions.index_model import MANAGERS
from tests.tools import (
    install_as_readme_says,
    installed_version,
    readme_commands,
    render,
    render_real_cpu_project,
    sh,
    tool_env,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("manager", MANAGERS)
def test_a_cpu_project_works_with_real_torch(tmp_path, real_cpu_index, manager):
    project = render_real_cpu_project(tmp_path / "demo", manager, real_cpu_index.url)
    python = install_as_readme_says(project, manager)
    assert installed_version(python, "torch") == "2.13.0+cpu"

    def run(line: str) -> str:
        # As in the activated virtual environment (pip's README lines assume it).
        return sh(line, project, PATH=f"{python.parent}{os.pathsep}{tool_env()['PATH']}")

    for line in readme_commands(project, "Test and lint")[0]:
        run(line)

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


def test_a_gpu_project_synced_without_its_extra_has_no_torch_and_the_doctor_says_how(
    tmp_path, stand_in_index
):
    """A plain `uv sync` in a project with one extra per backend installs no torch: the doctor
    names the README's install command, with its extra, and exits 1 without a traceback."""
    project = render(
        tmp_path / "demo",
        project_name="demo",
        torch_version="2.13.0",
        torch_backend="cuda",
        python_version="3.11",
        torch_libraries=[],
        pytorch_index_url=stand_in_index.url,
    )
    [install], [doctor_line], *_ = readme_commands(project, "Install")
    assert install == "uv sync --extra cuda"
    sh("uv sync", project)
    doctor = subprocess.run(
        doctor_line, shell=True, cwd=project, env=tool_env(), capture_output=True, text=True
    )
    assert doctor.returncode == 1
    assert "error: torch is not installed in this environment" in doctor.stderr
    assert f"\n  {install}  # the cu130 build\n" in doctor.stderr
    assert "Traceback" not in doctor.stderr

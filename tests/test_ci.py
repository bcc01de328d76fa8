"""The generated CI, run as GitHub would run its `run:` steps, here against the stand-in index
with the real CPU torch: it installs the CPU build from the project's own lock with the
project's own manager, lints, tests, runs the doctor; a lock that no longer matches
pyproject.toml fails it."""

import os

import pytest
import yaml

from extensions.build import build
from extensions.commands import template_update
from extensions.index_model import FAMILIES, MANAGERS
from tests.tools import adapt_poetry_to_simple_api, readme_commands, render, sh, tool_env

pytestmark = pytest.mark.e2e

# Steps GitHub's runner needs and this machine has already: the manager itself, and poetry's
# environment on the Python setup-python gives the job (here: the one Python 3.11).
PROVIDED_BY_THE_RUNNER = ("pipx install poetry", "poetry env use ")


def ci_steps(project) -> list[str]:
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    steps = [step["run"] for step in workflow["jobs"]["test"]["steps"] if "run" in step]
    return [step for step in steps if not step.startswith(PROVIDED_BY_THE_RUNNER)]


def run_ci(project, manager):
    """The workflow's run: steps in order, in a fresh virtual environment for pip (what
    actions/setup-python gives the job)."""
    env = {}
    if manager == "pip":
        sh("python3.11 -m venv .ci-venv", project)
        env["PATH"] = f"{project / '.ci-venv' / 'bin'}{os.pathsep}{tool_env()['PATH']}"
    for step in ci_steps(project):
        sh(step, project, **env)
    return project / (".ci-venv" if manager == "pip" else ".venv") / "bin" / "python"


@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize("backend", FAMILIES)
def test_ci_installs_the_cpu_build_from_the_lock_and_a_stale_lock_fails_it(
    tmp_path, real_cpu_index, manager, backend
):
    project = render(
        tmp_path / "project",
        project_name="Demo",
        package_manager=manager,
        torch_version="2.13.0",
        torch_backend=backend,
        python_version="3.11",
        torch_libraries=[],  # no real torchvision pairs with the real torch here
        pytorch_index_url=real_cpu_index.url,
    )
    if manager == "poetry":
        adapt_poetry_to_simple_api(project)
    if manager == "pip":  # every backend's pylock, with the pinned pip, as the update re-locks
        the_build = build(yaml.safe_load((project / ".copier-answers.yml").read_text()))
        lock = list(
            template_update(manager, "3.11", the_build.backends, the_build.ci_backend).relock
        )
    else:  # as the README says: lock, commit the lock
        readme = readme_commands(project, "Dependencies")[0]
        lock = [line.split(" && ")[0] for line in readme if "lock" in line]
    for line in lock:
        sh(line, project)

    python = run_ci(project, manager)
    version = sh(f"{python} -c 'import torch; print(torch.__version__)'", project).strip()
    assert version == "2.13.0+cpu"

    if manager == "pip":
        return  # pip check (CI's last install step) refuses a lock that misses a dependency
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"numpy",', '"numpy",\n    "rich",'))
    with pytest.raises(pytest.fail.Exception, match="lock"):
        run_ci(project, manager)

"""What a generated README says about its own project holds in that project: what its CI
checks, where mypy runs from, where each platform's build comes from."""

from __future__ import annotations

import re

import pytest
import yaml
from packaging.requirements import Requirement

from extensions.index_model import MANAGERS
from tests.test_render import answers
from tests.tools import render


@pytest.fixture(scope="module", params=MANAGERS)
def project(request, tmp_path_factory):
    """One CUDA project with the cpu extra per manager, shared by this module's tests."""
    manager = request.param
    return manager, render(tmp_path_factory.mktemp(manager) / "demo", **answers(manager, "cuda"))


def ci_run_lines(project) -> list[str]:
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    return [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]


def test_what_the_readme_says_ci_checks_is_what_ci_runs(project):
    manager, project = project
    readme = (project / "README.md").read_text()
    steps = ci_run_lines(project)
    if manager == "pip":
        # CI installs the lock of its backend with hashes required, as the README says.
        assert "installs the lock with hashes required" in readme
        [install] = [step for step in steps if step.startswith("pip install --require-hashes")]
        assert install.split()[-1] in readme
        assert "pip check" in steps
        # macOS and Windows install the pinned requirements (the lock holds Linux's files).
        assert "pinned requirements (the lock holds Linux's files only)" in readme
        [pinned] = {step for step in steps if step.startswith("pip install -r ")}
        lines = (project / pinned.split()[-1]).read_text().splitlines()
        pins = [Requirement(line) for line in lines if line and not line.startswith(("#", "-"))]
        assert pins and all(str(pin.specifier).startswith("==") for pin in pins)
    else:
        # CI refuses a lock that no longer matches pyproject.toml (run by tests/test_ci.py).
        assert "that the lock matches `pyproject.toml`" in readme
        assert "runs offline from the lock" in readme
        assert any("--locked" in step or "check --lock" in step for step in steps)


def test_each_platform_line_names_its_source_and_the_line_above_claims_none(project):
    """poetry takes macOS's build from PyPI (docs/decisions/0003): the line introducing the
    platforms must not promise PyTorch's indexes for all of them."""
    manager, project = project
    install = (project / "README.md").read_text().split("## Install\n")[1].split("\n## ")[0]
    lines = install.splitlines()
    bullets = [line for line in lines if line.startswith("- ")]
    assert bullets
    sources = [re.search(r"from (the PyTorch `[\w.]+` index|PyPI)$", line) for line in bullets]
    assert all(sources), bullets
    from_pypi = [line for line in bullets if line.endswith("from PyPI")]
    assert bool(from_pypi) == (manager == "poetry")
    assert all(line.startswith("- macOS") for line in from_pypi)
    # Each list of platforms: a line, a blank line, then its bullets.
    starts = [i for i, line in enumerate(lines) if line.startswith("- ") and not lines[i - 1]]
    introductions = [lines[i - 2] for i in starts]
    assert introductions
    for line in introductions:
        assert line.endswith(":") and "PyTorch" not in line, line

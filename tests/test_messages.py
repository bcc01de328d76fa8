"""Copier's closing messages are the project's own: after `copier copy` its manager's install
lines, after `copier update` its manager's re-lock and sync line with its backend's extra
(never `--extra cuda` in a CPU project). Each is run as printed, against the stand-in index,
and installs the build the project is configured for; the docs' re-lock line (docs/updates.md) is
the default project's."""

from __future__ import annotations

import re
import subprocess

import pytest
from packaging.version import Version

from extensions.index_model import family_of
from tests.test_update import TemplateRepo, git
from tests.tools import (
    BIN,
    TEMPLATE,
    adapt_poetry_to_simple_api,
    installed_version,
    sh,
)

pytestmark = pytest.mark.tools
PYTHON = "3.11"
# (manager, backend): the default project, a GPU project with the CPU extra per manager.
PROJECTS = [("uv", "cpu"), ("uv", "cuda"), ("poetry", "cuda"), ("pip", "rocm")]
EXPECTED_RELOCK = {
    ("uv", "cpu"): "uv lock && uv sync",
    ("uv", "cuda"): "uv lock && uv sync --extra cuda",
    ("poetry", "cuda"): "poetry lock && poetry install --extras cuda",
    ("pip", "rocm"): ". .venv/bin/activate && python lock.py && "
    "pip install --require-hashes -r pylock.toml && pip install --no-deps -e .",
}


def copier(*args: str, cwd) -> str:
    result = subprocess.run(
        [BIN / "copier", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def message_lines(output: str, after: str) -> list[str]:
    """The indented command lines that follow `after` in Copier's output, without comments."""
    block = output.split(after, 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if not line.startswith("  "):
            break
        lines.append(line.split("  #")[0].strip())
    return lines


@pytest.mark.parametrize(("manager", "backend"), PROJECTS)
def test_the_closing_messages_install_and_relock_this_project(
    tmp_path, stand_in_index, manager, backend
):
    template = TemplateRepo(tmp_path / "template")
    template.release("1.0.0", recommend={"torch": "2.13.0"})
    project = tmp_path / "demo"
    answers = {
        "project_name": "Demo",
        "package_manager": manager,
        "torch_backend": backend,
        "python_version": PYTHON,
        "pytorch_index_url": stand_in_index.url,
    }
    flags = [f"-d{key}={value}" for key, value in answers.items()]
    created = copier(
        "copy", "--trust", "--defaults", *flags, str(template.path), str(project), cwd=tmp_path
    )

    cd, *install, doctor = message_lines(created, "Your project is ready. Next:")
    assert doctor.endswith("python -m demo.doctor")  # the stub torch has no doctor: e2e runs it
    if manager == "poetry":
        adapt_poetry_to_simple_api(project)  # these machines reach PyPI's simple API only
    sh(" && ".join([cd, *install]), tmp_path)  # from where `copier copy` ran
    python = project / ".venv" / "bin" / "python"
    assert installed_build(python) == ("2.13.0", backend)

    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Project, installed and locked")
    template.release("1.1.0", recommend={"torch": "2.14.1"})
    updated = copier("update", "--trust", "--defaults", cwd=project)

    # The template's notes since 1.0.0, from its CHANGELOG; no conflicts, none spoken of.
    assert "Release notes of the template, 1.0.0 -> 1.1.0 (its CHANGELOG.md):\n## 1.1.0" in updated
    message = updated.split("Why the template's pins may have changed:", 1)[1]
    assert "release notes above" in message and "conflict" not in message.lower()
    assert "Resolve the conflicts" not in updated
    [relock] = message_lines(updated, "re-lock and reinstall:")
    assert relock == EXPECTED_RELOCK[manager, backend]
    assert relock in (project / "README.md").read_text()  # the project's README says the same
    sh(relock, project)
    assert installed_build(python) == ("2.14.1", backend)


def installed_build(python) -> tuple[str, str]:
    """The installed torch's version and the family of its build (`2.13.0+rocm7.2`: rocm)."""
    version = Version(installed_version(python, "torch"))
    return version.public, family_of(version.local or "")


def test_the_docs_relock_line_is_the_default_projects():
    page = (TEMPLATE / "docs" / "updates.md").read_text()  # "Keeping projects current"
    [block] = re.findall(r"```bash\n(.*?)```", page, flags=re.S)
    relock = block.splitlines()[-1].split("  #")[0].strip()
    assert relock == EXPECTED_RELOCK["uv", "cpu"]  # run by the test above, as printed
    prose = " ".join(page.split())
    for line in EXPECTED_RELOCK.values():  # the other managers' lines it names, as printed
        assert f"`{line}`" in prose or line.split(" --extra")[0] in prose

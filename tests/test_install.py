"""The path a team walks, as the template's README writes it: Copier installed as a tool with
the template's extensions, a project created from the template's git URL at a release tag,
committed, then updated to the next release; and the create command from a clone, followed by
an update."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.test_update import TemplateRepo, git
from tests.tools import BIN, TEMPLATE, load_toml, sh

pytestmark = pytest.mark.tools
README = (TEMPLATE / "README.md").read_text()
UPDATES_PAGE = (TEMPLATE / "docs" / "updates.md").read_text()  # "Keeping projects current"
HOSTED_URL = "https://github.com/your-org/copier-pytorch.git"  # the README's stand-in URL


def readme_lines(heading: str, block: int = 0) -> list[str]:
    """The command lines of a bash block under a heading of the template's README, without
    their comments."""
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return command_lines(section, block)


def command_lines(text: str, block: int = 0) -> list[str]:
    """The command lines of the text's bash block number `block`, without their comments."""
    code = re.findall(r"```bash\n(.*?)```", text, flags=re.S)[block]
    return [line.split("  #")[0].strip() for line in code.splitlines() if line.strip()]


def readme_update_command() -> list[str]:
    """The update line of the docs' page "Keeping projects current"."""
    lines = command_lines(UPDATES_PAGE)
    return [line for line in lines if line.startswith("copier update")]


def released_template(tmp_path: Path) -> TemplateRepo:
    """This template in git, tag 1.0.0 recommending torch 2.13.0."""
    template = TemplateRepo(tmp_path / "template")
    template.release("1.0.0", recommend={"torch": "2.13.0"})
    return template


def commit_project(project: Path) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Project from the template")


def torch_pin(project: Path) -> str:
    return load_toml(project / "pyproject.toml")["project"]["dependencies"][0]


def test_copier_installed_as_a_tool_creates_from_a_git_url_and_updates(tmp_path):
    template = released_template(tmp_path)
    hosted = tmp_path / "hosted" / "copier-pytorch.git"  # stands for the hosted repository
    git(tmp_path, "clone", "-q", "--bare", str(template.path), str(hosted))
    tool_bin = tmp_path / "tool-bin"
    # An isolated tool install: its own environments and bin, the system's git and the uv
    # of this environment (beside the test interpreter) on PATH, nothing else.
    tools = {
        "UV_TOOL_DIR": str(tmp_path / "tools"),
        "UV_TOOL_BIN_DIR": str(tool_bin),
        "PATH": os.pathsep.join([str(tool_bin), str(tmp_path / "uv-only"), "/usr/bin", "/bin"]),
    }
    (tmp_path / "uv-only").mkdir()
    (tmp_path / "uv-only" / "uv").symlink_to(BIN / "uv")
    install, on_path, copy = readme_lines("Create a project")

    sh(install, tmp_path, **tools)
    home = tmp_path / "home"  # the shell's startup files `uv tool update-shell` edits
    home.mkdir()
    not_yet = os.pathsep.join(tools["PATH"].split(os.pathsep)[1:])  # a shell before it
    sh(on_path, tmp_path, **{**tools, "HOME": str(home), "SHELL": "/bin/bash", "PATH": not_yet})
    assert str(tool_bin) in "".join(f.read_text() for f in home.iterdir() if f.is_file())
    assert shutil.which("copier", path=tools["PATH"]) == str(tool_bin / "copier")
    sh(f"{copy.replace(HOSTED_URL, f'file://{hosted}')} --defaults", tmp_path, **tools)

    project = tmp_path / "my-project"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["_src_path"], answers["_commit"]) == (f"file://{hosted}", "1.0.0")
    assert torch_pin(project) == "torch==2.13.0"
    commit_project(project)

    template.release("1.1.0", recommend={"torch": "2.14.1"})
    git(template.path, "push", "-q", "--tags", str(hosted), "main")
    [update] = readme_update_command()
    sh(update, project, **tools)

    assert torch_pin(project) == "torch==2.14.1"
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "1.1.0"


def test_the_readme_create_command_from_a_clone_records_a_source_that_updates(tmp_path):
    template = released_template(tmp_path)
    [create] = [line for line in readme_lines("Create a project", 1) if "copier copy" in line]
    # As written, in the clone; `uv run` takes the environment this test runs in.
    sh(create, template.path, UV_PROJECT_ENVIRONMENT=str(BIN.parent), UV_NO_SYNC="1")

    project = template.path.parent / "my-project"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(template.path)
    commit_project(project)
    template.release("1.1.0", recommend={"torch": "2.14.1"})
    [update] = readme_update_command()
    sh(update, project)

    assert torch_pin(project) == "torch==2.14.1"

"""The project's template update, run as its README says (`python3 .github/template_update.py`):
a project made from release X of a copy of this template ends at X+1, which moves the
recommended torch and adds a CHANGELOG entry, with fresh locks against the stand-in index, the
checks passed on the real CPU torch, and the notes and the torch move in its output; a second
run changes nothing; a team edit on a line X+1 also changes is named as a conflict."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import run_copy
from packaging.requirements import Requirement
from packaging.version import Version

from extensions.commands import PIP_UPGRADE
from extensions.index_model import MANAGERS, MODEL
from extensions.migrate import release_notes
from extensions.project_tools import load_actions
from tests.pytorch_index import REAL_TORCH
from tests.test_hygiene import USES
from tests.test_update import TemplateRepo, git
from tests.tools import BIN, TEMPLATE, adapt_poetry_to_simple_api, readme_commands, render, sh

PYTHON = "3.11"  # the real CPU wheel's
NEW_TORCH = str(Requirement(REAL_TORCH).specifier).lstrip("=").split("+")[0]
# X recommends the release before the real wheel's (locked against its stub, never installed).
OLD_TORCH = next(
    version
    for version in MODEL.torch_versions  # newest first
    if Version(version) < Version(NEW_TORCH)
    and PYTHON in MODEL.releases[version].python
    and "cpu" in MODEL.releases[version].variants
)
X, X_NEXT = "7.0.0", "7.1.0"
ENTRY = f"- Recommends torch {NEW_TORCH} (was {OLD_TORCH}): its CPU build is the tested one."
LOCK = {"uv": "uv lock", "poetry": "poetry lock", "pip": "python lock.py"}  # the first backend's


def release_next(template: TemplateRepo) -> None:
    """X+1: the recommended torch moves, and the CHANGELOG says so under its own heading."""
    changelog = template.path / "CHANGELOG.md"
    text = changelog.read_text()
    unreleased = text.index("## Unreleased")
    following = text.index("\n## ", unreleased + 1) + 1
    changelog.write_text(
        f"{text[:following]}## {X_NEXT} (2026-12-07)\n\n{ENTRY}\n\n{text[following:]}"
    )
    template.release(X_NEXT, recommend={"torch": NEW_TORCH})


def project_from_x(tmp_path: Path, manager: str, index_url: str) -> tuple[TemplateRepo, Path]:
    """A copy of the template released as X, and a project made from X, locked and committed
    as a team keeps it."""
    template = TemplateRepo(tmp_path / "template")
    template.release(X, recommend={"torch": OLD_TORCH})
    project = tmp_path / "demo"
    data = {
        "project_name": "Demo",
        "package_manager": manager,
        "torch_backend": "cpu",
        "python_version": PYTHON,
        "torch_libraries": [],  # no real torchvision pairs with the real torch here
        "pytorch_index_url": index_url,
    }
    run_copy(
        str(template.path), project, data=data, defaults=True, unsafe=True, vcs_ref=X, quiet=True
    )
    if manager == "poetry":
        adapt_poetry_to_simple_api(project)  # these machines reach PyPI's simple API only
    if manager == "pip":  # the README's install writes the lock the first time, with pip 26.1+
        sh(
            f"python{PYTHON} -m venv .venv && .venv/bin/{PIP_UPGRADE} && .venv/bin/{LOCK[manager]}",
            project,
        )
    else:
        sh(LOCK[manager], project)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Project from the template, locked")
    return template, project


def readme_update_line(project: Path) -> str:
    """The README's line that runs the template update locally."""
    lines = [line for block in readme_commands(project, "Dependencies") for line in block]
    [line] = [line for line in lines if "template_update.py" in line]
    return line.split("  #")[0].strip()


def recorded_release(project: Path) -> str:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"]


@pytest.mark.e2e
@pytest.mark.parametrize("manager", MANAGERS)
def test_the_readme_line_updates_to_the_next_release_relocks_checks_and_reports(
    tmp_path, real_cpu_index, manager
):
    template, project = project_from_x(tmp_path, manager, real_cpu_index.url)
    release_next(template)

    output = sh(readme_update_line(project), project)

    assert recorded_release(project) == X_NEXT
    assert f"Template update: {X} -> {X_NEXT}" in output
    assert ENTRY in output  # the release notes, from the template's CHANGELOG
    assert f"torch {OLD_TORCH} -> {NEW_TORCH}" in output
    assert "FAILED" not in output and "passed: " in output
    assert f"torch=={NEW_TORCH}" in (project / "pyproject.toml").read_text()
    if manager == "uv":
        sh("uv lock --locked", project)
        assert f'name = "torch"\nversion = "{NEW_TORCH}' in (project / "uv.lock").read_text()
    if manager == "poetry":
        sh("poetry check --lock", project)
    if manager == "pip":
        assert f"torch=={NEW_TORCH}+cpu" in (project / "requirements.txt").read_text()
        lock = (project / "pylock.toml").read_text()
        assert f'name = "torch"\nversion = "{NEW_TORCH}+cpu"' in lock
        assert f'version = "{OLD_TORCH}+cpu"' not in lock

    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "The template update, merged")
    again = sh(readme_update_line(project), project)
    assert f"Up to date: template {X_NEXT}" in again
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.tools
def test_a_team_edit_on_a_line_the_release_changes_is_named(tmp_path, stand_in_index):
    template, project = project_from_x(tmp_path, "uv", stand_in_index.url)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("managed with uv.", "managed with uv, by us."))
    git(project, "commit", "-q", "-am", "Our README")
    release_next(template)

    output = sh(f"{readme_update_line(project)} --no-checks", project)

    assert recorded_release(project) == X_NEXT
    conflicts = output.split("## Conflicts: resolve them, then commit\n", 1)[1]
    assert "- README.md\n" in conflicts
    assert "- not run (--no-checks)" in output


@pytest.mark.tools
def test_a_plain_update_with_rej_files_names_them_and_ci_refuses_them(tmp_path, stand_in_index):
    template, project = project_from_x(tmp_path, "uv", stand_in_index.url)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("managed with uv.", "managed with uv, by us."))
    git(project, "commit", "-q", "-am", "Our README")
    release_next(template)

    update = subprocess.run(
        [BIN / "copier", "update", "--trust", "--defaults", "--conflict", "rej"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    output = update.stdout + update.stderr

    assert (project / "README.md.rej").is_file()
    assert "  README.md.rej\n" in output
    assert ENTRY in output  # the closing message's notes
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    [step] = [s["run"] for s in workflow["jobs"]["test"]["steps"] if ".rej" in s.get("run", "")]
    git(project, "add", "-A")  # the team commits what the update left
    with pytest.raises(pytest.fail.Exception):
        sh(step, project)


@pytest.mark.parametrize("manager", MANAGERS)
def test_every_render_has_a_weekly_and_on_demand_update_that_writes_only_in_its_job(
    tmp_path, manager
):
    project = render(tmp_path / "demo", project_name="Demo", package_manager=manager)
    text = (project / ".github/workflows/template-update.yml").read_text()
    workflow = yaml.safe_load(text)

    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML reads `on:` as True
    assert workflow[True]["schedule"][0]["cron"]
    assert "pull_request_target" not in text
    assert workflow["permissions"] == {"contents": "read"}
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
        "actions": "write",  # starts CI on the branch: its own pull request starts none
    }
    pins = {action.name: action for action in load_actions().values()}
    for use in USES.finditer(text):
        action = pins[use["action"]]
        assert (use["ref"], use["comment"].strip()) == (action.commit, f"# {action.version}")
    steps = job["steps"]
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] is False  # the token reaches `git push` only
    runs = [step["run"] for step in steps if "run" in step]
    assert any(run.startswith(readme_update_line(project)) for run in runs)
    [push] = [run for run in runs if "git push" in run]
    assert "gh pr create" in push and "gh workflow run ci.yml --ref template-update" in push
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    assert "workflow_dispatch" in ci[True]

    # The script it runs: Copier pinned as the model says, the manager's lock, CI's checks.
    script = (project / ".github/template_update.py").read_text()
    for tool in ("copier", "copier-template-extensions", "jinja2-time"):
        assert f'"{tool}=={MODEL.tools[tool.replace("-", "_")]}"' in script
    checks = ast.literal_eval(script.split("CHECKS = ", 1)[1].split("\n)\n", 1)[0] + "\n)")
    ci_tasks = [
        step["run"] for step in ci["jobs"]["test"]["steps"] if "just " in step.get("run", "")
    ]
    assert len(ci_tasks) == 3 and [task.split()[-1] for task in ci_tasks] == [
        "lint",
        "test",
        "doctor",
    ]
    tasks = zip(checks[-3:], ci_tasks, strict=True)
    assert all(line.endswith(task.split("run ")[-1]) for line, task in tasks)
    # Before them, CI's install of the lock (pip: into .venv, without activation).
    locked = [step.get("run", "") for step in ci["jobs"]["test"]["steps"]][-4]
    assert checks[-4].endswith(locked.split(" && ")[-1])
    relock = ast.literal_eval(script.split("RELOCK = ", 1)[1].split("\n]\n", 1)[0] + "\n]")
    assert LOCK[manager] in relock[-1]


def test_the_release_notes_are_the_changelogs_entries_between_two_releases():
    changelog = (TEMPLATE / "CHANGELOG.md").read_text()
    releases = [line.split()[1] for line in changelog.splitlines() if line.startswith("## 1.")]
    newest, previous, older = releases[:3]

    notes = release_notes(changelog, older, newest)

    assert notes.startswith(f"## {newest} ")
    assert f"\n## {previous} " in notes
    assert f"## {older}" not in notes and "## Unreleased" not in notes
    assert release_notes(changelog, newest, newest) == ""

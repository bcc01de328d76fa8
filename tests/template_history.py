"""This repository's history as Copier sees the hosted template: a hosting without tags (tags
do not survive in this repository's), the release workflow's tagging step run on a clone,
and the working tree committed on top as the next release."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from maintainers import releases
from tests.tools import BIN, TEMPLATE

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
WORKFLOW = TEMPLATE / ".github" / "workflows" / "release.yml"


def git(cwd: Path, *args: str) -> str:
    env = {**GIT_ENV, "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout


def hosting(path: Path) -> Path:
    """A bare repository with this repository's history up to HEAD and no tags, as its
    hosting keeps it. Fails, saying what to fetch, in a shallow clone."""
    if git(TEMPLATE, "rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.fail("These tests need the template's whole history: git fetch --unshallow")
    git(path.parent, "init", "-q", "--bare", "-b", "main", str(path))
    git(TEMPLATE, "push", "-q", str(path), "HEAD:refs/heads/main")
    return path


def tagging_step() -> str:
    """The shell script of the release workflow's step that tags and pushes."""
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["tag"]["steps"]
    [script] = [step["run"] for step in steps if "maintainers.releases tag" in step.get("run", "")]
    return script


def run_tagging_step(clone: Path) -> subprocess.CompletedProcess:
    """The workflow's tagging step, as the runner runs it (`bash -e`), in `clone`; its `uv run`
    uses the tests' own environment, which holds what the step needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "UV_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        UV_PROJECT_ENVIRONMENT=sys.prefix,
        UV_NO_SYNC="1",
        HOME=str(clone.parent),  # the step's `git config` stays in the clone anyway
    )
    return subprocess.run(
        ["bash", "-e", "-c", tagging_step()], cwd=clone, env=env, capture_output=True, text=True
    )


def tagged_clone(path: Path) -> Path:
    """A clone of a fresh hosting of this repository, after the release workflow's tagging
    step pushed the release tags there."""
    bare = hosting(path.parent / f"{path.name}-hosting.git")
    git(path.parent, "clone", "-q", str(bare), str(path))
    result = run_tagging_step(path)
    if result.returncode:
        pytest.fail(f"the release workflow's tagging step failed:\n{result.stdout}{result.stderr}")
    return path


def next_version(newest: Version) -> str:
    return f"{newest.major}.{newest.minor + 1}.0"


def release_candidate(path: Path) -> tuple[Path, str]:
    """The template with its recorded releases tagged and the working tree committed on top,
    tagged as the next release (so a plain `copier update` reaches it); returns the clone and
    that tag."""
    clone = tagged_clone(path)
    git(clone, "rm", "-q", "-r", "--", ".")
    files = git(TEMPLATE, "ls-files", "--cached", "--others", "--exclude-standard")
    for name in files.splitlines():
        if (TEMPLATE / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, clone / name)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "--allow-empty", "-m", "The working tree")
    candidate = next_version(releases.recorded(clone / "releases.yml")[-1].version)
    git(clone, "tag", candidate)
    return clone, candidate

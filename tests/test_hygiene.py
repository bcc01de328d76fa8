"""What a reviewer of a generated repository checks: CI actions pinned by commit, a read-only
token, no credentials left on disk, no unpinned tool upgrade; a dependency bot that leaves the
template's pins alone and passes its own validator; git hooks that run the locked tools; a
type checker wherever the project lints."""

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from extensions.index_model import FAMILIES, LIBRARY_NAMES, MANAGERS, MODEL
from extensions.project_tools import hook_runner, load_actions, template_pins
from tests.tools import TEMPLATE

# The version of Renovate whose validator the tests run (npm, installed once into pytest's
# cache: about 340 MB, a minute).
RENOVATE = "44.121.2"
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?P<comment>.*)$", re.M)


def render(copie, manager: str, family: str, extras: bool) -> Path:
    """A project of `family` for torch 2.13.0, with a further backend or none."""
    further = ["cuda" if family == "cpu" else "cpu"] if extras else []
    result = copie.copy(
        extra_answers={
            "project_name": "Demo",
            "package_manager": manager,
            "torch_version": "2.13.0",
            "torch_backend": family,
            "python_version": "3.11",
            "extra_backends": further,
        }
    )
    assert result.exception is None, result.exception
    return result.project_dir


def check_pinned_workflow(path: Path) -> None:
    """Every action pinned by the commit `ci_actions.yml` records, its release in a comment;
    a read-only token; checkout keeps no credentials."""
    text = path.read_text()
    pins = {action.name: action for action in load_actions().values()}
    uses = list(USES.finditer(text))
    assert uses, path
    for use in uses:
        action = pins[use["action"]]
        assert re.fullmatch(r"[0-9a-f]{40}", use["ref"]), use[0]
        assert (use["ref"], use["comment"].strip()) == (action.commit, f"# {action.version}")
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        # Only a job that must write (the template's release job pushes its tags) keeps the
        # token on disk, and says so explicitly.
        writes = job.get("permissions", {}).get("contents") == "write"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is writes


@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("extras", [False, True], ids=["one-backend", "extras"])
def test_every_render_is_reviewable(copie, manager, family, extras):
    project = render(copie, manager, family, extras)

    check_pinned_workflow(project / ".github/workflows/ci.yml")
    runs = [
        step.get("run", "")
        for step in yaml.safe_load((project / ".github/workflows/ci.yml").read_text())["jobs"][
            "test"
        ]["steps"]
    ]
    assert not any("--upgrade" in run or " -U " in run for run in runs)
    prefix = {"uv": "uv run ", "poetry": "poetry run ", "pip": ""}[manager]
    assert f"{prefix}just lint" in runs  # the justfile's lint: ruff and mypy
    assert f"    {prefix}mypy\n" in (project / "justfile").read_text()

    renovate = json.loads((project / "renovate.json").read_text())
    assert renovate["ignoreDeps"] == template_pins(MODEL)
    assert "helpers:pinGitHubActionDigests" in renovate["extends"]
    assert renovate["lockFileMaintenance"] == {"enabled": True}

    hooks = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in hooks["repos"]] == ["local"]  # nothing to clone
    for hook in hooks["repos"][0]["hooks"]:
        assert hook["language"] == "system"
        assert hook["entry"].startswith(hook_runner(manager)), hook
    ids = {hook["id"] for hook in hooks["repos"][0]["hooks"]}
    assert {"check-merge-conflict", "ruff-check", "ruff-format", "mypy"} <= ids

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    dev = [requirement.split(">=")[0] for requirement in pyproject["dependency-groups"]["dev"]]
    assert {"mypy", "pre-commit", "pre-commit-hooks", "ruff"} <= set(dev)
    assert pyproject["tool"]["mypy"]["files"] == ["src", "tests"]
    readme = (project / "README.md").read_text()
    assert f"{prefix}just lint " in readme and "renovate.json" in readme


def test_the_bot_leaves_torch_its_libraries_and_the_index_only_packages_to_the_template():
    pins = template_pins(MODEL)
    assert pins[: 1 + len(LIBRARY_NAMES)] == ["torch", *LIBRARY_NAMES]
    index_only = {
        requirement.name
        for release in MODEL.releases.values()
        for requirements in release.index_requires.values()
        for requirement in requirements
    }
    assert set(pins) == {"torch", *LIBRARY_NAMES, *index_only}
    assert {"triton-rocm", "triton-xpu"} <= set(pins)


def test_the_templates_own_workflows_pin_the_same_actions():
    workflows = sorted((TEMPLATE / ".github/workflows").glob("*.yml"))
    assert workflows
    for workflow in workflows:
        check_pinned_workflow(workflow)


def test_an_action_pinned_by_a_short_or_moving_ref_is_refused(tmp_path):
    data = yaml.safe_load((TEMPLATE / "extensions/ci_actions.yml").read_text())
    data["actions"]["checkout"]["commit"] = "v5"
    path = tmp_path / "ci_actions.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="Pin actions/checkout v5.0.0 by its full commit"):
        load_actions.__wrapped__(path)


def test_pip_is_pinned_where_a_pip_project_installs_it(copie):
    project = render(copie, "pip", "cpu", extras=False)
    pinned = f"python -m pip install pip=={MODEL.tools['pip']}"
    assert pinned in (project / "README.md").read_text()
    assert f"- run: {pinned}\n" in (project / ".github/workflows/ci.yml").read_text()


@pytest.fixture(scope="session")
def renovate_config_validator(request) -> Path:
    """Renovate's own `renovate-config-validator`, from npm, installed once into pytest's
    cache. Fails (never skips) when npm is missing or the install fails."""
    folder = Path(request.config.cache.mkdir(f"renovate-{RENOVATE}"))
    validator = folder / "node_modules" / ".bin" / "renovate-config-validator"
    if not validator.exists():
        npm = shutil.which("npm")
        if not npm:
            pytest.fail("npm is needed to install Renovate's config validator")
        command = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund"]
        install = subprocess.run([*command, f"renovate@{RENOVATE}"], capture_output=True, text=True)
        if install.returncode:
            pytest.fail(f"npm could not install renovate@{RENOVATE}:\n{install.stderr}")
    return validator


def validate(validator: Path, folder: Path) -> subprocess.CompletedProcess:
    """`renovate-config-validator --strict` in `folder`, as on a repository's config."""
    return subprocess.run(
        [validator, "--strict"], cwd=folder, capture_output=True, text=True, timeout=300
    )


@pytest.mark.tools
@pytest.mark.parametrize("manager", MANAGERS)
def test_renovates_validator_accepts_the_projects_config(copie, renovate_config_validator, manager):
    project = render(copie, manager, "rocm", extras=True)
    result = validate(renovate_config_validator, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config validated successfully" in result.stdout


@pytest.mark.tools
def test_renovates_validator_accepts_the_templates_config(renovate_config_validator, tmp_path):
    result = validate(renovate_config_validator, TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr
    # ... and refuses a config it does not know, so that acceptance means something.
    (tmp_path / "renovate.json").write_text('{"ignoreDep": ["torch"]}')
    assert validate(renovate_config_validator, tmp_path).returncode == 1


def test_the_templates_renovate_finds_every_pinned_action_in_the_data():
    """Renovate's custom manager keeps `ci_actions.yml` current: its pattern (Renovate's
    `(?<name>...)` groups) finds each action's name, release and commit there."""
    config = json.loads((TEMPLATE / "renovate.json").read_text())
    [manager] = config["customManagers"]
    [pattern] = manager["matchStrings"]
    text = (TEMPLATE / "extensions/ci_actions.yml").read_text()
    found = [
        (m["depName"], m["currentValue"], m["currentDigest"])
        for m in re.finditer(pattern.replace("(?<", "(?P<"), text)
    ]
    expected = [(a.name, a.version, a.commit) for a in load_actions().values()]
    assert found == expected

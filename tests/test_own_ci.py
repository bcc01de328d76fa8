"""The template's own CI (`.github/workflows/ci.yml`): every pull request and push runs the
README's development checks; main, a nightly schedule and a manual run add the full run,
`.ci/run`, with the whole history. Its action pins and token are checked with the other
workflows' (tests/test_hygiene.py)."""

from __future__ import annotations

import re

import yaml

from tests.tools import TEMPLATE, load_toml

WORKFLOW = yaml.safe_load((TEMPLATE / ".github/workflows/ci.yml").read_text())
README = (TEMPLATE / "README.md").read_text()
CI_RUN = (TEMPLATE / ".ci/run").read_text()


def run_lines(job: str) -> list[str]:
    """The shell lines of a job's steps, without their comments."""
    steps = WORKFLOW["jobs"][job]["steps"]
    return [step["run"].split("  #")[0].strip() for step in steps if "run" in step]


def readme_development_lines() -> list[str]:
    section = README.split("## Development\n", 1)[1]
    [block] = re.findall(r"```bash\n(.*?)```", section.split("\n## ")[0], flags=re.S)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_every_pull_request_and_push_runs_the_readmes_fast_checks():
    events = WORKFLOW[True]  # YAML 1.1 reads the key `on` as true
    assert {"pull_request", "push"} <= set(events)
    assert "if" not in WORKFLOW["jobs"]["fast"]
    fast = run_lines("fast")
    development = readme_development_lines()
    for line in ("uv sync --locked", "uv run pytest"):
        assert line in development and line in fast
    assert "uv run pre-commit run --all-files --show-diff-on-failure" in fast  # ruff, mypy


def test_the_fast_job_installs_the_uv_of_the_lock():
    [uv] = [p for p in load_toml(TEMPLATE / "uv.lock")["package"] if p["name"] == "uv"]
    assert f'python3 -m pip install --quiet "uv=={uv["version"]}"' in run_lines("fast")


def test_main_and_a_schedule_run_the_full_run_with_the_whole_history():
    assert "schedule" in WORKFLOW[True]
    condition = WORKFLOW["jobs"]["full"]["if"]
    assert "github.event_name == 'schedule'" in condition
    assert "github.ref == 'refs/heads/main'" in condition
    assert "pull_request" not in condition
    assert run_lines("full") == ["bash .ci/run"]
    [checkout] = [s for s in WORKFLOW["jobs"]["full"]["steps"] if "checkout" in s.get("uses", "")]
    assert checkout["with"]["fetch-depth"] == 0
    # .ci/run is the README's full run: the locked tools, then every test.
    lines = [line.split("#")[0].strip() for line in CI_RUN.splitlines()]
    assert "uv sync --locked" in lines
    assert 'uv run pytest -m ""' in lines and 'uv run pytest -m ""' in readme_development_lines()

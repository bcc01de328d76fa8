"""What keeps a generated repository reviewable: its CI's pinned actions, the packages its
dependency bot leaves to the template, and how its git hooks run the project's own tools.

The action pins are facts, with their evidence, in `ci_actions.yml`; the packages the
template pins come from the model of the index (`index_model.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from packaging.utils import canonicalize_name

from extensions.commands import dev_container_setup, install_task
from extensions.index_model import LIBRARY_NAMES, Model

ACTIONS_PATH = Path(__file__).with_name("ci_actions.yml")
COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Action:
    """A GitHub Action pinned by the commit its release tag `version` points to."""

    name: str  # owner/repository
    version: str  # the release tag: v5.0.0
    commit: str  # 40 hexadecimal digits
    evidence: str

    @property
    def uses(self) -> str:
        """A workflow's `uses:` value, its tag in a comment: `actions/checkout@<sha> # v5.0.0`."""
        return f"{self.name}@{self.commit} # {self.version}"


@cache
def load_actions(path: Path = ACTIONS_PATH) -> dict[str, Action]:
    """Key (`checkout`, `setup-python`, `setup-uv`) -> the pinned `Action`, from `ci_actions.yml`.
    Raises ValueError for a commit that is not a full 40-digit hexadecimal SHA."""
    actions = {}
    for key, facts in yaml.safe_load(path.read_text(encoding="utf-8"))["actions"].items():
        action = Action(**facts)
        if not COMMIT.fullmatch(action.commit):
            raise ValueError(
                f"Pin {action.name} {action.version} by its full commit in {path.name} "
                f"(40 hexadecimal digits), not {action.commit!r}"
            )
        actions[key] = action
    return actions


def template_pins(model: Model) -> list[str]:
    """The packages the template pins and `copier update` moves together, which a dependency
    bot must never propose alone: torch, every domain library, and every package torch needs
    from the PyTorch index alone (`triton-rocm`, `pytorch-triton-xpu`, ...) in any release of
    the model. Normalized names (PEP 503): torch and the libraries first, then the rest sorted."""
    index_only = {
        canonicalize_name(requirement.name)
        for release in model.releases.values()
        for requirements in release.index_requires.values()
        for requirement in requirements
    }
    return ["torch", *LIBRARY_NAMES, *sorted(index_only)]


# How a git hook runs a tool of the project's environment, per package manager, without the
# network: uv runs it from the environment synced to uv.lock (`--frozen`: never re-locks),
# poetry from its environment, pip from the project's `.venv` (README: `python -m venv .venv`).
# poetry keeps the environment in .venv (the project's poetry.toml): its executables start at
# once, where `poetry run` starts poetry for every hook (77 s against 6 s per `pre-commit run`).
HOOK_RUNNERS = {"uv": "uv run --frozen ", "poetry": ".venv/bin/", "pip": ".venv/bin/"}


def hook_runner(package_manager: str) -> str:
    """The prefix of a pre-commit `entry` that runs a dev tool from the project's lock
    (`uv run --frozen ruff`). Raises KeyError for an unknown manager."""
    return HOOK_RUNNERS[package_manager]


# The coverage a generated project's tests must reach (`[tool.coverage.report] fail_under`,
# `just test`): below what the starter's own tests cover, with room for the code a team adds
# before its tests. Measured: tests/test_e2e.py runs `just test` in a uv, a poetry and a pip
# project with the real CPU torch (the starter covered 85.9 % of its package on 2026-12-07,
# a uv project with torch 2.13.0+cpu).
COVERAGE_FLOOR = 70


def jinja_globals(model: Model) -> dict[str, object]:
    """What the templates of CI, the bot's config, the hooks and the task runner call by name."""
    return dict(
        actions=load_actions(),
        coverage_floor=COVERAGE_FLOOR,
        install_task=install_task,
        dev_container_setup=dev_container_setup,
        template_pins=template_pins(model),
        hook_runner=hook_runner,
    )

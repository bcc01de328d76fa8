"""The platforms a team installs on and the PEP 508 markers that select them (part of the
render-time model: `index_model` loads them from `index_facts.yml`, whose `platforms` and
`platform_groups` are the one source of which machines exist)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Platform:
    """A kind of machine a team installs on. `marker` selects it (the markers of all platforms
    partition every machine); `sys_platform` and `machine` are what Python reports on it."""

    name: str
    title: str
    marker: str
    sys_platform: str
    machine: str
    wheel_tag: str  # its wheels' platform tag; `{macos}` stands for the release's minimum macOS
    uv_platform: str  # its name for `uv --python-platform`

    def environment(self, python: str) -> dict[str, str]:
        """PEP 508 marker environment of this platform with CPython `python` (e.g. "3.11")."""
        return {
            "sys_platform": self.sys_platform,
            "platform_system": {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}[
                self.sys_platform
            ],
            "platform_machine": self.machine,
            "os_name": "nt" if self.sys_platform == "win32" else "posix",
            "python_version": python,
            "python_full_version": f"{python}.2",
            "platform_python_implementation": "CPython",
            "implementation_name": "cpython",
        }


@dataclass(frozen=True)
class Platforms:
    """Every platform, by name, and the shorter markers of some sets of them."""

    by_name: dict[str, Platform]
    groups: dict[str, tuple[str, ...]]  # marker -> the platforms it selects

    def marker(self, names: Iterable[str]) -> str:
        """PEP 508 marker selecting exactly the platforms `names` (in the model's order); ""
        for all of them."""
        wanted = set(names)
        if wanted >= set(self.by_name):
            return ""
        left = [n for n in self.by_name if n in wanted]
        parts = []
        for marker, group in self.groups.items():
            if set(group) <= set(left):
                parts.append(marker)
                left = [n for n in left if n not in group]
        return any_of([*parts, *(self.by_name[n].marker for n in left)])


def any_of(markers: list[str]) -> str:
    """`a or b` of the non-empty markers, each parenthesised when it has an `and`."""
    return _joined(markers, " or ", " and ")


def all_of(markers: list[str]) -> str:
    """`a and b` of the non-empty markers, each parenthesised when it has an `or`."""
    return _joined(markers, " and ", " or ")


def _joined(markers: list[str], operator: str, weaker: str) -> str:
    parts = [m for m in markers if m]
    if len(parts) == 1:
        return parts[0]
    return operator.join(f"({m})" if weaker in m else m for m in parts)


def load_platforms(data: Mapping[str, Any]) -> Platforms:
    """The `platforms` and `platform_groups` of the index facts."""
    return Platforms(
        by_name={name: Platform(name=name, **facts) for name, facts in data["platforms"].items()},
        groups={marker: tuple(group) for marker, group in data["platform_groups"].items()},
    )

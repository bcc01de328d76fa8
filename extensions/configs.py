"""What a `Plan` (where each platform's build comes from) means in each generated file.

Pure functions of the plan, so that every file says the same thing: the project's direct
dependencies, uv's sources, poetry's constraints, pip's requirement lines, the doctor's
expected build per platform, and the README's "which build where".
"""

from __future__ import annotations

import json

from extensions.index_model import CPU, PYPI, Plan

POETRY_PYPI = "PyPI"  # poetry's own name for its default source


def index_name(variant: str) -> str:
    """The name a project gives the PyTorch index of `variant` (`pytorch-cu130`)."""
    return f"pytorch-{variant}"


def index_url(base: str, variant: str) -> str:
    """`https://download.pytorch.org/whl` + `cu130` -> `.../whl/cu130`."""
    return f"{base.rstrip('/')}/{variant}"


def dependencies(plan: Plan, pins: dict[str, str]) -> list[str]:
    """`[project] dependencies` of the torch family: the pins, then the index-only
    dependencies of torch, each limited to where the variant's index is used."""
    return [f"{name}=={version}" for name, version in pins.items()] + [
        str(requirement) for requirement in plan.requirements()
    ]


def bound_packages(plan: Plan) -> dict[str, list[str]]:
    """Package -> the indexes it is bound to: the torch family to every index the plan uses,
    the index-only dependencies to the variant's index alone."""
    bound = {name: plan.indexes for name in plan.packages}
    bound.update({r.name: [plan.variant] for r in plan.requirements()})
    return bound


def uv_sources(plan: Plan) -> dict[str, list[dict[str, str]]]:
    """`[tool.uv.sources]`: each package bound to its indexes, per platform marker."""
    sources = {}
    for name, indexes in bound_packages(plan).items():
        sources[name] = [_where({"index": index_name(i)}, plan.marker(i)) for i in indexes]
    return sources


def poetry_dependencies(plan: Plan) -> dict[str, list[dict[str, str]]]:
    """`[tool.poetry.dependencies]`: each package's source per platform marker (the versions
    come from `[project] dependencies`); platforms that poetry cannot take from a PyTorch
    index take PyPI's build, a CPU build there (see `plan`)."""
    result = {}
    for name, indexes in bound_packages(plan).items():
        constraints = [_where({}, plan.marker(i), source=index_name(i)) for i in indexes]
        if name in plan.packages and PYPI in {s.index for s in plan.sources.values()}:
            constraints.append(_where({}, plan.marker(PYPI), source=POETRY_PYPI))
        result[name] = constraints
    return result


def _where(table: dict, marker: str, **more: str) -> dict[str, str]:
    key = "marker" if "index" in table else "markers"
    return {**table, **({key: marker} if marker else {}), **more}


def pip_requirements(plan: Plan, pins: dict[str, str], base: str) -> list[str]:
    """requirements.txt: PyTorch's indexes alone (`--index-url`, plus the CPU index where the
    variant lacks platforms), and each pin with the local label its platforms' wheels carry."""
    indexes = plan.indexes
    lines = [f"--index-url {index_url(base, indexes[0])}"]
    lines += [f"--extra-index-url {index_url(base, i)}" for i in indexes[1:]]
    for name, version in pins.items():
        for index in indexes:
            labels = sorted({s.label for s in plan.sources.values() if s.index == index})
            for label in labels:
                where = [p for p, s in plan.sources.items() if (s.index, s.label) == (index, label)]
                marker = plan.platforms.marker(where)
                pin = f"{name}=={version}+{label}" if label else f"{name}=={version}"
                lines.append(f"{pin} ; {marker}" if marker else pin)
    return lines


def expected_builds(plan: Plan) -> dict[tuple[str, str], str]:
    """(sys.platform, platform.machine()) -> the build the project installs there."""
    builds = plan.builds()
    return {
        (p.sys_platform, p.machine): builds[p.name]
        for p in plan.platforms.by_name.values()
        if p.name in builds
    }


def where_builds_come_from(plan: Plan) -> list[str]:
    """README lines: which build each platform gets, and from which index."""
    groups: dict[tuple[str, str], list[str]] = {}
    builds = plan.builds()
    for platform, source in plan.sources.items():
        origin = "PyPI" if source.index == PYPI else f"the PyTorch `{source.index}` index"
        groups.setdefault((builds[platform], origin), []).append(
            plan.platforms.by_name[platform].title
        )
    lines = [
        f"{', '.join(titles)}: the {'CPU' if build == CPU else build} build, from {origin}"
        for (build, origin), titles in groups.items()
    ]
    lacking = [p.title for p in plan.platforms.by_name.values() if p.name not in plan.sources]
    if lacking:
        lines.append(f"{', '.join(lacking)}: none (no wheel of torch {plan.release.torch})")
    return lines


def toml_string(value: str) -> str:
    """`value` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def toml_inline(table: dict) -> str:
    """A TOML inline table of strings: `{ index = "pytorch-cu130", marker = "..." }`."""
    items = ", ".join(f"{key} = {toml_string(value)}" for key, value in table.items())
    return f"{{ {items} }}"

"""What a `Plan` (where each platform's build comes from) means in each generated file.

Pure functions of the plan, so that every file says the same thing: the project's direct
dependencies, uv's sources, poetry's constraints, pip's requirement lines, the doctor's
expected build per platform, and the README's "which build where".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from extensions.answers import toml_string
from extensions.index_model import CPU, PYPI, Plan, family_of, index_url
from extensions.platforms import all_of

POETRY_PYPI = "PyPI"  # poetry's own name for its default source


def index_name(variant: str) -> str:
    """The name a project gives the PyTorch index of `variant` (`pytorch-cu130`)."""
    return f"pytorch-{variant}"


@dataclass(frozen=True)
class Backend:
    """One backend a project can install: the answer (`cuda`, `cpu`, `cu126`), its build plan,
    and the optional dependency set (extra) that selects it ("" in a one-backend project)."""

    answer: str
    plan: Plan
    extra: str = ""
    requirements_file: str = "requirements.txt"  # pip's file for it

    @property
    def variant(self) -> str:
        return self.plan.variant

    @property
    def where(self) -> list[str]:
        """README lines: which build each platform gets with this backend."""
        return where_builds_come_from(self.plan)


def extra_name(variant: str, taken: Iterable[str] = ()) -> str:
    """The extra that installs a backend: its family (`cuda`, `rocm`), so that the name stays
    when the family's recommended variant moves or the answer names the variant; the variant
    when another backend took the family (PEP 685: `rocm7.1` -> `rocm7-1`)."""
    family = family_of(variant)
    return family if family not in set(taken) else str(canonicalize_name(variant))


def dependencies(backends: list[Backend], pins: dict[str, str]) -> dict[str, list[str]]:
    """Extra -> its torch-family requirements ("": `[project] dependencies`): the pins, then
    the index-only dependencies of torch, each limited to where its index is used."""
    return {
        b.extra: [f"{name}=={version}" for name, version in pins.items()]
        + [str(requirement) for requirement in b.plan.requirements()]
        for b in backends
    }


def bound_packages(plan: Plan) -> dict[str, list[str]]:
    """Package -> the indexes it is bound to: the torch family to every index the plan uses,
    the index-only dependencies to the variant's index alone."""
    bound = {name: plan.indexes for name in plan.packages}
    bound.update({r.name: [plan.variant] for r in plan.requirements()})
    return bound


def uv_sources(backends: list[Backend]) -> dict[str, list[dict[str, str]]]:
    """`[tool.uv.sources]`: each package bound to its indexes, per extra and platform."""
    sources: dict[str, list[dict[str, str]]] = {}
    for b in backends:
        for name, indexes in bound_packages(b.plan).items():
            sources.setdefault(name, []).extend(
                _where({"index": index_name(i), **_extra(b)}, b.plan.marker(i)) for i in indexes
            )
    return sources


def uv_conflicts(backends: list[Backend]) -> list[list[dict[str, str]]]:
    """`[tool.uv] conflicts`: the extras exclude each other."""
    extras = [{"extra": b.extra} for b in backends if b.extra]
    return [extras] if extras else []


def _extra(backend: Backend) -> dict[str, str]:
    return {"extra": backend.extra} if backend.extra else {}


def poetry_dependencies(backends: list[Backend]) -> dict[str, list[dict[str, str]]]:
    """`[tool.poetry.dependencies]`: each package's source per extra and platform marker (the
    versions come from `[project]`); platforms that poetry cannot take from a PyTorch index
    take PyPI's build, a CPU build there (see `plan`). Extras exclude each other as poetry
    documents it: `extra == 'a' and extra != 'b'`."""
    result: dict[str, list[dict[str, str]]] = {}
    for b in backends:
        others = [o.extra for o in backends if o.extra and o.extra != b.extra]
        chosen = " and ".join(
            [f"extra == '{b.extra}'"] * bool(b.extra) + [f"extra != '{o}'" for o in others]
        )
        for name, indexes in bound_packages(b.plan).items():
            places = [(i, index_name(i)) for i in indexes]
            if name in b.plan.packages and PYPI in {s.index for s in b.plan.sources.values()}:
                places.append((PYPI, POETRY_PYPI))
            for index, source in places:
                marker = all_of([chosen, b.plan.marker(index)])
                result.setdefault(name, []).append(_where({}, marker, source=source))
    return result


def _where(table: Mapping[str, str], marker: str, **more: str) -> dict[str, str]:
    key = "marker" if "index" in table else "markers"
    return {**table, **({key: marker} if marker else {}), **more}


def indexes(backends: list[Backend], base: str) -> dict[str, str]:
    """Name -> URL of every PyTorch index the project uses, the first backend's first."""
    variants = [i for b in backends for i in b.plan.indexes]
    return {index_name(v): index_url(base, v) for v in dict.fromkeys(variants)}


def credential_commands(package_manager: str, indexes: dict[str, str]) -> list[str]:
    """Shell lines that give `package_manager` a login (`USER`, `PASSWORD`: the user's own)
    for every PyTorch index of a project (`indexes`: name -> URL), outside the project's files:
    - uv reads `UV_INDEX_<NAME>_USERNAME` / `_PASSWORD`, NAME the index's name in capitals
      with `_` for every other character than a letter or digit (uv's rule, docs: "Package
      indexes", Providing credentials);
    - poetry reads its `http-basic.<source>` setting, which takes dotted source names (its
      `POETRY_HTTP_BASIC_<SOURCE>_*` variables keep the dot, so a shell cannot export them
      for `pytorch-rocm7.2`: poetry's Config.get builds the name from the source's);
    - pip reads `~/.netrc`, one line per host (its requirement files name URLs, not sources).
    Each line is run by the tests against a stand-in index that asks for Basic auth."""
    if package_manager == "uv":
        lines = []
        for name in indexes:
            variable = "UV_INDEX_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
            lines.append(f"export {variable}_USERNAME=USER {variable}_PASSWORD=PASSWORD")
        return lines
    if package_manager == "poetry":
        return [f"poetry config http-basic.{name} USER PASSWORD" for name in indexes]
    hosts = dict.fromkeys(urlsplit(url).hostname for url in indexes.values())
    return [
        f'echo "machine {host} login USER password PASSWORD" >> ~/.netrc && chmod 600 ~/.netrc'
        for host in hosts
    ]


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


def expected_builds(backends: list[Backend]) -> dict[tuple[str, str], tuple[str, ...]]:
    """(sys.platform, platform.machine()) -> the builds the project installs there, one per
    backend (the first backend's first), without repeats."""
    result = {}
    per_backend = [b.plan.builds() for b in backends]
    for platform in backends[0].plan.platforms.by_name.values():
        builds = tuple(dict.fromkeys(b[platform.name] for b in per_backend if platform.name in b))
        if builds:
            result[(platform.sys_platform, platform.machine)] = builds
    return result


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


# What the project's TOML holds: strings, inline tables of strings, arrays of those tables.
TomlValue = str | Mapping[str, str] | Sequence[Mapping[str, str]]
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # TOML's bare keys; any other key is quoted


def toml_key(key: str) -> str:
    """`key` as one TOML key: bare (`torch`, `triton-rocm`) where TOML allows it, else quoted
    (`"zope.interface"`, which bare would be a dotted key: a table in a table)."""
    return key if BARE_KEY.fullmatch(key) else toml_string(key)


def toml_inline(value: TomlValue) -> str:
    """`value` as one TOML value: a string, an inline table of strings
    (`{ index = "pytorch-cu130", marker = "..." }`) or an array of those."""
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{toml_key(key)} = {toml_string(text)}" for key, text in value.items())
        return f"{{ {items} }}"
    return f"[{', '.join(map(toml_inline, value))}]"


def toml_items(values: Iterable[TomlValue]) -> str:
    """The items of a multi-line TOML array, each on its own line after a newline, indented
    by four spaces and followed by a comma ("" for none): what goes between `[` and `]`."""
    return "".join(f"\n    {toml_inline(value)}," for value in values)


def toml_arrays(arrays: Mapping[str, Iterable[TomlValue]]) -> str:
    """`key = [...]` for each key of `arrays`, a multi-line array each (see `toml_items`),
    each after a newline: the body of a table such as `[tool.uv.sources]`."""
    return "".join(
        f"\n{toml_key(key)} = [{toml_items(values)}\n]" for key, values in arrays.items()
    )

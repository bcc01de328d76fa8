"""The model of what the PyTorch wheel index serves, and where each platform's build comes from.

Loaded from `torch_matrix.yml` (releases, variants, pairings) and `index_facts.yml` (platforms,
families, per-release index facts, each with its evidence there) by `load_model`. Everything a
generated project says about platforms derives from `plan()`:
the uv sources, poetry's constraints, pip's requirement lines, the doctor's expected build per
platform, the README's "which build where", and the tests' stand-in index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

# The domain libraries a project may pin beside torch, in the order they are offered.
LIBRARY_NAMES = ("torchvision", "torchaudio", "torchcodec")
PYPI = "pypi"  # the project's default index, in a `Source`
CPU = "cpu"


def family_of(variant: str) -> str:
    """`cu130` -> `cuda`, `rocm7.1` -> `rocm`; `cpu` and `xpu` are their own family."""
    if variant.startswith("cu"):
        return "cuda"
    if variant.startswith("rocm"):
        return "rocm"
    return variant


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

    def marker(self, names) -> str:
        """PEP 508 marker selecting exactly the platforms `names` (in the model's order); ""
        for all of them."""
        wanted = set(names)
        if wanted >= set(self.by_name):
            return ""
        names = [n for n in self.by_name if n in wanted]
        parts = []
        for marker, group in self.groups.items():
            if set(group) <= set(names):
                parts.append(marker)
                names = [n for n in names if n not in group]
        return any_of([*parts, *(self.by_name[n].marker for n in names)])


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


def load_platforms(data: dict) -> Platforms:
    """The `platforms` and `platform_groups` of the matrix."""
    return Platforms(
        by_name={name: Platform(name=name, **facts) for name, facts in data["platforms"].items()},
        groups={marker: tuple(group) for marker, group in data["platform_groups"].items()},
    )


@dataclass(frozen=True)
class Library:
    """A domain library's release that pairs with a torch release."""

    name: str
    version: str
    requires_python: SpecifierSet
    requires_torch: str  # its Requires-Dist on torch (`==2.13.0`, `>=2.14.0`), "" for none
    python: tuple[str, ...] = ()  # CPython versions with wheels of it; () = every one of torch's
    missing: tuple[str, ...] = ()  # variants or families without any build of it
    without: dict[str, tuple[str, ...]] = field(default_factory=dict)  # variant/family -> platforms


@dataclass(frozen=True)
class Release:
    """One torch release: its Pythons, libraries, index variants and their platforms."""

    torch: str
    python: tuple[str, ...]
    macos: str  # minimum macOS of its arm64 wheels
    variants: tuple[str, ...]
    libraries: dict[str, Library]
    families: dict[str, tuple[str, ...]]  # family -> platforms its index serves
    without: dict[str, tuple[str, ...]]  # variant/family -> platforms it lacks in this release
    unlabeled: dict[str, tuple[str, ...]]  # variant/family -> platforms with unlabeled wheels
    index_requires: dict[str, tuple[Requirement, ...]]  # family -> torch deps only it hosts
    pypi_builds: dict[str, str]  # platform -> the build PyPI serves there (cpu, cu130)

    def platforms_of(self, variant: str, package: str = "torch") -> tuple[str, ...]:
        """Platforms on which the variant's index has a build of `package`."""
        family = family_of(variant)
        if package != "torch":
            library = self.libraries[package]
            if variant in library.missing or family in library.missing:
                return ()
        lacking = set(self.without.get(variant, ()) + self.without.get(family, ()))
        if package != "torch":
            lacking |= set(library.without.get(variant, ()) + library.without.get(family, ()))
        return tuple(p for p in self.families[family] if p not in lacking)

    def label(self, variant: str, platform: str) -> str:
        """The local version label of the variant's wheels on `platform` ("" when unlabeled)."""
        unlabeled = self.unlabeled.get(variant, ()) + self.unlabeled.get(family_of(variant), ())
        return "" if platform in unlabeled else variant

    def requirements(self, variant: str) -> tuple[Requirement, ...]:
        """torch's dependencies that only this variant's index hosts."""
        if variant in self.index_requires:
            return self.index_requires[variant]
        return self.index_requires.get(family_of(variant), ())


@dataclass(frozen=True)
class Source:
    """Where one platform's torch family comes from: an index variant (or PyPI, the default
    index), and the local label its wheels carry there ("" when unlabeled)."""

    index: str
    label: str


@dataclass(frozen=True)
class Plan:
    """Where every platform of a project gets its build, for one package manager."""

    release: Release
    variant: str
    packages: tuple[str, ...]  # torch and the chosen libraries
    sources: dict[str, Source]  # platform -> source; absent: no build exists there
    platforms: Platforms

    @property
    def indexes(self) -> list[str]:
        """The PyTorch index variants the project uses, the configured variant first."""
        used = {s.index for s in self.sources.values() if s.index != PYPI}
        return sorted(used, key=lambda v: (v != self.variant, v))

    def marker(self, index: str) -> str:
        """PEP 508 marker of the platforms that take their build from `index`."""
        return self.platforms.marker(p for p, s in self.sources.items() if s.index == index)

    def builds(self) -> dict[str, str]:
        """Platform -> the build installed there (`cu130`, `rocm7.2`, `cpu`)."""
        result = {}
        for platform, source in self.sources.items():
            build = source.index if source.index != PYPI else self.release.pypi_builds[platform]
            result[platform] = build
        return result

    def requirements(self) -> list[Requirement]:
        """The index-only dependencies, as direct dependencies limited to where the variant's
        index is used (so they are bound to it, never looked up elsewhere)."""
        if self.variant not in self.indexes:
            return []
        where = self.marker(self.variant)
        return [
            Requirement(
                f"{r.name}{r.specifier} ; {all_of([str(r.marker) if r.marker else '', where])}"
            )
            for r in self.release.requirements(self.variant)
        ]


def plan(release: Release, variant: str, packages, platforms: Platforms, manager: str) -> Plan:
    """Where each platform of a project (torch `release`, index `variant`, `packages`) gets its
    build, for `manager`:

    - the variant's index, on the platforms where it has a build of every package;
    - elsewhere the CPU index, where it has them: a CPU build, never PyPI's (PyPI's Linux
      builds are CUDA builds since torch 2.11, aarch64 included);
    - poetry locks one version per source for all platforms it serves, so it cannot take an
      unlabeled wheel from an index whose other wheels are labeled (it picks `+cpu`, which has
      no wheel there): such a platform takes PyPI's build, when that is a CPU build.
    A platform with none of these has no build (absent from the result).
    """
    packages = tuple(packages)

    def served(index: str) -> set[str]:
        sets = [set(release.platforms_of(index, p)) for p in packages]
        return set.intersection(*sets) if sets else set()

    sources = {}
    for name in platforms.by_name:
        for index in (variant, CPU):
            if name not in served(index):
                continue
            label = release.label(index, name)
            if manager == "poetry" and not label:
                continue
            sources[name] = Source(index, label)
            break
        else:
            if release.pypi_builds.get(name) == CPU:
                sources[name] = Source(PYPI, "")
    return Plan(release, variant, packages, sources, platforms)


@dataclass(frozen=True)
class Model:
    """Every release of the matrix, typed, and the platforms."""

    releases: dict[str, Release]
    platforms: Platforms


def load_model(matrix: dict, facts: dict) -> Model:
    """The model from the version matrix (`torch_matrix.yml`) and the index facts
    (`index_facts.yml`). Raises KeyError when a release of the matrix has no index facts."""
    families = {name: tuple(f["platforms"]) for name, f in facts["families"].items()}
    family_unlabeled = {name: f.get("unlabeled", ()) for name, f in facts["families"].items()}
    releases = {}
    for torch, row in matrix["releases"].items():
        extra = facts["releases"][torch]
        libraries = {}
        for name in LIBRARY_NAMES:
            if name not in row:
                continue
            more = extra.get("libraries", {}).get(name, {})
            libraries[name] = Library(
                name=name,
                version=row[name]["version"],
                requires_python=SpecifierSet(more.get("requires_python", "")),
                requires_torch=more.get("requires_torch", f"=={torch}"),
                python=tuple(more.get("python", ())),
                missing=tuple(row[name].get("missing", ())),
                without=_merged(more.get("without", {})),
            )
        releases[torch] = Release(
            torch=torch,
            python=tuple(row["python"]),
            macos=extra["macos"],
            variants=tuple(row["variants"]),
            libraries=libraries,
            families=families,
            without=_merged(extra.get("without", {})),
            unlabeled=_merged(family_unlabeled, extra.get("unlabeled", {})),
            index_requires={
                key: tuple(Requirement(r) for r in requirements)
                for key, requirements in extra.get("index_requires", {}).items()
            },
            pypi_builds=dict(extra["pypi_builds"]),
        )
    return Model(releases=releases, platforms=load_platforms(facts))


def _merged(*mappings: dict) -> dict[str, tuple[str, ...]]:
    """Key -> the values of every mapping for it, in order."""
    result: dict[str, tuple[str, ...]] = {}
    for mapping in mappings:
        for key, values in mapping.items():
            result[key] = result.get(key, ()) + tuple(values)
    return result

"""The render-time model: every fact a generated project derives from, typed, loaded once.

Loaded from `torch_matrix.yml` (releases, variants, pairings, recommendations, tools, drivers,
companions) and `index_facts.yml` (platforms, families, per-release index facts, each with
its evidence there) by `load_model`; `MODEL` is the template's own, read once per process.
What Copier loads at a render (this folder) imports nothing of the maintainers' tooling
(`maintainers/`), which may import this.

Everything a generated project says about platforms derives from `plan()`: the uv sources,
poetry's constraints, pip's requirement lines, the doctor's expected build per platform, the
README's "which build where", and the tests' stand-in index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from extensions.platforms import Platforms, all_of, load_platforms

MATRIX_PATH = Path(__file__).with_name("torch_matrix.yml")
FACTS_PATH = Path(__file__).with_name("index_facts.yml")

# The package managers a project can use, in the order they are offered.
MANAGERS = ("uv", "poetry", "pip")
# The domain libraries a project may pin beside torch, in the order they are offered.
LIBRARY_NAMES = ("torchvision", "torchaudio", "torchcodec")
PYPI = "pypi"  # the project's default index, in a `Source`
CPU = "cpu"
RECOMMENDED = "recommended"  # the torch_version answer that follows the matrix
# A line git's merge starts or ends a conflict with (`<<<<<<< before updating`): a Python
# regular expression and a POSIX extended one (`git grep -E`) alike, used with multiline.
CONFLICT_MARKER = r"^(<{7}|>{7})( |$)"


@cache
def load_matrix(path: Path = MATRIX_PATH) -> dict[str, Any]:
    """The matrix file as YAML data, parsed once per process (the maintainers' tooling edits
    it as data; everything else reads `MODEL`)."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@cache
def load_facts(path: Path = FACTS_PATH) -> dict[str, Any]:
    """The index facts file as YAML data, parsed once per process."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


# The families of variants, in their order (cpu, cuda, rocm, xpu): the keys of the index facts'
# `families`. A family whose variants carry a version names them with a prefix and the version.
FAMILIES: tuple[str, ...] = tuple(load_facts()["families"])
# Family -> the prefix of its variants' names, before the version: `cu` + CUDA 13.0 without
# its dot is `cu130`, `rocm` + ROCm 7.2 is `rocm7.2` (what the doctor renders to name the
# build of the torch it imports).
VARIANT_PREFIXES = {"cuda": "cu", "rocm": "rocm"}
_NUMBER = re.compile(r"\d+(\.\d+)*")


@dataclass(frozen=True, order=True)
class Variant:
    """A PyTorch index variant (`cpu`, `cu118` ... `cu132`, `rocm6.2.4`, `rocm7.14`, `xpu`), or a
    family named alone (`cuda`, `rocm`), as a backend answer may be. Ordered by family (in
    `FAMILIES` order), then by version: `cu126 < cu130 < rocm7.2 < rocm7.14 < xpu`; a family's
    own name sorts before its variants."""

    rank: int  # the family's position in FAMILIES
    number: Version  # the version in the name (`130`, `7.14`); 0 for cpu, xpu and families
    name: str
    family: str = field(compare=False)

    @classmethod
    def parse(cls, name: str) -> Variant:
        """The variant of `name`. Raises ValueError when `name` is neither a variant nor a
        family (`nightly`, `cpu-cxx11-abi`, `cu`, `rocm7.x`)."""
        for rank, family in enumerate(FAMILIES):
            if name == family:
                return cls(rank, Version("0"), name, family)
            prefix = VARIANT_PREFIXES.get(family)
            number = name.removeprefix(prefix) if prefix and name.startswith(prefix) else ""
            if number and _NUMBER.fullmatch(number) and (family != "cuda" or number.isdigit()):
                return cls(rank, Version(number), name, family)
        raise ValueError(
            f"'{name}' is not a PyTorch index variant ({', '.join(FAMILIES)}, cu130, rocm7.2, ...)"
        )

    @classmethod
    def is_name(cls, name: str) -> bool:
        """Whether `name` is a variant or a family name (what `parse` accepts)."""
        try:
            cls.parse(name)
        except ValueError:
            return False
        return True

    @classmethod
    def is_index_variant(cls, name: str) -> bool:
        """Whether `name` is a variant the PyTorch index has a folder for: `cpu`, `cu130`,
        `rocm7.14`, `xpu` (not a family alone such as `cuda`, nor `nightly`)."""
        try:
            variant = cls.parse(name)
        except ValueError:
            return False
        return not (variant.is_family and variant.family in VARIANT_PREFIXES)

    @property
    def is_family(self) -> bool:
        """`cuda`, `rocm` (and `cpu`, `xpu`, which are both): the family named alone."""
        return self.name == self.family

    def __str__(self) -> str:
        return self.name


def family_of(name: str) -> str:
    """`cu130` -> `cuda`, `rocm7.1` -> `rocm`, `cuda` -> `cuda`: `Variant.parse(name).family`."""
    return Variant.parse(name).family


def ordered(names: Iterable[str], reverse: bool = False) -> list[str]:
    """Variant names in `Variant` order."""
    return sorted(names, key=Variant.parse, reverse=reverse)


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

    def lacks(self, variant: str) -> bool:
        """Whether no build of it exists for `variant` (or its whole family)."""
        return variant in self.missing or family_of(variant) in self.missing


@dataclass(frozen=True)
class Release:
    """One torch release: its Pythons, libraries, index variants and their platforms."""

    torch: str
    status: str  # confirmed, corroborated or unconfirmed (see the matrix's header)
    python: tuple[str, ...]
    macos: str  # minimum macOS of its arm64 wheels
    variants: tuple[str, ...]
    libraries: dict[str, Library]
    families: dict[str, tuple[str, ...]]  # family -> platforms its index serves
    without: dict[str, tuple[str, ...]]  # variant/family -> platforms it lacks in this release
    unlabeled: dict[str, tuple[str, ...]]  # variant/family -> platforms with unlabeled wheels
    index_requires: dict[str, tuple[Requirement, ...]]  # family -> torch deps only it hosts
    pypi_builds: dict[str, str]  # platform -> the build PyPI serves there (cpu, cu130)
    unconfirmed: dict[str, str] = field(default_factory=dict)  # what it does not offer -> why
    withheld: dict[str, str] = field(default_factory=dict)  # served, not offered -> why
    constraints: tuple[str, ...] = ()  # further requirements its projects need
    accelerator_api: bool = True  # has `torch.accelerator`
    torchrun_xpu: bool = True  # torchrun takes `--nproc-per-node xpu` (one process per XPU)

    def reason_not_offered(self, name: str) -> str:
        """Why the matrix does not offer `name` (a variant or family) with this torch, or ""."""
        reasons = {**self.unconfirmed, **self.withheld}
        return reasons.get(name) or reasons.get(family_of(name), "")

    def in_family(self, family: str) -> list[str]:
        """Its variants of `family`, in `Variant` order."""
        return ordered(v for v in self.variants if family_of(v) == family)

    def platforms_of(self, variant: str, package: str = "torch") -> tuple[str, ...]:
        """Platforms on which the variant's index has a build of `package`."""
        family = family_of(variant)
        lacking = set(self.without.get(variant, ()) + self.without.get(family, ()))
        if package != "torch":
            library = self.libraries[package]
            if library.lacks(variant):
                return ()
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
        return {
            platform: source.index if source.index != PYPI else self.release.pypi_builds[platform]
            for platform, source in self.sources.items()
        }

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


def plan(
    release: Release, variant: str, packages: Iterable[str], platforms: Platforms, manager: str
) -> Plan:
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
    names = tuple(packages)
    served = {
        index: set.intersection(*(set(release.platforms_of(index, p)) for p in names))
        for index in (variant, CPU)
    }
    sources = {}
    for name in platforms.by_name:
        if source := _source(release, name, served, manager):
            sources[name] = source
    return Plan(release, variant, names, sources, platforms)


def _source(
    release: Release, platform: str, served: dict[str, set[str]], manager: str
) -> Source | None:
    """Where `platform` gets its build (see `plan`): the first index in `served` (the variant's,
    then the CPU one) with every package there, else PyPI's CPU build, else None."""
    for index, platforms in served.items():
        label = release.label(index, platform)
        if platform in platforms and (label or manager != "poetry"):
            return Source(index, label)
    if release.pypi_builds.get(platform) == CPU:
        return Source(PYPI, "")
    return None


@dataclass(frozen=True)
class Recommended:
    """The matrix's recommendations (a human choice, kept by the refresh): a torch, a Python,
    and per family with versions the variant an answer of the family alone means."""

    torch: str
    python: str
    variants: dict[str, str]  # family -> variant (`cuda` -> `cu130`)


@dataclass(frozen=True)
class Companion:
    """A library that choosing `library` from version `since` on brings along, and the help
    the question shows beside the companion."""

    library: str
    companion: str
    since: Version
    help: str


VARIANT_PLACEHOLDER = "{variant}"


def index_url(answer: str, variant: str) -> str:
    """The URL of `variant`'s index, from the `pytorch_index_url` answer in either form:
    a template with `{variant}` anywhere gets it in place (a mirror with one repository per
    variant: `https://nexus.example/repository/pytorch-{variant}/simple` + `cu130` ->
    `.../pytorch-cu130/simple`); a base URL gets it appended, as PyTorch's own index lays
    its variants out (`https://download.pytorch.org/whl` + `cu130` -> `.../whl/cu130`).
    Which answers are valid: `answers.index_url_error`."""
    url = answer.strip().rstrip("/")
    if VARIANT_PLACEHOLDER in url:
        return url.replace(VARIANT_PLACEHOLDER, variant)
    return f"{url}/{variant}"


@dataclass(frozen=True)
class Model:
    """Every release of the matrix, typed, with the platforms and the matrix's other facts."""

    releases: dict[str, Release]  # torch version -> release, newest first
    platforms: Platforms
    recommended: Recommended
    index_url: str  # the default base of the PyTorch wheel index
    tools: dict[str, str]  # tool -> the version generated projects pin (`uv`, `ruff`, ...)
    drivers: dict[str, str]  # `cuda13` -> the oldest NVIDIA Linux driver that runs it
    companions: tuple[Companion, ...] = ()
    # `cuda13` or a variant (`cu128`) -> the oldest GPU (CUDA compute capability) its wheels run
    oldest_gpu: dict[str, Version] = field(default_factory=dict)

    @property
    def torch_versions(self) -> list[str]:
        """Torch releases the template supports, newest first (PEP 440 order)."""
        return list(self.releases)


def load_model(matrix: Mapping[str, Any], facts: Mapping[str, Any]) -> Model:
    """The model from the version matrix (`torch_matrix.yml`) and the index facts
    (`index_facts.yml`), as YAML data. Raises KeyError when a release of the matrix has no
    index facts, or a required field is absent."""
    families = {name: tuple(f["platforms"]) for name, f in facts["families"].items()}
    unlabeled = {name: f.get("unlabeled", ()) for name, f in facts["families"].items()}
    newest_first = sorted(matrix["releases"], key=Version, reverse=True)
    releases = {
        torch: _release(
            torch, matrix["releases"][torch], facts["releases"][torch], families, unlabeled
        )
        for torch in newest_first
    }
    return Model(
        releases=releases,
        platforms=load_platforms(facts),
        recommended=_recommended(matrix["recommended"]),
        index_url=matrix["index_url"],
        tools={tool: str(version) for tool, version in matrix.get("tools", {}).items()},
        drivers={k: str(v) for k, v in matrix.get("drivers", {}).get("linux", {}).items()},
        companions=tuple(
            Companion(library, c["library"], Version(str(c["since"])), c["help"])
            for library, c in matrix.get("companions", {}).items()
        ),
        oldest_gpu=_oldest_gpu(matrix.get("oldest_gpu", {})),
    )


def _recommended(data: Mapping[str, Any]) -> Recommended:
    """The matrix's `recommended` block: the torch, the Python, and a variant per family."""
    variants = {family: str(v) for family, v in data.items() if family not in ("torch", "python")}
    return Recommended(torch=str(data["torch"]), python=str(data["python"]), variants=variants)


def _oldest_gpu(facts: Mapping[str, Any]) -> dict[str, Version]:
    """The matrix's `oldest_gpu` (`cuda13: "7.5"`, `variants: {cu128: "7.5"}`) as one mapping
    of CUDA major version or variant -> compute capability."""
    return {
        key: Version(str(capability))
        for group in ("cuda", "variants")
        for key, capability in facts.get(group, {}).items()
    }


def _release(
    torch: str,
    row: Mapping[str, Any],
    extra: Mapping[str, Any],
    families: dict[str, tuple[str, ...]],
    unlabeled: dict[str, Any],
) -> Release:
    """One release from its matrix row and its index facts (see `load_model`)."""
    return Release(
        torch=torch,
        status=row.get("status", "unconfirmed"),
        python=tuple(row["python"]),
        macos=extra["macos"],
        variants=tuple(row["variants"]),
        libraries={
            name: _library(name, torch, row[name], extra.get("libraries", {}).get(name, {}))
            for name in LIBRARY_NAMES
            if name in row
        },
        families=families,
        without=_merged(extra.get("without", {})),
        unlabeled=_merged(unlabeled, extra.get("unlabeled", {})),
        index_requires=_requirements(extra.get("index_requires", {})),
        pypi_builds=dict(extra["pypi_builds"]),
        unconfirmed=dict(row.get("unconfirmed", {})),
        withheld=dict(row.get("withheld", {})),
        constraints=tuple(row.get("constraints", ())),
        accelerator_api=row.get("accelerator_api", True),
        torchrun_xpu=row.get("torchrun_xpu", True),
    )


def _library(name: str, torch: str, pairing: Mapping[str, Any], more: Mapping[str, Any]) -> Library:
    """A library's release beside `torch`: its `pairing` in the matrix, `more` index facts."""
    return Library(
        name=name,
        version=str(pairing["version"]),
        requires_python=SpecifierSet(more.get("requires_python", "")),
        requires_torch=more.get("requires_torch", f"=={torch}"),
        python=tuple(more.get("python", ())),
        missing=tuple(pairing.get("missing", ())),
        without=_merged(more.get("without", {})),
    )


def _requirements(table: Mapping[str, Iterable[str]]) -> dict[str, tuple[Requirement, ...]]:
    """Variant or family -> its index-only requirements, parsed."""
    return {key: tuple(map(Requirement, requirements)) for key, requirements in table.items()}


def _merged(*mappings: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Key -> the values of every mapping for it, in order."""
    result: dict[str, tuple[str, ...]] = {}
    for mapping in mappings:
        for key, values in mapping.items():
            result[key] = result.get(key, ()) + tuple(values)
    return result


MODEL = load_model(load_matrix(), load_facts())  # the template's own, loaded once per process

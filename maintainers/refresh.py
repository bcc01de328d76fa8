"""Refresh the version matrix from PyPI and the PyTorch wheel index (or a mirror of it).

Maintainers' tooling (`maintainers/`): never loaded by a render; it reads the model in
`extensions/`, which never imports it.

    python -m maintainers.refresh                       # read both, rewrite the matrix and table
    python -m maintainers.refresh --check               # change nothing: print drift, exit 1 on any
    python -m maintainers.refresh --recommend torch=2.15.0 --recommend cuda=cu132
    python -m maintainers.refresh --table               # only regenerate the README's table

PyPI (`maintainers/pypi.py`) tells what PyPI holds: the torch releases (the newest patch of each
minor from the matrix's oldest on), their CPython wheel tags, Requires-Python, macOS minimum and
default build per platform, and the library releases whose Requires-Dist admits each torch. The
PyTorch index tells which variants exist (its root listing: `cpu/`, `cu130/`, `rocm7.14/`, ...)
and which torch and library versions each variant serves, on which platforms (wheel file names,
parsed with `packaging`). A library is paired with the newest release that admits the torch
and that the index serves beside it.

The index-only dependencies (`index_requires` in index_facts.yml) come from the variants' own
wheels: one torch wheel's METADATA per release and variant, read from the variant's page by
HTTP range reads (`pypi.metadata`). A Requires-Dist that applies somewhere the variant installs
is index-only when no release on PyPI satisfies it (PEP 440, pre-releases only where the
specifier allows them) and the variant's page lists one that does. The evidence (F1, F4 of the
index notes) shows why the rule is "PyPI hosts no satisfying version", not "PyPI hosts the
name" nor "PyPI's torch does not require it":
- the triton packages are index-only yet their names exist on PyPI as other, stale projects:
  `pytorch-triton-rocm` up to 2.1.0, `triton-rocm` 3.0.0rc1, `triton-xpu` pre-releases up to
  3.3.0b1 (`pytorch-triton-xpu` is not there at all), while torch pins `==3.5.1`, `~=3.8.0`...;
  +rocm7.14's `rocm[...]==7.14.*` meets only a 0.1.0 placeholder;
- `+xpu` wheels' Intel runtime (intel-cmplr-lib-rt, intel-sycl-rt, mkl, tbb, umf, ...) and
  `+cu126` wheels' `nvidia-*-cu12` are on PyPI, though PyPI's torch of the same release does
  not require them (its Linux build is another CUDA, its Windows build CPU).
A same-named project on PyPI that happens to hold a satisfying version would be taken for the
real one: no listing can tell them apart, so the recorded facts keep their human evidence, and
a release on PyPI never overrides it silently (the drift says so).

Kept as they are: the human choices (`recommended`, `tools`, each row's `status`,
`accelerator_api`, `constraints`, `unconfirmed` and `withheld`: variants a row does not offer,
with why) and the index facts of the releases already recorded (`index_facts.yml`, with their
evidence): where the sources disagree with them (PyPI's builds, the index-only dependencies)
that is drift, reported, and corrected by hand. A new release gets the index facts the sources
show (platforms, PyPI's builds, the index-only dependencies).

Every fault (an unreachable index, an HTTP error, a page that lists no wheels, a variant the
matrix uses that the index no longer serves, a bad `--recommend`) stops it before anything is
written, with a message; the files stay byte-identical.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from extensions.index_model import (
    FACTS_PATH,
    FAMILIES,
    LIBRARY_NAMES,
    MATRIX_PATH,
    Variant,
    family_of,
)
from maintainers import pypi

README_PATH = MATRIX_PATH.parent.parent / "README.md"
TABLE_START, TABLE_END = "<!-- matrix:start -->", "<!-- matrix:end -->"
RELEASES_START = "\nreleases:\n"
TOOLS_START = "\n# Tools"
FACTS_END = "\nsources:\n"
KEPT_ROW_FACTS = ("accelerator_api", "constraints", "unconfirmed", "withheld")
RECOMMENDABLE = ("torch", "python", *(f for f in FAMILIES if f != "cpu"))
PACKAGES = ("torch", *LIBRARY_NAMES)
# Pairings PyPI cannot tell (the library's wheels declare no torch requirement): torchcodec's
# README compatibility table (meta-pytorch/torchcodec, 2026-08-21).
TABLE_PAIRINGS = {
    "torchcodec": {
        "0.10": "==2.10.*",
        "0.11": "==2.11.*",
        **{f"0.{minor}": ">=2.11" for minor in range(12, 17)},
    }
}


class RefreshError(Exception):
    """A fault that leaves every file as it was."""


# --- the YAML layout -------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block mappings, flow lists, strings quoted only where YAML needs it."""


_Dumper.add_representer(
    list, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)
)


def to_yaml(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


def dump(matrix: dict, header: str, tools: str) -> str:
    """The matrix file's text: its header comments, then the data written by the YAML library
    in one fixed order, then the tools block as it was."""
    data = {"recommended": matrix["recommended"], "index_url": matrix["index_url"]}
    releases = {"releases": matrix["releases"]}
    return f"{header.rstrip()}\n\n{to_yaml(data)}\n{to_yaml(releases)}{tools}"


def split_file(text: str) -> tuple[str, str]:
    """(header comments, tools block) of the matrix file: kept verbatim."""
    header = text.split("\nrecommended:", 1)[0]
    tools = text[text.index(TOOLS_START) :] if TOOLS_START in text else "\ntools: {}\n"
    return header, tools


# --- reading the PyTorch index ---------------------------------------------------------------


def is_variant(name: str) -> bool:
    """`cpu`, `xpu`, `cu130`, `rocm7.14` (not `nightly`, `torch`, `cpu-cxx11-abi`)."""
    return Variant.is_index_variant(name)


@dataclass
class IndexView:
    """What the index serves: variant -> package -> version -> platform -> local label."""

    variants: list[str]
    served: dict[str, dict[str, dict[Version, dict[str, str]]]] = field(default_factory=dict)
    torch_wheels: dict[str, list[pypi.Wheel]] = field(default_factory=dict)  # variant -> listing

    def platforms(self, variant: str, package: str, version: str | Version) -> dict[str, str]:
        return self.served.get(variant, {}).get(package, {}).get(Version(str(version)), {})


def root_variants(index_url: str) -> list[str]:
    """The variants the index root lists."""
    url = f"{index_url.rstrip('/')}/"
    try:
        response = pypi._get(url, {"Accept": "text/html"})
    except pypi.PyPIError as error:
        raise RefreshError(f"the PyTorch index: {error}") from error
    parser = pypi._Anchors()
    parser.feed(response.body.decode("utf-8", errors="replace"))
    names = {
        f["filename"].strip("/") or f["url"].strip("/").rsplit("/", 1)[-1] for f in parser.files
    }
    variants = sorted((n for n in names if is_variant(n)), key=Variant.parse)
    if "cpu" not in variants:
        raise RefreshError(
            f"{url} lists no `cpu/` variant: is {index_url} a PyTorch wheel index "
            "(e.g. https://download.pytorch.org/whl)?"
        )
    return variants


def read_index(index_url: str, variants: list[str] | None, needed: set[str]) -> IndexView:
    """The torch and library wheels of each variant. A variant's torch page must list wheels;
    a library page may be absent (403/404: no build of it there)."""
    listed = root_variants(index_url) if variants is None else variants
    lost = sorted(needed - set(listed), key=Variant.parse)
    if lost:
        raise RefreshError(
            f"the index root no longer lists {', '.join(lost)}, which the matrix offers: "
            "refusing to drop it (check the index, or remove it from the matrix by hand)"
        )
    view = IndexView(variants=listed)
    for variant in listed:
        base = f"{index_url.rstrip('/')}/{variant}"
        view.served[variant] = {}
        for package in PACKAGES:
            try:
                files = pypi.wheels(base, package)
            except pypi.PyPIError as error:
                if package != "torch" and isinstance(error, pypi.NotFound):
                    continue
                raise RefreshError(f"variant {variant}: {error}") from error
            if package == "torch":
                view.torch_wheels[variant] = files
            versions: dict[Version, dict[str, str]] = {}
            for wheel in files:
                public = Version(wheel.version.public)
                for platform in wheel.platforms:
                    versions.setdefault(public, {})[platform] = wheel.version.local or ""
            view.served[variant][package] = versions
    return view


# --- reading PyPI ----------------------------------------------------------------------------


@dataclass
class PyPIView:
    releases: dict[str, pypi.TorchRelease]
    libraries: dict[str, list[pypi.LibraryRelease]]


def read_pypi(pypi_url: str, oldest: Version, only: list[str] | None = None) -> PyPIView:
    listing = pypi.wheels(pypi_url, "torch")
    newest = pypi.newest_patches(w.version for w in listing)
    chosen = [v for v in newest.values() if v >= Version(f"{oldest.major}.{oldest.minor}")]
    if only:
        chosen = [v for v in chosen if str(v) in only]
    releases = {
        str(v): pypi.release_facts(pypi_url, v, listing=listing)
        for v in sorted(chosen, reverse=True)
    }
    libraries = {name: pypi.library_releases(pypi_url, name) for name in LIBRARY_NAMES}
    return PyPIView(releases, libraries)


def admits(library: str, release: pypi.LibraryRelease, torch: Version) -> bool | None:
    """Whether a library release goes with this torch: its Requires-Dist, else its README's
    table; None when neither says."""
    if release.torch is not None:
        return release.torch.contains(torch, prereleases=True)
    table = TABLE_PAIRINGS.get(library, {})
    line = f"{release.version.major}.{release.version.minor}"
    return SpecifierSet(table[line]).contains(torch) if line in table else None


# --- the index-only dependencies -------------------------------------------------------------

IndexRequires = dict[str, dict[str, tuple[Requirement, ...]]]  # torch -> variant -> requirements


def satisfied(requirement: Requirement, released: set[Version]) -> bool:
    """Whether some release satisfies the requirement's specifier (PEP 440: a pre-release only
    where the specifier names one, or where no final release satisfies it)."""
    return any(True for _ in requirement.specifier.filter(released))


def applies(requirement: Requirement, platforms, pythons) -> bool:
    """Whether a Requires-Dist applies on some platform and Python (not with an extra only)."""
    if requirement.marker is None:
        return True
    return any(
        requirement.marker.evaluate(pypi.environment(platform, python))
        for platform in platforms
        if platform in pypi.ENVIRONMENTS
        for python in pythons
    )


def read_index_requires(
    index_url: str, pypi_url: str, view: IndexView, rows: dict[str, dict]
) -> IndexRequires:
    """Per release (`rows`: torch -> matrix row) and each variant it offers, the Requires-Dist
    of one of its torch wheels (Linux x86_64 where there is one) that only the index hosts: no
    release on PyPI satisfies it, one on the variant's page does (see the module's doc)."""
    on_pypi: dict[str, set[Version]] = {}
    found: IndexRequires = {}
    for torch, row in rows.items():
        version = Version(torch)
        found[torch] = {}
        for variant in row["variants"]:
            base = f"{index_url.rstrip('/')}/{variant}"
            listing = view.torch_wheels.get(variant, ())
            files = [w for w in listing if Version(w.version.public) == version]
            if not files:
                continue
            linux = [w for w in files if "linux-x86_64" in w.platforms]
            wheel = pypi._representative(linux or files)
            platforms = view.platforms(variant, "torch", version)
            index_only = []
            try:
                for requirement in pypi.metadata(wheel).requires_dist or []:
                    if not applies(requirement, platforms, row["python"]):
                        continue
                    name = canonicalize_name(requirement.name)
                    if name not in on_pypi:
                        on_pypi[name] = pypi.versions(pypi_url, name)
                    if satisfied(requirement, on_pypi[name]):
                        continue
                    if not satisfied(requirement, pypi.versions(base, name)):
                        raise RefreshError(
                            f"{wheel.filename} requires `{requirement}`, which neither PyPI nor "
                            f"{base} serves: a broken release? (check the index)"
                        )
                    index_only.append(requirement)
            except pypi.PyPIError as error:
                raise RefreshError(f"variant {variant}: {error}") from error
            found[torch][variant] = tuple(index_only)
    return found


def requirement_text(requirement: Requirement) -> str:
    """As index_facts.yml writes a requirement: packaging's form, markers in single quotes."""
    return str(requirement).replace('"', "'")


def by_family(per_variant: dict[str, tuple[Requirement, ...]]) -> dict[str, list[str]]:
    """`index_requires` as index_facts.yml records it: by family where all the family's
    variants agree, else by variant; nothing for a variant without any."""
    result: dict[str, list[str]] = {}
    for family in FAMILIES:
        own = {v: r for v, r in per_variant.items() if family_of(v) == family}
        if not any(own.values()):
            continue
        if len({frozenset(map(str, r)) for r in own.values()}) == 1:
            result[family] = [requirement_text(r) for r in next(iter(own.values()))]
        else:
            result |= {v: [requirement_text(x) for x in r] for v, r in own.items() if r}
    return result


def recorded_requires(facts: dict, variant: str) -> tuple[Requirement, ...]:
    """A recorded release's index-only dependencies of a variant (its own, else its family's),
    as `index_model.Release.requirements` reads them."""
    table = facts.get("index_requires", {})
    return tuple(map(Requirement, table.get(variant, table.get(family_of(variant), ()))))


def index_requires_drift(facts: dict, found: IndexRequires) -> list[str]:
    """Where the recorded index-only dependencies of a release disagree with its wheels'
    METADATA on the index."""
    lines = []
    for torch, per_variant in found.items():
        recorded = facts["releases"].get(torch)
        if recorded is None:
            continue
        for variant, requirements in per_variant.items():
            said = recorded_requires(recorded, variant)
            if set(map(str, said)) != set(map(str, requirements)):
                before = [requirement_text(r) for r in said]
                after = [requirement_text(r) for r in requirements]
                lines.append(
                    f"~ torch {torch} index_requires {variant}: {before} -> {after} (its "
                    "METADATA on the index; correct index_facts.yml and its evidence by hand)"
                )
    return lines


# --- the refreshed matrix --------------------------------------------------------------------


def not_offered(row: dict, variant: str) -> bool:
    """Whether a row's `unconfirmed` or `withheld` names a variant (or its family) that the row
    does not offer: refresh leaves it out."""
    names = {*row.get("unconfirmed", {}), *row.get("withheld", {})}
    named = variant in names or family_of(variant) in names
    return named and variant not in row.get("variants", ())


def build_row(torch: str, facts: pypi.TorchRelease, view: IndexView, old: dict) -> dict:
    """A matrix row from both sources; the human facts of `old` are kept."""
    version = Version(torch)
    variants = [
        v for v in view.variants if view.platforms(v, "torch", version) and not not_offered(old, v)
    ]
    row: dict = {"status": old.get("status", "confirmed"), "python": list(facts.wheels.pythons)}
    row["variants"] = sorted(variants, key=Variant.parse)
    return row


def pair(row: dict, torch: str, view: IndexView, library: str, releases, old: dict) -> None:
    """Add the library's pairing to a row: the newest release that admits the torch and that
    the index serves for the row's CPU variant; `missing`: the row's variants without it."""
    if library in old.get("unconfirmed", {}) or library in old.get("withheld", {}):
        return
    version = Version(torch)
    pinned = old.get(library, {}).get("version")

    def goes_with(candidate: pypi.LibraryRelease) -> bool:
        said = admits(library, candidate, version)
        # No source says (no torch requirement, no table row): the recorded pairing stays.
        return said if said is not None else str(candidate.version) == pinned

    candidates = [
        r
        for r in releases
        if not r.yanked and goes_with(r) and view.platforms("cpu", library, r.version)
    ]
    if not candidates:
        return
    chosen = max(candidates, key=lambda r: r.version)
    missing = [v for v in row["variants"] if not view.platforms(v, library, chosen.version)]
    recorded = old.get(library, {}).get("missing", [])
    if {v for v in row["variants"] if v in recorded or family_of(v) in recorded} == set(missing):
        missing = recorded  # the same variants, as the matrix names them (by family)
    row[library] = {"version": str(chosen.version), **({"missing": missing} if missing else {})}


def refreshed_matrix(
    matrix: dict, pypi_view: PyPIView, view: IndexView, recommend: dict[str, str]
) -> dict:
    releases = {}
    for torch, facts in pypi_view.releases.items():
        old = matrix["releases"].get(torch, {})
        row = build_row(torch, facts, view, old)
        for library in LIBRARY_NAMES:
            pair(row, torch, view, library, pypi_view.libraries[library], old)
        releases[torch] = {**row, **{k: old[k] for k in KEPT_ROW_FACTS if k in old}}
    for torch, row in matrix["releases"].items():
        releases.setdefault(torch, row)  # not on PyPI's list (asked for fewer): kept
    ordered = dict(sorted(releases.items(), key=lambda item: Version(item[0]), reverse=True))
    new = {**matrix, "releases": ordered, "recommended": {**matrix["recommended"], **recommend}}
    check_recommendation(new)
    return new


def check_recommendation(matrix: dict) -> None:
    """Every recommended value exists: the torch, its Python, and a variant of each family in
    some release (the recommended torch's own when it has that family)."""
    recommended = matrix["recommended"]
    row = matrix["releases"].get(recommended["torch"])
    if row is None:
        choices = ", ".join(matrix["releases"])
        raise RefreshError(f"torch {recommended['torch']} is not in the matrix: choose {choices}")
    if recommended["python"] not in row["python"]:
        raise RefreshError(
            f"torch {recommended['torch']} lacks Python {recommended['python']}: "
            f"choose one of {', '.join(row['python'])}"
        )
    for family in FAMILIES:
        if family not in recommended:
            continue
        variant = recommended[family]
        everywhere = sorted(
            {
                v
                for r in matrix["releases"].values()
                for v in r["variants"]
                if family_of(v) == family
            },
            key=Variant.parse,
        )
        own = [v for v in row["variants"] if family_of(v) == family]
        offered = own or everywhere
        if variant not in offered:
            where = f"torch {recommended['torch']}" if own else "the matrix"
            raise RefreshError(
                f"{where} has no {family} variant {variant}: recommend one of {', '.join(offered)}"
            )


def new_release_facts(
    torch: str,
    facts: dict,
    pypi_view: PyPIView,
    view: IndexView,
    row: dict,
    index_requires: dict[str, tuple[Requirement, ...]],
) -> dict:
    """The index facts of a release the matrix did not have, as PyPI and the index show them:
    PyPI's macOS minimum and builds, the platforms each variant lacks or serves unlabeled, the
    index-only dependencies (its wheels' METADATA), the libraries' Requires-Python and
    Pythons."""
    version, release = Version(torch), pypi_view.releases[torch]
    result: dict = {
        "macos": str(release.wheels.macos_minimum or "11.0"),
        "pypi_builds": {p: b.build for p, b in sorted(release.builds.items())},
    }
    without, unlabeled = {}, {}
    for variant in row["variants"]:
        family = facts["families"][family_of(variant)]
        served = view.platforms(variant, "torch", version)
        lacking = [p for p in family["platforms"] if p not in served]
        bare = [p for p, label in served.items() if not label]
        bare = [p for p in bare if p not in family.get("unlabeled", [])]
        if lacking:
            without[variant] = lacking
        if bare:
            unlabeled[variant] = sorted(bare)
    result |= {"without": without} if without else {}
    result |= {"unlabeled": unlabeled} if unlabeled else {}
    requires = by_family(index_requires)
    result |= {"index_requires": requires} if requires else {}
    libraries = {}
    for name in LIBRARY_NAMES:
        if name not in row:
            continue
        chosen = next(
            r for r in pypi_view.libraries[name] if str(r.version) == row[name]["version"]
        )
        entry: dict[str, object] = {
            "python": list(chosen.wheels.pythons) or list(release.wheels.pythons)
        }
        if chosen.requires_python is not None and str(chosen.requires_python):
            entry = {"requires_python": str(chosen.requires_python), **entry}
        libraries[name] = entry
    result |= {"libraries": libraries} if libraries else {}
    evidence = {"pypi_builds": "P1", "variants": "R1"}
    return result | {"evidence": evidence | ({"index_requires": "R1 P1"} if requires else {})}


# --- drift -----------------------------------------------------------------------------------


def summary(old: dict, new: dict) -> list[str]:
    lines = []
    for torch, row in new["releases"].items():
        before = old["releases"].get(torch)
        if before is None:
            pythons = f"{row['python'][0]}-{row['python'][-1]}" if row["python"] else "none"
            lines.append(f"+ torch {torch}: {', '.join(row['variants'])}; Python {pythons}")
            continue
        for fact in ("python", "variants", *LIBRARY_NAMES):
            if before.get(fact) != row.get(fact):
                lines.append(f"~ torch {torch} {fact}: {before.get(fact)} -> {row.get(fact)}")
    for key, value in new["recommended"].items():
        if old["recommended"].get(key) != value:
            lines.append(f"~ recommended {key}: {old['recommended'].get(key)} -> {value}")
    return lines


def facts_drift(facts: dict, pypi_view: PyPIView) -> list[str]:
    """Where the recorded PyPI facts of a release (macOS minimum, PyPI's build per platform)
    disagree with PyPI."""
    lines = []
    for torch, release in pypi_view.releases.items():
        recorded = facts["releases"].get(torch)
        if recorded is None:
            continue
        macos = release.wheels.macos_minimum
        if macos and Version(recorded["macos"]) != macos:
            lines.append(f"~ torch {torch} macos: {recorded['macos']} -> {macos} (PyPI)")
        builds = {p: b.build for p, b in release.builds.items()}
        if recorded["pypi_builds"] != {p: builds.get(p) for p in recorded["pypi_builds"]}:
            lines.append(f"~ torch {torch} pypi_builds: {recorded['pypi_builds']} -> {builds}")
    return lines


def unoffered_on_the_index(matrix: dict, view: IndexView) -> list[str]:
    """Variants a row lists as unconfirmed that the index now serves: evidence to act on."""
    lines = []
    for torch, row in matrix["releases"].items():
        for name in row.get("unconfirmed", {}):
            found = [
                v
                for v in view.variants
                if (v == name or family_of(v) == name)
                and v not in row["variants"]
                and view.platforms(v, "torch", torch)
            ]
            if found:
                lines.append(
                    f"! torch {torch}: the index serves {', '.join(found)}, which the matrix "
                    "lists as unconfirmed: offer it (variants, index_facts.yml) or withhold it"
                )
    return lines


# --- the README table ------------------------------------------------------------------------


def matrix_table(matrix: dict) -> str:
    """The README's table of supported releases, generated from the matrix."""
    rows = [
        "| torch | " + " | ".join(LIBRARY_NAMES) + " | Python | CPU | CUDA | ROCm | XPU | status |",
        "|---|" + "---|" * len(LIBRARY_NAMES) + "---|---|---|---|---|---|",
    ]
    for torch, row in matrix["releases"].items():
        cells = [
            torch,
            *(_library_cell(row, library) for library in LIBRARY_NAMES),
            f"{row['python'][0]}–{row['python'][-1]}",
            *(_family_cell(row, family) for family in FAMILIES),
            row["status"] + _note(row.get("unconfirmed"), "unconfirmed"),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    rec = matrix["recommended"]
    rows += [
        "",
        f"Recommended: torch {rec['torch']}, {rec['cuda']} for CUDA, {rec['rocm']} for ROCm, "
        f"Python {rec['python']}.",
    ]
    for torch, row in matrix["releases"].items():
        for name, why in {**row.get("unconfirmed", {}), **row.get("withheld", {})}.items():
            if not any(name in (v, family_of(v)) for v in row["variants"]):
                rows.append(f"- torch {torch} does not offer {name}: {why}")
    return "\n".join(rows)


def _note(items, what: str) -> str:
    return f" ({', '.join(items)}: {what})" if items else ""


def _library_cell(row: dict, library: str) -> str:
    facts = row.get(library)
    if not facts:
        return "-"
    return facts["version"] + _note(facts.get("missing"), "no build")


def _family_cell(row: dict, family: str) -> str:
    variants = [v for v in row["variants"] if family_of(v) == family]
    if family in ("cpu", "xpu"):
        return "yes" if variants else "-"
    return ", ".join(variants) or "-"


def with_table(readme: str, matrix: dict) -> str:
    if TABLE_START not in readme or TABLE_END not in readme:
        raise RefreshError(f"README.md lacks the {TABLE_START} ... {TABLE_END} markers")
    before, rest = readme.split(TABLE_START, 1)
    after = rest.split(TABLE_END, 1)[1]
    return f"{before}{TABLE_START}\n{matrix_table(matrix)}\n{TABLE_END}{after}"


# --- writing ---------------------------------------------------------------------------------


def with_new_facts(text: str, new: dict[str, dict]) -> str:
    """index_facts.yml with the facts of new releases added after its last release."""
    if not new:
        return text
    if FACTS_END not in text:
        raise RefreshError("index_facts.yml lacks its `sources:` block")
    block = to_yaml({"x": new}).split("\n", 1)[1]
    before, after = text.split(FACTS_END, 1)
    return f"{before.rstrip()}\n{block}{FACTS_END}{after}"


def write_atomically(path: Path, text: str) -> None:
    import os
    import tempfile

    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


@dataclass
class Outcome:
    lines: list[str]  # what changed (or would change)
    drift: bool


def refresh(
    index_url: str,
    pypi_url: str,
    matrix_path: Path = MATRIX_PATH,
    readme_path: Path = README_PATH,
    facts_path: Path = FACTS_PATH,
    recommend: dict[str, str] | None = None,
    variants: list[str] | None = None,
    check: bool = False,
) -> Outcome:
    """Read both sources; rewrite the matrix, the README table and new releases' index facts
    (or, with `check`, only say what would change)."""
    text = matrix_path.read_text(encoding="utf-8")
    facts_text = facts_path.read_text(encoding="utf-8")
    readme = readme_path.read_text(encoding="utf-8")
    matrix, facts = yaml.safe_load(text), yaml.safe_load(facts_text)
    oldest = min(map(Version, matrix["releases"]))
    try:
        pypi_view = read_pypi(pypi_url, oldest)
    except pypi.PyPIError as error:
        raise RefreshError(f"PyPI: {error}") from error
    needed = {v for row in matrix["releases"].values() for v in row["variants"]}
    view = read_index(index_url, variants, needed)
    for torch, row in matrix["releases"].items():
        if torch not in pypi_view.releases:
            continue
        lost = [v for v in row["variants"] if not view.platforms(v, "torch", torch)]
        if lost:
            raise RefreshError(
                f"the index serves no torch {torch} on {', '.join(lost)}, which the matrix "
                "offers: refusing to drop it (a partial fault? check the index)"
            )
    new = refreshed_matrix(matrix, pypi_view, view, recommend or {})
    rows = {torch: new["releases"][torch] for torch in pypi_view.releases}
    found = read_index_requires(index_url, pypi_url, view, rows)
    added = {
        torch: new_release_facts(
            torch, facts, pypi_view, view, new["releases"][torch], found.get(torch, {})
        )
        for torch in new["releases"]
        if torch not in facts["releases"]
    }
    lines = summary(matrix, new) + facts_drift(facts, pypi_view)
    lines += index_requires_drift(facts, found)
    lines += unoffered_on_the_index(new, view)
    new_text = dump(new, *split_file(text))
    new_readme = with_table(readme, new)
    new_facts = with_new_facts(facts_text, added)
    drift = bool(lines) or new_text != text or new_readme != readme or new_facts != facts_text
    if not check:
        for path, before, after in (
            (matrix_path, text, new_text),
            (facts_path, facts_text, new_facts),
            (readme_path, readme, new_readme),
        ):
            if after != before:
                write_atomically(path, after)
    return Outcome(lines, drift)


def parse_recommend(items: list[str]) -> dict[str, str]:
    """`["torch=2.15.0", "cuda=cu132"]` -> a mapping; a malformed item is a RefreshError."""
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise RefreshError(
                f"--recommend {item!r} is not KEY=VALUE: e.g. --recommend torch=2.15.0 "
                f"(keys: {', '.join(RECOMMENDABLE)})"
            )
        if key not in RECOMMENDABLE:
            raise RefreshError(f"cannot recommend {key!r}: use one of {', '.join(RECOMMENDABLE)}")
        if key in FAMILIES and not (Variant.is_index_variant(value) and family_of(value) == key):
            raise RefreshError(f"{value!r} is not a {key} variant (e.g. --recommend {key}=...)")
        result[key] = value
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m maintainers.refresh", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--index-url", help="the PyTorch index (default: the matrix's)")
    parser.add_argument("--pypi-url", help="PyPI's simple index (default: the one pip uses)")
    parser.add_argument("--variants", help="comma-separated variants (default: the index root's)")
    parser.add_argument(
        "--recommend",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"move a recommendation ({', '.join(RECOMMENDABLE)})",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the matrix is out of date"
    )
    parser.add_argument("--dry-run", action="store_true", help="the same as --check")
    parser.add_argument("--table", action="store_true", help="only regenerate the README table")
    args = parser.parse_args(argv)
    check = args.check or args.dry_run
    try:
        if args.table:
            matrix = yaml.safe_load(MATRIX_PATH.read_text(encoding="utf-8"))
            readme = README_PATH.read_text(encoding="utf-8")
            if with_table(readme, matrix) != readme:
                write_atomically(README_PATH, with_table(readme, matrix))
            return 0
        recommend = parse_recommend(args.recommend)
        matrix = yaml.safe_load(MATRIX_PATH.read_text(encoding="utf-8"))
        outcome = refresh(
            args.index_url or matrix["index_url"],
            args.pypi_url or pypi.default_index_url(),
            recommend=recommend,
            variants=args.variants.split(",") if args.variants else None,
            check=check,
        )
    except (RefreshError, pypi.PyPIError) as error:
        print(f"error: {error}. Nothing was written.", file=sys.stderr)
        return 2
    if not outcome.drift:
        print("The matrix is up to date.")
        return 0
    print("\n".join(outcome.lines) or "~ the generated layout of the files differs")
    if check:
        print("The matrix is out of date: run `python -m maintainers.refresh`, review `git diff`.")
        return 1
    print(f"Wrote {MATRIX_PATH.name}, {FACTS_PATH.name} and README.md: review `git diff`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

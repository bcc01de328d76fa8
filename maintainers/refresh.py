"""Refresh the version matrix from PyPI and the PyTorch wheel index (or a mirror of it).

Maintainers' tooling (`maintainers/`): never loaded by a render; it reads the model in
`extensions/`, which never imports it.

    python -m maintainers.refresh                       # read both, rewrite the matrix and table
    python -m maintainers.refresh --check               # change nothing: print drift, exit 1 on any
    python -m maintainers.refresh --recommend torch=2.15.0 --recommend cuda=cu132
    python -m maintainers.refresh --table               # only regenerate the docs' matrix table
    python -m maintainers.refresh --check --deadline 300  # give up after 300 s, parsing included
    python -m maintainers.refresh --check --max-page-mb 32  # a mirror with pages over 16 MB

Exit codes: 0 up to date (or written), 1 drift (`--check`), 2 fault, 3 incomplete.

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
specifier allows them) and the variant's page lists one that does. The listings of PyPI and
the index (read 2026-11-30; `index_facts.yml` keeps their sources) show why the rule is "PyPI
hosts no satisfying version", not "PyPI hosts the name" nor "PyPI's torch does not require it":
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
`accelerator_api`, `torchrun_xpu`, `constraints`, `unconfirmed` and `withheld`: variants a row
does not offer, with why) and the index facts of the releases already recorded
(`index_facts.yml`, with their evidence): where the sources disagree with them (PyPI's builds,
the index-only dependencies) that is drift, reported, and corrected by hand. A new release gets
the index facts the sources show (platforms, PyPI's builds, the index-only dependencies).

Nothing is written unless both sources were read in full. A source that cannot be read (no
answer, HTTP errors after `fetch`'s retries, the run's deadline, a truncated body, a response
over `fetch`'s size cap, a redirect to another host, a page that lists no wheels) leaves the
run incomplete: the drift the other source proves is reported, with the source not read and
what only it could tell (exit 3). A refusal (a variant or release the matrix offers that the
index no longer serves, a root without `cpu/`, a bad `--recommend`, neither source readable)
is a RefreshError (exit 2). New releases of torch and of each library are drift even when no
row can offer them yet, with why (`unpaired_libraries`). The files are rewritten by
ruamel.yaml's round trip (`yaml_text`): comments and the blocks refresh does not own stay as
they are, whatever their wording.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from maintainers import fetch, pypi, yaml_text

README_PATH = MATRIX_PATH.parent.parent / "docs" / "matrix.md"  # the docs' matrix page
TABLE_START, TABLE_END = "<!-- matrix:start -->", "<!-- matrix:end -->"
FACTS_WIDTH = 4096  # index_facts.yml: one line per inline mapping, comments after it
DEADLINE_S = 900.0  # one run, all requests together
# Exit codes of the command line.
UP_TO_DATE, DRIFT, FAULT, INCOMPLETE = 0, 1, 2, 3
KEPT_ROW_FACTS = ("accelerator_api", "torchrun_xpu", "constraints", "unconfirmed", "withheld")
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


# --- the YAML files --------------------------------------------------------------------------


def with_matrix(text: str, matrix: dict) -> str:
    """The matrix file's text with `matrix`'s recommendation and releases, written by
    ruamel.yaml: comments and every other block (tools, drivers) kept as they are."""
    return yaml_text.updated(text, {k: matrix[k] for k in ("recommended", "releases")})


def with_new_facts(text: str, new: dict[str, dict]) -> str:
    """index_facts.yml with the facts of new releases added before the others (newest first),
    written by ruamel.yaml: the recorded facts, their comments and evidence kept as they are."""
    if not new:
        return text
    releases = yaml.safe_load(text)["releases"]
    ordered = dict(sorted(new.items(), key=lambda item: Version(item[0]), reverse=True))
    return yaml_text.updated(text, {"releases": ordered | releases}, width=FACTS_WIDTH)


# --- reading the PyTorch index ---------------------------------------------------------------


def is_variant(name: str) -> bool:
    """`cpu`, `xpu`, `cu130`, `rocm7.14` (not `nightly`, `torch`, `cpu-cxx11-abi`)."""
    return Variant.is_index_variant(name)


@dataclass
class IndexView:
    """What the index serves: variant -> package -> version -> platform -> local label."""

    variants: list[str]
    served: dict[str, dict[str, dict[Version, dict[str, str]]]] = field(default_factory=dict)
    # variant -> torch release (public version) -> its wheels there
    torch_wheels: dict[str, dict[Version, list[pypi.Wheel]]] = field(default_factory=dict)

    def platforms(self, variant: str, package: str, version: str | Version) -> dict[str, str]:
        return self.served.get(variant, {}).get(package, {}).get(Version(str(version)), {})


def root_variants(index_url: str) -> list[str]:
    """The variants the index root lists. Raises PyPIError (unreadable), RefreshError (no
    `cpu/`: not a PyTorch index)."""
    url = f"{index_url.rstrip('/')}/"
    page = pypi.page_links(url, fetch.get(url, {"Accept": "text/html"}))
    names = {link.text.strip("/") for link in page.links}
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
    lost = ", ".join(sorted(needed - set(listed), key=Variant.parse))
    if lost and variants is not None:
        raise RefreshError(
            f"add {lost} to --variants (or leave it out: the index root's list): the matrix "
            "offers them, and a refresh that does not read them would drop them"
        )
    if lost:
        raise RefreshError(
            f"the index root no longer lists {lost}, which the matrix offers: "
            "refusing to drop it (check the index, or remove it from the matrix by hand)"
        )
    view = IndexView(variants=listed)
    pairs = [(variant, package) for variant in listed for package in PACKAGES]
    pages = fetch.in_parallel(lambda pair: variant_page(index_url, *pair), pairs)
    for (variant, package), files in zip(pairs, pages, strict=True):
        fetch.in_time(f"while going through {variant}'s {package} wheels")
        if package == "torch" and files is not None:
            view.torch_wheels[variant] = by_release(files)
        if files is not None:
            view.served.setdefault(variant, {})[package] = served_by(files)
    return view


def by_release(files: list[pypi.Wheel]) -> dict[Version, list[pypi.Wheel]]:
    """A page's wheels grouped by public version (`2.15.0` for `2.15.0+cu130`), in order."""
    grouped: dict[Version, list[pypi.Wheel]] = {}
    for wheel in files:
        grouped.setdefault(Version(wheel.version.public), []).append(wheel)
    return grouped


def variant_page(index_url: str, variant: str, package: str) -> list[pypi.Wheel] | None:
    """A package's wheels on a variant; None for a library the variant has no page of."""
    try:
        return pypi.wheels(f"{index_url.rstrip('/')}/{variant}", package)
    except pypi.NotFound:
        if package != "torch":
            return None
        raise


def served_by(files: list[pypi.Wheel]) -> dict[Version, dict[str, str]]:
    """version -> platform -> local label (`cu130`, or "" for none) of a page's wheels."""
    versions: dict[Version, dict[str, str]] = {}
    for wheel in files:
        for platform in wheel.platforms:
            versions.setdefault(Version(wheel.version.public), {})[platform] = (
                wheel.version.local or ""
            )
    return versions


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
    chosen.sort(reverse=True)
    facts = fetch.in_parallel(lambda v: pypi.release_facts(pypi_url, v, listing=listing), chosen)
    libraries = fetch.in_parallel(lambda name: pypi.library_releases(pypi_url, name), PACKAGES[1:])
    releases = dict(zip(map(str, chosen), facts, strict=True))
    return PyPIView(releases, dict(zip(PACKAGES[1:], libraries, strict=True)))


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
    release on PyPI satisfies it, one on the variant's page does (see the module's doc).
    Raises PyPIError (a source unreadable), RefreshError (a requirement nobody serves)."""
    on_pypi: dict[str, set[Version]] = {}
    found: IndexRequires = {}
    for torch, row in rows.items():
        found[torch] = {}
        for variant in row["variants"]:
            fetch.in_time(f"while reading torch {torch}'s dependencies on {variant}")
            files = view.torch_wheels.get(variant, {}).get(Version(torch), [])
            if files:
                base = f"{index_url.rstrip('/')}/{variant}"
                needs = index_only(base, pypi_url, files, view, row, on_pypi)
                found[torch][variant] = needs
    return found


def index_only(
    base: str, pypi_url: str, files: list[pypi.Wheel], view: IndexView, row: dict, on_pypi: dict
) -> tuple[Requirement, ...]:
    """The Requires-Dist of one of a variant's torch wheels that only the variant hosts
    (`on_pypi`: the versions PyPI holds, by name, filled as read)."""
    wheel = pypi._representative([w for w in files if "linux-x86_64" in w.platforms] or files)
    platforms = view.platforms(base.rsplit("/", 1)[-1], "torch", wheel.version.public)
    result = []
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
        result.append(requirement)
    return tuple(result)


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


def named(row: dict, library: str, version: Version) -> bool:
    """Whether a row's `unconfirmed` or `withheld` names this library release ("torchvision
    0.29.2"): a human already said why it is not offered."""
    return f"{library} {version}" in {*row.get("unconfirmed", {}), *row.get("withheld", {})}


def unpaired_libraries(matrix: dict, pypi_view: PyPIView, view: IndexView | None) -> list[str]:
    """Library releases on PyPI newer than any the matrix pairs, that no row names: drift even
    when they cannot be paired yet, with why not."""
    lines = []
    for library in LIBRARY_NAMES:
        rows = matrix["releases"].values()
        paired = [Version(row[library]["version"]) for row in rows if library in row]
        for release in pypi_view.libraries[library]:
            version = release.version
            if release.yanked or version.is_prerelease or version <= max(paired, default=version):
                continue
            if any(named(row, library, version) for row in rows):
                continue
            why = why_not_paired(library, release, matrix, view)
            lines.append(f"! {library} {version} is on PyPI, not offered: {why}")
    return lines


def why_not_paired(
    library: str, release: pypi.LibraryRelease, matrix: dict, view: IndexView | None
) -> str:
    line = f"{release.version.major}.{release.version.minor}"
    if release.torch is None and line not in TABLE_PAIRINGS.get(library, {}):
        return (
            f"its wheels declare no torch requirement, and TABLE_PAIRINGS (maintainers/"
            f"refresh.py, from its README's compatibility table) has no {line} row: add the "
            "row, or name it in a row's `withheld` with why"
        )
    torches = [t for t in matrix["releases"] if admits(library, release, Version(t))]
    if not torches:
        said = release.torch if release.torch is not None else TABLE_PAIRINGS[library][line]
        return f"it pairs with torch{said}, which no release in the matrix is"
    if view is None:
        return f"it pairs with torch {', '.join(torches)}; the index was not read to see it"
    return f"it pairs with torch {', '.join(torches)}, but the index does not serve it on cpu"


def pypi_only_drift(matrix: dict, facts: dict, pypi_view: PyPIView) -> list[str]:
    """What PyPI alone proves: new torch releases, changed Pythons, PyPI's builds, newer
    library releases that admit a row's torch, unpaired library releases."""
    lines = []
    for torch, release in pypi_view.releases.items():
        row, pythons = matrix["releases"].get(torch), list(release.wheels.pythons)
        if row is None:
            span = f"{pythons[0]}-{pythons[-1]}" if pythons else "none"
            lines.append(f"+ torch {torch}: Python {span}; variants unknown (index not read)")
        elif row["python"] != pythons:
            lines.append(f"~ torch {torch} python: {row['python']} -> {pythons}")
        if row is not None:
            lines += newer_libraries(torch, row, pypi_view)
    return lines + facts_drift(facts, pypi_view) + unpaired_libraries(matrix, pypi_view, None)


def newer_libraries(torch: str, row: dict, pypi_view: PyPIView) -> list[str]:
    """Library releases newer than a row's that admit its torch (PyPI's word alone)."""
    lines = []
    for library in LIBRARY_NAMES:
        if library not in row:
            continue
        pinned = Version(row[library]["version"])
        newer = [
            r.version
            for r in pypi_view.libraries[library]
            if r.version > pinned and not r.yanked and not named(row, library, r.version)
            if admits(library, r, Version(torch))
        ]
        if newer:
            lines.append(
                f"~ torch {torch} {library}: {pinned} -> {max(newer)}? (admits it on PyPI; "
                "whether the index serves it is not checked)"
            )
    return lines


def index_only_drift(matrix: dict, view: IndexView) -> list[str]:
    """What the index alone proves: torch releases it serves that the matrix lacks, variants
    its root lists that no row offers or names, unconfirmed variants it now serves."""
    rows = matrix["releases"]
    served = list(view.served.get("cpu", {}).get("torch", {}))
    oldest = min(map(Version, rows))
    lines = [
        f"+ torch {v} on the index: "
        + ", ".join(x for x in view.variants if view.platforms(x, "torch", v))
        + " (PyPI not read)"
        for v in sorted(pypi.newest_patches(served).values(), reverse=True)
        if v >= oldest and str(v) not in rows
    ]
    known = {v for row in rows.values() for v in row["variants"]}
    known |= {
        n for row in rows.values() for n in (*row.get("unconfirmed", {}), *row.get("withheld", {}))
    }
    lines += [
        f"+ variant {v}: the index root lists it; no release offers it"
        for v in view.variants
        if v not in known and family_of(v) not in known
    ]
    return lines + unoffered_on_the_index(matrix, view)


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
        raise RefreshError(f"docs/matrix.md lacks the {TABLE_START} ... {TABLE_END} markers")
    before, rest = readme.split(TABLE_START, 1)
    after = rest.split(TABLE_END, 1)[1]
    return f"{before}{TABLE_START}\n{matrix_table(matrix)}\n{TABLE_END}{after}"


# --- writing ---------------------------------------------------------------------------------


def write_atomically(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# --- one run ---------------------------------------------------------------------------------


@dataclass
class Files:
    """The three files a run reads, as read, and where they are."""

    matrix_path: Path
    facts_path: Path
    readme_path: Path
    texts: dict[Path, str] = field(default_factory=dict)

    def __post_init__(self):
        for path in (self.matrix_path, self.facts_path, self.readme_path):
            self.texts[path] = path.read_text(encoding="utf-8")
        self.matrix = yaml.safe_load(self.texts[self.matrix_path])
        self.facts = yaml.safe_load(self.texts[self.facts_path])


@dataclass
class Sources:
    """What each source said; None where it could not be read (`unread` says why)."""

    pypi: PyPIView | None
    index: IndexView | None
    unread: list[str]


@dataclass
class Outcome:
    lines: list[str]  # what changed (or would change)
    drift: bool
    unread: list[str] = field(default_factory=list)  # sources not read, and why
    unchecked: list[str] = field(default_factory=list)  # what only those sources could tell


def read_sources(index_url: str, pypi_url: str, matrix: dict, variants) -> Sources:
    """Both sources, read side by side (a stalled one does not starve the other); a source
    that cannot be read (PyPIError) is None, with why. RefreshError: the index contradicts
    the matrix."""
    offered = {v for row in matrix["releases"].values() for v in row["variants"]}
    oldest = min(map(Version, matrix["releases"]))
    readers = {
        f"the PyTorch index ({index_url})": lambda: read_index(index_url, variants, offered),
        f"PyPI ({pypi_url})": lambda: read_pypi(pypi_url, oldest),
    }
    views: list[Any] = []
    unread: list[str] = []
    for name, outcome in zip(readers, fetch.in_parallel(_attempt, readers.values()), strict=True):
        views.append(None if isinstance(outcome, pypi.PyPIError) else outcome)
        unread += [f"{name}: {outcome}"] if isinstance(outcome, pypi.PyPIError) else []
    return Sources(pypi=views[1], index=views[0], unread=unread)


def _attempt(read):
    """What `read()` returns, or the PyPIError it raises."""
    try:
        return read()
    except pypi.PyPIError as error:
        return error


def refresh(
    index_url: str,
    pypi_url: str,
    matrix_path: Path = MATRIX_PATH,
    readme_path: Path = README_PATH,
    facts_path: Path = FACTS_PATH,
    recommend: dict[str, str] | None = None,
    variants: list[str] | None = None,
    check: bool = False,
    deadline: float = DEADLINE_S,
    max_bytes: int = fetch.MAX_BODY_BYTES,
) -> Outcome:
    """Read both sources within `deadline` seconds (parsing and the work on what they say
    included), no response over `max_bytes`; rewrite the matrix, the README table and
    new releases' index facts (or, with `check`, only say what would change). With a source
    unread, say what the other proves and write nothing (`Outcome.unread`). Raises
    RefreshError (a refusal: nothing written, or both sources unread)."""
    files = Files(matrix_path, facts_path, readme_path)
    recommend = recommend or {}
    with fetch.deadline(deadline, max_bytes):
        sources = read_sources(index_url, pypi_url, files.matrix, variants)
        if sources.pypi is None and sources.index is None:
            raise RefreshError("neither source could be read: " + "; ".join(sources.unread))
        refuse_lost_releases(files.matrix, sources)
        if sources.unread:
            return partial_outcome(files, sources)
        return full_outcome(files, sources, index_url, pypi_url, recommend, check)


def refuse_lost_releases(matrix: dict, sources: Sources) -> None:
    """A release the matrix offers on a variant that the index no longer serves: a partial
    fault of the index, never a reason to drop it (RefreshError)."""
    if sources.index is None:
        return
    for torch, row in matrix["releases"].items():
        if sources.pypi is not None and torch not in sources.pypi.releases:
            continue
        lost = [v for v in row["variants"] if not sources.index.platforms(v, "torch", torch)]
        if lost:
            raise RefreshError(
                f"the index serves no torch {torch} on {', '.join(lost)}, which the matrix "
                "offers: refusing to drop it (a partial fault? check the index)"
            )


def full_outcome(
    files: Files, sources: Sources, index_url: str, pypi_url: str, recommend: dict, check: bool
) -> Outcome:
    """Both sources read: the refreshed files, written unless `check`."""
    if sources.pypi is None or sources.index is None:
        raise ValueError("full_outcome needs both sources")
    new = refreshed_matrix(files.matrix, sources.pypi, sources.index, recommend)
    rows = {torch: new["releases"][torch] for torch in sources.pypi.releases}
    lines = summary(files.matrix, new) + facts_drift(files.facts, sources.pypi)
    lines += unpaired_libraries(new, sources.pypi, sources.index)
    lines += unoffered_on_the_index(new, sources.index)
    try:
        found = read_index_requires(index_url, pypi_url, sources.index, rows)
    except pypi.PyPIError as error:
        unread = [f"the torch wheels' METADATA on the index: {error}"]
        return Outcome(lines, bool(lines), unread, ["the index-only dependencies"])
    lines += index_requires_drift(files.facts, found)
    added = {
        torch: new_release_facts(
            torch, files.facts, sources.pypi, sources.index, row, found.get(torch, {})
        )
        for torch, row in new["releases"].items()
        if torch not in files.facts["releases"]
    }
    changed = rewritten(files, new, added)
    if not check:
        for path, text in changed.items():
            write_atomically(path, text)
    return Outcome(lines, bool(lines or changed))


def rewritten(files: Files, new: dict, added: dict[str, dict]) -> dict[Path, str]:
    """The new text of each file that changes: the matrix, new releases' index facts, the
    README table."""
    after = {
        files.matrix_path: with_matrix(files.texts[files.matrix_path], new),
        files.facts_path: with_new_facts(files.texts[files.facts_path], added),
        files.readme_path: with_table(files.texts[files.readme_path], new),
    }
    return {path: text for path, text in after.items() if text != files.texts[path]}


def partial_outcome(files: Files, sources: Sources) -> Outcome:
    """One source read: the drift it proves, and what only the other could tell."""
    if sources.index is None and sources.pypi is not None:
        lines = pypi_only_drift(files.matrix, files.facts, sources.pypi)
        unchecked = [
            "which variants serve each torch and library release",
            "the index-only dependencies",
        ]
    elif sources.index is not None and sources.pypi is None:
        lines = index_only_drift(files.matrix, sources.index)
        unchecked = [
            "new torch and library releases' Pythons and pairings",
            "PyPI's builds",
            "the index-only dependencies",
        ]
    else:
        raise ValueError("partial_outcome needs exactly one source")
    return Outcome(lines, bool(lines), sources.unread, unchecked)


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above zero."""
    return _above_zero(text, "seconds")


def megabytes(text: str) -> float:
    """An argparse type: a finite number of MB above zero."""
    return _above_zero(text, "MB")


def _above_zero(text: str, unit: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"give a number of {unit} above 0, not {text}")
    return value


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


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m maintainers.refresh",
        description=__doc__.splitlines()[0],
        epilog="Exit codes: 0 up to date (or written), 1 drift (--check), 2 fault (nothing "
        "written), 3 incomplete (a source unread: the other's drift printed, nothing written).",
    )
    parser.add_argument("--index-url", help="the PyTorch index (default: the matrix's)")
    parser.add_argument("--pypi-url", help="PyPI's simple index (default: the one pip uses)")
    parser.add_argument(
        "--variants",
        help="comma-separated variants to read, every one the matrix offers among them "
        "(default: the index root's)",
    )
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
    parser.add_argument(
        "--deadline",
        type=seconds,
        default=DEADLINE_S,
        metavar="SECONDS",
        help="give up after this long, all requests and the work on them together "
        f"(default {DEADLINE_S:g})",
    )
    parser.add_argument(
        "--max-page-mb",
        type=megabytes,
        default=fetch.MAX_BODY_BYTES / 2**20,
        metavar="MB",
        help="refuse a response larger than this, e.g. an index page "
        f"(default {fetch.MAX_BODY_BYTES / 2**20:g})",
    )
    return parser


def write_table() -> int:
    """`--table`: the README's table from the matrix as it is."""
    matrix = yaml.safe_load(MATRIX_PATH.read_text(encoding="utf-8"))
    readme = README_PATH.read_text(encoding="utf-8")
    if with_table(readme, matrix) != readme:
        write_atomically(README_PATH, with_table(readme, matrix))
    return UP_TO_DATE


def run(args: argparse.Namespace) -> Outcome:
    """One refresh as the command line asks (RefreshError, PyPIError: a fault)."""
    matrix = yaml.safe_load(MATRIX_PATH.read_text(encoding="utf-8"))
    return refresh(
        args.index_url or matrix["index_url"],
        args.pypi_url or pypi.default_index_url(),
        MATRIX_PATH,
        README_PATH,
        FACTS_PATH,
        recommend=parse_recommend(args.recommend),
        variants=args.variants.split(",") if args.variants else None,
        check=args.check or args.dry_run,
        deadline=args.deadline,
        max_bytes=int(args.max_page_mb * 2**20),
    )


def report(outcome: Outcome, check: bool) -> int:
    """Print the outcome; its exit code."""
    if outcome.unread:
        print("\n".join(outcome.lines) or "No drift in what could be read.")
        for why in outcome.unread:
            print(f"Not read: {why}")
        print(f"Not checked: {'; '.join(outcome.unchecked)}.")
        print("Incomplete: nothing was written; run again when every source answers.")
        return INCOMPLETE
    if not outcome.drift:
        print("The matrix is up to date.")
        return UP_TO_DATE
    print("\n".join(outcome.lines) or "~ the generated layout of the files differs")
    if check:
        print("The matrix is out of date: run `python -m maintainers.refresh`, review `git diff`.")
        return DRIFT
    print(f"Wrote {MATRIX_PATH.name}, {FACTS_PATH.name} and docs/matrix.md: review `git diff`.")
    return UP_TO_DATE


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.table:
            return write_table()
        outcome = run(args)
    except (RefreshError, pypi.PyPIError) as error:
        print(f"error: {error}. Nothing was written.", file=sys.stderr)
        return FAULT
    return report(outcome, args.check or args.dry_run)


if __name__ == "__main__":
    sys.exit(main())

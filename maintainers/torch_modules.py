"""Record what a torch install puts on the import path, from the wheels themselves.

Maintainers' tooling (`maintainers/`): never loaded by a render. A project package named like
one of these modules would shadow it (or be shadowed): `functorch` and `torchgen` come in
torch's own wheel, `sympy`, `mpmath`, `typing_extensions`, ... with its dependencies, `nvidia`
(the CUDA libraries' wheels), `cuda` and `triton` with its GPU builds. The list is read, not
written by hand: pip resolves torch and its dependencies into a folder, and this tool reads each
wheel's file list (the zip's members, which RECORD lists too) for its top-level modules; with
`--pypi` it also reads, from PyPI, what torch's CUDA build requires there (`read_pypi`) and
gives the index-only triton builds of ROCm and XPU triton's modules (`index_only`). It writes
them to `extensions/torch_modules.yml`, which the answers' checks load.

    python -m pip download --only-binary=:all: torch==2.13.0 -d wheels   # the CPU build here
    python -m pip download --only-binary=:all: --no-deps setuptools -d wheels  # Python >= 3.12
    python -m maintainers.torch_modules wheels --pypi     # rewrite torch_modules.yml
    python -m pip download --only-binary=:all: "mypy>=1.18" "pre-commit>=4.0" \
        "pre-commit-hooks>=6.0" "pytest>=8.3" "ruff>=0.14" -d dev-wheels  # the dev group
    python -m maintainers.torch_modules wheels --pypi --dev-tools dev-wheels
    python -m maintainers.torch_modules wheels --pypi --check  # exit 1 when the file disagrees

`--dev-tools` also reads the generated project's dev tools (its `dev` group, `DEV_GROUP`) and
their dependencies from a folder of their wheels, each with the dev tool that requires it
(`dev_tools`): a package named `yaml` would shadow pre-commit's PyYAML.
`--check` compares each distribution read (from the folder, and with `--pypi` from PyPI) with
the recorded one (the file may hold more: a dependency of another Python or platform).
`--pypi-url` names another index than pip's (a mirror, or the tests' stand-in).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import yaml
from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from extensions.index_model import MODEL, Release, family_of
from maintainers import pypi

MODULES_PATH = Path(__file__).resolve().parent.parent / "extensions" / "torch_modules.yml"
EXTENSION_MODULES = (".so", ".pyd")
# The distribution names pytorch/pytorch's `.github/scripts/build_triton_wheel.py` gives the
# triton wheels it builds for ROCm and XPU (`triton_pkg_name`: `pytorch-triton-rocm`,
# `pytorch-triton-xpu`, renamed `triton-rocm`, `triton-xpu` by pytorch/pytorch#169888): it
# builds triton's own `python/` folder (whose `triton/__init__.py` it patches) under that name,
# so they install the module of PyPI's `triton` wheel. Only the PyTorch index hosts them.
TRITON_BUILDS = frozenset(
    {"pytorch-triton-rocm", "pytorch-triton-xpu", "triton-rocm", "triton-xpu"}
)
# The generated project's dev group (template/pyproject.toml.jinja, [dependency-groups] dev):
# the matrix's `tools` less the managers and pip, which the project does not import.
# The dev tools whose modules are read (recorded in `dev_tools`); the project's dev group also
# has pytest-cov and rust-just (`tools` in torch_matrix.yml), not read yet.
DEV_GROUP = ("mypy", "pre-commit", "pre-commit-hooks", "pytest", "ruff")
HEADER = """\
# What a torch install puts on the import path: the top-level modules of torch's wheel and of
# every wheel pip installs with it, per distribution. A project package may not take any of
# these names (extensions/answers.py). Written by `python -m maintainers.torch_modules`, which
# reads them from the wheels' file lists; do not edit by hand. read_from: the CPU build and its
# dependencies, as pip downloaded them; read_from_pypi: torch's CUDA build on PyPI (its
# Requires-Dist) and every wheel it requires there, read by HTTP range requests; index_only:
# the ROCm / XPU triton builds only the PyTorch index hosts (index_facts.yml), which install
# PyPI triton's modules (pytorch/pytorch .github/scripts/build_triton_wheel.py builds triton's
# own package under these names). dev_tools: the generated project's dev group (pytest, ruff,
# mypy, pre-commit, pre-commit-hooks) and what they require, read from the wheels pip
# downloaded (dev_tools_read_from): distribution -> the dev tool that brings it, its modules.
"""


def top_level_modules(members: Iterable[str]) -> list[str]:
    """The importable top-level names of a wheel, from its members' paths (`torch/__init__.py`
    -> `torch`, `typing_extensions.py` -> `typing_extensions`, `_foo.cpython-311-x86_64-linux-
    gnu.so` -> `_foo`; a `.data/purelib|platlib/` member counts as installed at the root).
    Metadata (`*.dist-info`), `.pth` files and folders that are no identifier (`torch.libs`)
    are not modules. Sorted."""
    found = set()
    for member in members:
        parts = member.split("/")
        if parts[0].endswith(".data") and len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            parts = parts[2:]
        elif parts[0].endswith((".dist-info", ".data")):
            continue
        first = parts[0]
        if len(parts) > 1:
            name = first
        elif first.endswith(".py"):
            name = first[: -len(".py")]
        elif first.endswith(EXTENSION_MODULES):
            name = first.split(".", 1)[0]
        else:
            continue
        if name.isidentifier():
            found.add(name)
    return sorted(found)


def read_wheels(folder: Path) -> dict[str, list[str]]:
    """Distribution (canonical name) -> its top-level modules, for every wheel in `folder`.
    Raises ValueError for a folder without wheels, or a file that is not one."""
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise ValueError(f"{folder} holds no wheel: run `pip download` into it first")
    modules = {}
    for wheel in wheels:
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        with zipfile.ZipFile(wheel) as archive:
            modules[name] = top_level_modules(archive.namelist())
    return dict(sorted(modules.items()))


def read_dev_tools(folder: Path, tools: Iterable[str] = DEV_GROUP) -> dict[str, dict]:
    """Distribution -> {"installed_by": the first of `tools` whose Requires-Dist (followed
    through the folder's wheels, markers for this interpreter, no extras) brings it, "modules":
    its top-level modules}, for every wheel in `folder` a dev tool brings. Raises ValueError
    for a folder without wheels, or a tool missing from it."""
    modules = read_wheels(folder)
    requires: dict[str, list[str]] = {}
    for wheel in sorted(folder.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            [member] = [m for m in archive.namelist() if m.endswith(".dist-info/METADATA")]
            meta = Metadata.from_email(archive.read(member), validate=False)
        requires[canonicalize_name(meta.name)] = [
            canonicalize_name(r.name)
            for r in meta.requires_dist or []
            if not r.marker or r.marker.evaluate({"extra": ""})
        ]
    result: dict[str, dict] = {}
    for tool in tools:
        if tool not in modules:
            raise ValueError(f"{folder} holds no wheel of the dev tool {tool}: download it")
        queue = [tool]
        while queue:
            name = queue.pop(0)
            if name in result or name not in modules:
                continue
            result[name] = {"installed_by": tool, "modules": modules[name]}
            queue += requires.get(name, [])
    return dict(sorted(result.items()))


def torch_python(folder: Path) -> tuple[str, str]:
    """(torch's release, the CPython it is for) from the folder's torch wheel:
    `torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl` -> ("2.13.0", "3.11").
    Raises ValueError when the folder holds no torch wheel."""
    wheels = sorted(folder.glob("torch-*.whl"))
    if not wheels:
        raise ValueError(f"{folder} holds no torch wheel")
    _, version, _, tags = parse_wheel_filename(wheels[0].name)
    return str(version.public), pypi.python_of(min(tags, key=str))


def cuda_platforms(release: Release) -> list[str]:
    """The platforms where PyPI's torch is a CUDA build (index_facts.yml `pypi_builds`, read
    from PyPI's Linux wheels' Requires-Dist): `linux-x86_64`, `linux-aarch64`."""
    return [p for p, build in release.pypi_builds.items() if family_of(build) == "cuda"]


def read_pypi(
    index_url: str, release: Release, python: str, known: Collection[str] = ()
) -> tuple[list[str], dict[str, list[str]]]:
    """(the wheels read, distribution -> its top-level modules) for what torch's CUDA build
    requires on PyPI: on each of `cuda_platforms(release)`, the Requires-Dist of PyPI's torch
    wheel for `python` (markers evaluated for that platform and Python), followed through each
    required distribution's own Requires-Dist and the extras asked of it. Each distribution is
    read from the newest release its requirement admits that has a wheel for the platform and
    Python: its file list and METADATA by HTTP range reads (`pypi.contents`). Distributions in
    `known` (read from the folder) are not followed. Not a resolver: a distribution met again
    keeps the release first read. Raises PyPIError."""
    index = Listings(index_url, python)
    read: list[str] = []
    modules: dict[str, list[str]] = {}
    for platform in cuda_platforms(release):
        env = pypi.environment(platform, python)
        torch = index.newest(Requirement(f"torch=={release.torch}"), platform)
        read.append(torch.filename)
        queue = applicable(pypi.metadata(torch), env, "")
        metas: dict[str, Metadata] = {}
        asked: dict[str, set[str]] = {}
        while queue:
            requirement = queue.pop(0)
            name = canonicalize_name(requirement.name)
            if name in known:
                continue
            if name not in metas:
                found = index.newest(requirement, platform)
                members, metas[name] = pypi.contents(found)
                read.append(found.filename)
                modules[name] = sorted({*modules.get(name, ()), *top_level_modules(members)})
            for extra in sorted({"", *requirement.extras} - asked.setdefault(name, set())):
                asked[name].add(extra)
                queue += applicable(metas[name], env, extra)
    return sorted(set(read)), dict(sorted(modules.items()))


class Listings:
    """An index's wheel lists, each read once, for one CPython."""

    def __init__(self, index_url: str, python: str):
        self.index_url, self.python = index_url, python
        self.listed: dict[str, list[pypi.Wheel]] = {}

    def newest(self, requirement: Requirement, platform: str) -> pypi.Wheel:
        """`newest_wheel` of the requirement's distribution. Raises PyPIError."""
        name = canonicalize_name(requirement.name)
        if name not in self.listed:
            self.listed[name] = pypi.wheels(self.index_url, name)
        return newest_wheel(self.listed[name], requirement.specifier, platform, self.python)


def applicable(meta: Metadata, env: dict[str, str], extra: str) -> list[Requirement]:
    """The Requires-Dist of `meta` that an install asking for `extra` ("" for none) gets."""
    return [
        r
        for r in meta.requires_dist or []
        if (r.marker.evaluate({**env, "extra": extra}) if r.marker else not extra)
    ]


def newest_wheel(
    wheels: list[pypi.Wheel], specifier: SpecifierSet, platform: str, python: str
) -> pypi.Wheel:
    """The wheel of the newest release `specifier` admits that installs on `platform` with
    CPython `python` (a cpXY wheel for it, an abi3 one for it or older, a py3 one; not
    yanked). Raises PyPIError when there is none."""

    def fits(tag: Tag) -> bool:
        if tag.platform != "any" and pypi.platform_name(tag.platform) != platform:
            return False
        made_for = pypi.python_of(tag)
        if made_for.endswith("+abi3"):
            return Version(made_for.split("+")[0]) <= Version(python)
        return made_for in (python, "py3")

    fitting = [w for w in wheels if not w.yanked and any(fits(tag) for tag in w.tags)]
    versions = list(specifier.filter({w.version for w in fitting}))
    if not versions:
        name = wheels[0].name if wheels else "?"
        raise pypi.PyPIError(f"no wheel of {name}{specifier} for {platform}, Python {python}")
    newest = max(versions)
    return max((w for w in fitting if w.version == newest), key=lambda w: (w.build, w.filename))


def index_only(names: Iterable[str], modules: dict[str, list[str]]) -> dict[str, list[str]]:
    """Index-only distribution -> its modules: those of PyPI's `triton` wheel (read into
    `modules`) for each triton build (`TRITON_BUILDS`). Raises ValueError for another name
    (its modules cannot be read here) or when triton was not read."""
    result: dict[str, list[str]] = {}
    for name in sorted(set(map(canonicalize_name, names))):
        if name not in TRITON_BUILDS:
            raise ValueError(f"{name}: only the PyTorch index hosts it; its modules are unknown")
        if "triton" not in modules:
            raise ValueError(f"{name} is a triton build, but no triton wheel was read")
        result[name] = list(modules["triton"])
    return result


def index_only_names() -> list[str]:
    """The names of torch's index-only dependencies in every release of the model
    (index_facts.yml `index_requires`: the ROCm and XPU builds' triton)."""
    return [
        requirement.name
        for release in MODEL.releases.values()
        for requirements in release.index_requires.values()
        for requirement in requirements
    ]


def recorded(path: Path = MODULES_PATH) -> dict:
    """The recorded file: `torch` (the release read) and `modules` (distribution -> modules)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def drift(found: Mapping[str, object], known: Mapping[str, object]) -> list[str]:
    """Where the wheels read disagree with the recorded modules, one line each."""
    return [
        f"{name}: the wheel has {modules}, the file says {known.get(name)}"
        for name, modules in found.items()
        if known.get(name) != modules
    ]


def dump(torch: str, wheels: list[str], modules: dict[str, list[str]], **more: object) -> str:
    """The file's text: the torch release, the wheels read (the evidence), with `--pypi` the
    PyPI wheels read and the index-only names (`read_from_pypi`, `index_only`), the modules."""
    data = {"torch": torch, "read_from": wheels, **more, "modules": modules}
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="torch's wheels, as `pip download` left them")
    parser.add_argument("--check", action="store_true", help="write nothing, exit 1 on drift")
    parser.add_argument("--output", type=Path, default=MODULES_PATH)
    parser.add_argument(
        "--pypi", action="store_true", help="also read what torch's GPU builds require"
    )
    parser.add_argument("--pypi-url", help="the index to read them from (default: pip's)")
    parser.add_argument(
        "--dev-tools", type=Path, help="the dev group's wheels, as `pip download` left them"
    )
    args = parser.parse_args(argv)
    try:
        found = read_wheels(args.folder)
        torch, python = torch_python(args.folder)
        more: dict[str, object] = {}
        if args.pypi:
            if torch not in MODEL.releases:
                raise ValueError(f"torch {torch} is not in the model (torch_matrix.yml)")
            url = args.pypi_url or pypi.default_index_url()
            read, gpu = read_pypi(url, MODEL.releases[torch], python, known=found)
            only = index_only(index_only_names(), gpu)
            more = {"read_from_pypi": read, "index_only": sorted(only)}
            found = dict(sorted({**found, **gpu, **only}.items()))
        dev = read_dev_tools(args.dev_tools) if args.dev_tools else {}
        if dev:
            dev_wheels = sorted(w.name for w in args.dev_tools.glob("*.whl"))
            more |= {"dev_tools_read_from": dev_wheels, "dev_tools": dev}
    except (ValueError, zipfile.BadZipFile, pypi.PyPIError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        lines = drift(found, recorded(args.output)["modules"])
        if dev:
            known = recorded(args.output).get("dev_tools", {})
            lines += [f"dev tool {line}" for line in drift(dev, known)]
        print("\n".join(lines) or "torch_modules.yml agrees with the wheels")
        return 1 if lines else 0
    if not args.pypi and args.output.exists() and "read_from_pypi" in recorded(args.output):
        print(
            f"error: add --pypi: {args.output} holds what GPU builds require, read from PyPI",
            file=sys.stderr,
        )
        return 2
    if not dev and args.output.exists() and "dev_tools" in recorded(args.output):
        print(
            f"error: add --dev-tools FOLDER: {args.output} holds the dev tools' modules",
            file=sys.stderr,
        )
        return 2
    wheels = sorted(w.name for w in args.folder.glob("*.whl"))
    args.output.write_text(dump(torch, wheels, found, **more), encoding="utf-8")
    print(f"wrote {len(found)} distributions to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

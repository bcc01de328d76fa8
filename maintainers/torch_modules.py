"""Record what a torch install puts on the import path, from the wheels themselves.

Maintainers' tooling (`maintainers/`): never loaded by a render. A project package named like
one of these modules would shadow it (or be shadowed): `functorch` and `torchgen` come in
torch's own wheel, `sympy`, `mpmath`, `typing_extensions`, ... with its dependencies. The list
is read, not written by hand: pip resolves torch and its dependencies into a folder, and this
tool reads each wheel's file list (the zip's members, which RECORD lists too) for its top-level
modules, then writes them to `extensions/torch_modules.yml`, which the answers' checks load.

    python -m pip download --only-binary=:all: torch==2.13.0 -d wheels   # the CPU build here
    python -m pip download --only-binary=:all: --no-deps setuptools -d wheels  # Python >= 3.12
    python -m maintainers.torch_modules wheels            # rewrite torch_modules.yml
    python -m maintainers.torch_modules wheels --check    # exit 1 when the file disagrees

`--check` compares each distribution found in the folder with the recorded one (the file may
hold more: a dependency of another Python or platform).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

import yaml
from packaging.utils import canonicalize_name, parse_wheel_filename

MODULES_PATH = Path(__file__).resolve().parent.parent / "extensions" / "torch_modules.yml"
EXTENSION_MODULES = (".so", ".pyd")
HEADER = """\
# What a torch install puts on the import path: the top-level modules of torch's wheel and of
# every wheel pip installs with it, per distribution. A project package may not take any of
# these names (extensions/answers.py). Written by `python -m maintainers.torch_modules`, which
# reads them from the wheels' file lists; do not edit by hand.
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


def recorded(path: Path = MODULES_PATH) -> dict:
    """The recorded file: `torch` (the release read) and `modules` (distribution -> modules)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def drift(found: dict[str, list[str]], known: dict[str, list[str]]) -> list[str]:
    """Where the wheels read disagree with the recorded modules, one line each."""
    return [
        f"{name}: the wheel has {modules}, the file says {known.get(name)}"
        for name, modules in found.items()
        if known.get(name) != modules
    ]


def dump(torch: str, wheels: list[str], modules: dict[str, list[str]]) -> str:
    """The file's text: the torch release, the wheels read (the evidence), the modules."""
    data = {"torch": torch, "read_from": wheels, "modules": modules}
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="torch's wheels, as `pip download` left them")
    parser.add_argument("--check", action="store_true", help="write nothing, exit 1 on drift")
    parser.add_argument("--output", type=Path, default=MODULES_PATH)
    args = parser.parse_args(argv)
    try:
        found = read_wheels(args.folder)
    except (ValueError, zipfile.BadZipFile) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    torch_wheels = [w.name for w in args.folder.glob("torch-*.whl")]
    if "torch" not in found:
        print(f"error: {args.folder} holds no torch wheel", file=sys.stderr)
        return 2
    if args.check:
        lines = drift(found, recorded(args.output)["modules"])
        print("\n".join(lines) or "torch_modules.yml agrees with the wheels")
        return 1 if lines else 0
    torch = str(parse_wheel_filename(torch_wheels[0])[1].public)
    wheels = sorted(w.name for w in args.folder.glob("*.whl"))
    args.output.write_text(dump(torch, wheels, found), encoding="utf-8")
    print(f"wrote {len(found)} distributions to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

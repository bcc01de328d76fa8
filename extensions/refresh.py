"""Refresh extensions/torch_matrix.yml from the PyTorch wheel index (or a mirror of it).

    python -m extensions.refresh                       # read the index, rewrite the matrix
    python -m extensions.refresh --dry-run             # only print what would change
    python -m extensions.refresh --recommend torch=2.15.0 --recommend cuda=cu132
    python -m extensions.refresh --table               # only regenerate the README's table

It reads each variant's PEP 503 pages (`<index>/<variant>/torch/`, torchvision, torchaudio),
finds the newest stable patch of every torch line, the variants and Python versions of its
wheels and the library releases that pair with it, and rewrites the matrix in a fixed order,
so an unchanged index gives an unchanged file. The `recommended` block, the `tools` block and
each row's human facts (`constraints`, `accelerator_api`) are kept. Any fault (unreachable
index, HTTP error, malformed or empty page) stops it before anything is written.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import yaml

from extensions.torch_matrix import MATRIX_PATH, family_of, load_matrix

README_PATH = MATRIX_PATH.parent.parent / "README.md"
TABLE_START, TABLE_END = "<!-- matrix:start -->", "<!-- matrix:end -->"
WHEEL = re.compile(
    r"^(?P<name>torch|torchvision|torchaudio)-(?P<version>\d+(?:\.\d+)*)(?:\+(?P<label>[\w.]+))?"
    r"-cp(?P<py>\d)(?P<minor>\d+)-(?P<abi>[^-]+)-[^-]+\.whl$"
)
KEPT_ROW_FACTS = ("accelerator_api", "constraints")
TIMEOUT_S = 30


class RefreshError(Exception):
    """A fault that leaves the matrix as it was."""


def candidate_variants(matrix: dict) -> list[str]:
    """Variants to look for: those the matrix knows, and their plausible successors."""
    known = {v for row in matrix["releases"].values() for v in row["variants"]}
    cuda = {f"cu{major}{minor}" for major in (11, 12, 13, 14) for minor in range(10)}
    rocm = {f"rocm{major}.{minor}" for major in (6, 7, 8) for minor in range(10)}
    return sorted(known | cuda | rocm | {"cpu", "xpu"})


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: list[str] = []
        self.anchors = 0

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.anchors += 1
            href = dict(attrs).get("href") or ""
            self.names.append(urllib.request.unquote(href.split("#")[0].rsplit("/", 1)[-1]))


def fetch_page(url: str) -> str | None:
    """A page's text, None for the 403/404 the index answers for what it lacks."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        if error.code in (403, 404):
            return None
        raise RefreshError(f"{url} answered HTTP {error.code}") from error
    except (urllib.error.URLError, OSError) as error:
        raise RefreshError(f"cannot reach {url}: {getattr(error, 'reason', error)}") from error


def parse_wheels(page: str, url: str) -> list[dict]:
    """Stable wheels listed on a package page (pre-releases and free-threaded builds skipped)."""
    parser = _Links()
    parser.feed(page)
    if not parser.anchors:
        raise RefreshError(f"{url} is not a package index page (no links)")
    wheels = []
    for name in parser.names:
        match = WHEEL.match(name)
        if match and not match["abi"].endswith("t"):
            wheels.append(
                {
                    "name": match["name"],
                    "version": match["version"],
                    "label": match["label"],
                    "python": f"{match['py']}.{match['minor']}",
                }
            )
    return wheels


def read_index(index_url: str, variants: list[str]) -> dict[str, list[dict]]:
    """variant -> its wheels of torch, torchvision and torchaudio."""
    base = index_url.rstrip("/")
    found: dict[str, list[dict]] = {}
    for variant in variants:
        wheels = []
        for package in ("torch", "torchvision", "torchaudio"):
            url = f"{base}/{variant}/{package}/"
            page = fetch_page(url)
            if page is not None:
                wheels += parse_wheels(page, url)
        if any(w["name"] == "torch" for w in wheels):
            found[variant] = wheels
    if "cpu" not in found:
        raise RefreshError(
            f"{base}/cpu/torch/ lists no torch wheel: is {base} a PyTorch wheel index "
            "(e.g. https://download.pytorch.org/whl)?"
        )
    return found


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _versions(found: dict, name: str, variant: str) -> set[str]:
    return {w["version"] for w in found.get(variant, []) if w["name"] == name}


def pair_library(name: str, torch: str, available: set[str]) -> str | None:
    """torchvision 0.(N+15).x pairs with torch 2.N; torchaudio follows torch's line until 2.11,
    whose stable-ABI build serves later torch releases too."""
    major, minor = _key(torch)[:2]
    if name == "torchvision":
        line = [v for v in available if _key(v)[:2] == (0, minor + 15)]
    else:
        line = [v for v in available if _key(v)[:2] == (major, minor)]
        if not line:
            line = [v for v in available if (2, 11) <= _key(v)[:2] <= (major, minor)]
    return max(line, key=_key) if line else None


def build_rows(found: dict, oldest: str) -> dict[str, dict]:
    """Rows for the newest patch of each torch line at or above `oldest`, newest first."""
    lines: dict[tuple, str] = {}
    for version in _versions(found, "torch", "cpu"):
        line = _key(version)[:2]
        if line >= _key(oldest)[:2] and _key(version) > _key(lines.get(line, "0")):
            lines[line] = version
    rows = {}
    for torch in sorted(lines.values(), key=_key, reverse=True):
        variants = sorted(v for v in found if torch in _versions(found, "torch", v))
        pythons = {
            w["python"]
            for v in variants
            for w in found[v]
            if w["name"] == "torch" and w["version"] == torch
        }
        row = {
            "status": "confirmed",
            "python": sorted(pythons, key=_key),
            "variants": sorted(variants, key=_variant_order),
        }
        for library in ("torchvision", "torchaudio"):
            version = pair_library(library, torch, _versions(found, library, "cpu"))
            if version:
                missing = [
                    v for v in row["variants"] if version not in _versions(found, library, v)
                ]
                row[library] = {"version": version, **({"missing": missing} if missing else {})}
        rows[torch] = row
    return rows


def _variant_order(variant: str) -> tuple:
    families = ("cpu", "cuda", "rocm", "xpu")
    return (families.index(family_of(variant)), _key(re.sub(r"^[a-z]+", "", variant) or "0"))


def merge(matrix: dict, rows: dict, recommend: dict[str, str]) -> dict:
    """The refreshed matrix: new facts, the kept human choices, and moved recommendations."""
    releases = {}
    for torch, row in rows.items():
        old = matrix["releases"].get(torch, {})
        releases[torch] = {**row, **{k: old[k] for k in KEPT_ROW_FACTS if k in old}}
    for torch, row in matrix["releases"].items():
        releases.setdefault(torch, row)  # not on this index: kept, and reported
    ordered = dict(sorted(releases.items(), key=lambda item: _key(item[0]), reverse=True))
    refreshed = {
        **matrix,
        "releases": ordered,
        "recommended": {**matrix["recommended"], **recommend},
    }
    check_recommendation(refreshed)
    return refreshed


def check_recommendation(matrix: dict) -> None:
    recommended = matrix["recommended"]
    row = matrix["releases"].get(recommended["torch"])
    if row is None:
        raise RefreshError(f"the recommended torch {recommended['torch']} is not in the matrix")
    if recommended["cuda"] not in row["variants"]:
        raise RefreshError(
            f"torch {recommended['torch']} has no {recommended['cuda']} build: "
            f"recommend one of {[v for v in row['variants'] if family_of(v) == 'cuda']}"
        )
    if recommended["python"] not in row["python"]:
        raise RefreshError(f"torch {recommended['torch']} lacks Python {recommended['python']}")


def _flow(items, quoted: bool = False) -> str:
    return "[" + ", ".join(json.dumps(i) if quoted else str(i) for i in items) + "]"


def _library(facts: dict) -> str:
    text = f'{{version: "{facts["version"]}"'
    if facts.get("missing"):
        text += f", missing: {_flow(facts['missing'])}"
    return text + "}"


def dump(matrix: dict, header: str, tools: str) -> str:
    """The matrix file's text, in its one fixed layout."""
    rec = matrix["recommended"]
    out = [header.rstrip("\n"), "", "recommended:"]
    out += [f'  torch: "{rec["torch"]}"', f"  cuda: {rec['cuda']}", f"  rocm: {rec['rocm']}"]
    out += [f'  python: "{rec["python"]}"', "", f"index_url: {matrix['index_url']}", ""]
    out.append("releases:")
    for torch, row in matrix["releases"].items():
        out += [f'  "{torch}":', f"    status: {row['status']}"]
        out.append(f"    python: {_flow(row['python'], quoted=True)}")
        out.append(f"    variants: {_flow(row['variants'])}")
        for library in ("torchvision", "torchaudio"):
            if library in row:
                out.append(f"    {library}: {_library(row[library])}")
        if "accelerator_api" in row:
            out.append(f"    accelerator_api: {str(row['accelerator_api']).lower()}")
        if row.get("constraints"):
            out.append(f"    constraints: {_flow(row['constraints'], quoted=True)}")
        if row.get("unconfirmed"):
            out.append(f"    unconfirmed: {_flow(row['unconfirmed'])}")
    return "\n".join(out) + "\n\n" + tools.lstrip("\n")


def split_file(text: str) -> tuple[str, str]:
    """(header comments, tools block) of the matrix file: kept verbatim."""
    header = text.split("\nrecommended:", 1)[0]
    tools = text[text.index("\n# Tools") :] if "\n# Tools" in text else "tools:\n"
    return header, tools


def summary(old: dict, new: dict) -> list[str]:
    lines = []
    for torch, row in new["releases"].items():
        before = old["releases"].get(torch)
        if before is None:
            lines.append(
                f"+ torch {torch}: {', '.join(row['variants'])}; Python {', '.join(row['python'])}"
            )
            continue
        for fact in ("python", "variants", "torchvision", "torchaudio", "status"):
            if before.get(fact) != row.get(fact):
                lines.append(f"~ torch {torch} {fact}: {before.get(fact)} -> {row.get(fact)}")
    lines += [
        f"- torch {t}: gone from the index" for t in old["releases"] if t not in new["releases"]
    ]
    for key, value in new["recommended"].items():
        if old["recommended"].get(key) != value:
            lines.append(f"~ recommended {key}: {old['recommended'].get(key)} -> {value}")
    return lines


def matrix_table(matrix: dict) -> str:
    """The README's table of supported releases, generated from the matrix."""
    rows = [
        "| torch | torchvision | torchaudio | Python | CPU | CUDA | ROCm | XPU | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for torch, row in matrix["releases"].items():
        cells = [
            torch,
            _library_cell(row, "torchvision"),
            _library_cell(row, "torchaudio"),
            f"{row['python'][0]}–{row['python'][-1]}",
            *(_family_cell(row, family) for family in ("cpu", "cuda", "rocm", "xpu")),
            row["status"] + _note(row.get("unconfirmed"), "unconfirmed"),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    rec = matrix["recommended"]
    rows += [
        "",
        f"Recommended: torch {rec['torch']}, {rec['cuda']} for CUDA, {rec['rocm']} for ROCm, "
        f"Python {rec['python']}.",
    ]
    return "\n".join(rows)


def _note(items: list | None, what: str) -> str:
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


def write_atomically(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def refresh(
    index_url: str,
    matrix_path: Path = MATRIX_PATH,
    readme_path: Path = README_PATH,
    recommend: dict[str, str] | None = None,
    variants: list[str] | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Read the index, rewrite the matrix and the README table; return the summary lines."""
    text = matrix_path.read_text(encoding="utf-8")
    matrix = yaml.safe_load(text)
    oldest = min(matrix["releases"], key=_key)
    found = read_index(index_url, variants or candidate_variants(matrix))
    rows = build_rows(found, oldest)
    if not rows:
        raise RefreshError(f"{index_url} lists no torch release from {oldest} on")
    new = merge(matrix, rows, recommend or {})
    lines = summary(matrix, new)
    lines += [
        f"! torch {t} is not on {index_url}: kept as it was"
        for t in matrix["releases"]
        if t not in rows
    ]
    new_text = dump(new, *split_file(text))
    readme = readme_path.read_text(encoding="utf-8")
    new_readme = with_table(readme, new)
    if not dry_run:
        write_atomically(matrix_path, new_text)
        write_atomically(readme_path, new_readme)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-url", default=None, help="default: the matrix's index_url")
    parser.add_argument("--variants", help="comma-separated variants to read (default: probe)")
    parser.add_argument(
        "--recommend",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="move a recommendation: torch=, cuda=, rocm=, python=",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    parser.add_argument("--table", action="store_true", help="only regenerate the README table")
    args = parser.parse_args(argv)
    try:
        if args.table:
            write_atomically(README_PATH, with_table(README_PATH.read_text(), load_matrix()))
            return 0
        recommend = dict(item.split("=", 1) for item in args.recommend)
        unknown = set(recommend) - {"torch", "cuda", "rocm", "python"}
        if unknown:
            raise RefreshError(f"cannot recommend {sorted(unknown)}: use torch, cuda, rocm, python")
        lines = refresh(
            args.index_url or load_matrix()["index_url"],
            recommend=recommend,
            variants=args.variants.split(",") if args.variants else None,
            dry_run=args.dry_run,
        )
    except RefreshError as error:
        print(f"error: {error}. Nothing was written.", file=sys.stderr)
        return 1
    print("\n".join(lines) if lines else "The matrix is up to date.")
    if lines and not args.dry_run:
        print(f"Wrote {MATRIX_PATH} and the table in {README_PATH}: review `git diff`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

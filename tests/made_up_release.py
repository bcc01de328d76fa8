"""`python -m tests.made_up_release`: writes a torch release that PyPI never had into the
template's two data files, recommended, as a maintainer releasing a new recommendation would
write it by hand (docs/maintainers.md, "Releasing a new recommendation"): the next minor after
the newest torch (`.0`), a copy of the newest release's rows with a new CUDA variant (the
newest one's number + 1: `cu132` -> `cu133`) that no library has a build for yet, recommended
with it.

Run in a scratch worktree, then regenerate what derives from the files and run the tests:
`python -m maintainers.refresh --table`, `python -m tests.examples`, `pytest`. The tests must
then fail only where they check recorded PyPI evidence (tests/data/pypi_facts.yml), which
rightly has no such release (CONTRIBUTING.md)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from packaging.version import Version

from extensions.index_model import FACTS_PATH, MATRIX_PATH, VARIANT_PREFIXES, Variant, family_of
from maintainers.refresh import with_matrix, with_new_facts


def next_release(matrix: dict) -> tuple[str, str]:
    """The made-up torch (the newest release's next minor) and CUDA variant (the newest CUDA
    variant of any release, its number + 1), from the matrix file's data."""
    newest = max(Version(torch) for torch in matrix["releases"])
    cuda = max(
        Variant.parse(variant)
        for row in matrix["releases"].values()
        for variant in row["variants"]
        if family_of(variant) == "cuda"
    )
    return (
        f"{newest.major}.{newest.minor + 1}.0",
        f"{VARIANT_PREFIXES['cuda']}{cuda.number.major + 1}",
    )


def made_up_row(row: dict, torch: str, cuda: str) -> dict:
    """The newest release's matrix row, for `torch`, with `cuda` added (no library has a build
    of it), and a made-up reason for each family it does not offer."""
    new = copy.deepcopy(row)
    new["variants"] = [*row["variants"], cuda]
    for library in ("torchvision", "torchaudio", "torchcodec"):
        if "missing" in new.get(library, {}):
            new[library]["missing"] = [*new[library]["missing"], cuda]
    families = [key for key in row.get("unconfirmed", {}) if Variant.is_name(key)]
    new["unconfirmed"] = {f: f"no torch {torch}+{f} wheel seen (made up)" for f in families}
    new.pop("withheld", None)
    return new


def write(matrix_path: Path = MATRIX_PATH, facts_path: Path = FACTS_PATH) -> tuple[str, str]:
    """Write the made-up release into the two files, recommended; its torch and variant."""
    text = matrix_path.read_text(encoding="utf-8")
    matrix = yaml.safe_load(text)
    torch, cuda = next_release(matrix)
    newest = max(matrix["releases"], key=lambda version: Version(str(version)))
    matrix["releases"] = {torch: made_up_row(matrix["releases"][newest], torch, cuda)} | matrix[
        "releases"
    ]
    matrix["recommended"] |= {"torch": torch, "cuda": cuda}
    matrix_path.write_text(with_matrix(text, matrix), encoding="utf-8")

    text = facts_path.read_text(encoding="utf-8")
    facts = copy.deepcopy(yaml.safe_load(text)["releases"][str(newest)])
    facts["pypi_builds"] = {
        platform: cuda if family_of(build) == "cuda" else build
        for platform, build in facts["pypi_builds"].items()
    }
    facts_path.write_text(with_new_facts(text, {torch: facts}), encoding="utf-8")
    return torch, cuda


if __name__ == "__main__":
    made_up, variant = write()
    print(
        f"Wrote torch {made_up} with {variant}, recommended: now run "
        "`python -m maintainers.refresh --table` and `python -m tests.examples`."
    )

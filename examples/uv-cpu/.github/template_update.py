"""Bring this project to its template's newest release: what the scheduled workflow
(.github/workflows/template-update.yml) does, without pushing or opening a pull request.

    python3 .github/template_update.py              # update, re-lock, run the checks
    python3 .github/template_update.py --no-checks  # update and re-lock only

On a committed tree (needs uv: Copier runs through uvx, pinned, with the template's Jinja
extensions): `copier update --trust --defaults` with the recorded answers, a re-lock with
the project's manager, then the CI's checks on the CPU build. It prints the template
versions from -> to, the template's release notes between them, the pins that move, the
checks' result and the conflicted files. When no newer release exists it changes nothing.
Exit status: 0 when it updated or nothing was newer, 1 when Copier or the re-lock failed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

COPIER = (
    "uvx",
    "--from",
    "copier==9.19.1",
    "--with",
    "copier-template-extensions==0.3.4",
    "--with",
    "jinja2-time==0.2.0",
    "copier",
)
RELOCK = [
    "uv lock",
]
CHECKS = (
    "uv sync --locked",
    "uv run just lint",
    "uv run just test",
    "uv run just doctor",
)
ANSWERS = Path(".copier-answers.yml")  # where Copier records the template and answers
# The template's after-update migration prints its release notes between these lines.
RELEASE_NOTES = re.compile(
    r"^Release notes of the template, .*?\n(.*?)\nEnd of the release notes\.$",
    re.M | re.S,
)
CONFLICT_MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.M)
PIN = re.compile(r"\b(torch[a-z]*)==([0-9][\w.]*)")  # the public version: 2.15.0+cpu -> 2.15.0
INDEX_VARIANT = re.compile(r"/whl/([\w.]+)")


def run(command: str | list[str]) -> subprocess.CompletedProcess[str]:
    """Run `command` (a shell line, or an argument list) here, its output captured."""
    return subprocess.run(
        command, shell=isinstance(command, str), capture_output=True, text=True, check=False
    )


def recorded_version() -> str:
    """The template release the project was last made from (`_commit` in the answers)."""
    found = re.search(r"^_commit: *(\S+)", ANSWERS.read_text(encoding="utf-8"), re.M)
    return found.group(1) if found else "unknown"


def pins() -> dict[str, str]:
    """The torch pins (`torch`, its libraries: version) and `variant` (the PyTorch index
    variants the project installs from), read from pyproject.toml and requirements files."""
    found: dict[str, str] = {}
    variants: list[str] = []
    for path in [Path("pyproject.toml"), *sorted(Path().glob("requirements*.txt"))]:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        found.update(PIN.findall(text))
        variants += [v for v in INDEX_VARIANT.findall(text) if v not in variants]
    return {**found, "variant": ", ".join(variants)}


def moved_pins(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """For each pin that differs, "torch 2.14.1 -> 2.15.0" (added or dropped: "none")."""
    names = [*before, *(name for name in after if name not in before)]
    return [
        f"{name} {before.get(name, 'none')} -> {after.get(name, 'none')}"
        for name in names
        if before.get(name) != after.get(name)
    ]


def conflicts() -> list[str]:
    """Files (tracked, or new and not ignored) with conflict markers, and `.rej` files."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"]).stdout
    return [
        name
        for name in sorted(set(listed.splitlines()))
        if Path(name).is_file()
        and (
            name.endswith(".rej")
            or CONFLICT_MARKER.search(Path(name).read_text(encoding="utf-8", errors="replace"))
        )
    ]


def relocked() -> bool:
    """Re-lock with the project's manager (`RELOCK`, in order); False, saying why, if it fails."""
    for line in RELOCK:
        if (relock := run(line)).returncode:
            print(
                relock.stdout,
                relock.stderr,
                f"Fix what stopped `{line}`, run it and the lines after it yourself "
                f"({' && '.join(RELOCK)}), then review (git diff) and commit: the update is "
                "applied and not committed, so a rerun would find the template up to date.",
                sep="\n",
            )
            return False
    return True


def run_checks() -> list[str]:
    """The checks, in order, until one fails: "passed: LINE" or "FAILED: LINE" each."""
    results = []
    for line in CHECKS:
        result = run(line)
        results.append(f"{'passed' if result.returncode == 0 else 'FAILED'}: {line}")
        if result.returncode:
            print(result.stdout[-4000:], result.stderr[-4000:], sep="\n", file=sys.stderr)
            break
    return results


def report(
    start: str, end: str, notes: str, moved: list[str], checks: list[str], conflicted: list[str]
) -> str:
    """What the update did, in Markdown: the output, and the pull request's body."""
    lines = [f"Template update: {start} -> {end}", "", "## Pins that move", ""]
    lines += [f"- {pin}" for pin in moved] or ["- none"]
    lines += ["", "## Release notes (the template's CHANGELOG)", "", notes or "(none given)", ""]
    lines += ["## Checks", ""]
    lines += [f"- {check}" for check in checks] or ["- not run (--no-checks)"]
    if conflicted:
        lines += ["", "## Conflicts: resolve them, then commit", ""]
        lines += [f"- {name}" for name in conflicted]
        lines += [
            "",
            "In each block between <<<<<<< and >>>>>>> keep your lines, the template's, or "
            "both; apply what each .rej file holds by hand, then delete it.",
        ]
    return "\n".join(lines) + "\n"


def github_output(**values: str) -> None:
    """Set the step's outputs when run by GitHub Actions (`$GITHUB_OUTPUT`)."""
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.writelines(f"{key}={value}\n" for key, value in values.items())


def newer_release(start: str) -> bool | None:
    """Whether the template has a release newer than `start` (Copier's check-update); None,
    saying why, when that cannot be told (no answers file here, Copier failed)."""
    if not ANSWERS.is_file():
        print(
            f"Run this in the project's root folder, beside {ANSWERS}, where Copier records the "
            "template it was made from: there is no such file here.",
            file=sys.stderr,
        )
        return None
    check = run([*COPIER, "check-update", "--quiet", "--answers-file", str(ANSWERS)])
    if check.returncode not in (0, 2):
        print(check.stdout, check.stderr, sep="\n", file=sys.stderr)
        return None
    if check.returncode == 0:
        print(f"Up to date: template {start} is its newest release; nothing changed.")
        github_output(updated="false")
    return check.returncode == 2


def main(argv: list[str]) -> int:
    """Update, re-lock, check and report (see the module's docstring); the exit status."""
    parser = argparse.ArgumentParser(description="Update from the template, as the workflow does")
    parser.add_argument("--no-checks", action="store_true", help="skip the CI's checks")
    parser.add_argument("--report", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    start = recorded_version() if ANSWERS.is_file() else "unknown"
    if not (newer := newer_release(start)):
        return 0 if newer is False else 1
    before = pins()
    update = run([*COPIER, "update", "--trust", "--defaults", "--answers-file", str(ANSWERS)])
    if update.returncode:
        print(update.stdout, update.stderr, "The update stopped: nothing to commit.", sep="\n")
        return 1
    if not relocked():
        return 1
    notes = RELEASE_NOTES.search(update.stderr)
    conflicted = conflicts()
    checks = [] if args.no_checks else run_checks()
    after = recorded_version()
    text = report(
        start, after, notes[1] if notes else "", moved_pins(before, pins()), checks, conflicted
    )
    print(text)
    if args.report:
        args.report.write_text(text, encoding="utf-8")
    github_output(updated="true", version=after, draft="true" if conflicted else "false")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

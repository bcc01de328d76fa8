"""The template's releases: the record in releases.yml, checked against CHANGELOG.md, and the
git tags made from it.

Maintainers' tooling (`maintainers/`): never loaded by a render.

    python -m maintainers.releases check   # every CHANGELOG version recorded, and the reverse
    python -m maintainers.releases tag     # tag each recorded commit with its version

Tags do not survive in this repository's hosting; `.github/workflows/release.yml` runs `tag`
on every push to main and pushes the tags, so that Copier, which takes a template's versions
from its git tags, sees the releases: `copier copy URL` takes the newest, a project records
it as `_commit`, and `copier update` moves to the next. A commit after the newest release
(CHANGELOG's "Unreleased" section) is not tagged: Copier calls it `1.3.0.postN.dev0+gSHA`, and
only `--vcs-ref HEAD` takes it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "releases.yml"
CHANGELOG = ROOT / "CHANGELOG.md"
# A release's heading in CHANGELOG.md: `## 1.3.0 (2026-11-30)`; `## Unreleased` is not one.
HEADING = re.compile(r"^## (?!Unreleased\b)(\S+)", flags=re.M)


class ReleaseError(Exception):
    """The record, the CHANGELOG or the repository's tags disagree; the message says how to
    fix it."""


@dataclass(frozen=True)
class Release:
    version: Version
    commit: str  # the full SHA of the commit that released it

    @property
    def tag(self) -> str:
        """The tag's name: the version as PEP 440 normalises it (`1.3.0`)."""
        return str(self.version)


def recorded(record: Path = RECORD) -> list[Release]:
    """The releases of `record` (releases.yml), oldest first. Raises ReleaseError for a
    version that is not PEP 440 or a commit that is not a full SHA."""
    entries = (yaml.safe_load(record.read_text(encoding="utf-8")) or {}).get("releases") or {}
    releases = []
    for version, commit in entries.items():
        try:
            parsed = Version(str(version))
        except InvalidVersion:
            raise ReleaseError(f"{record.name}: {version!r} is not a PEP 440 version") from None
        if not re.fullmatch(r"[0-9a-f]{40}", str(commit)):
            raise ReleaseError(f"{record.name}: {version}: write the commit's full SHA")
        releases.append(Release(parsed, str(commit)))
    return sorted(releases, key=lambda release: release.version)


def changelog_versions(changelog: Path = CHANGELOG) -> list[Version]:
    """The versions CHANGELOG.md has a `## X.Y.Z (date)` heading for, oldest first (the
    `## Unreleased` section is not a release)."""
    text = changelog.read_text(encoding="utf-8")
    try:
        return sorted(Version(name) for name in HEADING.findall(text))
    except InvalidVersion as error:
        raise ReleaseError(
            f"{changelog.name}: a heading is not a PEP 440 version: {error}"
        ) from None


def check(record: Path = RECORD, changelog: Path = CHANGELOG) -> list[Release]:
    """The recorded releases, when they are exactly the CHANGELOG's versions; else ReleaseError
    naming what is missing where."""
    releases = recorded(record)
    in_record = {release.version for release in releases}
    in_changelog = set(changelog_versions(changelog))
    if in_changelog - in_record:
        missing = ", ".join(map(str, sorted(in_changelog - in_record)))
        raise ReleaseError(
            f"Record the commit that released {missing} in {record.name} (CHANGELOG.md has it)"
        )
    if in_record - in_changelog:
        missing = ", ".join(map(str, sorted(in_record - in_changelog)))
        raise ReleaseError(f"Add {missing} to CHANGELOG.md ({record.name} records it)")
    return releases


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)


def tag(repo: Path, releases: list[Release]) -> list[str]:
    """Tag each release's commit in `repo` with its version (an annotated tag "Release X");
    return the tags made. A tag already at its commit is kept. Raises ReleaseError, before
    making any tag, when a commit is not in the repository (a shallow clone) or a tag of that
    name points elsewhere (a release is never moved)."""
    missing = [
        r for r in releases if git(repo, "cat-file", "-e", f"{r.commit}^{{commit}}").returncode
    ]
    if missing:
        raise ReleaseError(
            "Fetch the whole history first (`git fetch --unshallow --tags`, or actions/checkout "
            "with fetch-depth: 0): commits not here: "
            + ", ".join(f"{r.tag} {r.commit[:12]}" for r in missing)
        )
    to_make = []
    for release in releases:
        found = git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{release.tag}^{{commit}}")
        if found.returncode:
            to_make.append(release)
        elif found.stdout.strip() != release.commit:
            raise ReleaseError(
                f"Tag {release.tag} points at {found.stdout.strip()[:12]}, the record at "
                f"{release.commit[:12]}: a release is never moved; fix {RECORD.name} or the tag"
            )
    for release in to_make:
        made = git(
            repo,
            "tag",
            "--annotate",
            "--message",
            f"Release {release.tag}",
            release.tag,
            release.commit,
        )
        if made.returncode:
            raise ReleaseError(f"git tag {release.tag} failed: {made.stderr.strip()}")
    return [release.tag for release in to_make]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m maintainers.releases",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["check", "tag"])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the git repository to tag")
    args = parser.parse_args(argv)
    if not (args.repo / RECORD.name).is_file():
        print(
            f"error: give --repo this template's checkout: {args.repo} has no {RECORD.name}",
            file=sys.stderr,
        )
        return 2
    try:
        releases = check(args.repo / RECORD.name, args.repo / CHANGELOG.name)
        if args.command == "tag":
            made = tag(args.repo, releases)
            print("tagged: " + (", ".join(made) if made else "nothing new"))
        else:
            print("releases: " + ", ".join(release.tag for release in releases))
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

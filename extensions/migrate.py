"""Copier migrations of this template, run by `copier update` (see `_migrations` in copier.yml).

migrate.py before-update ANSWERS_FILE DATA_JSON [--default KEY=JSON ...] [--rename OLD=NEW ...]
    Before anything is written: the recorded answers as this template version reads them
    (a renamed question's answer under its new name; a question added since the project was
    made answered with KEY's JSON value, so the update keeps the project's shape instead of
    taking the new default), plus the `-d` answers, are checked (`torch_backend=auto` as
    the backend this machine takes) against the new matrix; a project made before
    `copyright_year` existed keeps the year its LICENSE names. When
    one no longer fits (an explicit torch version, variant, Python), the update stops, naming
    the command that fits, and nothing is written; Copier would otherwise silently replace it
    by its default. Only when every check passed are the carried answers written.
migrate.py report-conflicts ANSWERS_FILE
    After the update: name the files where Copier left conflict markers or `.rej` files
    (`--conflict rej`; it exits 0 even then), and what to do with them.
migrate.py release-notes CHANGELOG VERSION_FROM VERSION_TO
    After the update: print the entries of the template's CHANGELOG (from the template
    checkout Copier made) of the releases after VERSION_FROM up to VERSION_TO.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path from Copier

from extensions.choices import (  # noqa: E402
    answer_errors,
    backend_choices,
    default_python,
    extra_backends_error,
    python_error,
    resolve_torch,
    torch_version_error,
)
from extensions.drivers import AUTO, detect_backend  # noqa: E402
from extensions.index_model import CONFLICT_MARKER as CONFLICT_LINE  # noqa: E402
from extensions.index_model import MODEL, RECOMMENDED, Model, family_of, ordered  # noqa: E402

Answers = dict[str, Any]


def way_out(answers: Mapping[str, Any], *, model: Model = MODEL) -> Answers | None:
    """The smallest change of the answers that makes them valid under this matrix, keeping
    what the project chose as far as it can: its torch with another variant of its backend's
    family, then its backend with another torch (newest first), then its libraries dropped,
    then the CPU build. Python moves along when the new torch lacks the project's. None when
    nothing fits."""
    for changes in _candidates(answers, model):
        changes = _with_fitting_python_and_extras(answers, changes, model)
        if not answer_errors({**answers, **changes}, model=model):
            return {k: v for k, v in changes.items() if answers.get(k) != v}
    return None


def _candidates(answers: Mapping[str, Any], model: Model) -> list[Answers]:
    """The changes `way_out` tries, in its order of preference."""
    torch = answers.get("torch_version", RECOMMENDED)
    family = family_of(answers.get("torch_backend", "cpu"))
    candidates: list[Answers] = []
    current = None
    if not torch_version_error(torch, model=model):
        in_family = [v for v in backend_choices(torch, model=model) if family_of(v) == family]
        variants = ordered(set(in_family) - {family}, reverse=True)
        candidates += [{}, *({"torch_backend": v} for v in [family, *variants])]
        current = resolve_torch(torch, model=model)
    others = [v for v in model.torch_versions if v != current]
    candidates += [{"torch_version": v} for v in others]
    candidates += [{"torch_version": v, "torch_backend": family} for v in others]
    candidates += [{"torch_libraries": []}, {"torch_backend": "cpu", "torch_libraries": []}]
    return candidates


def _with_fitting_python_and_extras(
    answers: Mapping[str, Any], changes: Answers, model: Model
) -> Answers:
    """`changes`, plus the default Python of its torch when the project's does not fit, and
    the extra backends that still fit."""
    changed = {**answers, **changes}
    version = changed.get("torch_version", RECOMMENDED)
    if torch_version_error(version, model=model):
        return changes
    if python_error(version, changed.get("python_version", ""), model=model):
        changes = {**changes, "python_version": default_python(version, model=model)}
    extras = changed.get("extra_backends") or []
    if extras:
        kept = fitting_extra_backends({**answers, **changes}, model=model)
        if kept != extras:
            changes = {**changes, "extra_backends": kept}
    return changes


def fitting_extra_backends(answers: Mapping[str, Any], *, model: Model = MODEL) -> list[str]:
    """The project's extra backends that still fit its (changed) answers, in order."""
    kept: list[str] = []
    for extra in answers.get("extra_backends") or []:
        if not extra_backends_error(
            answers.get("torch_version", RECOMMENDED),
            answers.get("torch_backend", "cpu"),
            [*kept, extra],
            answers.get("torch_libraries") or [],
            model=model,
        ):
            kept.append(extra)
    return kept


def update_command(changes: Mapping[str, Any]) -> str:
    """`copier update` with the changes as `-d` flags (a list as YAML, which Copier parses)."""
    flags = [
        f"-d {shlex.quote(f'{key}={json.dumps(value) if isinstance(value, list) else value}')}"
        for key, value in changes.items()
    ]
    return " ".join(["copier update --trust --defaults", *flags])


# Answers that are lists: a `-d KEY=[...]` reaches the migration as the text Copier parses later.
LIST_ANSWERS = ("torch_libraries", "extra_backends")


def carried_answers(
    answers: Mapping[str, Any], defaults: Mapping[str, Any], renames: Mapping[str, str]
) -> dict[str, Any]:
    """The recorded answers as this template version names them: each renamed question's
    answer under its new name (OLD -> NEW in `renames`), and each question the project has no
    answer for answered from `defaults`."""
    carried = dict(answers)
    for old, new in renames.items():
        if old in carried and new not in carried:
            carried[new] = carried.pop(old)
    return {**defaults, **carried}


def before_update(
    answers_file: Path,
    data: Mapping[str, Any],
    defaults: Mapping[str, Any],
    renames: Mapping[str, str],
) -> int:
    """Check, then write: the update stops (exit 1, nothing written) when the carried answers
    with the `-d` ones do not fit this template version; else the carried answers are written
    (only when they differ from the file's) and Copier goes on (exit 0)."""
    data = {
        key: yaml.safe_load(value) if key in LIST_ANSWERS and isinstance(value, str) else value
        for key, value in data.items()
    }
    recorded = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    defaults = {**license_year(answers_file.parent), **defaults}
    carried = carried_answers(recorded, defaults, renames)
    answers = {**carried, **data}
    torch_version = answers.get("torch_version", RECOMMENDED)
    if answers.get("torch_backend") == AUTO and not torch_version_error(torch_version):
        answers["torch_backend"] = detect_backend(torch_version).backend  # as the render will
    errors = answer_errors(answers)
    if errors:
        print_refusal(answers, errors, given=data)
        return 1
    if carried != recorded:
        _write_answers(answers_file, carried)
    return 0


def print_refusal(answers: Mapping[str, Any], errors: list[str], given: Mapping[str, Any]) -> None:
    """What to run instead (fix first: the `given` `-d` answers with the changes that make
    them fit), what no longer fits, and, when the command pins the project to one torch or
    variant, that it no longer follows the recommendation and how it returns to it."""
    changes = way_out(answers)
    if changes is None:
        print("Nothing was changed. Choose new answers: copier update --trust", file=sys.stderr)
    else:
        command = update_command({**given, **changes})
        print(f"Nothing was changed. Update with: {command}", file=sys.stderr)
    print("This project's answers do not fit the new template version:", file=sys.stderr)
    for error in errors:
        print(f"  - {error}", file=sys.stderr)
    for line in pinning_notes(answers, changes or {}):
        print(line, file=sys.stderr)


def pinning_notes(answers: Mapping[str, Any], changes: Mapping[str, Any]) -> list[str]:
    """For each answer the way out turns from one that follows the template's recommendation
    (`recommended`, a backend family) into a fixed one: that the project stops following it,
    and the command that returns to it once the recommendation fits again."""
    notes = []
    torch = answers.get("torch_version", RECOMMENDED)
    if torch == RECOMMENDED and changes.get("torch_version", RECOMMENDED) != RECOMMENDED:
        notes.append(
            f"That command pins torch {changes['torch_version']}: the project no longer follows "
            "the template's recommended torch. To follow it again when it fits: "
            + update_command({"torch_version": RECOMMENDED})
        )
    backend = answers.get("torch_backend", "cpu")
    new_backend = changes.get("torch_backend", backend)
    if family_of(backend) == backend and new_backend != family_of(new_backend):
        notes.append(
            f"That command pins the {new_backend} variant: the project no longer follows the "
            f"{backend} family's recommended variant. To follow it again when it fits: "
            + update_command({"torch_backend": family_of(new_backend)})
        )
    return notes


CONFLICT_MARKER = re.compile(CONFLICT_LINE.encode(), flags=re.M)


def conflicted_files(project: Path) -> list[str]:
    """The project's files (tracked, or new and not ignored) that hold conflict markers, and
    the `.rej` files `copier update --conflict rej` leaves (untracked, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=project,
        capture_output=True,
        check=False,
    )
    names = sorted(set(filter(None, listed.stdout.decode().split("\0"))))
    return [
        name
        for name in names
        if (project / name).is_file()
        and (name.endswith(".rej") or CONFLICT_MARKER.search((project / name).read_bytes()))
    ]


def report_conflicts(project: Path) -> int:
    """The `report-conflicts` migration: name the files with conflict markers; always 0."""
    conflicted = conflicted_files(project)
    if conflicted:
        print(
            "Resolve the conflicts, then commit: in each block between <<<<<<< and >>>>>>> keep "
            "your lines, the template's, or both; apply what each .rej file holds by hand, "
            "then delete it. Files:\n" + "".join(f"  {name}\n" for name in conflicted),
            file=sys.stderr,
        )
    return 0


# The heading of a release in the template's CHANGELOG.md: "## 1.3.0 (2026-11-30)".
RELEASE_HEADING = re.compile(r"^## (\S+)(?: .*)?$", flags=re.M)
NOTES_START = "Release notes of the template, {start} -> {end} (its CHANGELOG.md):"
NOTES_END = "End of the release notes."


def release_notes(changelog: str, start: str, end: str) -> str:
    """The sections of `changelog` (the template's CHANGELOG.md text) of the releases after
    version `start` up to `end` (PEP 440), newest first as written, each with its heading;
    "" when there are none (and for "Unreleased" and other headings that are no version)."""
    sections = []
    headings = list(RELEASE_HEADING.finditer(changelog))
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        try:
            version = Version(heading.group(1))
        except InvalidVersion:
            continue
        if Version(start) < version <= Version(end):
            stop = following.start() if following else len(changelog)
            sections.append(changelog[heading.start() : stop].strip())
    return "\n\n".join(sections)


def print_release_notes(changelog: Path, start: str, end: str) -> int:
    """The `release-notes` migration: print the notes between the two releases, framed by
    NOTES_START and NOTES_END (the project's template-update script reads them between
    these lines), or that there are none; always 0."""
    text = changelog.read_text(encoding="utf-8") if changelog.is_file() else ""
    notes = release_notes(text, start, end)
    if notes:
        print(NOTES_START.format(start=start, end=end), notes, NOTES_END, sep="\n", file=sys.stderr)
    else:
        print(
            f"The template's CHANGELOG.md has no entries after {start} up to {end}.",
            file=sys.stderr,
        )
    return 0


# The copyright line of each LICENSE the template writes: "Copyright (c) 2026 Jane",
# "Copyright 2026 Jane", "Copyright (c) 2026, Jane".
COPYRIGHT_YEAR = re.compile(r"^Copyright (?:\(c\) )?(\d{4})\b", flags=re.M)


def license_year(project: Path) -> dict[str, int]:
    """`{"copyright_year": YEAR}` from the project's LICENSE, for a project made before the
    question existed (its LICENSE keeps its year); {} when there is no LICENSE with a
    copyright line (the question's default, this year, applies)."""
    license_file = project / "LICENSE"
    if not license_file.is_file():
        return {}
    found = COPYRIGHT_YEAR.search(license_file.read_text(encoding="utf-8", errors="replace"))
    return {"copyright_year": int(found.group(1))} if found else {}


def _write_answers(answers_file: Path, answers: Mapping[str, Any]) -> None:
    text = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"
    answers_file.write_text(text + yaml.safe_dump(answers, sort_keys=True), encoding="utf-8")


def pairs(args: list[str], flag: str) -> dict[str, str]:
    """The KEY=VALUE arguments that follow each `flag` in `args`."""
    values = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == flag]
    return dict(value.split("=", 1) for value in values)


def main(argv: list[str]) -> int:
    """Run the migration named by `argv[0]` (see the module's docstring); its exit status."""
    command, answers_file, *args = argv
    if command == "before-update":
        data, *options = args
        defaults = {key: json.loads(value) for key, value in pairs(options, "--default").items()}
        return before_update(
            Path(answers_file), json.loads(data), defaults, pairs(options, "--rename")
        )
    if command == "report-conflicts":
        return report_conflicts(Path(answers_file).resolve().parent)
    if command == "release-notes":  # the CHANGELOG's path, then the two versions
        return print_release_notes(Path(answers_file), *args)
    print(f"unknown migration {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Copier migrations of this template, run by `copier update` (see `_migrations` in copier.yml).

migrate.py check-answers ANSWERS_FILE DATA_JSON
    Before anything is written: stop the update, naming the choices and the command to
    move, when a recorded answer (an explicit torch version, variant, Python) is no
    longer in the new template's matrix. Copier would otherwise silently replace it by
    its default.
migrate.py rename-answer ANSWERS_FILE OLD NEW
    Carry a renamed question's recorded answer over to its new name.
migrate.py default-answer ANSWERS_FILE KEY JSON
    Record a new question's answer for a project made before the question existed, so that
    the update keeps the project's shape instead of taking the new question's default.
migrate.py license-year ANSWERS_FILE
    Record the year the project's LICENSE names as `copyright_year`, for a project made
    before the question existed, so that an update in a later year keeps its LICENSE.
migrate.py report-conflicts ANSWERS_FILE
    After the update: name the files where Copier left conflict markers (it exits 0 even
    then), and what to do with them.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path from Copier

from extensions.torch_matrix import (  # noqa: E402
    RECOMMENDED,
    answer_errors,
    backend_choices,
    default_python,
    extra_backends_error,
    family_of,
    python_error,
    resolve_torch,
    torch_version_error,
    torch_versions,
    variant_key,
)


def way_out(answers: dict, matrix: dict | None = None) -> dict | None:
    """The smallest change of the answers that makes them valid under this matrix, keeping
    what the project chose as far as it can: its torch with another variant of its backend's
    family, then its backend with another torch (newest first), then its libraries dropped,
    then the CPU build. Python moves along when the new torch lacks the project's. None when
    nothing fits."""
    torch = answers.get("torch_version", RECOMMENDED)
    family = family_of(answers.get("torch_backend", "cpu"))
    candidates: list[dict] = []
    if not torch_version_error(torch, matrix):
        in_family = [v for v in backend_choices(torch, matrix) if family_of(v) == family]
        variants = sorted(set(in_family) - {family}, key=variant_key, reverse=True)
        candidates += [{}, *({"torch_backend": v} for v in [family, *variants])]
        current = resolve_torch(torch, matrix)
    else:
        current = None
    others = [v for v in torch_versions(matrix) if v != current]
    candidates += [{"torch_version": v} for v in others]
    candidates += [{"torch_version": v, "torch_backend": family} for v in others]
    candidates += [{"torch_libraries": []}, {"torch_backend": "cpu", "torch_libraries": []}]
    for changes in candidates:
        changed = {**answers, **changes}
        version = changed.get("torch_version", RECOMMENDED)
        if not torch_version_error(version, matrix) and python_error(
            version, changed.get("python_version", ""), matrix
        ):
            changes = {**changes, "python_version": default_python(version, matrix)}
        extras = changed.get("extra_backends") or []
        if extras and not torch_version_error(version, matrix):
            kept = fitting_extra_backends({**answers, **changes}, matrix)
            if kept != extras:
                changes = {**changes, "extra_backends": kept}
        if not answer_errors({**answers, **changes}, matrix):
            return {k: v for k, v in changes.items() if answers.get(k) != v}
    return None


def fitting_extra_backends(answers: dict, matrix: dict | None = None) -> list[str]:
    """The project's extra backends that still fit its (changed) answers, in order."""
    kept: list[str] = []
    for extra in answers.get("extra_backends") or []:
        if not extra_backends_error(
            answers.get("torch_version", RECOMMENDED),
            answers.get("torch_backend", "cpu"),
            [*kept, extra],
            answers.get("torch_libraries") or [],
            matrix,
        ):
            kept.append(extra)
    return kept


def update_command(changes: dict) -> str:
    """`copier update` with the changes as `-d` flags (a list as YAML, which Copier parses)."""
    flags = [
        f"-d {shlex.quote(f'{key}={json.dumps(value) if isinstance(value, list) else value}')}"
        for key, value in changes.items()
    ]
    return " ".join(["copier update --trust --defaults", *flags])


# Answers that are lists: a `-d KEY=[...]` reaches the migration as the text Copier parses later.
LIST_ANSWERS = ("torch_libraries", "extra_backends")


def check_answers(answers_file: Path, data: dict) -> int:
    data = {
        key: yaml.safe_load(value) if key in LIST_ANSWERS and isinstance(value, str) else value
        for key, value in data.items()
    }
    answers = {**yaml.safe_load(answers_file.read_text(encoding="utf-8")), **data}
    errors = answer_errors(answers)
    if not errors:
        return 0
    changes = way_out(answers)
    if changes is None:
        print("Nothing was changed. Choose new answers: copier update --trust", file=sys.stderr)
    else:
        print(f"Nothing was changed. Update with: {update_command(changes)}", file=sys.stderr)
    print("This project's answers do not fit the new template version:", file=sys.stderr)
    for error in errors:
        print(f"  - {error}", file=sys.stderr)
    return 1


# A line git's merge starts or ends a conflict with (`<<<<<<< before updating`).
CONFLICT_MARKER = re.compile(rb"^(<{7}|>{7})( |$)", flags=re.M)


def conflicted_files(project: Path) -> list[str]:
    """The project's files (tracked, or new and not ignored) that hold conflict markers."""
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
        if (project / name).is_file() and CONFLICT_MARKER.search((project / name).read_bytes())
    ]


def report_conflicts(project: Path) -> int:
    conflicted = conflicted_files(project)
    if conflicted:
        print(
            "Resolve the conflicts, then commit: in each block between <<<<<<< and >>>>>>> keep "
            "your lines, the template's, or both. Files:\n"
            + "".join(f"  {name}\n" for name in conflicted),
            file=sys.stderr,
        )
    return 0


def rename_answer(answers_file: Path, old: str, new: str) -> int:
    answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    if old in answers and new not in answers:
        answers[new] = answers.pop(old)
        _write_answers(answers_file, answers)
    return 0


def default_answer(answers_file: Path, key: str, value: str) -> int:
    answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    if key not in answers:
        answers[key] = json.loads(value)
        _write_answers(answers_file, answers)
    return 0


# The copyright line of each LICENSE the template writes: "Copyright (c) 2026 Jane",
# "Copyright 2026 Jane", "Copyright (c) 2026, Jane".
COPYRIGHT_YEAR = re.compile(r"^Copyright (?:\(c\) )?(\d{4})\b", flags=re.M)


def license_year(answers_file: Path) -> int:
    """Record `copyright_year` from the project's LICENSE when the answers lack it; nothing
    when they have it, or when there is no LICENSE with a copyright line (the question's
    default, this year, applies). Returns 0."""
    answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    license_file = answers_file.parent / "LICENSE"
    if "copyright_year" in answers or not license_file.is_file():
        return 0
    found = COPYRIGHT_YEAR.search(license_file.read_text(encoding="utf-8", errors="replace"))
    if found:
        answers["copyright_year"] = int(found.group(1))
        _write_answers(answers_file, answers)
    return 0


def _write_answers(answers_file: Path, answers: dict) -> None:
    text = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"
    answers_file.write_text(text + yaml.safe_dump(answers, sort_keys=True), encoding="utf-8")


def main(argv: list[str]) -> int:
    command, answers_file, *args = argv
    if command == "check-answers":
        return check_answers(Path(answers_file), json.loads(args[0]) if args else {})
    if command == "rename-answer":
        return rename_answer(Path(answers_file), *args)
    if command == "default-answer":
        return default_answer(Path(answers_file), *args)
    if command == "license-year":
        return license_year(Path(answers_file))
    if command == "report-conflicts":
        return report_conflicts(Path(answers_file).resolve().parent)
    print(f"unknown migration {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

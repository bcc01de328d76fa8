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
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path from Copier

from extensions.torch_matrix import answer_errors  # noqa: E402


def check_answers(answers_file: Path, data: dict) -> int:
    answers = {**yaml.safe_load(answers_file.read_text(encoding="utf-8")), **data}
    errors = answer_errors(answers)
    if not errors:
        return 0
    print("This project's answers do not fit the new template version:", file=sys.stderr)
    for error in errors:
        print(f"  - {error}", file=sys.stderr)
    fixes = re.findall(r"`(-d [^`]+)`", " ".join(errors)) or ["-d torch_version=recommended"]
    print(
        f"Nothing was changed. Update with a new choice: "
        f"copier update --trust --defaults {' '.join(fixes)}",
        file=sys.stderr,
    )
    return 1


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
    print(f"unknown migration {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

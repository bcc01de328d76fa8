"""Templates read like the files they produce: Jinja statements (`{%`) stay rare, measured
per 100 lines of template/ (the logic lives in the model's named, tested functions)."""

from pathlib import Path

from tests.tools import TEMPLATE

TEMPLATES = TEMPLATE / "template"
OVERALL_BUDGET = 10  # `{%` per 100 lines, over every file of template/
FILE_BUDGET = 20  # ... and in any one file


def statements(path: Path) -> int:
    return path.read_text().count("{%")


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def density(paths: list[Path]) -> float:
    """`{%` per 100 lines over `paths` together."""
    return 100 * sum(map(statements, paths)) / max(sum(map(lines, paths)), 1)


def template_files() -> list[Path]:
    return sorted(path for path in TEMPLATES.rglob("*") if path.is_file())


def name(path: Path) -> str:
    return path.relative_to(TEMPLATES).as_posix()


def test_no_template_file_is_denser_than_the_budget():
    dense = {
        name(path): round(density([path]), 1)
        for path in template_files()
        if density([path]) > FILE_BUDGET
    }
    assert not dense, f"over {FILE_BUDGET} `{{%` per 100 lines: {dense}"


def test_the_templates_together_stay_under_the_budget():
    assert density(template_files()) <= OVERALL_BUDGET

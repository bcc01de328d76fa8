"""Templates read like the files they produce: Jinja statements (`{%`) stay rare, measured
per 100 lines of template/ (the logic lives in the model's named, tested functions)."""

from pathlib import Path

from tests.tools import TEMPLATE

TEMPLATES = TEMPLATE / "template"
OVERALL_BUDGET = 10  # `{%` per 100 lines, over every file of template/
FILE_BUDGET = 20  # ... and in any one file
# Over the file budget today (README.md.jinja 26.8, pyproject.toml.jinja 30.6 on 2026-12-06):
# their shaping moves into the model (issue 15). Left out of both checks until then; a file
# that comes under budget must leave this list.
AWAITING = {"README.md.jinja", "pyproject.toml.jinja"}


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
        if name(path) not in AWAITING and density([path]) > FILE_BUDGET
    }
    assert not dense, f"over {FILE_BUDGET} `{{%` per 100 lines: {dense}"


def test_the_files_awaiting_their_reduction_are_still_over_the_budget():
    """A file that meets the budget joins the checks: remove it from AWAITING."""
    present = {name(path): density([path]) for path in template_files()}
    assert {name for name in AWAITING if present.get(name, 0) > FILE_BUDGET} == AWAITING


def test_the_templates_together_stay_under_the_budget():
    checked = [path for path in template_files() if name(path) not in AWAITING]
    assert density(checked) <= OVERALL_BUDGET

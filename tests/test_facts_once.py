"""Every fact is defined once, in the model (`extensions/`): tests and benchmarks import the
package managers and the families from it instead of listing them again."""

import ast
from pathlib import Path

import yaml

from extensions.index_model import FAMILIES, MANAGERS

ROOT = Path(__file__).resolve().parent.parent
LISTED_FACTS = {"managers": set(MANAGERS), "families": set(FAMILIES)}


def literal_lists_of_facts(path: Path, root: Path = ROOT) -> list[str]:
    """`file:line: managers` for each list, tuple or set literal of strings in `path` that
    names every manager, or every family, in any order."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.List | ast.Tuple | ast.Set):
            continue
        values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if len(values) != len(node.elts) or not all(isinstance(v, str) for v in values):
            continue
        for fact, names in LISTED_FACTS.items():
            if set(values) == names:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {fact}")
    return found


def test_tests_and_benchmarks_import_managers_and_families_from_the_model():
    files = sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
    found = [hit for path in files for hit in literal_lists_of_facts(path)]
    assert not found, "import MANAGERS / FAMILIES from extensions.index_model:\n" + "\n".join(found)


def test_the_check_finds_a_literal_list_in_any_order(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        'MANAGERS = ["pip", "uv", "poetry"]\nFAMILIES = ("xpu", "cpu", "rocm", "cuda")\n'
    )
    assert literal_lists_of_facts(sample, tmp_path) == [
        "sample.py:1: managers",
        "sample.py:2: families",
    ]
    sample.write_text('SOME = ["uv", "pip"]\n')  # a chosen few, not the list
    assert literal_lists_of_facts(sample, tmp_path) == []


def test_the_package_manager_question_offers_the_models_managers():
    questions = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    assert tuple(questions["package_manager"]["choices"].values()) == MANAGERS


def test_no_function_of_the_model_is_over_30_lines():
    """What Copier loads stays readable in small named functions (docstrings included)."""
    long = [
        f"{path.name}: {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in sorted((ROOT / "extensions").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 30
    ]
    assert not long, "split: " + ", ".join(long)

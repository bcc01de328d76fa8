"""Every fact is defined once, in the model (`extensions/`): tests and benchmarks import the
package managers and the families from it instead of listing them again, read today's
recommended torch from it instead of writing it, every variant name is read by `Variant`, and
the conflict-marker pattern is written in one place."""

import ast
import re
import shutil
from pathlib import Path

import yaml
from packaging.version import Version

from extensions.choices import resolve_backend
from extensions.index_model import (
    CONFLICT_MARKER,
    FACTS_PATH,
    FAMILIES,
    MANAGERS,
    MATRIX_PATH,
    MODEL,
    VARIANT_PREFIXES,
    load_facts,
    load_model,
)
from maintainers.refresh import with_matrix
from tests import made_up_release

ROOT = Path(__file__).resolve().parent.parent
LISTED_FACTS = {"managers": set(MANAGERS), "families": set(FAMILIES)}
MODEL_FILE = ROOT / "extensions" / "index_model.py"
# The Python of the template's own code, tests and benchmarks (the model's file aside).
OWN_CODE = ("extensions", "maintainers", "tests", "benchmarks")
# What only `Variant` may take a variant name apart with: a family's name, a variant's prefix.
VARIANT_PARTS = set(FAMILIES) | set(VARIANT_PREFIXES.values())
STRING_SURGERY = {"startswith", "endswith", "removeprefix", "removesuffix", "lstrip", "rstrip"}


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


# Recorded PyPI evidence and the tests that check it: they name the releases PyPI had when it
# was recorded, today's recommended one among them.
EVIDENCE = ("tests/data/pypi_facts.yml", "tests/test_pypi.py", "tests/test_pypi_live.py")


def version_literals(path: Path, torch: str, root: Path = ROOT) -> list[str]:
    """`file:line: text` for each line of `path` that writes the torch version `torch`
    (`2.9.1` in a string or a comment, not `2.9.1rc1` nor `12.9.1`), or its major and minor
    in a name (`test_torch_2_9`)."""
    version = Version(torch)
    written = re.compile(
        rf"(?<![\w.]){re.escape(torch)}(?![\w.])|(?<![\d.]){version.major}_{version.minor}(?!\d)"
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for number, line in enumerate(lines, 1)
        if written.search(line)
    ]


def test_tests_read_the_recommended_torch_from_the_model():
    """A new recommendation (a torch release and its variant, written into the two data files
    and regenerated) changes no test but those against recorded PyPI evidence: a test reads
    `tests.facts.RECOMMENDED_TORCH` or picks a release by property (`newest_release`)."""
    files = [
        path
        for path in sorted((ROOT / "tests").rglob("*"))
        if path.is_file() and path.suffix in (".py", ".yml", ".yaml", ".toml", ".json", ".txt")
        if str(path.relative_to(ROOT)) not in EVIDENCE
    ]
    assert Path(__file__) in files and len(files) > 20
    torch = MODEL.recommended.torch
    found = [hit for path in files for hit in version_literals(path, torch)]
    assert not found, (
        f"today's recommended torch {torch} written in tests (read it from tests.facts, or pick a "
        "release by property there):\n" + "\n".join(found)
    )


def test_the_version_check_finds_a_planted_recommended_torch(tmp_path):
    torch = MODEL.recommended.torch
    version = Version(torch)
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        f'assert build.torch == "{torch}"\n'
        f"# torch {torch} has no ROCm build\n"
        f"def test_torch_{version.major}_{version.minor}_is_newest(): ...\n"
        f'pin = "torch=={torch}+cpu"\n'
        f'other = ["{torch}rc1", "1{torch}", "{torch}.1", "{version.major}_{version.minor}1"]\n'
    )
    assert [hit.split(": ")[0] for hit in version_literals(sample, torch, tmp_path)] == [
        "test_sample.py:1",
        "test_sample.py:2",
        "test_sample.py:3",
        "test_sample.py:4",
    ]


def own_python_files(root: Path = ROOT) -> list[Path]:
    return [
        path
        for folder in OWN_CODE
        for path in sorted((root / folder).rglob("*.py"))
        if path != MODEL_FILE
    ]


def hand_made_variant_parsing(path: Path, root: Path = ROOT) -> list[str]:
    """`file:line: code` for each string method call in `path` that takes a variant name apart
    by a family's name or a variant's prefix (`v.startswith("cu")`, `name.removeprefix("rocm")`),
    and each f-string that builds a variant name from a prefix (`f"cu{major}{minor}"`)."""
    found: list[ast.expr] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr not in STRING_SURGERY:
                continue
            words = {c.value for a in node.args for c in ast.walk(a) if isinstance(c, ast.Constant)}
            if words & VARIANT_PARTS:
                found.append(node)
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and first.value in VARIANT_PREFIXES.values():
                found.append(node)
    return [
        f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}"
        for node in sorted(found, key=lambda node: node.lineno)
    ]


def test_every_variant_name_is_read_by_the_variant_type():
    found = [hit for path in own_python_files() for hit in hand_made_variant_parsing(path)]
    assert not found, "use Variant.parse(name).family / VARIANT_PREFIXES:\n" + "\n".join(found)


def test_the_variant_check_finds_a_name_taken_apart_by_hand(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        'a = [v for v in names if v.startswith("cu")]\n'
        'b = name.startswith(("rocm", "xpu"))\n'
        'c = f"cu{major}{minor}"\n'
        'd = n.startswith(("nvidia-", "cuda-"))\n'  # distributions, not variants
    )
    assert [hit.split(": ")[0] for hit in hand_made_variant_parsing(sample, tmp_path)] == [
        "sample.py:1",
        "sample.py:2",
        "sample.py:3",
    ]


def test_the_conflict_marker_pattern_is_written_once():
    """In the model (`CONFLICT_MARKER`); code imports it, templates render `conflict_marker`."""
    texts = own_python_files() + [p for p in (ROOT / "template").rglob("*") if p.is_file()]
    found = [
        str(path.relative_to(ROOT))
        for path in texts
        if CONFLICT_MARKER in path.read_text(encoding="utf-8")
    ]
    assert not found, "use CONFLICT_MARKER (templates: {{ conflict_marker }}): " + ", ".join(found)


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


def test_a_made_up_recommendation_is_written_as_a_maintainer_would(tmp_path):
    """`python -m tests.made_up_release` (CONTRIBUTING's check that tests read today's facts
    from the model) writes a release that loads, is the newest, and is recommended with its
    new CUDA variant, in the files' canonical layout."""
    for source in (MATRIX_PATH, FACTS_PATH):
        shutil.copy(source, tmp_path / source.name)
    torch, cuda = made_up_release.write(tmp_path / MATRIX_PATH.name, tmp_path / FACTS_PATH.name)
    assert torch not in MODEL.releases
    assert all(cuda not in release.variants for release in MODEL.releases.values())
    text = (tmp_path / MATRIX_PATH.name).read_text(encoding="utf-8")
    matrix = yaml.safe_load(text)
    assert with_matrix(text, matrix) == text
    model = load_model(matrix, load_facts(tmp_path / FACTS_PATH.name))
    assert model.torch_versions[0] == model.recommended.torch == torch
    assert model.recommended.variants["cuda"] == cuda
    assert resolve_backend(torch, "cuda", model=model) == cuda
    release = model.releases[torch]
    assert release.platforms_of(cuda) == release.platforms_of(release.in_family("cuda")[-2])

"""Two programs with one direction: the render-time model (`extensions/`, what Copier loads)
and the maintainers' tooling (`maintainers/`: the refresh tool, the PyPI and index readers).
The tooling may import the model, never the reverse: a project is made and updated from a
template that has no `maintainers/` folder at all."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

from tests.test_update import TemplateRepo, git
from tests.tools import BIN, TEMPLATE, tool_env

TOOLING = "maintainers"


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports, anywhere in it (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_no_render_time_module_imports_the_tooling_or_the_tests():
    offending = {
        path.name: sorted(imported_packages(path) & {TOOLING, "tests"})
        for path in (TEMPLATE / "extensions").glob("*.py")
        if imported_packages(path) & {TOOLING, "tests"}
    }
    assert not offending


def copier(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The copier command line, as a user runs it (no PYTHONPATH: nothing of this checkout
    is importable but what the template's own folder holds)."""
    return subprocess.run(
        [BIN / "copier", *args], cwd=cwd, env=tool_env(), capture_output=True, text=True
    )


def test_a_project_is_made_and_updated_from_a_template_without_the_tooling(tmp_path):
    template = TemplateRepo(tmp_path / "template")
    shutil.rmtree(template.path / TOOLING)
    template.release("1.0.0", recommend={"torch": "2.13.0"})
    made = copier(
        "copy", "--trust", "--defaults", "--vcs-ref", "1.0.0", "-d", "project_name=demo",
        str(template.path), "demo", cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = tmp_path / "demo"
    assert '"torch==2.13.0"' in (project / "pyproject.toml").read_text()

    template.release("1.1.0", recommend={"torch": "2.14.1"})
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "Project from the template")
    updated = copier("update", "--trust", "--defaults", cwd=project)
    assert updated.returncode == 0, updated.stderr
    assert '"torch==2.14.1"' in (project / "pyproject.toml").read_text()
    assert not (template.path / TOOLING).exists()


def imported_siblings(path: Path) -> set[str]:
    """The `extensions` modules a module of `extensions/` imports (`from extensions import
    configs`, `from extensions.choices import ...`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "extensions":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            package, _, module = node.module.partition(".")
            if package == "extensions" and module:
                found.add(module)
    return found - {path.stem}


def test_the_render_time_modules_import_one_another_one_way():
    """No import cycle among `extensions/`, and none imports the hooks Copier loads by path
    (`copier_hooks.py`, which makes the others importable from its own template copy)."""
    graph = {path.stem: imported_siblings(path) for path in (TEMPLATE / "extensions").glob("*.py")}
    assert not [name for name, imports in graph.items() if "copier_hooks" in imports]
    done: set[str] = set()
    while len(done) < len(graph):
        ready = {name for name, imports in graph.items() if name not in done and imports <= done}
        assert ready, f"an import cycle among {sorted(set(graph) - done)}"
        done |= ready


def test_no_render_time_module_is_over_500_lines():
    """A module Copier loads stays readable whole: one concern, under 500 lines; a longer one
    is split by concern (as `torch_matrix.py` was into choices, commands, launch, drivers,
    build and the Copier hooks)."""
    modules = sorted((TEMPLATE / "extensions").glob("*.py"))
    assert len(modules) > 5
    lengths = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in modules}
    assert {name: n for name, n in lengths.items() if n > 500} == {}

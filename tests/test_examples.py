"""`examples/` is what the template generates now: the command that regenerates it, run into
another folder, writes the same files byte for byte, so a review sees every change's effect on
generated projects."""

import ast
import shlex
import subprocess

from tests.examples import ANSWERS, COMMAND, EXAMPLES, committable_files_of, files_of
from tests.tools import TEMPLATE, tool_env


def test_every_example_equals_a_fresh_render(tmp_path):
    folder = tmp_path / "examples"
    command = [*shlex.split(COMMAND), str(folder)]
    result = subprocess.run(command, cwd=TEMPLATE, env=tool_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    differing = {}
    for name in ANSWERS:
        rendered = files_of(folder / name)
        recorded = committable_files_of(EXAMPLES / name)
        paths = rendered.keys() | recorded.keys()
        differing[name] = sorted(p for p in paths if rendered.get(p) != recorded.get(p))
    stale = {f"examples/{name}": paths for name, paths in differing.items() if paths}
    assert not stale, (
        f"examples/ is not what the template renders now ({stale}): run `{COMMAND}` and "
        "commit the result"
    )


def long_functions(source: str) -> list[str]:
    """The functions of Python `source` over 40 lines, with their length."""
    return [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 40
    ]


def test_no_generated_function_is_over_40_lines():
    long = {
        str(path.relative_to(EXAMPLES)): found
        for path in sorted(EXAMPLES.glob("*/**/*.py"))
        if (found := long_functions(path.read_text()))
    }
    assert long == {}


def test_the_generated_readme_gives_every_training_option():
    for name in ANSWERS:
        example = EXAMPLES / name
        tree = ast.parse((example / "src/demo/config.py").read_text())
        [config] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Config"]
        fields = [n.target.id for n in config.body if isinstance(n, ast.AnnAssign)]
        assert len(fields) > 10 and isinstance(config.body[1], ast.AnnAssign)
        readme = (example / "README.md").read_text()
        flags = ["--config", *(f"`--{field.replace('_', '-')}" for field in fields)]
        assert [flag for flag in flags if flag not in readme] == [], name

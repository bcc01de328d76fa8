"""`examples/` is what the template generates now: the command that regenerates it, run into
another folder, writes the same files byte for byte, so a review sees every change's effect on
generated projects."""

import shlex
import subprocess

import pytest

from tests.examples import ANSWERS, COMMAND, EXAMPLES, committable_files_of, files_of
from tests.tools import TEMPLATE, tool_env

pytestmark = pytest.mark.xdist_group("examples")  # one worker renders them, once


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """The examples as `uv run python -m tests.examples FOLDER` renders them now."""
    folder = tmp_path_factory.mktemp("examples") / "examples"
    command = [*shlex.split(COMMAND), str(folder)]
    result = subprocess.run(command, cwd=TEMPLATE, env=tool_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


@pytest.mark.parametrize("name", list(ANSWERS))
def test_the_example_equals_a_fresh_render(fresh, name):
    rendered = files_of(fresh / name)
    recorded = committable_files_of(EXAMPLES / name)
    differing = sorted(
        path
        for path in rendered.keys() | recorded.keys()
        if rendered.get(path) != recorded.get(path)
    )
    assert not differing, (
        f"examples/{name} is not what the template renders now ({', '.join(differing)}): "
        f"run `{COMMAND}` and commit the result"
    )

"""`examples/` is what the template generates now: the command that regenerates it, run into
another folder, writes the same files byte for byte, so a review sees every change's effect on
generated projects."""

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

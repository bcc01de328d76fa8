"""Where a project's updates come from: Copier records the template's source as it was given,
and `copier update` looks for it there from inside the project. A copy from a relative path
(`.`, `../copier-pytorch`) would point elsewhere from there, so it is refused before anything
is written, with the absolute command first."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import run_copy
from copier.errors import UserMessageError

from extensions.copier_hooks import relative_source_error
from tests.tools import BIN, TEMPLATE, template_copy, tool_env

OPTIONS = ["--trust", "--defaults", "--vcs-ref", "HEAD"]


def copier_copy(source: str, destination: Path, cwd: Path) -> subprocess.CompletedProcess:
    """`copier copy --trust --defaults --vcs-ref HEAD SOURCE DESTINATION`, run in `cwd`."""
    return subprocess.run(
        [BIN / "copier", "copy", *OPTIONS, source, str(destination)],
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
    )


def test_a_render_from_a_relative_path_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    """The same refusal through Copier's API, from a plain copy of the template (no git)."""
    template = template_copy()
    monkeypatch.chdir(template.parent)
    destination = tmp_path / "my-project"
    # Copier loads the hooks by path, as its own module: the error is its UserMessageError.
    with pytest.raises(UserMessageError, match=re.escape(f"copier copy --trust {template} ")):
        run_copy(template.name, destination, defaults=True, unsafe=True, quiet=True)
    assert not destination.exists()


@pytest.mark.tools  # the command line, with the working tree's changes: seconds each
@pytest.mark.parametrize("where", ["in the template", "elsewhere"])
def test_a_copy_from_a_relative_path_is_refused_with_the_absolute_command(tmp_path, where):
    cwd = TEMPLATE if where == "in the template" else tmp_path
    source = os.path.relpath(TEMPLATE, cwd)  # `.`, or `../..` up to the root and down again
    destination = tmp_path / "my-project"
    refused = copier_copy(source, destination, cwd)
    assert refused.returncode == 1
    message = refused.stderr.strip().splitlines()[-1]
    command = f"copier copy --trust {shlex.quote(str(TEMPLATE))} {shlex.quote(str(destination))}"
    assert message.startswith(f"Copy from the template's absolute path: `{command}`")
    assert "Traceback" not in refused.stderr
    assert not destination.exists()


@pytest.mark.tools  # a render through the command line: seconds
def test_the_command_the_refusal_names_records_the_absolute_source(tmp_path):
    destination = tmp_path / "my-project"
    message = copier_copy(".", destination, TEMPLATE).stderr.strip().splitlines()[-1]
    command = shlex.split(message.split("`")[1])
    assert command[:3] == ["copier", "copy", "--trust"]
    # As the refusal says: with your other options (here: every default, the working tree).
    made = subprocess.run(
        [BIN / "copier", *command[1:], *OPTIONS[1:]],
        cwd=TEMPLATE,
        env=tool_env(),
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(TEMPLATE)


@pytest.mark.parametrize(
    "source",
    [
        "https://github.com/your-org/copier-pytorch.git",
        "git+ssh://git@example.com/org/copier-pytorch.git",
        "git@github.com:your-org/copier-pytorch.git",
        "gh:your-org/copier-pytorch",
        "/srv/templates/copier-pytorch",
        "~/copier-pytorch",
        "C:\\templates\\copier-pytorch",
    ],
)
def test_a_url_or_an_absolute_path_is_taken(source):
    assert relative_source_error(source, "../my-project") == ""


def test_the_fix_resolves_the_path_from_where_copier_runs(tmp_path):
    error = relative_source_error("templates/../copier-pytorch", "out", cwd=tmp_path)
    assert f"`copier copy --trust {tmp_path / 'copier-pytorch'} out`" in error

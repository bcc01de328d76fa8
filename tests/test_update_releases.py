"""Update from every recorded release, as simple-modern-uv and DLS test theirs: a project made
by each release (rendered from this repository's own history, tagged by the release workflow's
step) updates with `copier update --trust --defaults` to the working tree (committed, tagged as
the next release), exits 0 with no `.rej` and no conflict markers, and equals a fresh render
of it with the same answers (apart from the answers file's `_commit`). A refused update leaves
the project untouched and the command it prints works as printed; a team's edits are kept.

Real Copier runs: marked `update` (run by `pytest -m ""`, as CI does)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import run_copy

from extensions.index_model import CONFLICT_MARKER
from maintainers import releases
from tests.template_history import git, release_candidate
from tests.tools import BIN

pytestmark = pytest.mark.update
RELEASES = [release.tag for release in releases.recorded()]
OLDEST, NEWEST = RELEASES[0], RELEASES[-1]

# The projects a team makes, by manager and family. A project pins torch only where the
# release's recommendation has no build of its family (ROCm: none in 2.14.1 before 1.3.0,
# none in the recommended torch since); an XPU project follows the recommendation where its
# release can.
PROJECTS: dict[str, dict[str, object]] = {
    "uv-cpu": {"package_manager": "uv", "torch_backend": "cpu"},
    "poetry-cuda": {
        "package_manager": "poetry",
        "torch_backend": "cuda",
        "extra_backends": ["cpu"],
    },
    "pip-rocm": {"package_manager": "pip", "torch_backend": "rocm", "torch_version": "2.13.0"},
    "uv-xpu": {"package_manager": "uv", "torch_backend": "xpu"},
}
COMMON: dict[str, object] = {
    "project_name": "Demo",
    "author_name": "Team",
    "author_email": "team@example.com",
}


@pytest.fixture(scope="session")
def candidate(tmp_path_factory) -> tuple[Path, str]:
    """The template's history with the release tags, and the working tree as the next release."""
    return release_candidate(tmp_path_factory.mktemp("history") / "template")


@pytest.fixture(scope="session")
def fresh_renders(tmp_path_factory, candidate):
    """A fresh render of the candidate per set of answers, made once per session."""
    renders: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("fresh")

    def render(answers: dict) -> Path:
        key = yaml.safe_dump(answers, sort_keys=True)
        if key not in renders:
            clone, tag = candidate
            dst = root / f"fresh-{len(renders)}"
            run_copy(
                str(clone), dst, data=answers, defaults=True, unsafe=True, vcs_ref=tag, quiet=True
            )
            renders[key] = dst
        return renders[key]

    return render


def has_question(clone: Path, release: str, name: str) -> bool:
    return f"\n{name}:\n" in git(clone, "show", f"{release}:copier.yml")


def answers_for(clone: Path, release: str, project: str) -> dict:
    """The project's answers as the release asks them (a release before `extra_backends`
    cannot be given it: its CUDA project is a plain one)."""
    answers = {**COMMON, **PROJECTS[project]}
    if not has_question(clone, release, "extra_backends"):
        answers.pop("extra_backends", None)
    return answers


def make_project(path: Path, clone: Path, release: str, answers: dict) -> Path:
    """`copier copy --trust --defaults --vcs-ref RELEASE`, committed as a team keeps it."""
    try:
        run_copy(
            str(clone), path, data=answers, defaults=True, unsafe=True, vcs_ref=release, quiet=True
        )
    except ValueError as refused:  # the release itself refuses: pin the torch it names
        named = re.search(r"torch_version=(\S+?)`", str(refused))
        assert named, refused
        version = named.group(1)
        answers["torch_version"] = version
        run_copy(
            str(clone), path, data=answers, defaults=True, unsafe=True, vcs_ref=release, quiet=True
        )
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", f"Project from template {release}")
    return path


def copier_update(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "copier", "update", "--trust", *args], cwd=project, capture_output=True, text=True
    )


def named_command(message: str) -> list[str]:
    """The `copier update ...` a refusal prints, as argv with this environment's copier."""
    [command] = re.findall(r"Update with: (copier update .*)", message)
    return [str(BIN / "copier"), *shlex.split(command)[1:]]


def update_as_a_user(project: Path, *args: str) -> str:
    """`copier update --trust --defaults [ARGS]`; when refused: nothing changed, and the
    command it prints, run as printed, is the update. Returns the refusal ('' if none)."""
    result = copier_update(project, "--defaults", *args)
    refusal = ""
    if result.returncode:
        refusal = result.stderr
        assert "Nothing was changed. Update with: " in refusal, refusal
        assert git(project, "status", "--porcelain") == ""
        result = subprocess.run(named_command(refusal), cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return refusal


CONFLICT = re.compile(CONFLICT_MARKER, flags=re.M)


def files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def conflicted(project: Path) -> list[str]:
    found = [name for name, data in files(project).items() if CONFLICT.search(data.decode())]
    return sorted(found + [p.name for p in project.rglob("*.rej")])


def recorded_answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def assert_equals_a_fresh_render(project: Path, fresh: Path) -> None:
    mine, theirs = files(project), files(fresh)
    assert sorted(mine) == sorted(theirs)
    differing = [name for name in mine if mine[name] != theirs[name]]
    assert differing in ([], [".copier-answers.yml"]), differing
    without_commit = [
        {k: v for k, v in recorded_answers(p).items() if k != "_commit"} for p in (project, fresh)
    ]
    assert without_commit[0] == without_commit[1]


@pytest.mark.parametrize("project_kind", PROJECTS)
@pytest.mark.parametrize("release", RELEASES)
def test_a_project_of_every_release_updates_to_a_fresh_render(
    tmp_path, candidate, fresh_renders, release, project_kind
):
    clone, tag = candidate
    made = answers_for(clone, release, project_kind)
    project = make_project(tmp_path / "demo", clone, release, made)

    refusal = update_as_a_user(project)

    # Only an XPU project that followed a recommendation with XPU (before 1.3.0) is refused:
    # the recommended torch has no XPU build. The way out pins torch 2.14.1 (the newest with
    # one), and says how to return.
    assert bool(refusal) == (project_kind == "uv-xpu" and "torch_version" not in made)
    if refusal:
        assert "Update with: copier update --trust --defaults -d torch_version=2.14.1\n" in refusal
        assert "-d torch_version=recommended" in refusal
    assert conflicted(project) == []
    answers = {k: v for k, v in recorded_answers(project).items() if not k.startswith("_")}
    assert recorded_answers(project)["_commit"] == tag
    assert_equals_a_fresh_render(project, fresh_renders(answers))


def test_a_refused_update_of_the_newest_release_changes_nothing_and_its_command_works(
    tmp_path, candidate, fresh_renders
):
    """From the newest release no recorded answer is refused: a `-d` one is (the recommended
    torch has no XPU build), and the printed command keeps it."""
    clone, _ = candidate
    project = make_project(tmp_path / "demo", clone, NEWEST, answers_for(clone, NEWEST, "uv-cpu"))

    refusal = update_as_a_user(project, "-d", "torch_backend=xpu")

    expected = "copier update --trust --defaults -d torch_backend=xpu -d torch_version=2.14.1\n"
    assert f"Update with: {expected}" in refusal
    answers = {k: v for k, v in recorded_answers(project).items() if not k.startswith("_")}
    assert answers["torch_backend"] == "xpu" and answers["torch_version"] == "2.14.1"
    assert_equals_a_fresh_render(project, fresh_renders(answers))


# A team's common edits: a README section, a dependency, a module, a line of the training
# example's body.
README_SECTION = "\n## Our cluster\n\nWe train nightly on the cluster.\n"
DEPENDENCY = '    "rich>=13",\n'
MODULE = "src/demo/augment.py"
TRAIN = "src/demo/train.py"
# A team's own code at the end of the training example (its lines, not a line of the template's).
TEAM_CODE = '\n\ndef our_schedule() -> str:\n    """The team\'s own."""\n    return "ours"\n'
EDITED = {"README.md", "pyproject.toml", MODULE, TRAIN}


def edit_like_a_team(project: Path) -> None:
    readme = project / "README.md"
    readme.write_text(readme.read_text() + README_SECTION)
    pyproject = project / "pyproject.toml"
    head, rest = pyproject.read_text().split("\ndependencies = [\n", 1)
    pins, tail = rest.split("\n]\n", 1)
    pyproject.write_text(f"{head}\ndependencies = [\n{pins}\n{DEPENDENCY}]\n{tail}")
    (project / MODULE).write_text('"""Our augmentations."""\n')
    train = project / TRAIN
    train.write_text(train.read_text() + TEAM_CODE)  # whatever the example's shape
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Our changes")


@pytest.mark.parametrize("project_kind", PROJECTS)
@pytest.mark.parametrize("release", [OLDEST, NEWEST])
def test_a_team_keeps_its_edits_and_meets_no_conflict_outside_them(
    tmp_path, candidate, fresh_renders, release, project_kind
):
    clone, _ = candidate
    project = make_project(
        tmp_path / "demo", clone, release, answers_for(clone, release, project_kind)
    )
    edit_like_a_team(project)

    update_as_a_user(project)

    # Where the template changed the lines a team edit touches (from an old release: the end
    # of README.md, the pins beside the added dependency), Copier leaves both sides between
    # conflict markers: only there, and with the team's lines in them.
    assert set(conflicted(project)) <= EDITED
    assert README_SECTION in (project / "README.md").read_text()
    assert DEPENDENCY in (project / "pyproject.toml").read_text()
    assert (project / MODULE).read_text() == '"""Our augmentations."""\n'
    assert TEAM_CODE in (project / TRAIN).read_text()
    answers = {k: v for k, v in recorded_answers(project).items() if not k.startswith("_")}
    fresh = files(fresh_renders(answers))
    mine = files(project)
    untouched = sorted(set(fresh) - EDITED - {".copier-answers.yml"})
    assert [name for name in untouched if mine.get(name) != fresh[name]] == []
    assert set(mine) - set(fresh) == {MODULE}

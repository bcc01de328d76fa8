"""Updates: a project made from template 1.0.0 follows the recommendations of 1.1.0 and 1.2.0
with `copier update`, keeps the team's edits, and never loses its lockfile."""

from __future__ import annotations

import filecmp
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update

from extensions.index_model import CONFLICT_MARKER, MANAGERS, MODEL
from maintainers import refresh
from tests.facts import has_family, lacks_family, newest_release
from tests.tools import BIN, TEMPLATE, load_toml

pytestmark = pytest.mark.tools
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
ANSWERS = {"project_name": "Demo", "python_version": "3.11"}
# What the user changed in their project, by manager-independent files.
README_LINE = "Our team trains this nightly on the cluster."
OWN_MODULE = "src/demo/augment.py"
TRAIN = "src/demo/train.py"
# A team's own code at the end of the training example (its lines, not a line of the template's).
TEAM_CODE = '\n\ndef our_schedule() -> str:\n    """The team\'s own."""\n    return "ours"\n'


def git(cwd: Path, *args: str) -> str:
    env = {**GIT_ENV, "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout


class TemplateRepo:
    """A temporary copy of this template in git, released tag by tag."""

    def __init__(self, path: Path):
        self.path = path
        files = git(TEMPLATE, "ls-files", "--cached", "--others", "--exclude-standard")
        for name in files.splitlines():
            source = TEMPLATE / name
            if source.is_file():
                (path / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, path / name)
        git(path, "init", "-q", "-b", "main")

    @property
    def matrix_path(self) -> Path:
        return self.path / "extensions" / "torch_matrix.yml"

    def edit_matrix(self, recommend: dict | None = None, drop: tuple[str, ...] = ()) -> None:
        text = self.matrix_path.read_text()
        matrix = yaml.safe_load(text)
        matrix["recommended"].update(recommend or {})
        for version in drop:
            del matrix["releases"][version]
        self.matrix_path.write_text(refresh.with_matrix(text, matrix))

    def without_question(self, name: str) -> None:
        """copier.yml as a template version before the question `name` existed."""
        copier_yml = self.path / "copier.yml"
        text = copier_yml.read_text()
        start = text.index(f"\n{name}:\n")
        end = text.index("\n\n", start + 1)
        copier_yml.write_text(text[:start] + text[end:])

    def restore_question(self) -> None:
        shutil.copy2(TEMPLATE / "copier.yml", self.path / "copier.yml")

    def release(self, version: str, **matrix_changes) -> None:
        if matrix_changes:
            self.edit_matrix(**matrix_changes)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", f"Release {version}")
        git(self.path, "tag", version)


class Project:
    """A project made from a tag, committed, as a team keeps it."""

    def __init__(self, template: TemplateRepo, path: Path, vcs_ref: str, **answers):
        self.template, self.path = template, path
        run_copy(
            str(template.path),
            path,
            data={**ANSWERS, **answers},
            defaults=True,
            unsafe=True,
            vcs_ref=vcs_ref,
            quiet=True,
        )
        git(path, "init", "-q", "-b", "main")
        self.commit("Project from the template")

    def commit(self, message: str) -> None:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message)

    def edit_like_a_team(self) -> None:
        readme = self.path / "README.md"
        readme.write_text(readme.read_text() + f"\n{README_LINE}\n")
        pyproject = self.path / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace(
                "    # Your dependencies:\n", '    # Your dependencies:\n    "rich>=13",\n'
            )
        )
        (self.path / OWN_MODULE).write_text('"""Our augmentations."""\n')
        train = self.path / TRAIN
        train.write_text(train.read_text() + TEAM_CODE)  # whatever the example's shape
        (self.path / "uv.lock").write_text("# the team's lock\n")
        (self.path / "poetry.lock").write_text("# the team's lock\n")
        self.commit("Our changes")

    def update(self, **data) -> None:
        run_update(
            self.path,
            data=data,
            defaults=True,
            overwrite=True,
            unsafe=True,
            quiet=True,
            vcs_ref=None,
        )

    def update_with_the_command_line(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [BIN / "copier", "update", "--trust", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
        )

    @property
    def dependencies(self) -> list[str]:
        """The torch backend's requirements: `[project] dependencies`, after those of the
        first extra in a project with several backends (one extra each)."""
        project = load_toml(self.path / "pyproject.toml")["project"]
        extras = list(project.get("optional-dependencies", {}).values())
        return [*(extras[0] if extras else []), *project["dependencies"]]

    def assert_no_conflicts(self) -> None:
        assert not list(self.path.rglob("*.rej"))
        for path in self.path.rglob("*"):
            if path.is_file() and ".git" not in path.parts:
                text = path.read_text(errors="replace")
                assert not re.search(CONFLICT_MARKER, text, flags=re.M), path

    def assert_team_edits_kept(self) -> None:
        assert README_LINE in (self.path / "README.md").read_text()
        assert "rich>=13" in self.dependencies
        assert (self.path / OWN_MODULE).exists()
        assert (self.path / TRAIN).read_text().endswith(TEAM_CODE)
        assert (self.path / "uv.lock").read_text() == "# the team's lock\n"
        assert (self.path / "poetry.lock").read_text() == "# the team's lock\n"

    def assert_untouched_files_match_a_fresh_render(self, tmp_path: Path, vcs_ref: str) -> None:
        answers = yaml.safe_load((self.path / ".copier-answers.yml").read_text())
        data = {k: v for k, v in answers.items() if not k.startswith("_")}
        fresh = tmp_path / f"fresh-{vcs_ref}"
        run_copy(
            str(self.template.path),
            fresh,
            data=data,
            defaults=True,
            unsafe=True,
            vcs_ref=vcs_ref,
            quiet=True,
        )
        edited = {"README.md", "pyproject.toml", TRAIN, ".copier-answers.yml"}
        for path in fresh.rglob("*"):
            name = str(path.relative_to(fresh))
            if path.is_file() and name not in edited:
                assert filecmp.cmp(path, self.path / name, shallow=False), name


@pytest.fixture
def template(tmp_path) -> TemplateRepo:
    """Template 1.0.0 recommends torch 2.13.0 on cu130; 1.1.0 moves to 2.14.1."""
    repo = TemplateRepo(tmp_path / "template")
    repo.release("1.0.0", recommend={"torch": "2.13.0", "cuda": "cu130"})
    return repo


@pytest.mark.parametrize("manager", MANAGERS)
def test_a_recommended_project_follows_the_new_recommendation_and_keeps_its_edits(
    tmp_path, template, manager
):
    project = Project(
        template, tmp_path / "demo", "1.0.0", package_manager=manager, torch_backend="cuda"
    )
    assert project.dependencies[:2] == ["torch==2.13.0", "torchvision==0.28.0"]
    project.edit_like_a_team()
    template.release("1.1.0", recommend={"torch": "2.14.1"})

    project.update()

    assert project.dependencies == [
        "torch==2.14.1",
        "torchvision==0.29.1",
        "numpy",
        "tensorboard",
        "rich>=13",
    ]
    readme = (project.path / "README.md").read_text()
    assert "PyTorch 2.14.1 (cu130 build)" in readme
    workflow = (project.path / ".github/workflows/ci.yml").read_text()
    ci_install = {"uv": "--extra cpu", "poetry": "--extras cpu", "pip": "-r requirements-cpu.txt"}
    assert ci_install[manager] in workflow  # the CPU build, from the lock
    assert 'CONFIGURED_VERSION = "2.14.1"' in (project.path / "src/demo/doctor.py").read_text()
    if manager == "pip":
        assert "torch==2.14.1+cu130" in (project.path / "requirements.txt").read_text()
    project.assert_no_conflicts()
    project.assert_team_edits_kept()
    project.assert_untouched_files_match_a_fresh_render(tmp_path, "1.1.0")


def test_a_pinned_project_keeps_its_versions(tmp_path, template):
    project = Project(
        template, tmp_path / "demo", "1.0.0", torch_version="2.12.1", torch_backend="cu126"
    )
    template.release("1.1.0", recommend={"torch": "2.14.1", "cuda": "cu132"})
    project.update()
    assert project.dependencies == ["torch==2.12.1", "torchvision==0.27.1", "numpy", "tensorboard"]
    assert "whl/cu126" in (project.path / "pyproject.toml").read_text()
    answers = yaml.safe_load((project.path / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "1.1.0"


def test_a_family_follows_the_new_recommended_variant(tmp_path, template):
    project = Project(
        template, tmp_path / "demo", "1.0.0", package_manager="uv", torch_backend="cuda"
    )
    template.release("1.1.0", recommend={"cuda": "cu132"})
    project.update()
    pyproject = load_toml(project.path / "pyproject.toml")
    assert pyproject["tool"]["uv"]["index"][0]["url"].endswith("/whl/cu132")
    assert pyproject["tool"]["uv"]["sources"]["torch"][0]["index"] == "pytorch-cu132"


def test_a_removed_version_stops_the_update_with_the_way_out_and_touches_nothing(
    tmp_path, template
):
    project = Project(template, tmp_path / "demo", "1.0.0", torch_version="2.6.0")
    template.release("1.1.0", drop=("2.6.0",))
    message = project.update_with_the_command_line("--defaults").stderr
    assert "torch 2.6.0 is not in this template's matrix" in message
    newest, older = MODEL.torch_versions[:2]
    assert f"recommended, {newest}, {older}" in message

    assert_refused_with_a_way_out_that_works(project, f"-d torch_version={newest}")

    assert project.dependencies[0] == f"torch=={newest}"
    assert git(project.path, "status", "--porcelain") != ""  # updated, for the team to commit


def test_the_command_line_update_says_to_relock_and_check_update_sees_it(tmp_path, template):
    project = Project(template, tmp_path / "demo", "1.0.0", package_manager="poetry")
    check = subprocess.run([BIN / "copier", "check-update", "--quiet"], cwd=project.path)
    assert check.returncode == 0  # up to date
    template.release("1.1.0", recommend={"torch": "2.14.1"})
    check = subprocess.run([BIN / "copier", "check-update", "--quiet"], cwd=project.path)
    assert check.returncode == 2  # an update is available

    result = project.update_with_the_command_line("--skip-answered")

    assert result.returncode == 0, result.stderr
    assert "poetry lock && poetry install" in result.stdout + result.stderr  # re-lock
    assert project.dependencies[0] == "torch==2.14.1"


def test_a_chain_of_two_updates(tmp_path, template):
    project = Project(
        template, tmp_path / "demo", "1.0.0", package_manager="pip", torch_backend="cuda"
    )
    project.edit_like_a_team()
    template.release("1.1.0", recommend={"torch": "2.14.1"})
    project.update()
    project.commit("Update to 1.1.0")
    template.release("1.2.0", recommend={"cuda": "cu132"})
    project.update()

    requirements = (project.path / "requirements.txt").read_text()
    assert "torch==2.14.1+cu132" in requirements and "whl/cu132" in requirements
    assert project.dependencies == [
        "torch==2.14.1",
        "torchvision==0.29.1",
        "numpy",
        "tensorboard",
        "rich>=13",
    ]
    project.assert_no_conflicts()
    project.assert_team_edits_kept()
    project.assert_untouched_files_match_a_fresh_render(tmp_path, "1.2.0")


# What a release that renames a question adds to the before-update migration (README).
RENAME = "      - --rename\n      - compute_backend=torch_backend\n"


def test_a_renamed_question_keeps_its_answer_through_a_migration(tmp_path):
    repo = TemplateRepo(tmp_path / "template")
    originals = {}
    for path in [
        repo.path / "copier.yml",
        *repo.path.glob("template/**/*"),
        *repo.path.glob("extensions/*.py"),
    ]:
        if path.is_file() and "torch_backend" in path.read_text():
            originals[path] = path.read_text()
            path.write_text(originals[path].replace("torch_backend", "compute_backend"))
    repo.release("1.0.0")  # the question was called compute_backend
    project = Project(repo, tmp_path / "demo", "1.0.0", compute_backend="cu130")
    for path, text in originals.items():
        path.write_text(text)
    copier_yml = repo.path / "copier.yml"
    text = copier_yml.read_text()
    carried = "      - extra_backends=[]\n"
    assert carried in text
    copier_yml.write_text(text.replace(carried, carried + RENAME, 1))
    repo.release("1.1.0")  # ... and is torch_backend now

    project.update()

    answers = yaml.safe_load((project.path / ".copier-answers.yml").read_text())
    assert answers["torch_backend"] == "cu130" and "compute_backend" not in answers
    assert "whl/cu130" in (project.path / "pyproject.toml").read_text()


def named_update_command(message: str) -> list[str]:
    """The `copier update ...` a refusal names, as argv with this environment's copier."""
    [command] = re.findall(r"Update with: (copier update .*)", message)
    return [str(BIN / "copier"), *shlex.split(command)[1:]]


def assert_refused_with_a_way_out_that_works(project: Project, expected: str) -> str:
    """The refusal, its printed command run as printed; returns the refusal's message."""
    before = {p: p.read_bytes() for p in project.path.rglob("*") if p.is_file()}
    refused = project.update_with_the_command_line("--defaults")
    message = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert f"Update with: copier update --trust --defaults {expected}\n" in message
    assert {p: p.read_bytes() for p in project.path.rglob("*") if p.is_file()} == before
    assert git(project.path, "status", "--porcelain") == ""

    moved = subprocess.run(
        named_update_command(message), cwd=project.path, capture_output=True, text=True
    )
    assert moved.returncode == 0, moved.stdout + moved.stderr
    return message


def return_to_the_recommendation(project: Project, message: str, expected: str) -> None:
    """The refusal said its command pins the project, and how to follow the recommendation
    again: once the team committed the update and the recommendation fits again, that
    command, as printed, does."""
    [command] = re.findall(r"To follow it again when it fits: (copier update .*)", message)
    assert command == f"copier update --trust --defaults {expected}"
    project.commit("Update, pinned")
    returned = subprocess.run(
        [str(BIN / "copier"), *shlex.split(command)[1:]],
        cwd=project.path,
        capture_output=True,
        text=True,
    )
    assert returned.returncode == 0, returned.stdout + returned.stderr


def test_a_cuda_project_with_torchaudio_is_told_the_variant_that_has_it(tmp_path, template):
    project = Project(
        template,
        tmp_path / "demo",
        "1.0.0",
        torch_backend="cuda",
        torch_libraries=["torchvision", "torchaudio"],
    )
    template.release("1.1.0", recommend={"cuda": "cu132"})  # torchaudio has no cu132 build

    message = assert_refused_with_a_way_out_that_works(project, "-d torch_backend=cu130")

    assert "torchaudio==2.11.0" in project.dependencies
    assert "whl/cu130" in (project.path / "pyproject.toml").read_text()
    assert "no longer follows the cuda family's recommended variant" in message
    template.release("1.2.0", recommend={"cuda": "cu130"})  # torchaudio has cu130 again
    return_to_the_recommendation(project, message, "-d torch_backend=cuda")
    answers = yaml.safe_load((project.path / ".copier-answers.yml").read_text())
    assert answers["torch_backend"] == "cuda"


def test_a_rocm_project_is_told_the_torch_that_has_rocm(tmp_path, template):
    project = Project(template, tmp_path / "demo", "1.0.0", torch_backend="rocm")
    without, with_rocm = newest_release(lacks_family("rocm")), newest_release(has_family("rocm"))
    template.release("1.1.0", recommend={"torch": without})  # a torch with no ROCm build

    message = assert_refused_with_a_way_out_that_works(project, f"-d torch_version={with_rocm}")

    assert project.dependencies[0] == f"torch=={with_rocm}"
    assert "whl/rocm" in (project.path / "pyproject.toml").read_text()
    assert "no longer follows the template's recommended torch" in message
    template.release("1.2.0", recommend={"torch": with_rocm})  # a recommendation with ROCm
    return_to_the_recommendation(project, message, "-d torch_version=recommended")
    answers = yaml.safe_load((project.path / ".copier-answers.yml").read_text())
    assert answers["torch_version"] == "recommended"


def test_an_update_that_conflicts_with_a_team_edit_names_the_files(tmp_path, template):
    project = Project(template, tmp_path / "demo", "1.0.0", package_manager="uv")
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"torch==2.13.0",', '"torch==2.13.0",  # tested on A100')
    )
    project.commit("Note our hardware")
    template.release("1.1.0", recommend={"torch": "2.14.1"})

    result = project.update_with_the_command_line("--defaults")

    assert result.returncode == 0  # Copier itself exits 0 with conflicts left
    message = result.stdout + result.stderr
    assert "Resolve the conflicts, then commit" in message
    assert "\n  pyproject.toml\n" in message
    assert "<<<<<<< before updating" in pyproject.read_text()
    # What the project's CI runs catches the leftover markers; a resolved project passes.
    ci_check = next(
        step["run"]
        for step in yaml.safe_load((project.path / ".github/workflows/ci.yml").read_text())["jobs"][
            "test"
        ]["steps"]
        if "conflict" in step.get("name", "")
    )
    check = subprocess.run(["bash", "-c", ci_check], cwd=project.path, capture_output=True)
    assert check.returncode == 1 and b"pyproject.toml" in check.stdout
    git(project.path, "checkout", "--theirs", "--", "pyproject.toml")
    check = subprocess.run(["bash", "-c", ci_check], cwd=project.path, capture_output=True)
    assert check.returncode == 0, check.stdout


def test_a_clean_update_reports_no_conflicts(tmp_path, template):
    project = Project(template, tmp_path / "demo", "1.0.0")
    template.release("1.1.0", recommend={"torch": "2.14.1"})
    result = project.update_with_the_command_line("--defaults")
    assert result.returncode == 0, result.stderr
    assert "Resolve the conflicts" not in result.stdout + result.stderr


def test_every_backend_of_a_project_moves_together(tmp_path, template):
    """A cuda project that also installs the CPU build (extra_backends: [cpu], the default):
    a new recommendation moves the pins of both extras, and the cuda extra's index."""
    project = Project(
        template, tmp_path / "demo", "1.0.0", package_manager="uv", torch_backend="cuda"
    )
    template.release("1.1.0", recommend={"torch": "2.14.1", "cuda": "cu132"})
    project.update()
    pyproject = load_toml(project.path / "pyproject.toml")
    extras = pyproject["project"]["optional-dependencies"]
    assert set(extras) == {"cuda", "cpu"}
    assert all(dependencies[0] == "torch==2.14.1" for dependencies in extras.values())
    assert all(dependencies[1] == "torchvision==0.29.1" for dependencies in extras.values())
    sources = pyproject["tool"]["uv"]["sources"]["torch"]
    assert {"index": "pytorch-cu132", "extra": "cuda", "marker": sources[0]["marker"]} in sources
    assert {"index": "pytorch-cpu", "extra": "cpu"} in sources
    project.assert_no_conflicts()


def test_a_project_made_before_extra_backends_keeps_its_one_backend(tmp_path):
    """A project whose answers predate `extra_backends` updates cleanly and keeps its shape
    (torch in [project] dependencies, no extras), instead of taking the new default [cpu]."""
    old = TemplateRepo(tmp_path / "old-template")
    old.without_question("extra_backends")
    old.release("1.0.0", recommend={"torch": "2.13.0", "cuda": "cu130"})
    project = Project(old, tmp_path / "demo", "1.0.0", package_manager="uv", torch_backend="cuda")
    answers_file = project.path / ".copier-answers.yml"
    assert "extra_backends" not in yaml.safe_load(answers_file.read_text())
    old.restore_question()
    old.release("1.1.0", recommend={"torch": "2.14.1"})

    project.update()

    assert project.dependencies[0] == "torch==2.14.1"
    assert "optional-dependencies" not in load_toml(project.path / "pyproject.toml")["project"]
    assert yaml.safe_load(answers_file.read_text())["extra_backends"] == []
    project.assert_no_conflicts()


def test_an_update_in_a_later_year_leaves_the_license_unchanged(tmp_path, template):
    """A project made in 2025 (its recorded year) updated now: the LICENSE keeps 2025."""
    project = Project(template, tmp_path / "demo", "1.0.0", copyright_year=2025)
    license_text = (project.path / "LICENSE").read_text()
    assert "Copyright (c) 2025 " in license_text
    template.release("1.1.0", recommend={"torch": "2.14.1"})

    project.update()

    assert (project.path / "LICENSE").read_text() == license_text
    assert project.dependencies[0] == "torch==2.14.1"


def test_a_project_made_before_the_year_was_recorded_keeps_its_license_year(tmp_path):
    """A project from a template that rendered the year afresh (made in 2025, updated now):
    a refused update writes nothing; the one that succeeds records the LICENSE's year and
    leaves the LICENSE as it was."""
    old = TemplateRepo(tmp_path / "old-template")
    old.without_question("copyright_year")
    license_template = old.path / "template" / "LICENSE.jinja"
    license_template.write_text(
        license_template.read_text().replace("{{ copyright_year }}", "{% now 'utc', '%Y' %}")
    )
    old.release("1.0.0", recommend={"torch": "2.13.0"})
    project = Project(old, tmp_path / "demo", "1.0.0", torch_version="2.6.0")
    license_file = project.path / "LICENSE"
    license_file.write_text(re.sub(r"\(c\) \d{4}", "(c) 2025", license_file.read_text()))
    project.commit("The project as made in 2025")
    license_text = license_file.read_text()
    answers_file = project.path / ".copier-answers.yml"
    assert "copyright_year" not in yaml.safe_load(answers_file.read_text())
    old.restore_question()
    shutil.copy2(TEMPLATE / "template" / "LICENSE.jinja", license_template)
    old.release("1.1.0", drop=("2.6.0",))

    assert_refused_with_a_way_out_that_works(project, f"-d torch_version={MODEL.torch_versions[0]}")

    assert license_file.read_text() == license_text
    assert yaml.safe_load(answers_file.read_text())["copyright_year"] == 2025
    project.assert_no_conflicts()


def test_a_gpu_project_without_a_cpu_backend_is_told_how_to_give_ci_one(tmp_path, template):
    """CI installs the CPU build where the project has one; a CUDA project answered without it
    says its CI downloads the GPU wheels, and the update it names adds the `cpu` backend."""
    project = Project(
        template, tmp_path / "demo", "1.0.0", package_manager="uv", torch_backend="cuda",
        extra_backends=[],
    )  # fmt: skip
    readme = (project.path / "README.md").read_text()
    ci = project.path / ".github/workflows/ci.yml"
    assert "tests on the cu130 build. Its token" in readme and "has no `cpu` backend" in readme
    copied = subprocess.run(
        [BIN / "copier", "copy", "--trust", "--defaults", "-d", "torch_backend=cuda"]
        + ["-d", "extra_backends=[]", template.path, tmp_path / "copied"],
        capture_output=True,
        text=True,
    )
    assert "CI installs the cu130 build, GPU wheels: no cpu backend" in copied.stderr
    assert "- run: uv sync --locked\n" in ci.read_text()
    found = re.search(r"`(copier update [^`]+)`", readme.split("no `cpu`")[1])
    assert found
    copier, *arguments = shlex.split(found[1])  # as the README writes it
    updated = subprocess.run(
        [BIN / copier, *arguments], cwd=project.path, capture_output=True, text=True
    )
    assert updated.returncode == 0, updated.stderr
    assert "uv sync --locked --extra cpu" in ci.read_text()
    assert (
        "tests on the CPU build, so it never downloads GPU wheels"
        in (project.path / "README.md").read_text()
    )

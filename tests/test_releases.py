"""Releases that exist: every CHANGELOG version is recorded with the commit that released it,
and the release workflow's tagging step makes them the tags Copier reads."""

from __future__ import annotations

import re

import pytest
import yaml
from copier import run_copy
from packaging.version import Version

from maintainers import releases
from tests.template_history import git, hosting, run_tagging_step, tagged_clone
from tests.tools import TEMPLATE


def test_every_changelog_release_is_recorded_with_the_commit_that_released_it():
    recorded = releases.check()
    assert [str(r.version) for r in recorded] == [str(v) for v in releases.changelog_versions()]
    for release in recorded:
        git(TEMPLATE, "merge-base", "--is-ancestor", release.commit, "HEAD")  # on main's history
        files = git(TEMPLATE, "ls-tree", "--name-only", release.commit)
        if "CHANGELOG.md" in files.split():  # from 1.3.0 on: the commit dates its heading
            changelog = git(TEMPLATE, "show", f"{release.commit}:CHANGELOG.md")
            assert f"\n## {release.tag} (" in changelog


def test_a_fresh_clone_reports_the_newest_changelog_version_once_the_workflow_tagged_it(
    tmp_path,
):
    clone = tagged_clone(tmp_path / "ci-checkout")
    newest = releases.changelog_versions()[-1]

    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(tmp_path / "ci-checkout-hosting.git"), str(fresh))

    assert git(fresh, "describe", "--tags", "--abbrev=0").strip() == str(newest)
    recorded = {str(r.version): r.commit for r in releases.recorded()}
    for tag, commit in recorded.items():
        assert git(fresh, "rev-parse", f"{tag}^{{commit}}").strip() == commit
    # Copier: HEAD is the newest release, or "Unreleased" commits after it (N of them, which
    # Copier reads as the development version newest.postN.dev0); `copier copy URL` takes the
    # newest release. Each project records what it was made from.
    for ref, recorded_as in [("HEAD", rf"{newest}(-\d+-g[0-9a-f]+)?"), (None, str(newest))]:
        project = tmp_path / f"project-{ref}"
        run_copy(str(fresh), project, defaults=True, unsafe=True, quiet=True, vcs_ref=ref)
        answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
        assert re.fullmatch(recorded_as, answers["_commit"]), answers["_commit"]
    # The step again: nothing new, nothing moved.
    again = run_tagging_step(clone)
    assert again.returncode == 0 and "tagged: nothing new" in again.stdout


def test_a_release_tag_is_never_moved(tmp_path):
    clone = tagged_clone(tmp_path / "clone")
    newest, previous = releases.recorded()[-1], releases.recorded()[-2]
    git(clone, "tag", "-d", newest.tag)
    git(clone, "tag", "-f", previous.tag, "HEAD")

    result = run_tagging_step(clone)

    assert result.returncode == 1
    assert f"Tag {previous.tag} points at" in result.stderr and "never moved" in result.stderr
    assert newest.tag not in git(clone, "tag").split()  # nothing tagged before the refusal


def test_a_shallow_checkout_is_told_to_fetch_the_history(tmp_path):
    bare = hosting(tmp_path / "hosting.git")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{bare}", str(shallow))
    result = run_tagging_step(shallow)
    assert result.returncode == 1
    assert "Fetch the whole history first" in result.stderr and "fetch-depth: 0" in result.stderr
    assert git(shallow, "tag") == ""


def test_a_changelog_release_without_its_commit_is_refused(tmp_path):
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(
        (TEMPLATE / "CHANGELOG.md").read_text().replace("## Unreleased", "## 9.0.0 (2027-01-01)")
    )
    with pytest.raises(releases.ReleaseError, match="Record the commit that released 9.0.0"):
        releases.check(releases.RECORD, changelog)


def test_a_folder_that_is_no_checkout_of_the_template_is_named_with_the_fix(tmp_path, capsys):
    assert releases.main(["tag", "--repo", str(tmp_path / "elsewhere")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: give --repo this template's checkout:")
    assert "has no releases.yml" in error


def test_unreleased_is_not_a_release():
    text = (TEMPLATE / "CHANGELOG.md").read_text()
    assert "\n## Unreleased\n" in text
    assert "Unreleased" not in [str(v) for v in releases.changelog_versions()]


def test_the_workflow_alone_may_write_and_pins_its_actions():
    workflow = yaml.safe_load((TEMPLATE / ".github/workflows/release.yml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["tag"]["permissions"] == {"contents": "write"}
    for step in workflow["jobs"]["tag"]["steps"]:
        if "uses" in step:
            action, ref = step["uses"].split("@")
            assert len(ref) == 40 and int(ref, 16) >= 0, action  # a commit, not a moving tag
    checkout = workflow["jobs"]["tag"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0


def test_the_tag_is_the_pep_440_version():
    for release in releases.recorded():
        assert release.tag == str(Version(release.tag))

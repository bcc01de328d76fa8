"""The template's documentation: the site the README's command builds (strict: a warning
fails it), its questions page against copier.yml, and a repository that keeps its own
evidence (no file cites a path outside it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.tools import TEMPLATE, tool_env

DOCS = TEMPLATE / "docs"


def readme_docs_command() -> str:
    """The README's line that builds the documentation."""
    readme = (TEMPLATE / "README.md").read_text()
    [line] = {m.strip() for m in re.findall(r"uv run mkdocs build[^`\n#]*", readme)}
    return line.strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site as the README's command builds it, written to a temporary folder instead of
    `site/`."""
    site = tmp_path_factory.mktemp("docs") / "site"
    command = f"{readme_docs_command()} --site-dir {site}"
    result = subprocess.run(
        command, shell=True, cwd=TEMPLATE, env=tool_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return site


def questions() -> list[str]:
    """copier.yml's questions (its keys without a leading underscore), in order."""
    data = yaml.safe_load((TEMPLATE / "copier.yml").read_text())
    return [key for key in data if not key.startswith("_")]


def test_the_readme_docs_command_builds_the_site_with_warnings_as_errors(site):
    assert readme_docs_command() == "uv run mkdocs build --strict"
    assert (site / "index.html").is_file()
    for page in ("getting-started", "questions", "matrix", "mirrors", "updates", "training"):
        assert (site / page / "index.html").is_file(), page
    assert (site / "decisions" / "index.html").is_file()


def test_the_strict_build_fails_on_a_broken_link(tmp_path):
    """Strict means strict: a page linking to a page that does not exist fails the build."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n[gone](no-such-page.md)\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        (TEMPLATE / "mkdocs.yml")
        .read_text()
        .split("\nnav:\n")[0]
        .replace("docs_dir: docs", f"docs_dir: {docs}")
    )
    command = f"{readme_docs_command()} --config-file {config} --site-dir {tmp_path / 'site'}"
    result = subprocess.run(command, shell=True, cwd=TEMPLATE, env=tool_env(), capture_output=True)
    assert result.returncode != 0
    assert b"no-such-page.md" in result.stderr


def test_the_questions_page_names_every_question_of_copier_yml_and_no_other():
    page = (DOCS / "questions.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    named = [key for row in rows for key in re.findall(r"`(\w+)`", row.split(" | ")[0])]
    assert named == questions()


def test_the_site_names_every_question(site):
    html = (site / "questions" / "index.html").read_text()
    for question in questions():
        assert f"<code>{question}</code>" in html, question


@pytest.mark.tools  # two renders through the command line and git: about 15 s
def test_the_quoted_refusal_is_what_the_template_prints_and_its_fix_renders(tmp_path):
    """The questions page's example refusal, run as written (with another destination):
    exactly the quoted line, nothing written; then the command it names renders."""
    section = (DOCS / "questions.md").read_text().split("A wrong answer is refused", 1)[1]
    command = re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)[0]
    quoted = re.findall(r"```text\n(.*?)\n```", section, flags=re.S)[0]
    destination = tmp_path / "my-project"
    command = command.replace("../my-project", str(destination))
    refused = subprocess.run(
        command, shell=True, cwd=TEMPLATE, env=tool_env(), capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert quoted in refused.stderr.splitlines()
    assert "Traceback" not in refused.stderr
    assert not destination.exists()
    fix = re.match(r"[^`]*Use `(-d [^`]+)`", quoted)
    assert fix, quoted
    fixed = command.replace(' "$PWD"', f' {fix[1]} "$PWD"')
    subprocess.run(fixed, shell=True, cwd=TEMPLATE, env=tool_env(), check=True, capture_output=True)
    assert (destination / ".copier-answers.yml").is_file()


def test_the_nav_lists_every_page_of_the_docs():
    """A page missing from mkdocs.yml's nav would be built but never reached."""
    config = (TEMPLATE / "mkdocs.yml").read_text()
    nav = set(re.findall(r"([\w/.-]+\.md)$", config, flags=re.M))
    pages = {str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md")}
    assert nav == pages


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=TEMPLATE, capture_output=True, text=True, check=True
    ).stdout
    return [name for name in listed.split("\0") if name and (TEMPLATE / name).is_file()]


def layout_tree() -> tuple[set[str], set[str]]:
    """The layout page's tree: the files it names, and the folders it names as a whole (a
    folder line without lines of its own below it)."""
    [tree] = re.findall(r"```text\n(.*?)```", (DOCS / "layout.md").read_text(), flags=re.S)
    files: set[str] = set()
    folders: dict[str, int] = {}
    folder = ""
    for line in tree.splitlines():
        child = line.startswith("├── ")
        name = line.removeprefix("├── ").split()[0]
        if child:
            files.add(folder + name)
            folders[folder] += 1
        elif name.endswith("/"):
            folder = name
            folders[folder] = 0
        else:
            folder = ""
            files.add(name)
    return files, {name for name, children in folders.items() if not children}


def test_the_layout_page_names_every_file_of_the_repository():
    files, whole_folders = layout_tree()
    tracked = tracked_files()
    unnamed = [f for f in tracked if f not in files and not f.startswith(tuple(whole_folders))]
    assert not unnamed, "add them to docs/layout.md"
    gone = files - set(tracked)
    assert not gone, "docs/layout.md names files the repository lacks"


# Where the developers' machines keep notes and checkouts that are not part of the repository,
# and the names those notes go by.
OUTSIDE = re.compile(
    r"/work/|\.\./shared|shared/reference|/home/|/Users/|\bNOTES\b|field notes|index notes"
    r"|/root/(?!\.cache/)"  # root's caches in an image (a Dockerfile's cache mount) are no notes
)


def test_no_file_of_the_repository_cites_a_path_outside_it():
    """Every fact's evidence is in the repository: a record, a comment or a test never sends the
    reader to a file only one machine has. (This file names the patterns it looks for.)"""
    citing = []
    for name in tracked_files():
        if name == "tests/test_docs.py":
            continue
        text = (TEMPLATE / name).read_bytes().decode("utf-8", errors="replace")
        citing += [f"{name}: {match.group()}" for match in OUTSIDE.finditer(text)]
    assert not citing

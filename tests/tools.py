"""What the tests do as a user would: render the template, run the real tools in a project."""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
from copier import run_copy

TEMPLATE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # uv, poetry and copier live beside the test interpreter


# What a render reads: the questions, the template, and the extensions Copier loads.
RENDER_INPUTS = ("copier.yml", "template", "extensions")


@functools.cache
def template_copy() -> Path:
    """The render inputs of the working tree (tracked and untracked, not ignored), copied once
    per test process into a folder outside git. A render from it gives what a render of HEAD
    with the working tree's changes gives, less the answers file's `_commit`, without Copier
    cloning the repository for every render. Removed when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="template-copy-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", *RENDER_INPUTS],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (TEMPLATE / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, folder / name)
    return folder


def render(dst: Path, template: Path | None = None, **data) -> Path:
    """`copier copy --trust --defaults -d KEY=VALUE ... <template> dst`: from `template` (a git
    repository: its HEAD with the working tree's changes), else from `template_copy()`."""
    source = template or template_copy()
    vcs_ref = "HEAD" if (source / ".git").exists() else None
    run_copy(str(source), dst, data=data, defaults=True, unsafe=True, vcs_ref=vcs_ref, quiet=True)
    return dst


def render_real_cpu_project(dst: Path, package_manager: str, index_url: str) -> Path:
    """The project the real-torch runs use: CPU, torch 2.13.0 on Python 3.11 (the wheel these
    machines hold), no domain library (no real torchvision wheel pairs with it here)."""
    return render(
        dst,
        project_name=dst.name,
        package_manager=package_manager,
        torch_version="2.13.0",
        torch_backend="cpu",
        python_version="3.11",
        torch_libraries=[],
        pytorch_index_url=index_url,
    )


def tool_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: not the test's virtual environment, no Python
    downloads, no machine-wide pip configuration (it points pip at local wheel folders)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "POETRY_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        UV_PYTHON_DOWNLOADS="never",
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        POETRY_VIRTUALENVS_IN_PROJECT="true",
    )
    env.update(extra)
    return env


def sh(command: str, cwd: Path, timeout: float = 900, **env: str) -> str:
    """Run a README line in a shell, as a user would; fail with its output."""
    # poetry caches index pages by source name: each project gets its own cache, so stub and
    # real wheels served under the same name never mix.
    env.setdefault("POETRY_CACHE_DIR", str(cwd.parent / "poetry-cache"))
    result = subprocess.run(
        command,
        shell=True,
        cwd=cwd,
        env=tool_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode:
        pytest.fail(f"`{command}` exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def readme_blocks(project: Path, heading: str) -> list[str]:
    """The text of each bash block under a heading of the generated README."""
    section = (project / "README.md").read_text().split(f"## {heading}\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def readme_commands(project: Path, heading: str) -> list[list[str]]:
    """The shell lines of each bash block under a heading of the generated README (a line
    continued with a backslash joined to the next)."""
    return [
        [
            line
            for line in re.sub(r" *\\\n\s*", " ", block).splitlines()
            if line.strip() and not line.startswith("#")
        ]
        for block in readme_blocks(project, heading)
    ]


def pypi_simple_url() -> str:
    """PyPI's simple index: $PYPI_SIMPLE_URL, else the registry this repository's own uv.lock
    resolved the template's tools from."""
    if os.environ.get("PYPI_SIMPLE_URL"):
        return os.environ["PYPI_SIMPLE_URL"]
    registries = {
        package["source"]["registry"]
        for package in load_toml(TEMPLATE / "uv.lock")["package"]
        if "registry" in package.get("source", {})
    }
    [registry] = registries
    return registry


def adapt_poetry_to_simple_api(project: Path, url: str = "") -> None:
    """These machines reach PyPI's simple API but not its JSON API, which poetry's built-in
    `PyPI` source needs: declare PyPI (or `url`, a stand-in for it) as a simple-API source
    instead. Nothing else changes."""
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('source = "PyPI" }', 'source = "pypi-simple" }')
    text += f'\n[[tool.poetry.source]]\nname = "pypi-simple"\nurl = "{url or pypi_simple_url()}"\n'
    text += 'priority = "primary"\n'
    pyproject.write_text(text)


def default_index_env(url: str) -> dict[str, str]:
    """Environment that makes uv and pip use `url` as their default index (poetry: see
    `adapt_poetry_to_simple_api`)."""
    return {"UV_DEFAULT_INDEX": url, "PIP_INDEX_URL": url} if url else {}


def install_as_readme_says(project: Path, package_manager: str, default_index: str = "") -> Path:
    """Run the README's install commands (with `default_index` in place of PyPI when given);
    return the environment's python."""
    if package_manager == "poetry":
        adapt_poetry_to_simple_api(project, default_index)
    commands = readme_commands(project, "Install")[0]
    sh(
        " && ".join(line.split("  #")[0] for line in commands),
        project,
        900,
        **default_index_env(default_index),
    )
    return project / ".venv" / "bin" / "python"


def installed_version(python: Path, distribution: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def load_toml(path: Path) -> dict:
    return tomllib.loads(path.read_text())


# A GitHub Actions expression in a workflow (`${{ github.token }}`): meant, not left Jinja.
GITHUB_EXPRESSION = r"\$\{\{ [\w.]+ \}\}"


def left_jinja(text: str) -> re.Match[str] | None:
    """The first Jinja delimiter a render left in `text` (GitHub's expressions aside), or None."""
    return re.search(r"{{|{%|}}|%}", re.sub(GITHUB_EXPRESSION, "", text))

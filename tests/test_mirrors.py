"""A company's mirror of the PyTorch index: one repository per variant (Nexus, Artifactory)
answered as a URL template, and a login kept out of the project, given with the README's own
commands. The projects lock against the stand-in index served in that layout."""

from __future__ import annotations

import dataclasses
import re
import subprocess

import pytest
import yaml

from extensions.build import build
from extensions.choices import resolve_backend
from extensions.index_model import MANAGERS, MODEL, Model
from tests.pytorch_index import IndexContent, StandInIndex
from tests.test_resolution import locked_packages
from tests.tools import (
    adapt_poetry_to_simple_api,
    installed_version,
    load_toml,
    pypi_simple_url,
    readme_commands,
    render,
    sh,
    tool_env,
)

NEXUS = "https://nexus.example/repository/pytorch-{variant}/simple"
LAYOUT = "/repository/pytorch-{variant}/simple"
USER, PASSWORD = "ci-reader", "s3cret-token"
TORCH = "2.13.0"
CUDA = resolve_backend(TORCH, "cuda")  # the variant a cuda project of it uses


def render_project(path, manager, backend, index_url):
    return render(
        path,
        project_name="Demo",
        package_manager=manager,
        torch_version=TORCH,
        torch_backend=backend,
        python_version="3.11",
        pytorch_index_url=index_url,
    )


def index_urls(project, manager) -> dict[str, str]:
    """Index name -> URL, as the project's own files give them to its manager."""
    if manager == "pip":
        lines = []
        for requirements in sorted(project.glob("requirements*.txt")):
            lines += requirements.read_text().splitlines()
        return {line.split()[1]: line.split()[1] for line in lines if "index-url" in line}
    tool = load_toml(project / "pyproject.toml")["tool"]
    entries = tool["uv"]["index"] if manager == "uv" else tool["poetry"]["source"]
    return {entry["name"]: entry["url"] for entry in entries}


@pytest.mark.parametrize("manager", MANAGERS)
def test_a_mirror_with_one_repository_per_variant_gets_the_variant_in_place(tmp_path, manager):
    """A cuda project with the cpu extra (the default), answered with a URL template."""
    project = render_project(tmp_path / "project", manager, "cuda", NEXUS)
    urls = set(index_urls(project, manager).values())
    assert urls == {
        f"https://nexus.example/repository/pytorch-{CUDA}/simple",
        "https://nexus.example/repository/pytorch-cpu/simple",
    }
    readme = (project / "README.md").read_text()
    assert all(url in readme for url in urls)


def test_a_base_url_gets_the_variant_appended(tmp_path):
    project = render_project(tmp_path / "project", "uv", "cuda", "https://mirror.example/whl/")
    assert index_urls(project, "uv") == {
        f"pytorch-{CUDA}": f"https://mirror.example/whl/{CUDA}",
        "pytorch-cpu": "https://mirror.example/whl/cpu",
    }


@pytest.mark.parametrize("manager", MANAGERS)
def test_the_readme_names_a_login_command_for_every_index(tmp_path, manager):
    """A ROCm project with the cpu extra uses two indexes, one with a dotted name: the README
    gives each of them a line the manager reads (uv's variables are valid shell names)."""
    project = render_project(tmp_path / "project", manager, "rocm", NEXUS)
    [lines] = readme_commands(project, "PyTorch indexes")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    names = list(build(answers).indexes)
    assert names == ["pytorch-rocm7.2", "pytorch-cpu"]
    if manager == "uv":
        assert lines == [
            "export UV_INDEX_PYTORCH_ROCM7_2_USERNAME=USER UV_INDEX_PYTORCH_ROCM7_2_PASSWORD="
            "PASSWORD",
            "export UV_INDEX_PYTORCH_CPU_USERNAME=USER UV_INDEX_PYTORCH_CPU_PASSWORD=PASSWORD",
        ]
    elif manager == "poetry":
        assert lines == [f"poetry config http-basic.{name} USER PASSWORD" for name in names]
    else:  # one host serves both
        assert lines == [
            'echo "machine nexus.example login USER password PASSWORD" >> ~/.netrc'
            " && chmod 600 ~/.netrc"
        ]


@pytest.mark.tools
@pytest.mark.parametrize("manager", ["uv", "poetry"])
def test_a_project_locks_against_a_mirror_with_one_repository_per_variant(tmp_path, manager):
    with StandInIndex(IndexContent(model=one_release(), layout=LAYOUT)) as index:
        assert index.url.endswith("/repository/pytorch-{variant}/simple")
        project = render_project(tmp_path / "project", manager, "cuda", index.url)
        if manager == "poetry":
            adapt_poetry_to_simple_api(project)
        sh(f"{manager} lock", project)
    root = index.url.split("/repository/")[0]
    assert torch_sources(project, manager) == {
        f"{root}/repository/pytorch-{CUDA}/simple",
        f"{root}/repository/pytorch-cpu/simple",
    }


def login_commands(project) -> str:
    """The README's login lines, with this test's login in place of USER and PASSWORD."""
    [lines] = readme_commands(project, "PyTorch indexes")
    login = {"USER": USER, "PASSWORD": PASSWORD}
    return " && ".join(
        re.sub(r"\b(USER|PASSWORD)\b", lambda m: login[m[1]], line) for line in lines
    )


# What each manager does with the indexes: lock (uv, poetry), or install the requirements (pip).
RESOLVE = {
    "uv": "uv lock",
    "poetry": "poetry lock",
    "pip": "python3.11 -m venv .venv && .venv/bin/pip install -r requirements.txt",
}


@pytest.mark.tools
@pytest.mark.parametrize("manager", MANAGERS)
def test_the_readme_login_commands_let_a_project_resolve_against_a_mirror_that_asks(
    tmp_path, manager
):
    """A ROCm project with the cpu extra (two indexes, `pytorch-rocm7.2` dotted), against a
    mirror that asks for HTTP Basic auth: without a login the lock (pip: the install) fails;
    after the README's login commands, and nothing else, it succeeds."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),  # ~/.netrc
        "POETRY_CONFIG_DIR": str(home / "poetry-config"),
        "POETRY_KEYRING_ENABLED": "false",  # the test leaves the machine's keyring alone
        "PIP_NO_INPUT": "1",  # pip would ask for the login on a terminal
    }
    content = IndexContent(model=one_release(), credentials=(USER, PASSWORD))
    with StandInIndex(content) as index:
        project = render_project(tmp_path / "project", manager, "rocm", index.url)
        if manager == "poetry":
            adapt_poetry_to_simple_api(project)
        refused = subprocess.run(
            RESOLVE[manager],
            shell=True,
            cwd=project,
            env=tool_env(POETRY_CACHE_DIR=str(tmp_path / "cache-refused"), **env),
            capture_output=True,
            text=True,
        )
        said = refused.stdout + refused.stderr
        assert refused.returncode != 0, said
        if manager != "pip":  # pip, refused a page, reports "(from versions: none)"
            assert "401" in said or "uthoriz" in said, said
        sh(f"{login_commands(project)} && {RESOLVE[manager]}", project, **env)
    if manager == "pip":
        python = project / ".venv" / "bin" / "python"
        assert installed_version(python, "torch") == "2.13.0+rocm7.2"
    else:
        assert torch_sources(project, manager) == {f"{index.url}/rocm7.2", f"{index.url}/cpu"}


def torch_sources(project, manager) -> set[str]:
    """The indexes the lock takes torch from, besides PyPI (poetry takes PyPI's macOS build:
    see `extensions.index_model.plan`)."""
    locked = locked_packages(project, manager)
    pypi = pypi_simple_url().rstrip("/")
    return {p["source"].rstrip("/") for p in locked if p["name"] == "torch"} - {pypi}


def one_release(torch: str = "2.13.0") -> Model:
    """The template's model with one torch release: a smaller stand-in."""
    return dataclasses.replace(MODEL, releases={torch: MODEL.releases[torch]})


@pytest.mark.tools
@pytest.mark.parametrize("manager", ["uv", "pip"])
def test_a_mirror_on_an_ipv6_address_serves_uv_and_pip(tmp_path, manager):
    """A mirror answered by its IPv6 address (`http://[::1]:PORT/whl`, as `https://[2001:db8::1]`
    would be) is taken as written, and uv and pip resolve the project against it. (poetry
    2.5.1's lock fails on it, `'%5b::1%5d:PORT' is not a valid host or port`: a poetry project
    is refused such a URL at copy time, `extensions/index_urls.py`.)"""
    with StandInIndex(IndexContent(model=one_release()), host="::1") as index:
        assert index.url.startswith("http://[::1]:")
        project = render_project(tmp_path / "project", manager, "cpu", index.url)
        assert set(index_urls(project, manager).values()) == {f"{index.url}/cpu"}
        sh(RESOLVE[manager], project)
    if manager == "uv":
        assert torch_sources(project, manager) == {f"{index.url}/cpu"}
    else:
        assert installed_version(project / ".venv/bin/python", "torch") == "2.13.0+cpu"

"""Resolution with the real tools: each generated project, pointed at the stand-in PyTorch
index, with a hostile default index in place of PyPI, locks and installs with its README's own
commands; it gets exactly the intended build, every package of the torch family and every
package only the index hosts from the PyTorch index, and nothing from the hostile index."""

import os
import re
import shutil
import subprocess

import pytest
import yaml
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from extensions.build import build
from extensions.index_model import FAMILIES, MANAGERS, MODEL, PYPI, load_matrix, load_model
from tests.pytorch_index import (
    HOSTILE,
    PYTORCH_INDEX,
    HostileContent,
    IndexContent,
    StandInIndex,
    pinned_version,
)
from tests.tools import (
    TEMPLATE,
    adapt_poetry_to_simple_api,
    default_index_env,
    install_as_readme_says,
    installed_version,
    load_toml,
    pypi_simple_url,
    readme_commands,
    render,
    sh,
    tool_env,
)

pytestmark = pytest.mark.tools

PYTHON = "3.11"


@pytest.fixture(scope="session")
def hostile_index():
    """A default index that passes PyPI through but serves its own torch family, higher
    versions and the exact pins, and the packages only the PyTorch index hosts."""
    with StandInIndex(HostileContent(upstream_url=pypi_simple_url())) as index:
        yield index


def render_project(path, manager, backend, index_url, **more):
    return render(
        path,
        project_name="Demo",
        package_manager=manager,
        torch_version="2.13.0",
        torch_backend=backend,
        python_version=PYTHON,
        pytorch_index_url=index_url,
        **more,
    )


@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize("backend", FAMILIES)
def test_the_readme_install_takes_the_torch_family_from_the_pytorch_index_alone(
    tmp_path, stand_in_index, hostile_index, manager, backend
):
    """`torch_backend` with the default `extra_backends` (a GPU backend: also `cpu`), installed
    with the README's install line; every backend of the lock checked on every platform."""
    project = render_project(tmp_path / "project", manager, backend, stand_in_index.url)
    the_build = build(yaml.safe_load((project / ".copier-answers.yml").read_text()))
    python = install_as_readme_says(project, manager, default_index=hostile_index.url)

    label = the_build.plan.sources["linux-x86_64"].label  # this machine
    assert installed_version(python, "torch") == f"2.13.0+{label}"
    assert installed_version(python, "torchvision") == f"0.28.0+{label}"
    origins = installed_origins(python)
    assert HOSTILE not in origins.values(), origins
    for requirement in the_build.plan.requirements():
        assert origins[canonicalize_name(requirement.name)] == PYTORCH_INDEX
    if manager != "pip":
        check_the_lock(project, manager, the_build, stand_in_index.url, hostile_index.url)
    if the_build.extras:
        switch_backends_as_readme_says(project, python, the_build, hostile_index.url)


def switch_backends_as_readme_says(project, python, the_build, default_index):
    """The README's line for each backend (### Backends) installs that backend's build."""
    lines = readme_commands(project, "Install")[2]
    assert len(lines) == len(the_build.backends)
    for line, backend in zip(reversed(lines), reversed(the_build.backends), strict=True):
        sh(
            line.split("  #")[0],
            project,
            PATH=f"{python.parent}{os.pathsep}{tool_env()['PATH']}",  # the activated venv
            **default_index_env(default_index),
        )
        label = backend.plan.sources["linux-x86_64"].label
        assert installed_version(python, "torch") == f"2.13.0+{label}", line


def installed_origins(python) -> dict[str, str]:
    """Distribution -> its Summary (the stand-ins' stubs say where they came from)."""
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.metadata['Summary'] or '' "
        "for d in m.distributions()}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return {canonicalize_name(k): v for k, v in yaml.safe_load(out.stdout).items()}


def expected_installs(the_build, backend, platform) -> dict[str, str]:
    """Package -> the version each torch-family and index-only package must have on
    `platform` with `backend`: the label of the index the plan names there."""
    source = backend.plan.sources[platform]
    label = f"+{source.label}" if source.label else ""
    expected = {name: version + label for name, version in the_build.pins.items()}
    environment = {**MODEL.platforms.by_name[platform].environment(PYTHON), "extra": ""}
    if source.index == backend.variant:
        expected |= {
            canonicalize_name(r.name): pinned_version(r)
            for r in backend.plan.requirements()
            if not r.marker or r.marker.evaluate(environment)
        }
    return expected


def check_the_lock(project, manager, the_build, index_url, hostile_url):
    """Each backend of the lock installs, on each platform, the build README.md and the doctor
    name, with its index-only packages where its index is used; the torch family and the
    index-only packages are locked from the PyTorch indexes only (poetry: PyPI's CPU build
    where the plan says so); no CUDA library in a CPU backend; no hostile higher version."""
    family = set(the_build.pins) | {
        canonicalize_name(r.name) for b in the_build.backends for r in b.plan.requirements()
    }
    locked = locked_packages(project, manager)
    assert not any(p["version"].startswith("99") for p in locked), locked
    for package in locked:
        if canonicalize_name(package["name"]) in family:
            assert package["source"].startswith(index_url) or (
                manager == "poetry" and package["source"] == hostile_url
            ), package
    for backend in the_build.backends:
        for platform in MODEL.platforms.by_name.values():
            if manager == "uv":
                installs = uv_dry_run(project, backend, platform, the_build, hostile_url)
            else:
                installs = poetry_locked_for(locked, backend, platform, hostile_url)
            where = f"{backend.extra or backend.variant} on {platform.title}"
            expected = expected_installs(the_build, backend, platform.name)
            assert {n: installs.get(n) for n in family if n in installs or n in expected} == (
                expected
            ), where
            if backend.plan.builds()[platform.name] == "cpu":
                cuda = [n for n in installs if n.startswith(("nvidia-", "cuda-"))]
                assert not cuda, f"{where}: a CPU build brings {cuda}"


def uv_dry_run(project, backend, platform, the_build, default_index) -> dict[str, str]:
    """What `uv sync` would install from the lock on `platform`: name -> version."""
    extra = f"--extra {backend.extra} " if backend.extra else ""
    out = sh(
        f"uv sync --dry-run --locked {extra}--python-platform {platform.uv_platform} 2>&1",
        project,
        900,
        MACOSX_DEPLOYMENT_TARGET=the_build.plan.release.macos,
        UV_PROJECT_ENVIRONMENT=str(project.parent / "empty-environment"),  # lists everything
        **default_index_env(default_index),
    )
    found = re.findall(r"^ \+ (\S+)==(\S+)", out, flags=re.M)
    return {canonicalize_name(name): version for name, version in found}


def poetry_locked_for(locked, backend, platform, hostile_url) -> dict[str, str]:
    """The packages of poetry.lock that apply on `platform` with `backend`'s extra; a package
    from the default index must be an unlabeled build of the platform the plan sends there."""
    environment = {**platform.environment(PYTHON), "extra": backend.extra}
    found: dict[str, str] = {}
    for package in locked:
        if package["marker"] is None:
            continue
        if not package["marker"] or Marker(package["marker"]).evaluate(environment):
            name = canonicalize_name(package["name"])
            assert name not in found, f"{name} locked twice for {platform.title}"
            found[name] = package["version"]
            if package["source"] == hostile_url and name in backend.plan.packages:
                assert backend.plan.sources[platform.name].index == PYPI, package
    return found


def main_group_marker(markers) -> str | None:
    """poetry.lock writes `markers = {main = "...", dev = "..."}` for a package that several
    dependency groups need under different markers: the project's own (main) one counts;
    None for a package of the dev group alone."""
    return markers.get("main") if isinstance(markers, dict) else markers


def locked_packages(project, manager) -> list[dict]:
    """Every locked package: name, version, source URL, the marker where it applies (poetry)."""
    if manager == "uv":
        return [
            {
                "name": p["name"],
                "version": p["version"],
                "source": p["source"].get("registry", ""),
                "marker": "",
            }
            for p in load_toml(project / "uv.lock")["package"]
        ]
    return [
        {
            "name": p["name"],
            "version": p["version"],
            "source": p.get("source", {}).get("url", ""),
            "marker": main_group_marker(p.get("markers", "")),
        }
        for p in load_toml(project / "poetry.lock")["package"]
    ]


@pytest.mark.parametrize("manager", ["uv", "poetry"])
def test_a_python_patch_release_a_library_excludes_locks(tmp_path, manager):
    """torchvision 0.26-0.29 declare `Requires-Python: >=3.10,!=3.14.1`, and poetry's solver
    crashed on a project's `==3.14.*`. No Python 3.14 here: the same shape one minor lower, in
    a copy of the template whose torchvision excludes 3.11.4."""
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=shutil.ignore_patterns(".git", ".venv", "*cache*"))
    facts_path = template / "extensions" / "index_facts.yml"
    facts = yaml.safe_load(facts_path.read_text())
    excluded = ">=3.10,!=3.11.4"
    facts["releases"]["2.13.0"]["libraries"]["torchvision"]["requires_python"] = excluded
    facts_path.write_text(yaml.safe_dump(facts))
    with StandInIndex(IndexContent(model=load_model(load_matrix(), facts))) as index:
        project = render_project(tmp_path / "project", manager, "cpu", index.url, template=template)
        assert load_toml(project / "pyproject.toml")["project"]["requires-python"] == (
            "==3.11.*,!=3.11.4"
        )
        if manager == "poetry":
            adapt_poetry_to_simple_api(project)
        sh(f"{manager} lock", project)


def test_an_unreachable_mirror_fails_the_install_with_its_address(tmp_path):
    project = render_project(tmp_path / "project", "uv", "cpu", "http://127.0.0.1:9/whl")
    with pytest.raises(pytest.fail.Exception) as failed:
        install_as_readme_says(project, "uv")
    assert "127.0.0.1:9/whl/cpu" in str(failed.value)


@pytest.mark.parametrize("manager", MANAGERS)
def test_torchcodec_installs_beside_torchaudio_from_the_pytorch_index(
    tmp_path, stand_in_index, hostile_index, manager
):
    """Choosing torchaudio brings torchcodec (torchaudio's load/save need it), pinned from the
    matrix and installed from the PyTorch index like the rest of the family."""
    project = render_project(
        tmp_path / "project", manager, "cu130", stand_in_index.url, torch_libraries=["torchaudio"]
    )
    the_build = build(yaml.safe_load((project / ".copier-answers.yml").read_text()))
    assert the_build.pins["torchcodec"] == "0.16.0"
    python = install_as_readme_says(project, manager, default_index=hostile_index.url)
    assert installed_version(python, "torchaudio") == "2.11.0+cu130"
    assert installed_version(python, "torchcodec") == "0.16.0+cu130"
    assert installed_origins(python)["torchcodec"] == PYTORCH_INDEX


@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_the_recommended_default_project_installs(
    tmp_path, stand_in_index, hostile_index, manager, backend
):
    """The defaults (recommended torch, torchvision) as a user takes them, on Python 3.11."""
    project = render(
        tmp_path / "project",
        project_name="Demo",
        package_manager=manager,
        torch_backend=backend,
        python_version=PYTHON,
        pytorch_index_url=stand_in_index.url,
    )
    the_build = build(yaml.safe_load((project / ".copier-answers.yml").read_text()))
    assert the_build.torch == MODEL.releases[the_build.torch].torch
    python = install_as_readme_says(project, manager, default_index=hostile_index.url)
    label = the_build.plan.sources["linux-x86_64"].label
    assert installed_version(python, "torch") == f"{the_build.torch}+{label}"
    assert installed_version(python, "torchvision") == f"{the_build.pins['torchvision']}+{label}"
    assert HOSTILE not in installed_origins(python).values()


def test_a_pip_project_installs_its_lock_with_hashes_required(tmp_path, stand_in_index):
    """The README's install writes `pylock.toml` (the torch family from the PyTorch index,
    numpy and the dev tools from PyPI, every file with its hash); CI's steps install it in a
    new environment with hashes required; a file whose hash differs is refused."""
    project = render_project(tmp_path / "project", "pip", "cpu", stand_in_index.url)
    the_build = build(yaml.safe_load((project / ".copier-answers.yml").read_text()))
    install_as_readme_says(project, "pip")

    lock = load_toml(project / "pylock.toml")
    packages = {canonicalize_name(p["name"]): p for p in lock["packages"]}
    assert {"numpy", "pytest", "ruff", "mypy", "torch", "torchvision"} <= set(packages)
    assert "demo" not in packages  # the project itself: `pip install --no-deps -e .`
    from_pytorch = set()
    for name, package in packages.items():
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert files and all(f["hashes"]["sha256"] for f in files), name
        if all(f["url"].startswith(stand_in_index.url) for f in files):
            from_pytorch.add(name)
    assert set(the_build.pins) <= from_pytorch
    assert not {"numpy", "pytest", "ruff", "mypy"} & from_pytorch

    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    steps = [step["run"] for step in ci["jobs"]["test"]["steps"] if "run" in step]
    install = steps[steps.index(f"python -m pip install pip=={MODEL.tools['pip']}") :]
    install = install[: install.index("pip check") + 1]
    assert "pip install --require-hashes -r pylock.toml" in install
    ci_env = tmp_path / "ci"
    sh(f"python{PYTHON} -m venv {ci_env}", project)
    activated = {"PATH": f"{ci_env / 'bin'}{os.pathsep}{tool_env()['PATH']}"}
    sh(" && ".join(install), project, **activated)
    label = the_build.plan.sources["linux-x86_64"].label
    assert installed_version(ci_env / "bin" / "python", "torch") == f"{the_build.torch}+{label}"
    assert installed_version(ci_env / "bin" / "python", "numpy") == packages["numpy"]["version"]

    text = (project / "pylock.toml").read_text()
    sha = packages["pytest"]["wheels"][0]["hashes"]["sha256"]
    (project / "pylock.toml").write_text(text.replace(sha, "0" * 64))
    refused = subprocess.run(
        "pip install --force-reinstall --require-hashes -r pylock.toml",
        shell=True,
        cwd=project,
        env=tool_env(**activated),
        capture_output=True,
        text=True,
    )
    assert refused.returncode and "THESE PACKAGES DO NOT MATCH THE HASHES" in refused.stderr

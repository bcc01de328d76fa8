"""Resolution with the real tools: each generated project, pointed at the stand-in PyTorch
index, with a hostile default index in place of PyPI, locks and installs with its README's own
commands; it gets exactly the intended build, every package of the torch family and every
package only the index hosts from the PyTorch index, and nothing from the hostile index."""

import shutil
import subprocess

import pytest
import yaml
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from extensions.index_model import PYPI, load_model
from extensions.torch_matrix import build, load_matrix, model
from tests.pytorch_index import HOSTILE, PYTORCH_INDEX, HostileContent, IndexContent, StandInIndex
from tests.tools import (
    TEMPLATE,
    adapt_poetry_to_simple_api,
    install_as_readme_says,
    installed_version,
    load_toml,
    pypi_simple_url,
    render,
    sh,
)

pytestmark = pytest.mark.tools

MANAGERS = ["uv", "poetry", "pip"]
FAMILIES = ["cpu", "cuda", "rocm", "xpu"]
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


def installed_origins(python) -> dict[str, str]:
    """Distribution -> its Summary (the stand-ins' stubs say where they came from)."""
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.metadata['Summary'] or '' "
        "for d in m.distributions()}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return {canonicalize_name(k): v for k, v in yaml.safe_load(out.stdout).items()}


def locked_packages(project, manager) -> list[dict]:
    """Every locked package: name, version, source URL, the marker where it applies."""
    if manager == "uv":
        return [
            {
                "name": p["name"],
                "version": p["version"],
                "source": p["source"].get("registry", ""),
                "marker": " or ".join(p.get("resolution-markers", [])),
            }
            for p in load_toml(project / "uv.lock")["package"]
        ]
    return [
        {
            "name": p["name"],
            "version": p["version"],
            "source": p.get("source", {}).get("url", ""),
            "marker": p.get("markers", ""),
        }
        for p in load_toml(project / "poetry.lock")["package"]
    ]


def check_the_lock(project, manager, the_build, index_url, hostile_url):
    """For each platform, the lock holds the build README.md and the doctor name, from the
    index the plan names; PyPI's build only where the plan says so (poetry: an unlabeled CPU
    wheel), never a CUDA library in a CPU project, never a hostile higher version."""
    packages = locked_packages(project, manager)
    names = {canonicalize_name(p["name"]) for p in packages}
    assert not any(p["version"].startswith("99") for p in packages), packages
    if the_build.variant == "cpu":
        cuda = sorted(n for n in names if n.startswith(("nvidia-", "cuda-")))
        assert not cuda, f"a CPU project locked CUDA packages: {cuda}"
    index_only = {canonicalize_name(r.name) for r in the_build.plan.requirements()}
    family = set(the_build.pins) | index_only
    for platform in model().platforms.by_name.values():
        environment = platform.environment(PYTHON)
        source = the_build.plan.sources[platform.name]
        for name in family:
            if name in index_only and source.index != the_build.variant:
                continue
            builds = [
                p
                for p in packages
                if canonicalize_name(p["name"]) == name
                and (not p["marker"] or Marker(p["marker"]).evaluate(environment))
            ]
            where = f"{name} on {platform.title}"
            assert builds, f"the lock has no {where}"
            for locked in builds:
                if source.index == PYPI:
                    assert locked["source"] == hostile_url, where
                    assert "+" not in locked["version"], where
                else:
                    assert locked["source"] == f"{index_url}/{source.index}", where
                    if name in the_build.pins:
                        expected = the_build.pins[name]
                        if source.label:
                            expected += f"+{source.label}"
                        assert locked["version"] == expected, where


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

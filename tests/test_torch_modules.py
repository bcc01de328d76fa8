"""The modules a torch install brings, which a project package may not be named after, are
read from the wheels (`maintainers/torch_modules.py`), and the recorded list is what the real
torch 2.13.0 CPU wheel and the wheels pip installs with it hold, and what its GPU builds
require: PyPI's CUDA build's wheels, read by range requests (here from the stand-in PyPI), and
the index-only triton builds of ROCm and XPU."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from extensions.answers import TORCH_INSTALLS, load_torch_modules, package_name_error
from extensions.index_model import MODEL
from maintainers import torch_modules
from tests.pypi_stand_in import LINUX_ARM, LINUX_X86, PyPIContent, Release
from tests.pytorch_index import download_real_cpu_torch
from tests.stand_in_server import StandInServer
from tests.tools import pypi_simple_url


@pytest.mark.parametrize(
    ("members", "modules"),
    [
        (
            ["torch/__init__.py", "torchgen/model.py", "functorch/__init__.py"],
            ["functorch", "torch", "torchgen"],
        ),
        (
            ["typing_extensions.py", "typing_extensions-4.16.0.dist-info/RECORD"],
            ["typing_extensions"],
        ),
        (
            ["sympy/__init__.py", "isympy.py", "sympy-1.14.0.dist-info/METADATA"],
            ["isympy", "sympy"],
        ),
        (
            ["_cffi_backend.cpython-311-x86_64-linux-gnu.so", "cffi/__init__.py"],
            ["_cffi_backend", "cffi"],
        ),
        (["distutils-precedence.pth", "_distutils_hack/__init__.py"], ["_distutils_hack"]),
        (["torch.libs/libgomp.so.1", "torch/_C.so"], ["torch"]),  # auditwheel's folder: no module
        (["pkg-1.0.data/purelib/extra.py", "pkg-1.0.data/scripts/run"], ["extra"]),
    ],
)
def test_top_level_modules_are_read_from_a_wheels_file_list(members, modules):
    assert torch_modules.top_level_modules(members) == modules


def test_every_recorded_module_is_refused_as_a_package_name():
    recorded = load_torch_modules()
    assert set(recorded["torch"]) == {"functorch", "torch", "torchgen"}
    for module in TORCH_INSTALLS:
        assert "would shadow the" in package_name_error(module), module  # setuptools: a dev tool


@pytest.mark.tools
def test_the_recorded_modules_are_those_of_the_real_torch_wheels(tmp_path):
    """`pip download torch==2.13.0` (the +cpu build these machines hold, and what pip resolves
    with it): the maintainers' check finds every distribution recorded with its modules."""
    wheels = download_real_cpu_torch(tmp_path)
    names = {canonicalize_name(w.name.split("-")[0]) for w in wheels}
    assert {"torch", "sympy", "mpmath", "typing-extensions", "networkx", "jinja2"} <= names
    assert torch_modules.main([str(tmp_path), "--check"]) == 0
    found = torch_modules.read_wheels(tmp_path)
    assert found["torch"] == ["functorch", "torch", "torchgen"]
    assert {name: list(load_torch_modules()[name]) for name in found} == found


def test_the_tool_writes_what_it_reads_and_checks_against_it(tmp_path):
    """Stand-in wheels: the tool writes their modules, `--check` then agrees, and a wheel that
    gained a module is drift (exit 1)."""
    folder = tmp_path / "wheels"
    folder.mkdir()

    def wheel(name, version, members):
        with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as archive:
            for member in [*members, f"{name}-{version}.dist-info/RECORD"]:
                archive.writestr(member, "")

    wheel("torch", "2.13.0", ["torch/__init__.py", "functorch/__init__.py"])
    wheel("sympy", "1.14.0", ["sympy/__init__.py", "isympy.py"])
    output = tmp_path / "torch_modules.yml"
    assert torch_modules.main([str(folder), "--output", str(output)]) == 0
    written = torch_modules.recorded(output)
    assert written["torch"] == "2.13.0"
    assert written["modules"] == {"sympy": ["isympy", "sympy"], "torch": ["functorch", "torch"]}
    assert torch_modules.main([str(folder), "--check", "--output", str(output)]) == 0
    wheel("sympy", "1.15.0", ["sympy/__init__.py", "isympy.py", "newmod.py"])
    (folder / "sympy-1.14.0-py3-none-any.whl").unlink()
    assert torch_modules.main([str(folder), "--check", "--output", str(output)]) == 1
    (tmp_path / "empty").mkdir()
    assert torch_modules.main([str(tmp_path / "empty"), "--check"]) == 2


def test_what_gpu_builds_bring_is_refused_as_a_package_name():
    """CUDA builds install the `nvidia` namespace (cuBLAS, cuDNN, ...) and `cuda`
    (cuda-bindings), CUDA, ROCm and XPU builds `triton` (torch.compile's compiler)."""
    recorded = load_torch_modules()
    assert recorded["triton"] == ("triton",)
    assert recorded["nvidia-cublas"] == ("nvidia",)
    for family in ("rocm", "xpu"):  # their index-only triton builds
        names = torch_modules.index_only_names()
        assert any(family in name for name in names), family
        assert all(recorded[canonicalize_name(name)] == ("triton",) for name in names)
    for module, installer in [("nvidia", "nvidia-cublas"), ("triton", "triton")]:
        assert package_name_error(module) == (
            f"Use e.g. 'my_{module}': '{module}' would shadow the module of the same name "
            f"({installer}, a dependency of torch, installs it)."
        )
    assert "(cuda-bindings, a dependency of torch, installs it)" in package_name_error("cuda")


def linux(python: str = "py3-none") -> tuple[str, ...]:
    return (f"{python}-{LINUX_X86}", f"{python}-{LINUX_ARM}")


# PyPI's CUDA build of torch and what it requires, in small: a meta package whose extras name
# the libraries, NVIDIA's namespace wheels, triton. Not served: what the walk must not read
# (filelock: read from the folder; an extra nobody asks for; another system's requirement).
GPU_PYPI = [
    Release(
        "torch",
        "2.13.0",
        linux("cp311-cp311"),
        (
            "filelock",
            'cuda-toolkit[cublas]==13.0.3; platform_system == "Linux"',
            'nvidia-cudnn-cu13==9.20.0.48; platform_system == "Linux"',
            'triton==3.7.1; platform_system == "Linux" and python_version < "3.15"',
            'windows-only==1.0; platform_system == "Windows"',
            'optree>=0.13.0; extra == "optree"',
        ),
    ),
    Release(
        "cuda-toolkit",
        "13.0.3",
        ("py3-none-any",),
        (
            'nvidia-cublas==13.1.*; sys_platform == "linux" and extra == "cublas"',
            'nvidia-cufft==12.0.*; sys_platform == "linux" and extra == "cufft"',
        ),
        package="-",
    ),
    Release("nvidia-cublas", "13.1.1", linux(), package="nvidia/cublas", padding=2_000_000),
    Release("nvidia-cublas", "13.2.0", linux(), package="nvidia/cublas"),
    Release("nvidia-cudnn-cu13", "9.20.0.48", linux(), ("nvidia-cublas",), package="nvidia/cudnn"),
    Release("triton", "3.7.1", linux("cp311-cp311")),
    Release("triton", "3.7.1", linux("cp312-cp312")),
]


def fake_wheel(folder, filename, members):
    """A wheel of `members` (empty files), with its RECORD."""
    name, version = filename.split("-")[:2]
    with zipfile.ZipFile(folder / filename, "w") as archive:
        for member in [*members, f"{name}-{version}.dist-info/RECORD"]:
            archive.writestr(member, "")


def test_the_tool_reads_what_pypis_cuda_build_requires_by_range_requests(tmp_path):
    """`--pypi`: from the folder's torch (2.13.0, CPython 3.11), PyPI's torch wheel for each
    platform where the model says PyPI's build is CUDA; its Requires-Dist there, followed
    through the extras asked for; each wheel's modules from its file list, read by range
    requests; the index-only triton builds get triton's modules; `--check` then agrees."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    fake_wheel(folder, f"torch-2.13.0+cpu-cp311-cp311-{LINUX_X86}.whl", ["torch/__init__.py"])
    fake_wheel(folder, "filelock-4.3.2-py3-none-any.whl", ["filelock/__init__.py"])
    output = tmp_path / "torch_modules.yml"
    with StandInServer(PyPIContent(GPU_PYPI)) as pypi:
        pypi_args = ["--pypi", "--pypi-url", pypi.url, "--output", str(output)]
        assert torch_modules.main([str(folder), *pypi_args]) == 0
        assert torch_modules.main([str(folder), "--check", *pypi_args]) == 0
    written = torch_modules.recorded(output)
    triton_builds = {canonicalize_name(n): ["triton"] for n in torch_modules.index_only_names()}
    assert written["index_only"] == sorted(triton_builds)
    assert written["modules"] == {
        "cuda-toolkit": [],
        "filelock": ["filelock"],
        "nvidia-cublas": ["nvidia"],
        "nvidia-cudnn-cu13": ["nvidia"],
        "torch": ["torch"],
        "triton": ["triton"],
        **triton_builds,
    }
    cublas = "nvidia_cublas-13.1.1-py3-none-manylinux_2_28_x86_64.whl"  # 13.2.0: not admitted
    assert {cublas, "torch-2.13.0-cp311-cp311-manylinux_2_28_aarch64.whl"} <= set(
        written["read_from_pypi"]
    )
    size = len(pypi.content.wheel(cublas) or b"")
    assert pypi.content.served[f"/files/{cublas}"] < size / 10  # its central directory only
    # Rewriting without --pypi would drop them: refused, the file left as it is.
    before = output.read_text()
    assert torch_modules.main([str(folder), "--output", str(output)]) == 2
    assert output.read_text() == before


def test_an_index_only_dependency_that_is_no_triton_build_is_not_guessed():
    with pytest.raises(ValueError, match="only the PyTorch index hosts it"):
        torch_modules.index_only(["rocm-sdk-core"], {"triton": ["triton"]})
    with pytest.raises(ValueError, match="no triton wheel was read"):
        torch_modules.index_only(["triton-rocm"], {})


@pytest.mark.live
def test_the_recorded_gpu_modules_are_what_pypi_serves_today(tmp_path):
    """The real CPU wheels, and what PyPI's CUDA build of the same torch requires, read from
    the real PyPI by range requests (seconds): the recorded file agrees."""
    download_real_cpu_torch(tmp_path)
    assert torch_modules.main([str(tmp_path), "--pypi", "--check"]) == 0


def test_the_dev_tools_modules_are_refused_naming_the_tool_that_brings_them():
    """A package named `yaml` would shadow the PyYAML pre-commit runs with (each hook, each
    test): the dev group's modules are refused like torch's, the message names the dev tool."""
    recorded = torch_modules.recorded()["dev_tools"]
    assert set(torch_modules.DEV_GROUP) <= set(recorded)
    by_module = {m: (name, e["installed_by"]) for name, e in recorded.items() for m in e["modules"]}
    for module in ("yaml", "pre_commit_hooks", "identify", "virtualenv", "pygments", "cfgv"):
        distribution, tool = by_module[module]
        error = package_name_error(module)
        assert error.startswith(f"Use e.g. 'my_{module}': '{module}' would shadow the module"), (
            error
        )
        assert f"the dev tool {tool}" in error, error
        assert distribution in error, error
    assert "(pyyaml, which the dev tool pre-commit needs, installs it)" in package_name_error(
        "yaml"
    )


def dev_wheel(folder, name, version, modules, requires=()):
    """A wheel of `name` with one package per module and its Requires-Dist."""
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    stem = f"{name.replace('-', '_')}-{version}"
    with zipfile.ZipFile(folder / f"{stem}-py3-none-any.whl", "w") as archive:
        for module in modules:
            archive.writestr(f"{module}/__init__.py", "")
        archive.writestr(f"{stem}.dist-info/METADATA", metadata)


def test_the_tool_reads_the_dev_tools_and_which_tool_requires_each(tmp_path):
    """`--dev-tools FOLDER`: each wheel a dev tool requires (Requires-Dist, followed; a marker
    that does not hold and an extra are not) is recorded with that tool and its modules;
    `--check` agrees, and a wheel that gained a module is drift."""
    torch_folder, dev = tmp_path / "torch", tmp_path / "dev"
    torch_folder.mkdir(), dev.mkdir()
    fake_wheel(torch_folder, "torch-2.13.0-py3-none-any.whl", ["torch/__init__.py"])
    dev_wheel(
        dev,
        "pytest",
        "9.0",
        ["pytest", "_pytest"],
        ["pygments>=2", 'colorama; sys_platform == "win32"'],
    )
    dev_wheel(dev, "pygments", "2.21", ["pygments"])
    dev_wheel(dev, "pre-commit", "4.7", ["pre_commit"], ["pyyaml>=5", 'tomli; extra == "toml"'])
    dev_wheel(dev, "pyyaml", "6.0", ["yaml", "_yaml"])
    dev_wheel(dev, "tomli", "2.0", ["tomli"])
    output = tmp_path / "torch_modules.yml"
    args = [str(torch_folder), "--output", str(output)]
    tools = ("pre-commit", "pytest")

    written = torch_modules.read_dev_tools(dev, tools)
    assert written == {
        "pre-commit": {"installed_by": "pre-commit", "modules": ["pre_commit"]},
        "pygments": {"installed_by": "pytest", "modules": ["pygments"]},
        "pytest": {"installed_by": "pytest", "modules": ["_pytest", "pytest"]},
        "pyyaml": {"installed_by": "pre-commit", "modules": ["_yaml", "yaml"]},
    }
    with pytest.raises(ValueError, match="no wheel of the dev tool ruff"):
        torch_modules.read_dev_tools(dev, ("ruff",))
    dev_wheel(dev, "ruff", "0.14", ["ruff"])
    for tool in set(torch_modules.DEV_GROUP) - {"pytest", "pre-commit", "ruff"}:
        dev_wheel(dev, tool, "1.0", [tool.replace("-", "_")])
    assert torch_modules.main([*args, "--dev-tools", str(dev)]) == 0
    recorded = torch_modules.recorded(output)
    assert recorded["dev_tools"]["pyyaml"] == written["pyyaml"]
    assert "pyyaml-6.0-py3-none-any.whl" in recorded["dev_tools_read_from"]
    assert torch_modules.main([*args, "--check", "--dev-tools", str(dev)]) == 0
    assert torch_modules.main(args) == 2  # would drop the dev tools: refused
    dev_wheel(dev, "pyyaml", "6.0", ["yaml", "_yaml", "yaml2"])
    assert torch_modules.main([*args, "--check", "--dev-tools", str(dev)]) == 1


@pytest.mark.tools
def test_the_recorded_dev_tools_modules_are_those_of_their_wheels_today(tmp_path):
    """`pip download` of the generated project's dev group: what the file records agrees."""
    requirements = [
        f"{name}>={MODEL.tools[name.replace('-', '_')]}" for name in torch_modules.DEV_GROUP
    ]
    python = Path(sys.base_prefix) / "bin" / "python3.11"  # this environment has no pip
    download = [python, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", tmp_path]
    environment = {**os.environ, "PIP_INDEX_URL": pypi_simple_url()}
    subprocess.run([*download, *requirements], check=True, env=environment)
    found = torch_modules.read_dev_tools(tmp_path)
    assert torch_modules.drift(found, torch_modules.recorded()["dev_tools"]) == []

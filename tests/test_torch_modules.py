"""The modules a torch install brings, which a project package may not be named after, are
read from the wheels (`maintainers/torch_modules.py`), and the recorded list is what the real
torch 2.13.0 CPU wheel and the wheels pip installs with it hold."""

from __future__ import annotations

import zipfile

import pytest
from packaging.utils import canonicalize_name

from extensions.answers import TORCH_INSTALLS, load_torch_modules, package_name_error
from maintainers import torch_modules
from tests.pytorch_index import download_real_cpu_torch


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

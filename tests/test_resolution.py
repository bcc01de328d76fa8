"""Resolution with the real tools: each generated project, pointed at the stand-in PyTorch
index, installs with its README's own commands, and gets exactly the intended torch build."""

import pytest

from tests.tools import install_as_readme_says, installed_version, load_toml, render

pytestmark = pytest.mark.tools

MANAGERS = ["uv", "poetry", "pip"]
# torch_backend answer -> the local version label torch 2.13.0 must carry on Linux x86_64
BACKENDS = {
    "cpu": "cpu",
    "cuda": "cu130",
    "rocm": "rocm7.2",
    "xpu": "xpu",
    "cu126": "cu126",
    "rocm7.1": "rocm7.1",
}


@pytest.mark.parametrize("manager", MANAGERS)
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_the_readme_install_gets_the_intended_build(tmp_path, stand_in_index, manager, backend):
    project = render(
        tmp_path / "project",
        project_name="Demo",
        package_manager=manager,
        torch_version="2.13.0",
        torch_backend=backend,
        python_version="3.11",
        pytorch_index_url=stand_in_index.url,
    )
    python = install_as_readme_says(project, manager)
    label = BACKENDS[backend]
    assert installed_version(python, "torch") == f"2.13.0+{label}"
    assert installed_version(python, "torchvision") == f"0.28.0+{label}"
    if manager == "uv":
        assert_macos_gets_an_unlabeled_build(project / "uv.lock")


def assert_macos_gets_an_unlabeled_build(lock_path):
    """uv#9209 / #10059: a universal lock must not give macOS a +cpu or +cuXYZ wheel."""
    packages = load_toml(lock_path)["package"]
    for name in ("torch", "torchvision"):
        macos = [
            package
            for package in packages
            if package["name"] == name
            and any("macosx" in wheel["url"] for wheel in package.get("wheels", []))
        ]
        assert macos, f"the lock has no macOS build of {name}"
        for package in macos:
            assert "+" not in package["version"], package["version"]
            assert not any("macosx" not in w["url"] and "+" in w["url"] for w in package["wheels"])


def test_an_unreachable_mirror_fails_the_install_with_its_address(tmp_path):
    project = render(
        tmp_path / "project",
        project_name="Demo",
        torch_version="2.13.0",
        python_version="3.11",
        pytorch_index_url="http://127.0.0.1:9/whl",
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        install_as_readme_says(project, "uv")
    assert "127.0.0.1:9/whl/cpu" in str(failed.value)

"""Resolution with the real tools: each generated project, pointed at the stand-in PyTorch
index, installs with its README's own commands, and gets exactly the intended torch build."""

import pytest
from packaging.markers import Marker

from extensions.torch_matrix import index_platforms
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
    if manager in ("uv", "poetry"):
        assert_the_lock_installs_on_every_platform(project, manager, label)


# (sys_platform, platform_machine) -> what a wheel for it is named with
PLATFORMS = {
    ("linux", "x86_64"): "manylinux_2_28_x86_64",
    ("linux", "aarch64"): "aarch64",
    ("darwin", "arm64"): "macosx",
    ("win32", "AMD64"): "win_amd64",
}
EVERYWHERE = "python_version > '0'"


def locked(project, manager: str, name: str) -> list[tuple[str, str, list[str]]]:
    """(marker, version, wheel files) of each locked build of `name`."""
    if manager == "uv":
        packages = load_toml(project / "uv.lock")["package"]
        return [
            (
                " or ".join(p.get("resolution-markers", [])) or EVERYWHERE,
                p["version"],
                [wheel["url"] for wheel in p.get("wheels", [])],
            )
            for p in packages
            if p["name"] == name
        ]
    packages = load_toml(project / "poetry.lock")["package"]
    return [
        (p.get("markers") or EVERYWHERE, p["version"], [file["file"] for file in p["files"]])
        for p in packages
        if p["name"] == name
    ]


def assert_the_lock_installs_on_every_platform(project, manager, label):
    """A universal lock must hold a wheel for each platform, and give the platforms the
    variant's index does not serve (macOS always) an unlabeled build: never `+cpu` or
    `+cuXYZ` on a Mac (uv#9209, #10059; poetry#7597), never the Linux x86_64 `+cpu` build
    to Linux aarch64 (poetry locks one version per marker)."""
    on_index = Marker(index_platforms(label, manager)[0])
    for (sys_platform, machine), wheel_tag in PLATFORMS.items():
        environment = {
            "sys_platform": sys_platform,
            "platform_machine": machine,
            "python_full_version": "3.11.7",
            "python_version": "3.11",
            "platform_python_implementation": "CPython",
            "implementation_name": "cpython",
        }
        for name in ("torch", "torchvision"):
            where = f"{name} on {sys_platform} {machine}"
            builds = [
                build
                for build in locked(project, manager, name)
                if Marker(build[0]).evaluate(environment)
            ]
            assert builds, f"the lock has no {where}"
            for _, version, files in builds:
                assert any(wheel_tag in f and "cp311" in f for f in files), f"no wheel: {where}"
                if not on_index.evaluate(environment):
                    assert "+" not in version, f"{where}: {version}"


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

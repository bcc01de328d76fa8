"""The model of the PyTorch index, and where each platform of a project gets its build."""

import itertools
import re
import urllib.request

import pytest
from packaging.markers import Marker
from packaging.utils import parse_wheel_filename

from extensions import configs
from extensions.build import build, requires_python
from extensions.index_model import (
    CPU,
    MANAGERS,
    MODEL,
    PYPI,
    Variant,
    family_of,
    load_facts,
    ordered,
    plan,
)

PLATFORMS = MODEL.platforms
LIBRARY_SETS = [(), ("torchvision",), ("torchvision", "torchaudio")]


def every_plan():
    for release in MODEL.releases.values():
        for variant, manager, libraries in itertools.product(
            release.variants, MANAGERS, LIBRARY_SETS
        ):
            libraries = tuple(n for n in libraries if variant not in release.libraries[n].missing)
            yield plan(release, variant, ("torch", *libraries), PLATFORMS, manager), manager


def test_every_release_has_index_facts_with_named_evidence():
    facts = load_facts()
    for torch in MODEL.releases:
        row = facts["releases"][torch]
        for fact, sources in row["evidence"].items():
            assert fact in row or fact == "variants", f"{torch}: evidence for no fact {fact}"
            assert set(sources.split()) <= set(facts["sources"]), f"{torch}: {sources}"


@pytest.mark.parametrize(
    ("sys_platform", "machine", "expected"),
    [
        ("linux", "x86_64", "linux-x86_64"),
        ("linux", "aarch64", "linux-aarch64"),
        ("linux", "ppc64le", "linux-x86_64"),  # no wheel anywhere: counted with x86_64
        ("win32", "AMD64", "windows-x86_64"),
        ("win32", "ARM64", "windows-x86_64"),
        ("darwin", "arm64", "macos-arm64"),
        ("darwin", "x86_64", "macos-arm64"),
        ("freebsd14", "amd64", "macos-arm64"),  # no wheel anywhere: never another index
    ],
)
def test_the_platform_markers_partition_every_machine(sys_platform, machine, expected):
    environment = {"sys_platform": sys_platform, "platform_machine": machine}
    matching = [
        p.name for p in PLATFORMS.by_name.values() if Marker(p.marker).evaluate(environment)
    ]
    assert matching == [expected]


def test_every_platform_gets_a_build_and_never_pypis_cuda_build_in_place_of_another():
    for the_plan, manager in every_plan():
        release, where = the_plan.release, f"{the_plan.release.torch} {the_plan.variant} {manager}"
        assert set(the_plan.sources) == set(PLATFORMS.by_name), where
        for platform, source in the_plan.sources.items():
            if source.index == PYPI:
                # only poetry, only where the PyTorch indexes' wheel is unlabeled, only a CPU build
                assert manager == "poetry", where
                assert release.pypi_builds[platform] == CPU, where
                continue
            assert source.index in (the_plan.variant, CPU), where
            for package in the_plan.packages:
                assert platform in release.platforms_of(source.index, package), where
            if manager == "poetry":
                assert source.label, f"{where}: poetry cannot lock an unlabeled {platform} wheel"
        builds = the_plan.builds()
        assert all(b in (the_plan.variant, CPU) for b in builds.values()), where


def test_the_variant_is_used_wherever_its_index_has_every_package():
    for the_plan, manager in every_plan():
        for platform in PLATFORMS.by_name:
            has_all = all(
                platform in the_plan.release.platforms_of(the_plan.variant, package)
                for package in the_plan.packages
            )
            label = the_plan.release.label(the_plan.variant, platform)
            if has_all and (label or manager != "poetry"):
                assert the_plan.sources[platform].index == the_plan.variant


def test_each_index_marker_selects_exactly_its_platforms():
    for the_plan, _ in every_plan():
        for index in [*the_plan.indexes, PYPI]:
            marker = the_plan.marker(index)
            for platform in PLATFORMS.by_name.values():
                uses = the_plan.sources[platform.name].index == index
                selected = Marker(marker).evaluate(platform.environment("3.12")) if marker else True
                assert selected == uses or not any(
                    s.index == index for s in the_plan.sources.values()
                ), (the_plan.release.torch, the_plan.variant, index, platform.name)


def test_index_only_dependencies_are_bound_to_their_variant_where_it_is_used():
    rocm = plan(MODEL.releases["2.13.0"], "rocm7.2", ("torch",), PLATFORMS, "uv")
    assert [str(r) for r in rocm.requirements()] == [
        'triton-rocm==3.7.1; platform_system == "Linux" and python_version < "3.15" and '
        'sys_platform == "linux" and platform_machine != "aarch64"'
    ]
    assert configs.uv_sources([configs.Backend("rocm", rocm)])["triton-rocm"] == [
        {"index": "pytorch-rocm7.2", "marker": rocm.marker("rocm7.2")}
    ]
    xpu = plan(MODEL.releases["2.9.1"], "xpu", ("torch",), PLATFORMS, "poetry")
    assert xpu.requirements()[0].name == "pytorch-triton-xpu"
    assert configs.poetry_dependencies([configs.Backend("xpu", xpu)])["pytorch-triton-xpu"] == [
        {"markers": xpu.marker("xpu"), "source": "pytorch-xpu"}
    ]
    for the_plan, _ in every_plan():
        expected = {"rocm", "xpu"}
        if family_of(the_plan.variant) in expected:
            assert the_plan.requirements(), (the_plan.release.torch, the_plan.variant)


def test_a_cuda_project_whose_torchvision_lacks_aarch64_wheels_installs_the_cpu_build_there():
    release = MODEL.releases["2.9.1"]
    the_plan = plan(release, "cu130", ("torch", "torchvision"), PLATFORMS, "poetry")
    assert the_plan.builds() == {
        "linux-x86_64": "cu130",
        "linux-aarch64": "cpu",
        "windows-x86_64": "cu130",
        "macos-arm64": "cpu",
    }
    # without torchvision, torch's own cu130 aarch64 wheel is used
    alone = plan(release, "cu130", ("torch",), PLATFORMS, "poetry")
    assert alone.builds()["linux-aarch64"] == "cu130"


def test_pip_requirements_name_only_pytorch_indexes_and_each_platforms_label():
    the_plan = plan(MODEL.releases["2.13.0"], "rocm7.2", ("torch",), PLATFORMS, "pip")
    assert configs.pip_requirements(the_plan, {"torch": "2.13.0"}, "https://m.example/whl") == [
        "--index-url https://m.example/whl/rocm7.2",
        "--extra-index-url https://m.example/whl/cpu",
        "torch==2.13.0+rocm7.2 ; sys_platform == 'linux' and platform_machine != 'aarch64'",
        "torch==2.13.0 ; sys_platform != 'linux' and sys_platform != 'win32'",
        "torch==2.13.0+cpu ; (sys_platform == 'linux' and platform_machine == 'aarch64') or "
        "sys_platform == 'win32'",
    ]


def test_requires_python_leaves_out_the_patch_releases_a_library_excludes():
    torchvision = MODEL.releases["2.13.0"].libraries["torchvision"]
    assert requires_python("3.14", [torchvision]) == "==3.14.*,!=3.14.1"
    assert requires_python("3.12", [torchvision]) == "==3.12.*"
    assert requires_python("3.14", []) == "==3.14.*"


def test_the_build_gives_every_file_the_same_plan():
    answers = {
        "package_manager": "uv",
        "torch_version": "2.13.0",
        "torch_backend": "xpu",
        "python_version": "3.11",
        "torch_libraries": ["torchvision"],
        "pytorch_index_url": "https://download.pytorch.org/whl/",
    }
    result = build(answers)
    assert result.indexes == {
        "pytorch-xpu": "https://download.pytorch.org/whl/xpu",
        "pytorch-cpu": "https://download.pytorch.org/whl/cpu",
    }
    assert result.dependencies[""][:2] == ["torch==2.13.0", "torchvision==0.28.0"]
    assert result.dependencies[""][2].startswith("triton-xpu==3.7.2;")
    assert set(result.uv_sources) == {"torch", "torchvision", "triton-xpu"}
    assert result.expected_builds == {
        ("linux", "x86_64"): ("xpu",),
        ("linux", "aarch64"): ("cpu",),
        ("win32", "AMD64"): ("xpu",),
        ("darwin", "arm64"): ("cpu",),
    }


@pytest.mark.parametrize(
    ("torch", "variant"),
    [("2.13.0", "cpu"), ("2.13.0", "rocm7.2"), ("2.9.1", "cu130"), ("2.14.1", "xpu")],
)
def test_the_stand_in_index_serves_what_the_model_says(stand_in_index, torch, variant):
    """Each package page lists, for this release, one build per platform the model gives the
    variant, with the model's local label and platform tag; the index-only packages are on
    their variant's page."""
    release = MODEL.releases[torch]
    for package in ("torch", "torchvision"):
        served = set()
        base = torch if package == "torch" else release.libraries[package].version
        for name in page_wheels(f"{stand_in_index.url}/{variant}/{package}/"):
            _, version, _, tags = parse_wheel_filename(name)
            if version.base_version == base:
                served |= {(str(version), tag.platform) for tag in tags}
        expected = set()
        for platform in release.platforms_of(variant, package):
            label = release.label(variant, platform)
            tag = PLATFORMS.by_name[platform].wheel_tag.format(
                macos=release.macos.replace(".", "_")
            )
            expected.add((f"{base}+{label}" if label else base, tag))
        assert served == expected, (package, variant)
    for requirement in release.requirements(variant):
        assert page_wheels(f"{stand_in_index.url}/{variant}/{requirement.name}/")


def page_wheels(url: str) -> list[str]:
    with urllib.request.urlopen(url) as response:
        return re.findall(r">([^<>]+\.whl)<", response.read().decode())


def test_one_variant_type_parses_and_orders_every_variant_name():
    names = ["xpu", "rocm7.14", "cu132", "cpu", "rocm6.2.4", "cu118", "rocm7.2", "cu126", "cuda"]
    assert [str(v) for v in sorted(map(Variant.parse, names))] == [
        "cpu",
        "cuda",  # a family named alone comes before its variants
        "cu118",
        "cu126",
        "cu132",
        "rocm6.2.4",
        "rocm7.2",
        "rocm7.14",  # by version, not as text
        "xpu",
    ]
    assert Variant.parse("cu130").family == "cuda" and Variant.parse("rocm7.2").family == "rocm"
    assert Variant.parse("cpu").is_family and not Variant.parse("rocm6.2.4").is_family
    for name in ("nightly", "cpu-cxx11-abi", "cu", "cu12.1", "rocm7.x", "torch", ""):
        assert not Variant.is_name(name), name
        with pytest.raises(ValueError, match="is not a PyTorch index variant"):
            Variant.parse(name)
    assert Variant.is_index_variant("rocm7.14") and not Variant.is_index_variant("cuda")


def test_every_variant_of_the_matrix_is_a_variant_of_a_known_family():
    for release in MODEL.releases.values():
        for name in release.variants:
            variant = Variant.parse(name)
            assert Variant.is_index_variant(name) and variant.family in release.families
        assert list(release.variants) == ordered(release.variants), release.torch

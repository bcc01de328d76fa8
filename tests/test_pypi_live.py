"""One read of the real PyPI (the index pip would use here): what `maintainers.pypi` derives
from torch 2.15.0's listing and its wheels' METADATA (one range read per platform) is what was
measured on 2026-11-30. Marked `live`: not run by default (`pytest -m live` runs it)."""

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from maintainers import pypi


@pytest.mark.live
def test_pypi_holds_torch_2_15_0_for_python_3_11_to_3_15_with_cuda_13_2_on_linux():
    release = pypi.release_facts(pypi.default_index_url(), "2.15.0")
    assert release.requires_python == SpecifierSet(">=3.11")
    assert release.wheels.pythons == ("3.11", "3.12", "3.13", "3.14", "3.15")
    assert release.wheels.free_threaded == ("3.14t", "3.15t")
    assert release.wheels.platforms == (
        "linux-aarch64",
        "linux-x86_64",
        "macos-arm64",
        "windows-x86_64",
    )
    assert release.wheels.missing == {}
    assert release.wheels.macos_minimum == Version("14.0")
    assert {platform: build.build for platform, build in release.builds.items()} == {
        "linux-aarch64": "cu132",
        "linux-x86_64": "cu132",
        "macos-arm64": "cpu",
        "windows-x86_64": "cpu",
    }
    assert release.triton.specifier == SpecifierSet("~=3.9.0")


@pytest.mark.live
def test_every_row_of_the_matrix_is_what_pypi_says_today():
    """Each row's Pythons are PyPI's CPython wheel tags, each pinned library admits the torch
    by its Requires-Dist (or declares none), and its newest patch is the matrix's."""
    from extensions.index_model import load_matrix

    index = pypi.default_index_url()
    matrix = load_matrix()
    listing = pypi.wheels(index, "torch")
    newest = pypi.newest_patches(w.version for w in listing)
    libraries = {
        name: {str(r.version): r for r in pypi.library_releases(index, name, SpecifierSet(spec))}
        for name, spec in (("torchvision", ">=0.21"), ("torchaudio", ">=2.6"))
    }
    for torch, row in matrix["releases"].items():
        version = Version(torch)
        assert newest[f"{version.major}.{version.minor}"] == version, torch
        release = pypi.release_facts(index, torch, listing=listing)
        assert list(release.wheels.pythons) == row["python"], torch
        for name, releases in libraries.items():
            pinned = releases[row[name]["version"]]
            assert pinned.torch is None or pinned.torch.contains(version), (torch, name)


@pytest.mark.live
def test_refresh_check_reports_torchcodec_0_17_0_from_the_real_pypi(tmp_path, monkeypatch, capsys):
    """`refresh --check` against the real PyPI, on copies of the files: torchcodec 0.17.0 (on
    PyPI since 2026-09-30, paired with no torch yet) is reported with why. Where the PyTorch
    index is unreachable (these machines) the check is incomplete (3), else it is drift (1)."""
    import shutil

    from extensions.index_model import FACTS_PATH, MATRIX_PATH
    from maintainers import refresh

    for name in ("MATRIX_PATH", "FACTS_PATH", "README_PATH"):
        source = {"MATRIX_PATH": MATRIX_PATH, "FACTS_PATH": FACTS_PATH}.get(name)
        source = source or refresh.README_PATH
        shutil.copy(source, tmp_path / source.name)
        monkeypatch.setattr(refresh, name, tmp_path / source.name)
    assert refresh.main(["--check"]) in (refresh.DRIFT, refresh.INCOMPLETE)
    out = capsys.readouterr().out
    assert "! torchcodec 0.17.0 is on PyPI, not offered: its wheels declare no torch" in out

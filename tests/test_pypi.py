"""`maintainers.pypi` reads what an index says about torch and its libraries: the wheels it
lists, a wheel's METADATA without downloading the wheel, PyPI's default build per platform and
the library release that pairs with a torch release. Against a stand-in PyPI on 127.0.0.1."""

import socket
import zipfile
from email.message import Message

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from maintainers import fetch, pypi
from tests.pypi_stand_in import (
    LINUX_ARM,
    LINUX_X86,
    MACOS_ARM,
    WINDOWS,
    PyPIContent,
    Release,
)
from tests.stand_in_server import Response, StandInServer
from tests.tools import pypi_simple_url

PLATFORMS = (LINUX_X86, LINUX_ARM, WINDOWS, MACOS_ARM)


def tags(pythons: list[str], platforms=PLATFORMS) -> tuple[str, ...]:
    """`cpXY-cpXY-<platform>` tags; "3.14t" gives the free-threaded `cp314-cp314t`."""
    result = []
    for python in pythons:
        digits = python.replace(".", "").rstrip("t")
        abi = f"cp{digits}t" if python.endswith("t") else f"cp{digits}"
        result += [f"cp{digits}-{abi}-{platform}" for platform in platforms]
    return tuple(result)


LINUX = 'platform_system == "Linux"'
TORCH = [
    # 2.10: CUDA 12.8 on Linux x86_64 only; macOS 11+.
    Release(
        "torch",
        "2.10.0",
        tags(["3.10", "3.11", "3.12", "3.13", "3.14"], (LINUX_X86, LINUX_ARM, WINDOWS))
        + tags(["3.10", "3.11", "3.12", "3.13", "3.14"], ("macosx_11_0_arm64",)),
        requires_dist=(
            "filelock",
            f'nvidia-cuda-runtime-cu12==12.8.90; {LINUX} and platform_machine == "x86_64"',
            f'nvidia-cudnn-cu12==9.10.2.21; {LINUX} and platform_machine == "x86_64"',
            f'triton==3.6.0; {LINUX} and platform_machine == "x86_64"',
            'opt-einsum>=3.3; extra == "opt-einsum"',
        ),
        requires_python=">=3.10",
    ),
    # 2.13: CUDA 13.0 on both Linux machines, free-threaded 3.14, macOS 14+.
    *(
        Release(
            "torch",
            version,
            tags(["3.10", "3.11", "3.12", "3.13", "3.14", "3.14t"]),
            requires_dist=(
                f"cuda-toolkit[cublas,cudart]==13.0.3; {LINUX}",
                f"nvidia-cudnn-cu13==9.15.1.9; {LINUX}",
                f'triton==3.7.0; {LINUX} and python_version < "3.15"',
            ),
            requires_python=">=3.10",
        )
        for version in ("2.13.0", "2.14.0", "2.14.1")
    ),
]
LIBRARIES = [
    Release("torchvision", "0.28.0", tags(["3.12"]), ("torch==2.13.0",), ">=3.10"),
    Release("torchvision", "0.29.0", tags(["3.12"]), ("torch==2.14.0",), ">=3.10,!=3.14.1"),
    Release("torchvision", "0.29.1", tags(["3.12"]), ("torch>=2.14.0",), ">=3.10,!=3.14.1"),
    Release("torchaudio", "2.10.0", tags(["3.12"]), ("torch==2.10.0",), ">=3.10"),
    Release("torchaudio", "2.11.0", tags(["3.12"]), (), ">=3.10"),
    Release("torchcodec", "0.10.0", tags(["3.12"], (LINUX_X86,)), (), ">=3.10"),
    Release("torchcodec", "0.11.0", tags(["3.12"], (LINUX_X86,)), (), ">=3.10"),
]


@pytest.fixture(scope="module")
def pypi_url():
    with StandInServer(PyPIContent(TORCH + LIBRARIES)) as stand_in:
        yield stand_in.url


def serve(*releases: Release, **options) -> StandInServer:
    return StandInServer(PyPIContent(list(releases), **options))


BIG = Release(
    "bigpkg",
    "1.0",
    ("cp312-cp312-manylinux_2_28_x86_64",),
    requires_dist=("numpy>=2", 'torch==2.13.0; sys_platform == "linux"'),
    requires_python=">=3.11",
    padding=2_000_000,
)


# --- the file list ---------------------------------------------------------------------------


def test_wheels_lists_each_wheel_with_its_name_tags_and_listing_facts(pypi_url):
    found = pypi.wheels(pypi_url, "torchvision")
    assert [w.filename for w in found] == [
        f"torchvision-{v}-cp312-cp312-{p}.whl"
        for v in ("0.28.0", "0.29.0", "0.29.1")
        for p in PLATFORMS
    ]
    wheel = found[-1]
    assert wheel.name == "torchvision"
    assert wheel.version == Version("0.29.1")
    assert wheel.build == ()
    assert wheel.tags == {Tag("cp312", "cp312", MACOS_ARM)}
    assert wheel.requires_python == SpecifierSet(">=3.10,!=3.14.1")
    assert wheel.upload_time.year == 2026
    assert not wheel.yanked
    assert wheel.url == pypi_url.replace("/simple/", f"/files/{wheel.filename}")
    assert wheel.metadata_url is None


def test_an_index_that_serves_only_pep_503_html_gives_the_same_wheels():
    with serve(*LIBRARIES) as json_index, serve(*LIBRARIES, json=False) as html_index:
        from_json = pypi.wheels(json_index.url, "torchvision")
        from_html = pypi.wheels(html_index.url, "torchvision")
    for listed in (from_json, from_html):
        assert [(w.filename, w.requires_python, w.yanked) for w in listed] == [
            (w.filename, w.requires_python, w.yanked) for w in from_json
        ]
    assert from_html[0].upload_time is None  # PEP 503 pages do not say


def test_an_html_anchor_without_text_is_named_by_its_link():
    page = (
        b'<html><body><a href="/files/torch-2.13.0%2Bcpu-cp312-cp312-win_amd64.whl#sha256=0"></a>'
    )
    with serve(*TORCH) as index:
        index.content.faults["/simple/torch/"] = Response(200, page)
        (wheel,) = pypi.wheels(index.url, "torch")
    assert wheel.filename == "torch-2.13.0+cpu-cp312-cp312-win_amd64.whl"
    assert wheel.version == Version("2.13.0+cpu")


def test_an_anchor_left_open_ends_where_the_next_one_begins():
    """As HTML's parsing rules say: each file keeps its own name and attributes (read in one
    pass: pypi-simple's BeautifulSoup reader nests each such anchor in the one before, its text
    then all the text after it)."""
    names = [f"torch-2.13.0+cpu-cp3{minor}-cp3{minor}-win_amd64.whl" for minor in (11, 12, 13)]
    anchors = [
        f'<a href="{name.replace("+", "%2B")}" data-requires-python="&gt;=3.{minor}">{name}<br>'
        for name, minor in zip(names, (11, 12, 13), strict=True)
    ]
    page = f'<html><head><base href="/files/"></head><body>{"".join(anchors)}'.encode()
    with serve(*TORCH) as index:
        index.content.faults["/simple/torch/"] = Response(200, page)
        found = pypi.wheels(index.url, "torch")
    assert [w.filename for w in found] == names
    assert [str(w.requires_python) for w in found] == [">=3.11", ">=3.12", ">=3.13"]
    assert found[0].url == index.url.replace("/simple/", "/files/") + names[0].replace("+", "%2B")


@pytest.mark.parametrize("json", [True, False], ids=["PEP 691", "PEP 503"])
def test_the_deadline_passing_while_a_listing_is_read_stops_it(json, monkeypatch, slow_step):
    """A slow step between two rows of a page: the deadline, not the page's length, ends it."""
    wheel = pypi._wheel

    def slow_wheel(page_url, package):
        slow_step(3600)
        return wheel(page_url, package)

    monkeypatch.setattr(pypi, "_wheel", slow_wheel)
    with (
        serve(*TORCH, json=json) as index,
        fetch.deadline(60),
        pytest.raises(pypi.PyPIError) as stopped,
    ):
        pypi.wheels(index.url, "torch")
    assert (
        str(stopped.value)
        == f"the 60 s deadline passed while reading the rows of {index.url}torch/"
    )


def test_the_deadline_passing_while_a_page_is_parsed_stops_it(monkeypatch, slow_step):
    """A page parsed piece by piece (`PARSE_CHUNK`), each piece slow: the deadline ends it."""
    feed = pypi._LinkParser.feed

    def slow_feed(parser, text):
        slow_step(3600)
        feed(parser, text)

    monkeypatch.setattr(pypi._LinkParser, "feed", slow_feed)
    with serve(*TORCH, json=False) as index, fetch.deadline(60):
        page = index.content.answer("/simple/torch/", Message()).body
        padded = page + b" " * pypi.PARSE_CHUNK  # two pieces at least
        index.content.faults["/simple/torch/"] = Response(200, padded)
        with pytest.raises(pypi.PyPIError) as stopped:
            pypi.wheels(index.url, "torch")
    assert str(stopped.value) == f"the 60 s deadline passed while parsing {index.url}torch/"


def test_project_names_are_normalized_and_yanked_files_flagged():
    release = Release("Big_Pkg", "1.0", ("py3-none-any",), yanked=True)
    with serve(release) as index:
        (wheel,) = pypi.wheels(index.url, "big.pkg")
    assert wheel.name == "big-pkg"
    assert wheel.yanked


# --- METADATA --------------------------------------------------------------------------------


def test_metadata_is_read_by_range_requests_without_downloading_the_wheel():
    with serve(BIG) as index:
        (wheel,) = pypi.wheels(index.url, "bigpkg")
        meta = pypi.metadata(wheel)
        sent = index.content.served[f"/files/{wheel.filename}"]
        ranges = [r.range for r in index.content.requests if r.path.endswith(".whl")]
    assert meta.name == "bigpkg"
    assert meta.version == Version("1.0")
    assert meta.requires_python == SpecifierSet(">=3.11")
    assert meta.requires_dist == [
        Requirement("numpy>=2"),
        Requirement('torch==2.13.0; sys_platform == "linux"'),
    ]
    assert wheel.size > 2_000_000
    assert sent < wheel.size / 10, f"{sent} of {wheel.size} bytes sent"
    assert all(ranges), "every request for the wheel asks for a range"


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_long_central_directory_takes_a_second_range_read(compression):
    release = Release(
        "manyfiles", "2.0", ("py3-none-any",), ("six",), modules=3000, compression=compression
    )
    with serve(release) as index:
        (wheel,) = pypi.wheels(index.url, "manyfiles")
        meta = pypi.metadata(wheel)
        reads = [r.range for r in index.content.requests if r.path.endswith(".whl")]
        sent = index.content.served[f"/files/{wheel.filename}"]
    assert meta.requires_dist == [Requirement("six")]
    assert len(reads) == 3  # the end, the rest of the central directory, the METADATA member
    assert sent < wheel.size


def test_metadata_falls_back_to_one_full_download_when_the_server_ignores_range():
    with serve(BIG, ranges=False) as index:
        (wheel,) = pypi.wheels(index.url, "bigpkg")
        meta = pypi.metadata(wheel)
        sent = index.content.served[f"/files/{wheel.filename}"]
    assert meta.requires_python == SpecifierSet(">=3.11")
    assert sent == wheel.size


def test_metadata_comes_from_pep_658_when_the_listing_offers_it():
    for json in (True, False):
        with serve(BIG, pep658=True, json=json) as index:
            (wheel,) = pypi.wheels(index.url, "bigpkg")
            meta = pypi.metadata(wheel)
            served = dict(index.content.served)
        assert wheel.metadata_url == f"{wheel.url}.metadata"
        assert meta.requires_dist[0] == Requirement("numpy>=2")
        assert f"/files/{wheel.filename}" not in served
        assert served[f"/files/{wheel.filename}.metadata"] == len(BIG.metadata)


def test_a_pep_658_file_that_does_not_match_its_hash_is_refused():
    with serve(BIG, pep658=True) as index:
        (wheel,) = pypi.wheels(index.url, "bigpkg")
        index.content.faults[f"/files/{wheel.filename}.metadata"] = Response(
            200,
            b"Metadata-Version: 2.1\nName: bigpkg\nVersion: 6.6.6\n",
            "application/octet-stream",
        )
        with pytest.raises(pypi.PyPIError, match="does not match the sha256"):
            pypi.metadata(wheel)


# --- faults ----------------------------------------------------------------------------------

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((500, "text/plain", b"oops"), "answered HTTP 500"),
        ((200, "text/plain", b"Welcome to the proxy"), "is not a package index page"),
        ((200, "application/json", b'{"info": {}}'), "is not a package index page"),
        ((200, JSON_TYPE, b'{"meta": {"api-version": "1.1"}, "files": [}'), "malformed JSON"),
        ((200, JSON_TYPE, b'{"meta": {}, "files": []}'), "is not a PEP 691 project page"),
        (
            (
                200,
                JSON_TYPE,
                b'{"meta": {"api-version": "1.1"}, "name": "torch", "files": '
                b'[{"filename": "torch-2.13.0.tar.gz", "url": "/files/torch-2.13.0.tar.gz", '
                b'"hashes": {}}]}',
            ),
            "lists no wheels of torch",
        ),
        ((200, "text/html", b"<html><body>Nothing here</body></html>"), "lists no wheels"),
    ],
)
def test_a_listing_that_is_no_index_page_is_an_error_that_says_why(answer, message):
    with serve(*TORCH) as index:
        status, content_type, body = answer
        index.content.faults["/simple/torch/"] = Response(status, body, content_type)
        with pytest.raises(pypi.PyPIError, match=message):
            pypi.wheels(index.url, "torch")


def test_an_unknown_project_and_an_unreachable_index_are_errors():
    with serve(*TORCH) as index, pytest.raises(pypi.PyPIError, match="torchfoo/ answered HTTP 404"):
        pypi.wheels(index.url, "torchfoo")
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(pypi.PyPIError, match="cannot reach"):
        pypi.wheels(f"http://127.0.0.1:{port}/simple/", "torch")


def test_a_wheel_that_is_no_zip_archive_is_an_error():
    with serve(BIG) as index:
        (wheel,) = pypi.wheels(index.url, "bigpkg")
        index.content.faults[f"/files/{wheel.filename}"] = Response(200, b"<html>login")
        with pytest.raises(pypi.PyPIError, match="is not a readable zip archive"):
            pypi.metadata(wheel)


# --- torch releases --------------------------------------------------------------------------


def test_release_facts_say_which_pythons_and_platforms_have_wheels(pypi_url):
    release = pypi.release_facts(pypi_url, "2.13.0")
    assert release.wheels.pythons == ("3.10", "3.11", "3.12", "3.13", "3.14")
    assert release.wheels.free_threaded == ("3.14t",)
    assert release.wheels.abi3 == ()
    assert release.wheels.generic == ()
    assert release.wheels.platforms == (
        "linux-aarch64",
        "linux-x86_64",
        "macos-arm64",
        "windows-x86_64",
    )
    assert release.wheels.missing == {}
    assert release.wheels.macos_minimum == Version("14.0")
    assert release.requires_python == SpecifierSet(">=3.10")


def test_the_default_build_per_platform_comes_from_that_platforms_requires_dist(pypi_url):
    new = pypi.release_facts(pypi_url, "2.13.0").builds
    assert {p: b.build for p, b in new.items()} == {
        "linux-aarch64": "cu130",
        "linux-x86_64": "cu130",
        "macos-arm64": "cpu",
        "windows-x86_64": "cpu",
    }
    assert new["linux-x86_64"].cuda == Requirement(
        'cuda-toolkit[cublas,cudart]==13.0.3; platform_system == "Linux"'
    )
    assert str(new["linux-aarch64"].triton.specifier) == "==3.7.0"
    assert new["windows-x86_64"].triton is None
    old = pypi.release_facts(pypi_url, "2.10.0")
    assert {p: b.build for p, b in old.builds.items()} == {
        "linux-aarch64": "cpu",
        "linux-x86_64": "cu128",
        "macos-arm64": "cpu",
        "windows-x86_64": "cpu",
    }
    assert old.wheels.macos_minimum == Version("11.0")
    assert str(old.triton.specifier) == "==3.6.0"


def test_coverage_names_pythons_a_platform_lacks_and_the_oldest_macos_per_python():
    files = [
        Release("torch", "2.10.0", ("cp313-none-macosx_11_0_arm64",)),
        Release(
            "torch", "2.10.0", ("cp314-cp314-macosx_14_0_arm64", "cp314-cp314t-macosx_14_0_arm64")
        ),
        Release("torch", "2.10.0", tags(["3.13", "3.14", "3.14t"], (LINUX_X86, WINDOWS))),
        Release("torch", "2.10.0", ("cp314-cp314t-manylinux_2_28_aarch64",)),
    ]
    with serve(*files) as index:
        covered = pypi.coverage(pypi.wheels(index.url, "torch"))
    assert covered.pythons == ("3.13", "3.14")
    assert covered.free_threaded == ("3.14t",)
    assert covered.missing == {"linux-aarch64": ("3.13", "3.14")}
    assert covered.macos == {
        "3.13": Version("11.0"),
        "3.14": Version("14.0"),
        "3.14t": Version("14.0"),
    }
    assert covered.macos_minimum == Version("11.0")


def test_a_py3_none_wheel_is_for_any_python_its_requires_python_admits():
    files = [Release("torchvision", "0.29.2", ("py3-none-win_amd64", "cp39-abi3-win_amd64"))]
    with serve(*files) as index:
        covered = pypi.coverage(pypi.wheels(index.url, "torchvision"))
    assert (covered.pythons, covered.abi3, covered.generic) == ((), ("3.9+abi3",), ("py3",))


def test_the_wheel_read_is_the_newest_cpython_with_the_highest_build_number():
    macos = ("cp312-none-macosx_11_0_arm64", "cp311-none-macosx_11_0_arm64")
    files = [
        Release("torch", "2.10.0", macos, ("first-build",)),
        Release("torch", "2.10.0", macos, ("second-build",), build="2"),
        Release("torch", "2.10.0", ("cp313-cp313t-macosx_14_0_arm64",), ("free-threaded",)),
    ]
    with serve(*files) as index:
        release = pypi.release_facts(index.url, "2.10.0")
    assert release.builds["macos-arm64"].wheel == "torch-2.10.0-2-cp312-none-macosx_11_0_arm64.whl"


def test_release_facts_read_one_metadata_per_platform():
    with serve(*TORCH) as index:
        pypi.release_facts(index.url, "2.14.1")
        wheels_read = {r.path for r in index.content.requests if r.path.endswith(".whl")}
    assert len(wheels_read) == 4
    assert all("-cp314-cp314-" in path for path in wheels_read), "the newest regular CPython"


def test_a_release_the_index_lacks_is_an_error(pypi_url):
    with pytest.raises(pypi.PyPIError, match="lists no torch 2.99.0 wheels"):
        pypi.release_facts(pypi_url, "2.99.0")


@pytest.mark.parametrize(
    ("requirement", "build"),
    [
        ('cuda-toolkit[cudart,cublas]==13.2.2; platform_system == "Linux"', "cu132"),
        ("cuda-toolkit==13.0.3", "cu130"),
        ("nvidia-cuda-runtime-cu12==12.8.*", "cu128"),
        ("nvidia-cuda-runtime-cu12==12.4.127", "cu124"),
        ("nvidia-cuda-runtime~=13.0.48", "cu130"),
        ("nvidia-cuda-runtime-cu11>=11.8.89,<12", "cu118"),
    ],
)
def test_the_cuda_build_is_named_by_the_runtime_a_wheel_requires(requirement, build):
    found, source = pypi.cuda_build([Requirement("filelock"), Requirement(requirement)])
    assert found == build
    assert source == Requirement(requirement)


def test_a_wheel_without_a_cuda_runtime_requirement_is_the_cpu_build():
    assert pypi.cuda_build([Requirement("filelock"), Requirement("nvidia-nccl-cu13")]) == (
        "cpu",
        None,
    )
    with pytest.raises(pypi.PyPIError, match="names CUDA but no version"):
        pypi.cuda_build([Requirement("cuda-toolkit")])


@pytest.mark.parametrize(
    ("tag", "platform", "macos"),
    [
        ("manylinux_2_28_x86_64", "linux-x86_64", None),
        ("manylinux2014_aarch64", "linux-aarch64", None),
        ("linux_x86_64", "linux-x86_64", None),
        ("musllinux_1_2_x86_64", "linux-musl-x86_64", None),
        ("win_amd64", "windows-x86_64", None),
        ("win_arm64", "windows-arm64", None),
        ("macosx_14_0_arm64", "macos-arm64", Version("14.0")),
        ("macosx_10_9_x86_64", "macos-x86_64", Version("10.9")),
        ("any", "any", None),
    ],
)
def test_platform_tags_name_a_platform_and_the_oldest_macos(tag, platform, macos):
    assert pypi.platform_name(tag) == platform
    assert pypi.macos_minimum(tag) == macos


@pytest.mark.parametrize(
    ("tag", "python"),
    [
        ("cp312-cp312-any", "3.12"),
        ("cp314-cp314t-any", "3.14t"),
        ("cp39-abi3-any", "3.9+abi3"),
        ("py3-none-any", "py3"),
    ],
)
def test_python_tags_name_a_cpython(tag, python):
    assert pypi.python_of(Tag(*tag.split("-"))) == python


def test_newest_patches_takes_the_newest_final_release_of_each_minor():
    versions = map(Version, ["2.9.0", "2.10.0", "2.9.1", "2.14.1", "2.14.0", "2.15.0rc1"])
    assert pypi.newest_patches(versions) == {
        "2.9": Version("2.9.1"),
        "2.10": Version("2.10.0"),
        "2.14": Version("2.14.1"),
    }


# --- pairings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("torch", "torchvision"),
    [
        ("2.13.0", "0.28.0"),  # torch==2.13.0
        ("2.14.0", "0.29.1"),  # 0.29.0 pins it exactly, 0.29.1 admits it too and is newer
        ("2.14.1", "0.29.1"),  # torch>=2.14.0
        ("2.15.0", "0.29.1"),  # no newer torchvision exists: the range admits it
    ],
)
def test_torchvision_pairs_by_its_requires_dist(pypi_url, torch, torchvision):
    found = pypi.pairing(torch, pypi.library_releases(pypi_url, "torchvision"))
    assert found.release.version == Version(torchvision)
    assert found.release.torch.contains(torch)


def test_no_pairing_when_no_library_release_admits_the_torch(pypi_url):
    found = pypi.pairing("2.10.0", pypi.library_releases(pypi_url, "torchvision"))
    assert found.release is None
    assert found.reason == "no torchvision release's Requires-Dist admits torch 2.10.0"


def test_a_torchaudio_without_a_torch_requirement_is_no_evidence_and_is_named(pypi_url):
    releases = pypi.library_releases(pypi_url, "torchaudio")
    assert [(str(r.version), r.torch) for r in releases] == [
        ("2.10.0", SpecifierSet("==2.10.0")),
        ("2.11.0", None),
    ]
    found = pypi.pairing("2.10.0", releases)
    assert found.release.version == Version("2.10.0")
    assert found.unconstrained_newer == (Version("2.11.0"),)
    assert "newer releases declare no torch requirement: 2.11.0" in found.reason
    assert pypi.pairing("2.13.0", releases).release is None


def test_a_library_without_any_torch_requirement_needs_another_source(pypi_url):
    found = pypi.pairing("2.13.0", pypi.library_releases(pypi_url, "torchcodec"))
    assert found.release is None
    assert found.reason == (
        "no torchcodec release declares a torch requirement: the pairing needs another source"
    )


def test_library_releases_can_be_limited_to_a_version_range(pypi_url):
    releases = pypi.library_releases(pypi_url, "torchvision", SpecifierSet(">=0.29"))
    assert [str(r.version) for r in releases] == ["0.29.0", "0.29.1"]
    assert releases[1].requires_python == SpecifierSet(">=3.10,!=3.14.1")


# --- the command -----------------------------------------------------------------------------


def test_the_command_prints_the_facts_of_the_newest_patches_as_yaml(pypi_url, capsys):
    assert (
        pypi.main(["--pypi-url", pypi_url, "--since", "2.13", "--library", "torchvision>=0.29"])
        == 0
    )
    printed = yaml.safe_load(capsys.readouterr().out)
    assert list(printed["torch"]) == ["2.13.0", "2.14.1"]
    facts = printed["torch"]["2.14.1"]
    assert facts["python"] == ["3.10", "3.11", "3.12", "3.13", "3.14"]
    assert facts["default_build"]["linux-x86_64"]["build"] == "cu130"
    assert facts["pairing"]["torchvision"] == {"version": "0.29.1", "torch": ">=2.14.0"}
    assert printed["torch"]["2.13.0"]["pairing"]["torchvision"]["version"] is None
    assert printed["newest_patches"] == {"2.13": "2.13.0", "2.14": "2.14.1"}
    assert printed["libraries"]["torchvision"]["0.29.0"]["torch"] == "==2.14.0"


def test_the_command_reports_a_fault_in_one_line_and_exits_1(capsys):
    with serve(*TORCH) as index:
        index.content.faults["/simple/torch/"] = Response(503, b"busy", "text/plain")
        assert pypi.main(["--pypi-url", index.url, "2.13.0", "--library", "torchvision"]) == 1
    assert (
        capsys.readouterr().err
        == f"error: {index.url}torch/ answered HTTP 503 Service Unavailable (3 tries)\n"
    )


@pytest.mark.parametrize("argument", [["2.x"], ["--library", "torch vision"], ["--since", "two"]])
def test_a_malformed_argument_is_a_usage_error_not_a_traceback(argument, capsys):
    with pytest.raises(SystemExit) as exit:
        pypi.main(["--pypi-url", "http://127.0.0.1:1/simple/", *argument])
    assert exit.value.code == 2
    assert "error: " in capsys.readouterr().err


def test_the_default_index_is_the_one_pip_would_use(monkeypatch):
    monkeypatch.delenv("UV_DEFAULT_INDEX", raising=False)
    monkeypatch.delenv("UV_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:1/mirror/simple/")
    assert pypi.default_index_url() == "http://127.0.0.1:1/mirror/simple/"
    monkeypatch.delenv("PIP_INDEX_URL")
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:2/simple/")
    assert pypi.default_index_url() == "http://127.0.0.1:2/simple/"
    monkeypatch.delenv("UV_DEFAULT_INDEX")
    assert pypi.default_index_url().rstrip("/") == pypi_simple_url().rstrip("/")

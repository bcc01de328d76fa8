"""What a package index (PyPI or a mirror, PEP 503 / PEP 691) says about torch and its libraries.

Maintainers' tooling (`maintainers/`): never loaded by a render; it reads the model in
`extensions/`, which never imports it.

    python -m maintainers.pypi                          # newest patch of each torch minor >= 2.6
    python -m maintainers.pypi 2.15.0 2.14.1 --library "torchvision>=0.28"
    python -m maintainers.pypi --pypi-url URL 2.15.0    # another index (default: pip's)

It reads a project's file list (PEP 691 JSON parsed by pypi-simple, or PEP 503 HTML where an
index offers only that, read by `page_links`: one pass, linear in the page, within the run's
deadline; see there why not pypi-simple's BeautifulSoup reader) and a wheel's METADATA without
downloading the wheel: the index's PEP 658 `.metadata` file when it offers one, else HTTP range
reads of the zip's end, its central directory and the METADATA member (the whole wheel only when
the server ignores `Range`, within `fetch`'s cap on a response). From
those it derives, per torch release, the CPython versions and platforms with wheels,
Requires-Python, PyPI's default build per platform (the CUDA version its Requires-Dist pins) and
the triton requirement; per library release, Requires-Python and the torch requirement, and from
them the pairing of each torch release. Every fault (unreachable index, HTTP error, a page that
is no index, malformed JSON, a listing without wheels, a wheel without METADATA) raises
`PyPIError` with a message. HTTP goes through `maintainers.fetch` (httpx): one deadline,
retries with backoff, no cross-host redirect.
"""

from __future__ import annotations

import argparse
import codecs
import email.message
import hashlib
import io
import json
import os
import sys
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import yaml
from packaging.metadata import InvalidMetadata, Metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    BuildTag,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version
from pypi_simple import DistributionPackage, Link, ProjectPage
from pypi_simple.errors import UnsupportedRepoVersionError
from pypi_simple.util import basejoin, check_repo_version

from extensions.index_model import LIBRARY_NAMES, VARIANT_PREFIXES
from maintainers import fetch

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
# One range read at the end of a wheel: the end record, and for small wheels the whole
# central directory. Reads elsewhere fetch at least this much, so a METADATA member is
# usually one more request.
READ_AHEAD = 64 * 1024
# PEP 508 marker values on each platform a wheel tag names; the Python keys come from the wheel.
ENVIRONMENTS: dict[str, dict[str, str]] = {
    "linux-x86_64": {"platform_machine": "x86_64"},
    "linux-aarch64": {"platform_machine": "aarch64"},
    "windows-x86_64": {"platform_machine": "AMD64"},
    "windows-arm64": {"platform_machine": "ARM64"},
    "macos-arm64": {"platform_machine": "arm64"},
    "macos-x86_64": {"platform_machine": "x86_64"},
}
SYSTEMS = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
    "windows": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
    "macos": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
}
# Requirements that name the CUDA runtime a torch wheel is built for.
CUDA_RUNTIMES = ("cuda-toolkit", "nvidia-cuda-runtime")
STATING_OPERATORS = ("==", "===", "~=", ">=")
# An HTML page is parsed this many characters at a time, the deadline checked between them.
PARSE_CHUNK = 256 * 1024
MAX_LINK_TEXT = 1024  # characters of an anchor's text kept (a file name is under 200)


# Every fault is a PyPIError (NotFound: no such page): the HTTP layer's, with its message.
PyPIError = fetch.FetchError
NotFound = fetch.NotFound


# --- the file list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Wheel:
    """One wheel as the index lists it."""

    filename: str
    url: str
    name: NormalizedName
    version: Version
    build: BuildTag
    tags: frozenset[Tag]
    requires_python: SpecifierSet | None = None
    upload_time: datetime | None = None
    yanked: bool = False
    size: int | None = None
    metadata_url: str | None = None  # PEP 658: the METADATA beside the wheel
    metadata_sha256: str | None = None

    @property
    def platforms(self) -> set[str]:
        return {platform_name(tag.platform) for tag in self.tags}

    @property
    def pythons(self) -> set[str]:
        return {python_of(tag) for tag in self.tags}


def wheels(index_url: str, project: str) -> list[Wheel]:
    """The wheels an index lists for a project, in the listing's order, the run's deadline
    checked between rows. Raises PyPIError."""
    url, page = _project_page(index_url, project)
    # Each row let go once read: a big page's rows and its wheels are never all held at once.
    rows, listed = page.packages[::-1], []
    page.packages.clear()
    while rows:
        fetch.in_time(f"while reading the rows of {url}")
        package = rows.pop()
        if _filename(package).endswith(".whl"):
            listed.append(_wheel(url, package))
    if not listed:
        raise PyPIError(f"{url} lists no wheels of {project}")
    return listed


def versions(index_url: str, project: str) -> set[Version]:
    """Every version an index lists a file of (wheel or sdist; PEP 700 `versions` where the
    page has it); the empty set when the index has no page for the project. File names that
    name no version (old installers, eggs) do not count."""
    try:
        _, page = _project_page(index_url, project)
    except NotFound:
        return set()
    listed = page.versions
    if listed is None:
        listed = [
            p.version for p in page.packages if p.version and p.package_type in ("wheel", "sdist")
        ]
    return {Version(v) for v in listed if v and _is_version(v)}


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _project_page(index_url: str, project: str) -> tuple[str, ProjectPage]:
    """(the page's URL, the page as pypi-simple parses it: PEP 691 JSON or PEP 503 HTML)."""
    url = f"{index_url.rstrip('/')}/{canonicalize_name(project)}/"
    response = fetch.get(url, {"Accept": ACCEPT})
    if response.content_type == JSON_TYPE:
        try:
            data = json.loads(response.body)
        except ValueError as error:
            raise PyPIError(f"{url} answered malformed JSON: {error}") from error
        try:
            return url, ProjectPage.from_json_data(data, response.url)
        except (ValueError, UnsupportedRepoVersionError) as error:
            first = str(error).splitlines()[0]
            raise PyPIError(f"{url} is not a PEP 691 project page: {first}") from error
    if response.content_type in HTML_TYPES:
        packages: list[DistributionPackage] = []
        page = page_links(url, response, lambda link: packages.append(_package(link, project)))
        return url, ProjectPage(project, packages, page.repository_version, last_serial=None)
    raise PyPIError(
        f"{url} is not a package index page (Content-Type: {response.content_type or 'none'})"
    )


@dataclass
class HTMLPage:
    """What `page_links` reads from a PEP 503 page."""

    links: list[Link] = field(default_factory=list)
    repository_version: str | None = None


class _LinkParser(HTMLParser):
    """The anchors of a page as they come: an `<a>` still open when the next one starts ends
    there (as HTML's own parsing rules end it), its text capped at MAX_LINK_TEXT."""

    def __init__(self, base_url: str, each: Callable[[Link], None] | None):
        super().__init__(convert_charrefs=True)
        self.base_url, self.base_seen = base_url, False
        self.page = HTMLPage()
        self.each = each or self.page.links.append
        self.anchor: dict[str, str] | None = None
        self.text: list[str] = []
        self.text_size = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "a":
            self.end_anchor()
            self.anchor = values
        elif tag == "base" and "href" in values and not self.base_seen:
            self.base_url, self.base_seen = basejoin(self.base_url, values["href"]), True
        elif tag == "meta" and values.get("name") == "pypi:repository-version":
            self.page.repository_version = values.get("content")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.end_anchor()

    def handle_data(self, data: str) -> None:
        if self.anchor is not None and self.text_size < MAX_LINK_TEXT:
            self.text.append(data)
            self.text_size += len(data)

    def end_anchor(self) -> None:
        anchor, self.anchor = self.anchor, None
        text = "".join(self.text)[:MAX_LINK_TEXT].strip()
        self.text, self.text_size = [], 0
        if anchor is not None and "href" in anchor:
            url = basejoin(self.base_url, anchor["href"])
            self.each(Link(text=text, url=url, attrs=dict(anchor)))


def page_links(
    url: str, response: fetch.Response, each: Callable[[Link], None] | None = None
) -> HTMLPage:
    """The links of a PEP 503 HTML page (an index root or a project's file list), read in one
    pass with the standard library's tokenizer, `PARSE_CHUNK` bytes at a time, the run's
    deadline checked between them; with `each`, each link is handed to it as it is read
    instead of being kept in the page. Raises PyPIError (the deadline, an unsupported
    repository version).

    Why not pypi-simple's `from_html`: it builds BeautifulSoup's whole tree of the page (some
    15 times the page in memory: 400 MB and 14 s for a 26 MB page), and an anchor left open
    nests every later one inside it, each link's text then being the text of all that follow:
    time and memory grow with the square of the page (4,000 such links: 11 s, 390 MB)."""
    parser = _LinkParser(response.url, each)
    decoder = codecs.getincrementaldecoder(_charset(response.headers))(errors="replace")
    body = memoryview(response.body)
    for start in range(0, len(body), PARSE_CHUNK):
        fetch.in_time(f"while parsing {url}")
        parser.feed(decoder.decode(body[start : start + PARSE_CHUNK]))
    parser.feed(decoder.decode(b"", final=True))
    parser.close()
    parser.end_anchor()
    if parser.page.repository_version is not None:
        try:
            check_repo_version(parser.page.repository_version)
        except UnsupportedRepoVersionError as error:
            raise PyPIError(f"{url}: {error}") from error
    return parser.page


def _charset(headers: Mapping[str, str]) -> str:
    """The Content-Type's charset when Python knows it, else UTF-8 (PEP 503 pages are)."""
    message = email.message.Message()
    message["Content-Type"] = headers.get("Content-Type", "")
    charset = message.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        return "utf-8"
    return charset


def _package(link: Link, project: str) -> DistributionPackage:
    return DistributionPackage.from_link(link, project)


def _filename(package: DistributionPackage) -> str:
    """The file's name: the anchor's text, else the last part of its link."""
    return package.filename or unquote(urlsplit(package.url).path.rsplit("/", 1)[-1])


def _wheel(page_url: str, package: DistributionPackage) -> Wheel:
    filename = _filename(package)
    try:
        name, version, build, tags = parse_wheel_filename(filename)
        specifier = SpecifierSet(package.requires_python) if package.requires_python else None
    except (InvalidWheelFilename, InvalidVersion, InvalidSpecifier) as error:
        raise PyPIError(f"{page_url}: {error}") from error
    return Wheel(
        filename=filename,
        url=package.url,
        name=name,
        version=version,
        build=build,
        tags=tags,
        requires_python=specifier,
        upload_time=package.upload_time,
        yanked=package.is_yanked,
        size=package.size,
        metadata_url=package.metadata_url if package.has_metadata else None,
        metadata_sha256=(package.metadata_digests or {}).get("sha256"),
    )


# --- a wheel's METADATA ----------------------------------------------------------------------


def metadata(wheel: Wheel) -> Metadata:
    """A wheel's core metadata: PEP 658 when offered, else read from the zip by range."""
    if wheel.metadata_url:
        return _parsed_metadata(_core_metadata(wheel), wheel.url)
    return _parsed_metadata(_metadata_member(_open_zip(wheel.url), wheel.url), wheel.url)


def contents(wheel: Wheel) -> tuple[list[str], Metadata]:
    """A wheel's member paths (the zip's central directory, what RECORD lists too) and its
    METADATA, read by HTTP range reads of the zip: its end, the central directory, the METADATA
    member (the whole wheel only when the server ignores `Range`). Raises PyPIError."""
    archive = _open_zip(wheel.url)
    return archive.namelist(), _parsed_metadata(_metadata_member(archive, wheel.url), wheel.url)


def _parsed_metadata(text: bytes, url: str) -> Metadata:
    try:
        parsed = Metadata.from_email(text, validate=False)
        # The fields read here, validated (the others may be anything the wheel says).
        parsed.name, parsed.version, parsed.requires_dist, parsed.requires_python  # noqa: B018
    except (InvalidMetadata, InvalidRequirement, InvalidSpecifier, ValueError) as error:
        raise PyPIError(f"{url}: unreadable METADATA: {error}") from error
    return parsed


def _core_metadata(wheel: Wheel) -> bytes:
    assert wheel.metadata_url
    body = fetch.get(wheel.metadata_url).body
    if wheel.metadata_sha256 and hashlib.sha256(body).hexdigest() != wheel.metadata_sha256:
        raise PyPIError(f"{wheel.metadata_url} does not match the sha256 its listing gives")
    return body


def _metadata_member(archive: zipfile.ZipFile, url: str) -> bytes:
    members = [
        name
        for name in archive.namelist()
        if name.count("/") == 1 and name.split("/")[0].endswith(".dist-info")
        if name.endswith("/METADATA")
    ]
    if len(members) != 1:
        raise PyPIError(f"{url} holds {len(members)} *.dist-info/METADATA files, not one")
    try:
        return archive.read(members[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as error:
        raise PyPIError(f"{url}: cannot read {members[0]}: {error}") from error


def _open_zip(url: str) -> zipfile.ZipFile:
    """A wheel as a zip archive read by ranges; one whole download if the server has none."""
    response = fetch.get(url, {"Range": f"bytes=-{READ_AHEAD}"})
    if response.status == 206:
        start, size = _content_range(url, response.headers)
        source: io.RawIOBase | io.BytesIO = RemoteFile(url, size, {start: response.body})
    else:  # 200: the server ignored Range and sent the whole wheel
        source = io.BytesIO(response.body)
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise PyPIError(f"{url} is not a readable zip archive: {error}") from error


def _content_range(url: str, headers: Mapping[str, str]) -> tuple[int, int]:
    """(first byte, file size) from `Content-Range: bytes 100-199/1000`."""
    value = headers.get("Content-Range", "")
    unit, _, rest = value.partition(" ")
    span, _, size = rest.partition("/")
    first = span.partition("-")[0]
    if unit != "bytes" or not first.isdigit() or not size.isdigit():
        raise PyPIError(f"{url} answered 206 with an unusable Content-Range {value!r}")
    return int(first), int(size)


class RemoteFile(io.RawIOBase):
    """A read-only, seekable view of a file over HTTP: what is not held yet is one range read."""

    def __init__(self, url: str, size: int, chunks: dict[int, bytes]):
        super().__init__()
        self.url, self.size, self.chunks, self.position = url, size, dict(chunks), 0

    @property
    def received(self) -> int:
        """Bytes transferred so far."""
        return sum(map(len, self.chunks.values()))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(f"seek before the start of {self.url}")
        self.position = base + offset
        return self.position

    def readinto(self, buffer) -> int:
        end = min(self.position + len(buffer), self.size)
        if end <= self.position:
            return 0
        data = self._bytes(self.position, end)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def _bytes(self, start: int, end: int) -> bytes:
        for offset, chunk in self.chunks.items():
            if offset <= start and end <= offset + len(chunk):
                return chunk[start - offset : end - offset]
        stop = min(max(end, start + READ_AHEAD), self.size)
        response = fetch.get(self.url, {"Range": f"bytes={start}-{stop - 1}"})
        if response.status == 206:
            first, _ = _content_range(self.url, response.headers)
            chunk = response.body
        else:
            first, chunk = 0, response.body  # the whole file after all
        if first > start or first + len(chunk) < end:
            raise PyPIError(f"{self.url} answered bytes {first}+{len(chunk)}, not {start}-{end}")
        self.chunks[first] = chunk
        return chunk[start - first : end - first]


def default_index_url() -> str:
    """The index pip would use: PIP_INDEX_URL, uv's default index, else pip's (or poetry's)
    built-in PyPI."""
    for variable in ("PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        from pip._internal.models.index import PyPI

        return PyPI.simple_url
    except ImportError:
        pass
    try:
        from poetry.repositories.pypi_repository import PyPiRepository

        return PyPiRepository(disable_cache=True).url
    except ImportError:
        raise PyPIError("no pip or poetry here to name PyPI's URL: pass --pypi-url") from None


# --- tags and markers ------------------------------------------------------------------------


def platform_name(platform_tag: str) -> str:
    """`manylinux_2_28_x86_64` -> linux-x86_64, `win_amd64` -> windows-x86_64,
    `macosx_14_0_arm64` -> macos-arm64 (anything else: the tag itself)."""
    system, _, rest = platform_tag.partition("_")
    if system in ("manylinux", "musllinux"):  # manylinux_2_28_x86_64: glibc 2.28
        rest = rest.split("_", 2)[2]
    if system.startswith(("manylinux", "linux")):  # also manylinux2014_x86_64, linux_x86_64
        return f"linux-{rest}"
    if system == "musllinux":
        return f"linux-musl-{rest}"
    if system == "win":
        return f"windows-{'x86_64' if rest == 'amd64' else rest}"
    if system == "macosx":
        return f"macos-{rest.split('_', 2)[2]}"
    return platform_tag


def macos_minimum(platform_tag: str) -> Version | None:
    """`macosx_14_0_arm64` -> 14.0: the oldest macOS the wheel installs on."""
    system, major, minor, *_ = [*platform_tag.split("_", 3), "", "", ""]
    return Version(f"{major}.{minor}") if system == "macosx" else None


def python_of(tag: Tag) -> str:
    """`cp312-cp312` -> 3.12, `cp314-cp314t` -> 3.14t (free-threaded), `cp39-abi3` -> 3.9+abi3,
    `py3-none` -> py3."""
    if not tag.interpreter.startswith("cp"):
        return tag.interpreter
    digits = tag.interpreter[2:]
    python = f"{digits[0]}.{digits[1:]}"
    if tag.abi == "abi3":
        return f"{python}+abi3"
    return f"{python}t" if tag.abi == f"{tag.interpreter}t" else python


def environment(platform: str, python: str | None = None) -> dict[str, str]:
    """PEP 508 marker values for a platform (and a Python); unnamed keys: this interpreter's."""
    values = {**SYSTEMS[platform.split("-")[0]], **ENVIRONMENTS[platform]}
    if python and python[0].isdigit():
        version = python.rstrip("t").split("+")[0]
        values |= {"python_version": version, "python_full_version": f"{version}.0"}
        values |= {"implementation_name": "cpython", "platform_python_implementation": "CPython"}
    return values


def requirements(meta: Metadata, platform: str, python: str | None) -> list[Requirement]:
    """The Requires-Dist that apply on a platform, without extras."""
    env = environment(platform, python)
    return [r for r in meta.requires_dist or [] if not r.marker or r.marker.evaluate(env)]


def is_regular(python: str) -> bool:
    """A CPython version with its own ABI (3.12), not free-threaded, abi3 or `py3`."""
    return python[0].isdigit() and python[-1] != "t" and "+" not in python


def newest_python(wheel: Wheel) -> str | None:
    """The newest regular CPython a wheel is for."""
    return max(filter(is_regular, wheel.pythons), key=Version, default=None)


def _representative(candidates: Iterable[Wheel]) -> Wheel:
    """The wheel to read for a version (on a platform): newest regular CPython, not yanked,
    highest build number (`torch-2.10.0-2-...` replaces `torch-2.10.0-...`)."""

    def rank(wheel: Wheel):
        python = newest_python(wheel)
        newest = Version(python or "0")
        return (not wheel.yanked, python is not None, newest, wheel.build, wheel.filename)

    return max(candidates, key=rank)


@dataclass(frozen=True)
class Coverage:
    """Which Pythons and platforms a release's wheels are for."""

    pythons: tuple[str, ...]  # CPython versions with cpXY-cpXY wheels, oldest first
    free_threaded: tuple[str, ...]  # cpXY-cpXYt: "3.14t"
    abi3: tuple[str, ...]  # cpXY-abi3: "3.9+abi3"
    generic: tuple[str, ...]  # py3-none: any Python 3 that Requires-Python admits
    platforms: tuple[str, ...]
    missing: dict[str, tuple[str, ...]]  # platform -> the Pythons above without a wheel there
    macos: dict[str, Version]  # Python -> the oldest macOS its wheel installs on

    @property
    def macos_minimum(self) -> Version | None:
        return min(self.macos.values(), default=None)


def coverage(files: Iterable[Wheel]) -> Coverage:
    """What a release's wheel tags cover."""
    tags = [tag for wheel in files for tag in wheel.tags]
    pythons = {python_of(tag) for tag in tags}
    platforms = sorted({platform_name(tag.platform) for tag in tags})
    macos: dict[str, Version] = {}
    for tag in tags:
        if minimum := macos_minimum(tag.platform):
            python = python_of(tag)
            macos[python] = min(macos.get(python, minimum), minimum)
    missing = {
        platform: _sorted_pythons(
            pythons - {python_of(t) for t in tags if platform_name(t.platform) == platform}
        )
        for platform in platforms
    }
    return Coverage(
        pythons=_sorted_pythons(filter(is_regular, pythons)),
        free_threaded=_sorted_pythons(p for p in pythons if p[-1] == "t"),
        abi3=_sorted_pythons(p for p in pythons if p.endswith("+abi3")),
        generic=_sorted_pythons(p for p in pythons if not p[0].isdigit()),
        platforms=tuple(platforms),
        missing={platform: lacking for platform, lacking in missing.items() if lacking},
        macos={python: macos[python] for python in _sorted_pythons(macos)},
    )


def _sorted_pythons(pythons: Iterable[str]) -> tuple[str, ...]:
    """Oldest first; "3.14" before "3.14t" before "3.14+abi3"; "py3" last."""

    def key(python: str):
        number = python.rstrip("t").split("+")[0]
        return (Version(number) if number[0].isdigit() else Version("999"), python)

    return tuple(sorted(set(pythons), key=key))


# --- torch -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultBuild:
    """The build a plain `pip install torch` gets from this index on one platform."""

    platform: str
    wheel: str  # the wheel whose METADATA says so
    build: str  # "cpu" or "cuXYZ"
    cuda: Requirement | None  # the CUDA runtime requirement it was read from
    triton: Requirement | None


@dataclass(frozen=True)
class TorchRelease:
    version: Version
    requires_python: SpecifierSet | None
    wheels: Coverage
    builds: dict[str, DefaultBuild]  # platform -> what the index's wheel is
    uploaded: datetime | None

    @property
    def triton(self) -> Requirement | None:
        return next((b.triton for b in self.builds.values() if b.triton), None)


def cuda_build(applicable: Iterable[Requirement]) -> tuple[str, Requirement | None]:
    """("cu130", `cuda-toolkit==13.0.3`), ("cu128", `nvidia-cuda-runtime-cu12==12.8.*`), or
    ("cpu", None) when no requirement names a CUDA runtime."""
    for requirement in applicable:
        name = canonicalize_name(requirement.name)
        if name.startswith(CUDA_RUNTIMES):
            version = _stated_version(requirement.specifier)
            if version is None:
                raise PyPIError(f"`{requirement}` names CUDA but no version")
            return f"{VARIANT_PREFIXES['cuda']}{version.major}{version.minor}", requirement
    return "cpu", None


def _stated_version(specifier: SpecifierSet) -> Version | None:
    """The version a pin (`==13.0.3`, `==12.8.*`, `~=12.8.1`) or else a lower bound names."""
    stated = [s for s in specifier if s.operator in STATING_OPERATORS]
    stated.sort(key=lambda s: STATING_OPERATORS.index(s.operator))
    return Version(stated[0].version.removesuffix(".*")) if stated else None


def release_facts(
    index_url: str, version: str | Version, *, listing: list[Wheel] | None = None
) -> TorchRelease:
    """What the index holds for one torch release; reads one METADATA per platform."""
    version = Version(str(version))
    listing = listing if listing is not None else wheels(index_url, "torch")
    files = [w for w in listing if w.version == version]
    if not files:
        raise PyPIError(f"{index_url} lists no torch {version} wheels")
    covered = coverage(files)
    builds, requires_python = {}, None
    for platform in covered.platforms:
        wheel = _representative(w for w in files if platform in w.platforms)
        meta = metadata(wheel)
        requires_python = requires_python or meta.requires_python
        if platform not in ENVIRONMENTS:
            continue
        applicable = requirements(meta, platform, newest_python(wheel))
        build, cuda = cuda_build(applicable)
        triton = next((r for r in applicable if canonicalize_name(r.name) == "triton"), None)
        builds[platform] = DefaultBuild(platform, wheel.filename, build, cuda, triton)
    return TorchRelease(
        version=version,
        requires_python=requires_python,
        wheels=covered,
        builds=builds,
        uploaded=min((w.upload_time for w in files if w.upload_time), default=None),
    )


def newest_patches(versions: Iterable[Version]) -> dict[str, Version]:
    """The newest final release of each minor: {"2.14": 2.14.1, ...}, oldest minor first."""
    newest: dict[tuple[int, int], Version] = {}
    for version in versions:
        if not (version.is_prerelease or version.is_devrelease):
            key = (version.major, version.minor)
            newest[key] = max(newest.get(key, version), version)
    return {f"{major}.{minor}": newest[(major, minor)] for major, minor in sorted(newest)}


# --- libraries and pairings ------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryRelease:
    name: NormalizedName
    version: Version
    requires_python: SpecifierSet | None
    torch: SpecifierSet | None  # None: its METADATA declares no torch requirement
    wheel: str  # the wheel whose METADATA says so
    wheels: Coverage
    yanked: bool = False


def library_releases(
    index_url: str,
    project: str,
    versions: SpecifierSet | None = None,
    *,
    listing: list[Wheel] | None = None,
) -> list[LibraryRelease]:
    """Requires-Python and the torch requirement of each release (in `versions`), oldest first;
    one METADATA read per release."""
    listing = listing if listing is not None else wheels(index_url, project)
    by_version: dict[Version, list[Wheel]] = {}
    for wheel in listing:
        if versions is None or wheel.version in versions:
            by_version.setdefault(wheel.version, []).append(wheel)
    return fetch.in_parallel(
        lambda version: _library_release(project, by_version[version], version),
        sorted(by_version),
    )


def _library_release(project: str, files: list[Wheel], version: Version) -> LibraryRelease:
    """One release of a library from its wheels (`files`, all of `version`)."""
    wheel = _representative(files)
    meta = metadata(wheel)
    platform = next((p for p in sorted(wheel.platforms) if p in ENVIRONMENTS), "linux-x86_64")
    torch = [
        r.specifier
        for r in requirements(meta, platform, newest_python(wheel))
        if canonicalize_name(r.name) == "torch"
    ]
    return LibraryRelease(
        name=canonicalize_name(project),
        version=version,
        requires_python=meta.requires_python,
        torch=_intersection(torch) if torch else None,
        wheel=wheel.filename,
        wheels=coverage(files),
        yanked=all(w.yanked for w in files),
    )


def _intersection(specifiers: list[SpecifierSet]) -> SpecifierSet:
    combined = SpecifierSet()
    for specifier in specifiers:
        combined &= specifier
    return combined


@dataclass(frozen=True)
class Pairing:
    """The library release to install beside a torch release, and why."""

    library: NormalizedName
    torch: Version
    release: LibraryRelease | None  # None: the index cannot tell (see reason)
    reason: str
    unconstrained_newer: tuple[Version, ...] = ()  # newer releases without a torch requirement


def pairing(torch: str | Version, releases: list[LibraryRelease]) -> Pairing:
    """The newest library release whose Requires-Dist admits this torch."""
    torch = Version(str(torch))
    name = releases[0].name if releases else canonicalize_name("library")
    usable = [r for r in releases if not r.yanked]
    if not any(r.torch is not None for r in usable):
        return Pairing(
            name,
            torch,
            None,
            f"no {name} release declares a torch requirement: the pairing needs another source",
        )
    admitting = [r for r in usable if r.torch is not None and r.torch.contains(torch, True)]
    if not admitting:
        return Pairing(name, torch, None, f"no {name} release's Requires-Dist admits torch {torch}")
    newest = max(admitting, key=lambda r: r.version)
    unconstrained = tuple(
        r.version for r in usable if r.torch is None and r.version > newest.version
    )
    reason = f"the newest {name} whose Requires-Dist `torch{newest.torch}` admits {torch}"
    if unconstrained:
        reason += "; newer releases declare no torch requirement: " + ", ".join(
            map(str, unconstrained)
        )
    return Pairing(name, torch, newest, reason, unconstrained)


# --- command line ----------------------------------------------------------------------------


def facts(
    index_url: str,
    torch_versions: list[Version],
    libraries: list[Requirement],
    since: Version,
) -> dict:
    """Everything the command prints, as plain data. No torch versions: the newest patch of
    each minor from `since` on."""
    listing = wheels(index_url, "torch")
    available = sorted({w.version for w in listing})
    if not torch_versions:
        torch_versions = [v for v in newest_patches(available).values() if v >= since]
    library_facts = {
        canonicalize_name(r.name): library_releases(index_url, r.name, r.specifier or None)
        for r in libraries
    }
    oldest = min(torch_versions, default=Version("0"))
    result: dict = {
        "index": index_url,
        "newest_patches": {  # of each torch minor from the oldest release asked for on
            minor: str(v) for minor, v in newest_patches(available).items() if v >= oldest
        },
        "torch": {},
        "libraries": {},
    }
    for version in torch_versions:
        release = release_facts(index_url, version, listing=listing)
        result["torch"][str(version)] = _release_data(release) | {
            "pairing": {
                name: _pairing_data(pairing(version, releases))
                for name, releases in library_facts.items()
            }
        }
    for name, releases in library_facts.items():
        result["libraries"][name] = {
            str(r.version): {
                "requires_python": _text(r.requires_python),
                "torch": _text(r.torch) if r.torch is not None else "none declared",
                **({"yanked": True} if r.yanked else {}),
                **_coverage_data(r.wheels),
            }
            for r in releases
        }
    return result


def _text(value) -> str | None:
    return None if value is None else str(value)


def _coverage_data(covered: Coverage) -> dict:
    minimums = set(covered.macos.values())
    return {
        "python": list(covered.pythons),
        "free_threaded": list(covered.free_threaded),
        **({"abi3": list(covered.abi3)} if covered.abi3 else {}),
        **({"generic": list(covered.generic)} if covered.generic else {}),
        "platforms": list(covered.platforms),
        **(
            {"missing": {p: list(m) for p, m in covered.missing.items()}} if covered.missing else {}
        ),
        "macos_minimum": _text(covered.macos_minimum),
        **(
            {"macos_by_python": {p: str(v) for p, v in covered.macos.items()}}
            if len(minimums) > 1
            else {}
        ),
    }


def _release_data(release: TorchRelease) -> dict:
    return {
        "uploaded": release.uploaded.date().isoformat() if release.uploaded else None,
        "requires_python": _text(release.requires_python),
        **_coverage_data(release.wheels),
        "default_build": {
            platform: {
                "build": build.build,
                "cuda": _text(build.cuda),
                "triton": _text(build.triton),
                "read": build.wheel,
            }
            for platform, build in release.builds.items()
        },
    }


def _pairing_data(found: Pairing) -> dict:
    if found.release is None:
        return {"version": None, "why": found.reason}
    return {"version": str(found.release.version), "torch": _text(found.release.torch)}


def dump(result: dict) -> str:
    """YAML with one line per list (Pythons, platforms)."""

    class Dumper(yaml.SafeDumper):
        pass

    def flow(dumper: yaml.SafeDumper, data: list):
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)

    Dumper.add_representer(list, flow)
    return yaml.dump(result, Dumper=Dumper, sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m maintainers.pypi", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("torch", nargs="*", help="torch versions (default: newest patches)")
    parser.add_argument("--pypi-url", help="the index's simple URL (default: the one pip uses)")
    parser.add_argument("--since", default="2.6", help="oldest torch minor by default (2.6)")
    parser.add_argument(
        "--library",
        action="append",
        help='a library, optionally with versions: "torchvision>=0.21" (repeatable; '
        f"default: {', '.join(LIBRARY_NAMES)}, every release)",
    )
    args = parser.parse_args(argv)
    try:
        libraries = [Requirement(r) for r in args.library or LIBRARY_NAMES]
        versions = [Version(v) for v in args.torch]
        since = Version(args.since)
    except (InvalidRequirement, InvalidVersion) as error:
        parser.error(str(error))
    try:
        with fetch.deadline(fetch.DEFAULT_DEADLINE_S):
            result = facts(args.pypi_url or default_index_url(), versions, libraries, since)
    except PyPIError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(dump(result), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

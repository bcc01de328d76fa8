"""A stand-in for PyPI's simple API, served on 127.0.0.1.

Projects come from a small typed description (`Release`: name, version, wheel tags,
Requires-Dist, Requires-Python). `/simple/<project>/` answers PEP 691 JSON to a client that
asks for it (`Accept`) and PEP 503 HTML otherwise; the wheels under `/files/` are real zip
archives (modules first, `*.dist-info` last, as wheels are built) and honour Range unless
`ranges=False`. With `pep658=True` each wheel has its METADATA beside it (`<wheel>.metadata`)
and the listing says so. `StandInServer(PyPIContent([...]))` serves it (tests/stand_in_server.py:
the HTTP, Range, faults, and the log of requests and bytes sent).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import random
import zipfile
from dataclasses import dataclass
from email.message import Message
from functools import cache, cached_property
from io import BytesIO

from packaging.utils import canonicalize_name

from tests.stand_in_server import NOT_FOUND, Content, Response

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
LINUX_X86 = "manylinux_2_28_x86_64"
LINUX_ARM = "manylinux_2_28_aarch64"
WINDOWS = "win_amd64"
MACOS_ARM = "macosx_14_0_arm64"


@dataclass(frozen=True)
class Release:
    """One release of a project: a wheel per tag, all with the same METADATA."""

    name: str
    version: str
    tags: tuple[str, ...]  # "cp312-cp312-manylinux_2_28_x86_64"
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    yanked: bool = False
    build: str = ""  # a wheel build number: "2" in torch-2.10.0-2-cp310-none-macosx_11_0_arm64
    uploaded: str = "2026-10-28T15:16:30Z"
    padding: int = 0  # bytes of incompressible module data, like a real wheel's libraries
    modules: int = 1  # files in the package: many make a long central directory
    compression: int = zipfile.ZIP_DEFLATED
    # Where its modules go: the name with `_` for `-` (`typing_extensions/`), or a folder of a
    # namespace (`nvidia/cublas`, as NVIDIA's wheels do); "-": no module at all (a meta package).
    package: str = ""

    @property
    def project(self) -> str:
        return canonicalize_name(self.name)

    def filename(self, tag: str) -> str:
        build = f"-{self.build}" if self.build else ""
        return f"{self.name.replace('-', '_')}-{self.version}{build}-{tag}.whl"

    @property
    def metadata(self) -> bytes:
        lines = ["Metadata-Version: 2.1", f"Name: {self.name}", f"Version: {self.version}"]
        if self.requires_python:
            lines.append(f"Requires-Python: {self.requires_python}")
        lines += [f"Requires-Dist: {requirement}" for requirement in self.requires_dist]
        return ("\n".join(lines) + "\n\n").encode()

    def wheel(self, tag: str) -> bytes:
        dist = f"{self.name.replace('-', '_')}-{self.version}.dist-info"
        files: dict[str, bytes] = {}
        if self.package != "-":
            package = self.package or self.name.replace("-", "_")
            files = {f"{package}/module_{n}.py": f"N = {n}\n".encode() for n in range(self.modules)}
            noise = random.Random(self.filename(tag)).randbytes(self.padding)
            files[f"{package}/_library.so"] = noise
        files[f"{dist}/METADATA"] = self.metadata
        files[f"{dist}/WHEEL"] = (
            f"Wheel-Version: 1.0\nGenerator: stand-in\nRoot-Is-Purelib: false\nTag: {tag}\n"
        ).encode()
        record = [
            f"{path},sha256={_urlsafe_sha256(data)},{len(data)}" for path, data in files.items()
        ]
        files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=self.compression) as archive:
            for path, data in files.items():
                archive.writestr(zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0)), data)
        return buffer.getvalue()


@cache
def built_wheel(release: Release, tag: str) -> bytes:
    """`release.wheel(tag)`, built once per test session (wheels are deterministic)."""
    return release.wheel(tag)


def _urlsafe_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@dataclass
class PyPIContent(Content):
    """What the stand-in PyPI serves: `/simple/<project>/` pages, `/files/` wheels."""

    releases: list[Release]
    ranges: bool = True  # honour Range; False: always the whole file, 200
    pep658: bool = False  # offer `<wheel>.metadata`
    json: bool = True  # answer PEP 691 JSON when asked; False: HTML only, like older mirrors

    @cached_property
    def by_filename(self) -> dict[str, tuple[Release, str]]:
        """filename -> (release, tag) for every wheel served."""
        return {
            release.filename(tag): (release, tag)
            for release in self.releases
            for tag in release.tags
        }

    def files(self, project: str) -> dict[str, tuple[Release, str]]:
        """filename -> (release, tag) for a project's wheels."""
        project = canonicalize_name(project)
        return {
            name: found for name, found in self.by_filename.items() if found[0].project == project
        }

    def release_of(self, filename: str) -> tuple[Release, str] | None:
        """The release and tag a wheel's filename belongs to."""
        return self.by_filename.get(filename)

    def wheel(self, filename: str) -> bytes | None:
        found = self.release_of(filename)
        return built_wheel(*found) if found else None

    def listing(self, project: str) -> list[dict]:
        """PEP 691 file entries."""
        entries = []
        for filename, (release, _) in self.files(project).items():
            data = self.wheel(filename)
            assert data is not None, filename  # listed, so served
            entry = {
                "filename": filename,
                "url": f"/files/{filename}",
                "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                "requires-python": release.requires_python,
                "yanked": release.yanked,
                "size": len(data),
                "upload-time": release.uploaded,
            }
            if self.pep658:
                entry["core-metadata"] = {"sha256": hashlib.sha256(release.metadata).hexdigest()}
            entries.append(entry)
        return entries

    url_path = "/simple/"

    def answer(self, path: str, headers: Message) -> Response:
        parts = [part for part in path.split("/") if part]
        if parts[:1] == ["simple"] and len(parts) == 2:
            return self.project_page(parts[1], headers.get("Accept", ""))
        if parts[:1] == ["files"] and len(parts) == 2:
            return self.file(parts[1])
        return NOT_FOUND

    def project_page(self, project: str, accept: str) -> Response:
        entries = self.listing(project)
        if not entries:
            return NOT_FOUND
        if self.json and JSON_TYPE in accept:
            versions = sorted({r.version for r in self.releases if r.project == project})
            return Response(200, _json_page(project, entries, versions), JSON_TYPE)
        return Response(200, _html_page(entries))

    def file(self, filename: str) -> Response:
        if filename.endswith(".whl.metadata"):
            found = self.pep658 and self.release_of(filename.removesuffix(".metadata"))
            if not found:
                return NOT_FOUND
            return Response(200, found[0].metadata, "application/octet-stream")
        data = self.wheel(filename)
        if data is None:
            return NOT_FOUND
        return Response(200, data, "application/octet-stream", ranges=self.ranges)


def _json_page(project: str, entries: list[dict], versions: list[str]) -> bytes:
    page = {"meta": {"api-version": "1.1"}, "name": project, "versions": versions}
    return json.dumps(page | {"files": entries}).encode()


def _html_page(entries: list[dict]) -> bytes:
    anchors = []
    for entry in entries:
        attributes = f'href="{html.escape(entry["url"])}#sha256={entry["hashes"]["sha256"]}"'
        if entry["requires-python"]:
            attributes += f' data-requires-python="{html.escape(entry["requires-python"])}"'
        if entry["yanked"]:
            attributes += ' data-yanked=""'
        if "core-metadata" in entry:
            attributes += f' data-core-metadata="sha256={entry["core-metadata"]["sha256"]}"'
        anchors.append(f"<a {attributes}>{html.escape(entry['filename'])}</a><br/>")
    head = '<meta name="pypi:repository-version" content="1.1">'
    body = "\n".join(anchors)
    return f"<!DOCTYPE html>\n<html><head>{head}</head><body>\n{body}\n</body></html>\n".encode()


# --- PyPI as recorded in tests/data/pypi_facts.yml -----------------------------------------

PLATFORM_TAGS = {
    "linux-x86_64": LINUX_X86,
    "linux-aarch64": LINUX_ARM,
    "windows-x86_64": WINDOWS,
    "macos-arm64": "macosx_{macos}_arm64",
}


def _tags(facts: dict) -> tuple[str, ...]:
    """The wheel tags a recorded release's coverage implies (`py3` -> py3-none)."""
    macos = (facts.get("macos_minimum") or "11.0").replace(".", "_")
    pythons = [*facts["python"], *facts.get("free_threaded", [])]
    result = []
    for platform in facts["platforms"]:
        tag = PLATFORM_TAGS[platform].format(macos=macos)
        lacking = facts.get("missing", {}).get(platform, [])
        for python in pythons:
            if python in lacking:
                continue
            digits = python.replace(".", "").rstrip("t")
            abi = f"cp{digits}t" if python.endswith("t") else f"cp{digits}"
            result.append(f"cp{digits}-{abi}-{tag}")
        result += [f"py3-none-{tag}" for _ in facts.get("generic", [])]
    return tuple(result)


def recorded_pypi(facts: dict) -> list[Release]:
    """The releases of a recorded PyPI facts file (`python -m maintainers.pypi`'s output): torch
    with the Requires-Dist its default builds were read from, each library release with its
    torch requirement and Requires-Python."""
    releases = []
    for version, release in facts["torch"].items():
        requires = {
            requirement
            for build in release["default_build"].values()
            for requirement in (build["cuda"], build["triton"])
            if requirement
        }
        releases.append(
            Release(
                "torch",
                version,
                _tags(release),
                tuple(sorted(requires)),
                release["requires_python"],
                uploaded=f"{release['uploaded']}T12:00:00Z",
            )
        )
    for name, versions in facts["libraries"].items():
        for version, library in versions.items():
            torch = library["torch"]
            on_torch = () if torch == "none declared" else (f"torch{torch}",)
            releases.append(
                Release(name, version, _tags(library), on_torch, library["requires_python"])
            )
    return releases

"""A stand-in for the PyTorch wheel index, served on 127.0.0.1.

It mimics what the resolvers see on https://download.pytorch.org/whl/<variant>: PEP 503 pages
per package, wheels named with local version labels (`+cpu`, `+cu130`, `+rocm7.1`, `+xpu`) and
platform / Python tags, unlabeled macOS arm64 and Linux aarch64 wheels on `/whl/cpu`, and
HTTP 403 for a page that does not exist. The wheels are tiny stubs built from the matrix;
real wheels (e.g. a real CPU torch) can be served beside them from a folder.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

from extensions.torch_matrix import LIBRARIES, family_of, load_matrix

LINUX_X86 = "manylinux_2_28_x86_64"
LINUX_ARM = "manylinux_2_28_aarch64"
WINDOWS = "win_amd64"
MACOS_ARM = "macosx_11_0_arm64"
# Platforms with a labeled build on each family's index.
LABELED_PLATFORMS = {
    "cpu": [LINUX_X86, WINDOWS],
    "cuda": [LINUX_X86, LINUX_ARM, WINDOWS],
    "rocm": [LINUX_X86],
    "xpu": [LINUX_X86, WINDOWS],
}
# The CPU index also has unlabeled builds for these.
UNLABELED_CPU_PLATFORMS = [MACOS_ARM, LINUX_ARM]
WHEEL_NAME = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)-(?P<py>[^-]+)-[^-]+-(?P<plat>.+)\.whl$"
)


def runtime_of(variant: str) -> dict:
    """What torch.version says for a build of this variant."""
    family = family_of(variant)
    if family == "cuda":
        digits = variant[2:]
        return {"cuda": f"{digits[:-1]}.{digits[-1]}"}
    if family == "rocm":
        return {"hip": f"{variant[4:]}.00000-stub"}
    if family == "xpu":
        return {"xpu": "20250000"}
    return {}


def stub_wheel(
    name: str, version: str, python: str, platform: str, requires: list[str], variant: str = "cpu"
) -> bytes:
    """A minimal installable wheel whose module reports its version and build."""
    dist = f"{name}-{version}.dist-info"
    tag = f"cp{python.replace('.', '')}"
    runtime = runtime_of(variant) if "+" in version else {}
    files = {
        f"{name}/__init__.py": f'__version__ = "{version}"\nfrom . import version\n',
        f"{name}/version.py": "".join(
            f"{key} = {runtime.get(key)!r}\n" for key in ("cuda", "hip", "xpu")
        ),
        f"{dist}/METADATA": "Metadata-Version: 2.1\n"
        f"Name: {name}\nVersion: {version}\nRequires-Python: >={python}\n"
        + "".join(f"Requires-Dist: {req}\n" for req in requires),
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: stub\nRoot-Is-Purelib: false\n"
        f"Tag: {tag}-{tag}-{platform}\n",
    }
    record = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{path},sha256={digest.decode()},{len(data)}")
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
        record.append(f"{dist}/RECORD,,")
        archive.writestr(
            zipfile.ZipInfo(f"{dist}/RECORD", date_time=(2020, 1, 1, 0, 0, 0)),
            "\n".join(record) + "\n",
        )
    return buffer.getvalue()


@dataclass
class IndexContent:
    """Files per (variant, package): stub wheels derived from a matrix, plus real ones."""

    matrix: dict = field(default_factory=load_matrix)
    real_wheels: dict[str, list[Path]] = field(default_factory=dict)  # variant -> files
    faults: dict[str, tuple[int, str]] = field(default_factory=dict)  # path -> (status, body)
    _hashes: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @cached_property
    def stubs(self) -> dict[tuple[str, str], dict[str, tuple]]:
        """(variant, package) -> {filename: (name, version, python, platform, requires)}."""
        pages: dict[tuple[str, str], dict[str, tuple]] = {}
        for torch, row in self.matrix["releases"].items():
            packages = {"torch": (torch, [], row["variants"])}
            for library in LIBRARIES:
                if facts := row.get(library):
                    requires = [f"torch=={torch}"] if library == "torchvision" else []
                    variants = [v for v in row["variants"] if v not in facts.get("missing", [])]
                    packages[library] = (facts["version"], requires, variants)
            for name, (version, requires, variants) in packages.items():
                for variant in variants:
                    builds = [
                        (f"{version}+{variant}", p) for p in LABELED_PLATFORMS[family_of(variant)]
                    ]
                    if variant == "cpu":
                        builds += [(version, p) for p in UNLABELED_CPU_PLATFORMS]
                    page = pages.setdefault((variant, name), {})
                    for full_version, platform in builds:
                        for python in row["python"]:
                            tag = f"cp{python.replace('.', '')}"
                            filename = f"{name}-{full_version}-{tag}-{tag}-{platform}.whl"
                            page[filename] = (name, full_version, python, platform, requires)
        return pages

    def variants(self) -> set[str]:
        return {variant for variant, _ in self.stubs} | set(self.real_wheels)

    def files(self, variant: str, package: str) -> list[str]:
        names = list(self.stubs.get((variant, package), {}))
        for path in self.real_wheels.get(variant, []):
            if _normalize(path.name.split("-")[0]) == _normalize(package):
                names.append(path.name)
        return sorted(set(names))

    def packages(self, variant: str) -> list[str]:
        names = {package for v, package in self.stubs if v == variant}
        names |= {_normalize(p.name.split("-")[0]) for p in self.real_wheels.get(variant, [])}
        return sorted(names)

    def wheel(self, variant: str, filename: str) -> bytes | None:
        for path in self.real_wheels.get(variant, []):
            if path.name == filename:
                return path.read_bytes()
        match = WHEEL_NAME.match(filename)
        if not match:
            return None
        spec = self.stubs.get((variant, match["name"]), {}).get(filename)
        return stub_wheel(*spec, variant=variant) if spec else None

    def sha256(self, variant: str, filename: str) -> str:
        key = (variant, filename)
        if key not in self._hashes:
            self._hashes[key] = hashlib.sha256(self.wheel(variant, filename)).hexdigest()
        return self._hashes[key]


def real_cpu_index_content(destination: Path) -> IndexContent:
    """A CPU index holding the real torch 2.13.0 wheel and its dependencies."""
    return IndexContent(
        matrix={"releases": {}}, real_wheels={"cpu": download_real_cpu_torch(destination)}
    )


def download_real_cpu_torch(destination: Path) -> list[Path]:
    """The real torch 2.13.0 CPU wheel for Python 3.11 and its dependencies, as the real CPU
    index serves them. A user's pip gets it from the PyTorch CPU index; these machines hold
    the +cpu build locally, and the machine's pip configuration finds it."""
    pip = [Path(sys.base_prefix) / "bin" / "python3.11", "-m", "pip"]
    command = [*pip, "download", "--only-binary=:all:", "torch==2.13.0", "-d", str(destination)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode or not list(destination.glob("torch-2.13.0+cpu-*.whl")):
        raise RuntimeError(
            f"The real CPU torch 2.13.0 wheel could not be had (`{' '.join(map(str, command))}`):"
            f"\n{result.stdout}{result.stderr}"
        )
    return sorted(destination.iterdir())


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _handler(content: IndexContent):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            if self.path in content.faults:
                status, body = content.faults[self.path]
                return self._send(status, body.encode(), "text/html")
            parts = [unquote(p) for p in self.path.split("?")[0].split("/") if p]
            if len(parts) < 2 or parts[0] != "whl" or parts[1] not in content.variants():
                return self._send(403, b"Forbidden", "text/plain")
            variant = parts[1]
            if len(parts) == 2:
                links = [f"{p}/" for p in content.packages(variant)]
                return self._page(links)
            if len(parts) == 3 and parts[2].endswith(".whl"):
                data = content.wheel(variant, parts[2])
                if data is None:
                    return self._send(404, b"Not Found", "text/plain")
                return self._send(200, data, "application/octet-stream")
            if len(parts) == 3 and (files := content.files(variant, parts[2])):
                # Like the real index: absolute links, %2B for '+', a sha256 fragment.
                links = [
                    f"/whl/{variant}/{quote(name)}#sha256={content.sha256(variant, name)}"
                    for name in files
                ]
                return self._page(links, names=files)
            return self._send(403, b"Forbidden", "text/plain")

        def _page(self, links, names=None):
            anchors = "\n".join(
                f'<a href="{html.escape(link)}">{html.escape(name)}</a><br/>'
                for link, name in zip(links, names or links, strict=True)
            )
            body = f"<!DOCTYPE html>\n<html><body>\n{anchors}\n</body></html>\n"
            self._send(200, body.encode(), "text/html")

        def do_HEAD(self):  # noqa: N802
            self.head_only = True
            self.do_GET()

        def _send(self, status, body, content_type):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not getattr(self, "head_only", False):
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A resolver may drop a download once it has read what it needs: not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StandInIndex:
    """`with StandInIndex() as index:` serves on 127.0.0.1; `index.url` is the `/whl` base."""

    def __init__(self, content: IndexContent | None = None):
        self.content = content or IndexContent()
        self.server = _Server(("127.0.0.1", 0), _handler(self.content))
        self.url = f"http://127.0.0.1:{self.server.server_port}/whl"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandInIndex:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

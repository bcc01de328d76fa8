"""Stand-ins for the package indexes a generated project uses, served on 127.0.0.1.

`StandInIndex` mimics https://download.pytorch.org/whl/<variant> as the model of the index
(`extensions/index_model.py`) describes it: PEP 503 pages per package, wheels with the local
version label and platform tags of each variant and platform (unlabeled where the model says
so), torch's real Requires-Dist shape (the index-only triton packages, served only on their
variant's page), the libraries' Requires-Python exclusions, and HTTP 403 for a page that does
not exist. Like the real index it honours `Range` on wheels, so a wheel's METADATA can be read
without the wheel (the HTTP, Range and request log: tests/stand_in_server.py). The wheels are
tiny stubs; real wheels (e.g. a real CPU torch) can be served beside them from a folder.

`HostileIndex` stands for a project's default index (PyPI): it passes every page through to
the real PyPI, except that it serves its own torch, torchvision, torchaudio and index-only
packages: PyPI's shape for the pinned versions (CUDA libraries required on Linux, as PyPI's
torch does), and higher versions. Every stub says where it came from (`Summary`), so a test can
tell what was installed from which index.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field, replace
from email.message import Message
from functools import cache, cached_property
from pathlib import Path
from urllib.parse import quote

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from extensions.index_model import MODEL, Model, Release, Variant, index_url
from extensions.index_model import VARIANT_PLACEHOLDER as VARIANT
from tests.stand_in_server import FORBIDDEN, NOT_FOUND, Content, Response, StandInServer

PYTORCH_INDEX = "pytorch-index"  # the Summary of the stand-in PyTorch index's stubs
HOSTILE = "hostile"  # ... and of the hostile default index's
# Small PyPI-hosted dependencies real torch wheels declare. Like the real index, the stand-in
# serves copies of them on every variant's page (pip installs from the PyTorch index alone).
TORCH_PYPI_REQUIRES = {"filelock": "3.20.0", "typing-extensions": "4.15.0"}


@dataclass(frozen=True)
class Stub:
    """What a stub wheel holds: its distribution, version, tags, Requires-Dist and origin."""

    name: str
    version: str
    python: str  # "3.11"; "3" for a pure-Python wheel
    platform_tag: str  # "any" for a pure-Python wheel
    requires: tuple[str, ...] = ()
    requires_python: str = ""
    runtime: tuple[tuple[str, str], ...] = ()  # torch.version's cuda / hip / xpu
    origin: str = PYTORCH_INDEX

    @property
    def tags(self) -> str:
        if self.platform_tag == "any":
            return "py3-none-any"
        python = f"cp{self.python.replace('.', '')}"
        return f"{python}-{python}-{self.platform_tag}"

    @property
    def filename(self) -> str:
        name = canonicalize_name(self.name).replace("-", "_")
        return f"{name}-{self.version}-{self.tags}.whl"


def runtime_of(variant: str) -> tuple[tuple[str, str], ...]:
    """What torch.version says for a build of this variant."""
    parsed = Variant.parse(variant)
    if parsed.family == "cuda":
        digits = str(parsed.number)
        return (("cuda", f"{digits[:-1]}.{digits[-1]}"),)
    if parsed.family == "rocm":
        return (("hip", f"{parsed.number}.00000-stub"),)
    if parsed.family == "xpu":
        return (("xpu", "20250000"),)
    return ()


@cache
def stub_wheel(stub: Stub) -> bytes:
    """A minimal installable wheel whose module reports its version and build."""
    module = canonicalize_name(stub.name).replace("-", "_")
    dist = f"{module}-{stub.version}.dist-info"
    runtime = dict(stub.runtime)
    files = {
        f"{module}/__init__.py": f'__version__ = "{stub.version}"\nfrom . import version\n',
        f"{module}/version.py": "".join(
            f"{key} = {runtime.get(key)!r}\n" for key in ("cuda", "hip", "xpu")
        ),
        f"{dist}/METADATA": "Metadata-Version: 2.1\n"
        f"Name: {stub.name}\nVersion: {stub.version}\nSummary: {stub.origin}\n"
        f"Requires-Python: {stub.requires_python or '>=' + stub.python}\n"
        + "".join(f"Requires-Dist: {req}\n" for req in stub.requires),
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: stub\nRoot-Is-Purelib: false\n"
        f"Tag: {stub.tags}\n",
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


def pinned_version(requirement: Requirement) -> str:
    """The version an `==V` or `~=V` requirement names."""
    return next(iter(requirement.specifier)).version


def release_stubs(release: Release, model: Model) -> dict[tuple[str, str], list[Stub]]:
    """(variant, package) -> the stubs of one release, as the model says the index has them."""
    pages: dict[tuple[str, str], list[Stub]] = {}
    for variant in release.variants:
        packages = {"torch": release.torch}
        packages |= {
            name: library.version
            for name, library in release.libraries.items()
            if variant not in library.missing
        }
        for name, version in packages.items():
            library = release.libraries.get(name)
            requires: list[str] = []
            if name == "torch":
                requires = [*TORCH_PYPI_REQUIRES, *map(str, release.requirements(variant))]
                for dependency, dependency_version in TORCH_PYPI_REQUIRES.items():
                    copy = Stub(dependency, dependency_version, "3", "any")
                    pages.setdefault((variant, dependency), []).append(copy)
            elif library is not None and library.requires_torch:
                requires = [f"torch{library.requires_torch}"]
            for platform in release.platforms_of(variant, name):
                label = release.label(variant, platform)
                full = f"{version}+{label}" if label else version
                tag = model.platforms.by_name[platform].wheel_tag.format(
                    macos=release.macos.replace(".", "_")
                )
                pythons = library.python if library and library.python else release.python
                for python in (p for p in release.python if p in pythons):
                    stub = Stub(
                        name,
                        full,
                        python,
                        tag,
                        tuple(requires),
                        str(library.requires_python) if library else "",
                        runtime_of(variant) if label else (),
                    )
                    pages.setdefault((variant, name), []).append(stub)
        for requirement in release.requirements(variant):
            for platform in release.platforms_of(variant):
                tag = model.platforms.by_name[platform].wheel_tag
                for python in release.python:
                    stub = Stub(requirement.name, pinned_version(requirement), python, tag)
                    pages.setdefault((variant, canonicalize_name(requirement.name)), [])
                    pages[(variant, canonicalize_name(requirement.name))].append(stub)
    return pages


@dataclass
class IndexContent(Content):
    """Files per (variant, package): stub wheels derived from a model, plus real ones, served
    under `/whl/<variant>/` as the PyTorch index serves them (or in another `layout`)."""

    model: Model = MODEL
    real_wheels: dict[str, list[Path]] = field(default_factory=dict)  # variant -> files
    # Where each variant's page tree lives: PyTorch's `/whl/<variant>`, or a mirror's layout
    # with one repository per variant (`/repository/pytorch-{variant}/simple`).
    layout: str = f"/whl/{VARIANT}"
    # (user, password) the index asks for with HTTP Basic auth; None: open to all.
    credentials: tuple[str, str] | None = None
    _hashes: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @cached_property
    def stubs(self) -> dict[tuple[str, str], dict[str, Stub]]:
        """(variant, package) -> {filename: stub}, for every release of the model."""
        pages: dict[tuple[str, str], dict[str, Stub]] = {}
        for release in self.model.releases.values():
            for key, stubs in release_stubs(release, self.model).items():
                pages.setdefault(key, {}).update({stub.filename: stub for stub in stubs})
        return pages

    def roots(self) -> set[str]:
        return {variant for variant, _ in self.stubs} | set(self.real_wheels)

    def files(self, variant: str, package: str) -> list[str]:
        """The page of `package`: its real wheels, and the stubs of the versions no real wheel
        has (a resolver takes one wheel's metadata for all wheels of a version)."""
        real = [
            path.name
            for path in self.real_wheels.get(variant, [])
            if parse_wheel_filename(path.name)[0] == canonicalize_name(package)
        ]
        real_versions = {parse_wheel_filename(name)[1] for name in real}
        stubs = [
            name
            for name, stub in self.stubs.get((variant, canonicalize_name(package)), {}).items()
            if Version(stub.version) not in real_versions
        ]
        return sorted(real + stubs)

    def packages(self, variant: str) -> list[str]:
        names = {package for v, package in self.stubs if v == variant}
        names |= {parse_wheel_filename(p.name)[0] for p in self.real_wheels.get(variant, [])}
        return sorted(names)

    def wheel(self, variant: str, filename: str) -> bytes | None:
        for path in self.real_wheels.get(variant, []):
            if path.name == filename:
                return path.read_bytes()
        try:
            package = parse_wheel_filename(filename)[0]
        except ValueError:
            return None
        stub = self.stubs.get((variant, package), {}).get(filename)
        return stub_wheel(stub) if stub else None

    def sha256(self, variant: str, filename: str) -> str:
        key = (variant, filename)
        if key not in self._hashes:
            wheel = self.wheel(variant, filename)
            assert wheel is not None, key
            self._hashes[key] = hashlib.sha256(wheel).hexdigest()
        return self._hashes[key]

    def upstream(self, package: str) -> Response | None:
        """A page to pass through from elsewhere (None: this index has no such page)."""
        return None

    @property
    def url_path(self) -> str:
        """The index's URL path: the base a variant is appended to (`/whl`), or the layout
        itself where the variant sits inside it."""
        return self.layout.removesuffix(f"/{VARIANT}")

    def root_page(self) -> Response:
        """The root lists the variants, as https://download.pytorch.org/whl/ does."""
        return html_page([f"{root}/" for root in sorted(self.roots())])

    def answer(self, path: str, headers: Message) -> Response:
        if self.credentials and not self.authorized(headers):
            return UNAUTHORIZED
        before, _, after = self.layout.partition(VARIANT)
        if not after and path.rstrip("/") == before.rstrip("/"):
            return self.root_page()
        tree = f"{re.escape(before)}(?P<root>[^/]+){re.escape(after)}(?P<rest>/.*)?"
        found = re.fullmatch(tree, path)
        if not found or found["root"] not in self.roots():
            return FORBIDDEN
        root, rest = found["root"], [part for part in (found["rest"] or "").split("/") if part]
        if len(rest) > 1:
            return FORBIDDEN
        if not rest:
            return html_page([f"{package}/" for package in self.packages(root)])
        [name] = rest
        if name.endswith(".whl"):
            data = self.wheel(root, name)
            if data is None:
                return NOT_FOUND
            return Response(200, data, "application/octet-stream", ranges=True)
        if files := self.files(root, name):
            # Like the real index: absolute links, %2B for '+', a sha256 fragment.
            where = self.layout.replace(VARIANT, root)
            links = [f"{where}/{quote(file)}#sha256={self.sha256(root, file)}" for file in files]
            return html_page(links, names=files)
        return self.upstream(name) or FORBIDDEN

    def authorized(self, headers: Message) -> bool:
        """Whether the request carries this index's Basic credentials."""
        if self.credentials is None:
            return True
        user, password = self.credentials
        expected = base64.b64encode(f"{user}:{password}".encode()).decode()
        return headers.get("Authorization") == f"Basic {expected}"


UNAUTHORIZED = Response(
    401, b"Unauthorized", "text/plain", headers=(("WWW-Authenticate", 'Basic realm="stand-in"'),)
)


def html_page(links: list[str], names: list[str] | None = None) -> Response:
    """A PEP 503 page of anchors."""
    anchors = "\n".join(
        f'<a href="{html.escape(link)}">{html.escape(name)}</a><br/>'
        for link, name in zip(links, names or links, strict=True)
    )
    return Response(200, f"<!DOCTYPE html>\n<html><body>\n{anchors}\n</body></html>\n".encode())


def real_cpu_index_content(destination: Path) -> IndexContent:
    """A CPU index holding the real torch 2.13.0 wheel and its dependencies."""
    empty = replace(MODEL, releases={})
    return IndexContent(model=empty, real_wheels={"cpu": download_real_cpu_torch(destination)})


# The real wheel the end-to-end runs use, named by its label: only the CPU build can match, so
# no source can hand over PyPI's CUDA build (2.6 GB with its nvidia-* wheels).
REAL_TORCH = "torch==2.13.0+cpu"


def real_torch_sources() -> list[tuple[str, dict[str, str]]]:
    """Where the real wheel is looked for, in order, as (name, pip environment): the PyTorch CPU
    index from the model (as a user's pip gets it; no local configuration), then this
    machine's pip configuration (a local store or a mirror)."""
    cpu_index = index_url(MODEL.index_url, "cpu")
    return [
        (
            f"the PyTorch CPU index {cpu_index}",
            {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": cpu_index},
        ),
        ("this machine's pip configuration (a local store or mirror)", {}),
    ]


def download_real_cpu_torch(
    destination: Path, sources: list[tuple[str, dict[str, str]]] | None = None
) -> list[Path]:
    """The real torch 2.13.0 CPU wheel for Python 3.11 and its dependencies, as the real CPU
    index serves them, from the first of `sources` (default: `real_torch_sources()`) that has
    it. Raises RuntimeError saying what the run needs and what each source answered."""
    pip = [str(Path(sys.base_prefix) / "bin" / "python3.11"), "-m", "pip"]
    answers = []
    for name, pip_env in sources if sources is not None else real_torch_sources():
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_RETRIES": "1"}
        if pip_env:  # a source of its own: none of the machine's pip settings
            env = {k: v for k, v in env.items() if not k.startswith("PIP_")} | pip_env
        command = [*pip, "download", "--only-binary=:all:", REAL_TORCH, "-d", str(destination)]
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if not result.returncode and list(destination.glob("torch-2.13.0+cpu-*.whl")):
            return sorted(destination.iterdir())
        unreachable = "Failed to establish a new connection" in result.stderr
        said = "unreachable" if unreachable else (result.stderr.strip().splitlines() or ["?"])[-1]
        answers.append(f"  {name}: {said}")
        for leftover in destination.iterdir():
            leftover.unlink()
    raise RuntimeError(
        "The real-torch tests (markers e2e, tools) need torch 2.13.0+cpu for CPython 3.11 on "
        "Linux x86_64 and its dependencies: reach the PyTorch CPU index, or configure pip with "
        "a local store or mirror that holds them (pip's find-links or index-url). Tried:\n"
        + "\n".join(answers)
    )


@dataclass
class HostileContent(IndexContent):
    """A default index that proxies `upstream_url` (PyPI's simple API) but serves its own
    same-named torch family and index-only packages: PyPI's shape of every pinned version, and
    higher ones. Root `simple`."""

    upstream_url: str = ""
    higher: str = "99.0"
    layout: str = f"/{VARIANT}"  # its one root, `simple`, is the URL's path

    @cached_property
    def stubs(self) -> dict[tuple[str, str], dict[str, Stub]]:
        pages: dict[tuple[str, str], dict[str, Stub]] = {}
        platforms = self.model.platforms.by_name.values()
        for release in self.model.releases.values():
            versions = {"torch": release.torch}
            versions |= {n: lib.version for n, lib in release.libraries.items()}
            for variant in release.variants:
                versions |= {r.name: pinned_version(r) for r in release.requirements(variant)}
            for name, version in versions.items():
                for platform in platforms:
                    build = release.pypi_builds[platform.name] if name == "torch" else "cpu"
                    requires = cuda_requirements(build) if build != "cpu" else ()
                    tag = platform.wheel_tag.format(macos=release.macos.replace(".", "_"))
                    for python in release.python:
                        for full in (version, self.higher):
                            stub = Stub(name, full, python, tag, requires, origin=HOSTILE)
                            page = pages.setdefault(("simple", canonicalize_name(name)), {})
                            page[stub.filename] = stub
                            for requirement in map(Requirement, requires):
                                cuda = Stub(requirement.name, "13.0.0", python, tag, origin=HOSTILE)
                                pages.setdefault(("simple", requirement.name), {})
                                pages[("simple", requirement.name)][cuda.filename] = cuda
        return pages

    def roots(self) -> set[str]:
        return {"simple"}

    @property
    def url_path(self) -> str:
        return "/simple"

    def root_page(self) -> Response:
        return FORBIDDEN

    def upstream(self, package: str) -> Response | None:
        request = urllib.request.Request(f"{self.upstream_url.rstrip('/')}/{package}/")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Response(response.status, response.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read())


def cuda_requirements(build: str) -> tuple[str, ...]:
    """What PyPI's Linux torch of a CUDA build requires (the shape; one library stands for
    the ~20 of the real wheel)."""
    major = build[2:-1]
    return (f'nvidia-cublas-cu{major}==13.0.0; platform_system == "Linux"',)


class StandInIndex(StandInServer):
    """`with StandInIndex() as index:` serves the model's index on 127.0.0.1 (or `content`);
    `index.url` is the `/whl` base (`/simple` for a `HostileContent`)."""

    def __init__(self, content: IndexContent | None = None, host: str = "127.0.0.1"):
        super().__init__(content or IndexContent(), host)

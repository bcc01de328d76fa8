"""`docker build` without Docker: a generated Dockerfile's install steps, run for real in a
folder that stands for the image's file system.

These machines have no Docker daemon and no registry for base images. The base image
`python:X.Y-slim` is stood in for by a virtual environment of this interpreter at
`<root>/usr/local` (where that image keeps its Python); absolute paths of the image (WORKDIR,
paths in ENV values) lie under `<root>`; COPY copies from the build context minus what
`.dockerignore` excludes; RUN runs with `/bin/sh -c`, as Docker does, with the ENV so far.
Steps that need root in the image (creating a user) are not run: `NEEDS_ROOT` names them,
and `build` returns them so a test can say which were left out.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from string import Template

import pytest
from dockerfile_parse import DockerfileParser

from tests.tools import tool_env

NEEDS_ROOT = ("useradd ",)


@dataclass
class Image:
    root: Path
    workdir: Path
    env: dict[str, str]
    not_run: list[str] = field(default_factory=list)

    def path(self, image_path: str) -> Path:
        """Where an absolute path of the image lies here."""
        return self.root / image_path.lstrip("/")

    def python(self) -> Path:
        """The `python` the image's PATH finds first."""
        found = shutil.which("python", path=self.env["PATH"])
        assert found, f"no python on the image's PATH: {self.env['PATH']}"
        return Path(found)


def build(context: Path, root: Path) -> Image:
    """Run the install steps of `context`/Dockerfile; fail with a step's output."""
    parser = DockerfileParser(path=str(context / "Dockerfile"))
    image = Image(root=root, workdir=root, env=base_environment(root))
    ignored = dockerignore(context)
    for step in parser.structure:
        instruction, value = step["instruction"], step["value"]
        if instruction == "FROM":
            base_image(value, root)
        elif instruction == "ENV":
            for pair in shlex.split(value):  # A=1 B="x y"
                name, _, raw = pair.partition("=")
                image.env[name] = Template(in_image(raw, image)).safe_substitute(image.env)
        elif instruction == "WORKDIR":
            image.workdir = image.path(value)
            image.workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY":
            copy(context, value, image, ignored)
        elif instruction == "RUN":
            run(value, image)
    return image


def base_environment(root: Path) -> dict[str, str]:
    """The environment of `python:X.Y-slim`: its Python first on PATH, HOME of root, no
    package manager settings of this machine (tool_env drops them)."""
    env = tool_env(PATH=f"{root / 'usr/local/bin'}{os.pathsep}/usr/bin{os.pathsep}/bin")
    env.pop("POETRY_VIRTUALENVS_IN_PROJECT")  # the Dockerfile must say it if it needs it
    env["HOME"] = str(root / "root")
    return env


def base_image(name: str, root: Path) -> None:
    """`python:X.Y-slim`: a virtual environment of this interpreter, which must be X.Y."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert name == f"python:{here}-slim", f"the test stands in for python:{here}-slim, not {name}"
    subprocess.run([sys.executable, "-m", "venv", root / "usr/local"], check=True)
    (root / "root").mkdir(parents=True, exist_ok=True)


def in_image(value: str, image: Image) -> str:
    """An ENV value with the image's absolute paths (`/app/.venv/bin:$PATH`) put under its
    root; variables ($PATH) are left for substitution."""
    return os.pathsep.join(
        str(image.path(part)) if part.startswith("/") and not part.startswith("//") else part
        for part in value.split(":")
    )


def dockerignore(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def is_ignored(relative: PurePosixPath, patterns: list[str]) -> bool:
    """Docker's rule for the patterns this template writes: a pattern matches a path or any
    folder above it; `**/` matches at any depth. (No `!` exceptions.)"""
    assert not any(p.startswith("!") for p in patterns), "exceptions are not stood in for"
    candidates = [relative, *relative.parents[:-1]]
    for pattern in patterns:
        tail = pattern.removeprefix("**/")
        for candidate in candidates:
            text = str(candidate)
            if fnmatch.fnmatch(text, pattern):
                return True
            if tail != pattern and fnmatch.fnmatch(candidate.name, tail):
                return True
    return False


def copy(context: Path, value: str, image: Image, ignored: list[str]) -> None:
    """`COPY src... dest`: a folder's content, or files, from the context into the image."""
    *sources, dest = value.split()
    assert not any(s.startswith("--") for s in sources), f"COPY options are not stood in: {value}"
    target = image.workdir / dest
    for source in sources:
        origin = context / source
        assert origin.exists(), f"COPY {source}: not in the build context"
        files = [origin] if origin.is_file() else [p for p in origin.rglob("*") if p.is_file()]
        for file in files:
            relative = PurePosixPath(file.relative_to(context).as_posix())
            if is_ignored(relative, ignored):
                continue
            into = target / file.name if origin.is_file() else target / file.relative_to(origin)
            into.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, into)


def run(command: str, image: Image) -> None:
    # RUN's own options (`--mount=type=cache,target=/root/.cache/uv`): a cache mount is a
    # folder that outlives the build, as the image's HOME here does.
    while command.startswith("--"):
        command = command.split(maxsplit=1)[1]
    if command.startswith(NEEDS_ROOT):
        image.not_run.append(command)
        return
    result = subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=image.workdir,
        env=image.env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode:
        pytest.fail(f"RUN {command} exited {result.returncode}\n{result.stdout}\n{result.stderr}")

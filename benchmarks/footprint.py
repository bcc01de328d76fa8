"""Footprint and speed of generated projects, measured side by side in one run.

    uv run python -m benchmarks.footprint [--output benchmarks/footprint.md]

1. Install time and environment size of a generated CPU project (uv, poetry, pip; torch 2.13.0
   on Python 3.11, its README's install commands, real wheels served by the stand-in index on
   127.0.0.1), against the naive install users do without the template: `pip install torch`,
   which on Linux x86_64 brings PyPI's CUDA build (here: `pip install torch==2.14.1`, which the
   machine's pip takes from its local package store). Every install starts with empty caches.
2. Render time of `copier copy --defaults` (the command line) and of the whole
   manager x backend matrix (the API).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from extensions.index_model import FAMILIES, MANAGERS
from tests.pytorch_index import StandInIndex, real_cpu_index_content
from tests.tools import (
    BIN,
    TEMPLATE,
    install_as_readme_says,
    render,
    render_real_cpu_project,
    tool_env,
)

BACKENDS = FAMILIES

T = TypeVar("T")


def size_mb(path: Path) -> float:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 1e6


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """Seconds `action` took, and what it returned."""
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def isolate_caches(work: Path) -> None:
    """Empty caches for every tool, so each install is a first install."""
    for name in ("UV_CACHE_DIR", "POETRY_CACHE_DIR", "PIP_CACHE_DIR"):
        os.environ[name] = str(work / name.lower())


def generated_install(work: Path, manager: str, index_url: str) -> tuple[float, float]:
    project = render_real_cpu_project(work / f"{manager}-project", manager, index_url)
    seconds, python = timed(lambda: install_as_readme_says(project, manager))
    return seconds, size_mb(python.parent.parent)


def naive_install(work: Path) -> tuple[float, float]:
    """`python -m venv .venv && pip install torch`, with the machine's own pip configuration."""
    venv = work / "naive" / ".venv"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}

    def install():
        base_python = Path(sys.base_prefix) / "bin" / "python3.11"
        subprocess.run([base_python, "-m", "venv", venv], check=True, env=env)
        subprocess.run(
            [venv / "bin" / "pip", "install", "-q", "torch==2.14.1"], check=True, env=env
        )

    seconds, _ = timed(install)
    return seconds, size_mb(venv)


def render_times(work: Path) -> tuple[float, float, int]:
    env = tool_env()
    cli, _ = timed(
        lambda: subprocess.run(
            [
                BIN / "copier",
                "copy",
                "--quiet",
                "--trust",
                "--defaults",
                "--vcs-ref",
                "HEAD",
                str(TEMPLATE),
                str(work / "defaults"),
            ],
            check=True,
            env=env,
            capture_output=True,
        )
    )
    combinations = [(m, b) for m in MANAGERS for b in BACKENDS]

    def render_all():
        for manager, backend in combinations:
            render(
                work / f"matrix-{manager}-{backend}",
                project_name="Bench",
                package_manager=manager,
                torch_backend=backend,
                torch_version="2.13.0",
            )

    matrix, _ = timed(render_all)
    return cli, matrix, len(combinations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("footprint.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="footprint-") as tmp:
        work = Path(tmp)
        isolate_caches(work)
        content = real_cpu_index_content(work / "wheels")
        rows = []
        naive_seconds, naive_size = naive_install(work)
        with StandInIndex(content) as index:
            for manager in MANAGERS:
                seconds, size = generated_install(work, manager, index.url)
                rows.append((f"generated CPU project, {manager}", seconds, size))
        rows.append(("naive `pip install torch` (CUDA build)", naive_seconds, naive_size))
        cli, matrix, combinations = render_times(work)

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} Linux, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; empty caches.",
        "",
        "| install | time (s) | environment (MB) | time vs naive | size vs naive |",
        "|---|---|---|---|---|",
    ]
    for name, seconds, size in rows:
        lines.append(
            f"| {name} | {seconds:.1f} | {size:,.0f} | {seconds / naive_seconds:.2f} "
            f"| {size / naive_size:.2f} |"
        )
    lines += [
        "",
        "| render | time (s) |",
        "|---|---|",
        f"| `copier copy --trust --defaults` (command line) | {cli:.2f} |",
        f"| all {combinations} manager x backend combinations (API) | {matrix:.2f} "
        f"({matrix / combinations:.2f} each) |",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    args.output.write_text(table)


if __name__ == "__main__":
    main()

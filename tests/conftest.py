import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from maintainers import fetch
from tests.pytorch_index import IndexContent, StandInIndex, download_real_cpu_torch
from tests.tools import template_copy


def pytest_configure(config):
    """pytest-copie's `copie` renders from the process's copy of the template (see
    `template_copy`): the same files, without a clone of the repository per render."""
    config.option.template = str(template_copy())


REAL_WHEELS = pytest.StashKey[list[Path]]()


@pytest.fixture(autouse=True)
def short_backoff(request, monkeypatch):
    """The maintainers' reader retries a failing source after 0.5 s, then 1 s: the tests of
    what a failure of the stand-ins says wait 1 % of that (tests/test_fetch.py checks the
    pauses). Tests of the live sources keep the real backoff."""
    if request.node.get_closest_marker("live") is None:
        monkeypatch.setattr(fetch, "BACKOFF_S", fetch.BACKOFF_S / 100)


@pytest.fixture
def slow_step(monkeypatch) -> Callable[[float], None]:
    """`slow_step(seconds)`, called from a step under test, makes that step take `seconds` as
    the maintainers' deadline sees it: the clock reads that much later from then on, without
    the test waiting for it (so a busy machine changes nothing)."""
    real = time.monotonic
    passed = [0.0]
    monkeypatch.setattr(fetch.time, "monotonic", lambda: real() + passed[0])

    def step(seconds: float) -> None:
        passed[0] += seconds

    return step


@pytest.fixture(scope="session")
def stand_in_index():
    """The PyTorch index stand-in, on 127.0.0.1 for the whole test session."""
    with StandInIndex() as index:
        yield index


def pytest_collection_finish(session):
    """When a selected test needs the real CPU torch, get it before any test runs: a run that
    cannot have it stops at once, saying what it needs (and never fetches a CUDA build)."""
    if not any("real_cpu_index" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    destination = Path(tempfile.mkdtemp(prefix="real-cpu-torch-"))
    session.config.add_cleanup(lambda: shutil.rmtree(destination, ignore_errors=True))
    try:
        session.config.stash[REAL_WHEELS] = download_real_cpu_torch(destination)
    except RuntimeError as error:
        pytest.exit(str(error), returncode=pytest.ExitCode.TESTS_FAILED)


@pytest.fixture(scope="session")
def real_cpu_index(request):
    """The stand-in index, with the real torch 2.13.0 CPU wheel for Python 3.11 (and what it
    depends on, fetched at session start) on its CPU page in place of the stub, as the real
    index serves it."""
    wheels = request.config.stash[REAL_WHEELS]
    with StandInIndex(IndexContent(real_wheels={"cpu": wheels})) as index:
        yield index

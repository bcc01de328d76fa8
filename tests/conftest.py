import pytest

from tests.pytorch_index import IndexContent, StandInIndex, download_real_cpu_torch
from tests.tools import template_copy


def pytest_configure(config):
    """pytest-copie's `copie` renders from the process's copy of the template (see
    `template_copy`): the same files, without a clone of the repository per render."""
    config.option.template = str(template_copy())


@pytest.fixture(scope="session")
def stand_in_index():
    """The PyTorch index stand-in, on 127.0.0.1 for the whole test session."""
    with StandInIndex() as index:
        yield index


@pytest.fixture(scope="session")
def real_cpu_index(tmp_path_factory):
    """The stand-in index, with the real torch 2.13.0 CPU wheel for Python 3.11 (and what it
    depends on) on its CPU page in place of the stub, as the real index serves it. Fails
    (never skips) when the wheel cannot be had."""
    try:
        wheels = download_real_cpu_torch(tmp_path_factory.mktemp("real-wheels"))
    except RuntimeError as error:
        pytest.fail(str(error))
    with StandInIndex(IndexContent(real_wheels={"cpu": wheels})) as index:
        yield index

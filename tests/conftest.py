import pytest

from tests.pytorch_index import StandInIndex


@pytest.fixture(scope="session")
def stand_in_index():
    """The PyTorch index stand-in, on 127.0.0.1 for the whole test session."""
    with StandInIndex() as index:
        yield index

"""Where the real-torch tests get torch 2.13.0+cpu: the PyTorch CPU index first (as a user's
pip would), then this machine's pip configuration; never PyPI's CUDA build. A run that has
neither stops at session start (tests/conftest.py) with what it needs."""

import os

import pytest

from extensions.index_model import MODEL
from tests.pytorch_index import (
    HostileContent,
    StandInIndex,
    download_real_cpu_torch,
    real_torch_sources,
)


@pytest.mark.tools  # runs pip download, twice
def test_without_the_pytorch_index_or_a_local_store_the_run_stops_and_takes_no_cuda_torch(
    tmp_path,
):
    """A clean pip that reaches only PyPI (here a stand-in serving PyPI's CUDA build of torch
    2.13.0) and no PyTorch index: the download stops with what the run needs, and nothing was
    downloaded."""
    with StandInIndex(HostileContent()) as pypi:
        clean = {"PIP_CONFIG_FILE": os.devnull}
        sources = [
            ("the PyTorch CPU index", {**clean, "PIP_INDEX_URL": "http://127.0.0.1:9/whl/cpu"}),
            ("PyPI alone", {**clean, "PIP_INDEX_URL": pypi.url}),
        ]
        with pytest.raises(RuntimeError) as refused:
            download_real_cpu_torch(tmp_path, sources)
    message = str(refused.value)
    assert "need torch 2.13.0+cpu" in message and "reach the PyTorch CPU index" in message
    assert "PyPI alone" in message
    assert list(tmp_path.iterdir()) == []


def test_the_first_source_is_the_pytorch_cpu_index_of_the_model():
    (name, env), (machine, machine_env) = real_torch_sources()
    assert env["PIP_INDEX_URL"] == f"{MODEL.index_url}/cpu"
    assert env["PIP_CONFIG_FILE"] == os.devnull and machine_env == {}

"""What CPU CI cannot check, for machines with an accelerator (`pytest -m gpu` on a GPU
runner): training on it, resuming there, and torchrun with NCCL (RCCL on ROCm) on its GPUs.
Skipped, with the reason, where there is none."""

import dataclasses
import json
import subprocess
import sys

import pytest
import torch

from demo.config import Config
from demo.device import accelerator
from demo.train import train

pytestmark = pytest.mark.gpu

DEVICE = accelerator()
# CUDA and ROCm GPUs (HIP builds answer as "cuda"): what NCCL and RCCL run on.
GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0
needs_accelerator = pytest.mark.skipif(
    DEVICE is None, reason="no accelerator: torch finds no GPU (or MPS) here"
)


@needs_accelerator
@pytest.mark.parametrize("amp", [False, True])
def test_training_on_the_accelerator_reduces_the_loss(tmp_path, amp):
    assert DEVICE is not None  # skipped otherwise
    result = train(Config(epochs=5, device=str(DEVICE), amp=amp, log_dir=tmp_path))
    assert result["device"].startswith(DEVICE.type)
    assert result["losses"][-1] < result["losses"][0] / 2


@needs_accelerator
def test_a_resumed_run_on_the_accelerator_ends_with_the_uninterrupted_losses(tmp_path):
    path = tmp_path / "run.pt"
    config = Config(epochs=2, device=str(DEVICE), checkpoint=path, log_dir=tmp_path)
    train(config)
    resumed = train(dataclasses.replace(config, epochs=4))
    alone = train(dataclasses.replace(config, epochs=4, checkpoint=None))
    assert resumed["losses"] == pytest.approx(alone["losses"], rel=1e-5)


@pytest.mark.parametrize("processes", [1, 2])
def test_torchrun_trains_on_the_gpus_with_nccl(tmp_path, processes):
    if processes > GPUS:
        pytest.skip(f"{processes} NCCL processes need {processes} CUDA or ROCm GPUs, found {GPUS}")
    output = tmp_path / "losses.json"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    run = subprocess.run(
        [*torchrun, "--nproc-per-node", str(processes), "-m", train.__module__]
        + ["--epochs", "4", "--output", str(output), "--log-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for rank in range(processes):
        assert f"rank {rank}/{processes} on cuda:{rank} (nccl)" in run.stdout
    result = json.loads(output.read_text())
    assert result["world_size"] == processes
    # N processes on 1/N of the global batch each take the steps of one process.
    alone = train(Config(epochs=4, device="cuda", log_dir=tmp_path))
    assert result["losses"] == pytest.approx(alone["losses"], rel=1e-3)

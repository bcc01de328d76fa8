"""A checkpoint holds the whole state of a run, and a kill never leaves half of one."""

import random

import numpy as np
import pytest
import torch

from demo import checkpoint


def test_a_checkpoint_restores_every_random_number_generator(tmp_path):
    cpu = torch.device("cpu")
    checkpoint.save({"rng": checkpoint.rng_states(cpu)}, tmp_path / "run.pt")
    drawn = torch.rand(3).tolist(), random.random(), np.random.rand()
    saved = checkpoint.load(tmp_path / "run.pt")
    assert saved is not None
    checkpoint.set_rng_states(saved["rng"], cpu)
    assert (torch.rand(3).tolist(), random.random(), np.random.rand()) == drawn


def test_no_checkpoint_yet_is_none(tmp_path):
    assert checkpoint.load(tmp_path / "run.pt") is None


def test_a_write_that_fails_midway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    checkpoint.save({"epoch": 1}, path)

    def killed_while_writing(state, file):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.torch, "save", killed_while_writing)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save({"epoch": 2}, path)
    assert checkpoint.load(path) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no temporary file left

"""A checkpoint holds the whole state of a run, and a kill never leaves half of one."""

import random

import numpy as np
import pytest
import torch

from demo import checkpoint


def test_a_checkpoint_restores_every_random_number_generator(tmp_path):
    cpu = torch.device("cpu")
    state = {"format": checkpoint.FORMAT, "rng": checkpoint.rng_states(cpu)}
    checkpoint.save(state, tmp_path / "run.pt")
    drawn = torch.rand(3).tolist(), random.random(), np.random.rand()
    saved = checkpoint.load(tmp_path / "run.pt")
    assert saved is not None
    checkpoint.set_rng_states(saved["rng"], cpu)
    assert (torch.rand(3).tolist(), random.random(), np.random.rand()) == drawn


def test_no_checkpoint_yet_is_none(tmp_path):
    assert checkpoint.load(tmp_path / "run.pt") is None


def test_a_write_that_fails_midway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    checkpoint.save({"format": checkpoint.FORMAT, "epoch": 1}, path)

    def killed_while_writing(state, file):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.torch, "save", killed_while_writing)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save({"epoch": 2}, path)
    assert checkpoint.load(path) == {"format": checkpoint.FORMAT, "epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no temporary file left


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not a whole checkpoint"),  # a file created, never written
        (b"epochs = 3\n", "is not a whole checkpoint"),  # another file at the path
    ],
)
def test_a_file_that_is_not_a_checkpoint_is_named_with_the_fix(tmp_path, content, message):
    path = tmp_path / "run.pt"
    path.write_bytes(content)
    with pytest.raises(checkpoint.CheckpointError, match=f"{message}.*delete it"):
        checkpoint.load(path)


def test_half_a_checkpoint_is_named_with_the_fix(tmp_path):
    path = tmp_path / "run.pt"
    checkpoint.save({"format": checkpoint.FORMAT, "model": torch.zeros(1000)}, path)
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(checkpoint.CheckpointError, match="run.pt is not a whole checkpoint"):
        checkpoint.load(path)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"model": [1.0]}, "is not a checkpoint of this project"),  # no format version
        ({"format": checkpoint.FORMAT + 1}, f"has checkpoint format {checkpoint.FORMAT + 1}"),
    ],
)
def test_a_foreign_checkpoint_is_refused(tmp_path, state, message):
    torch.save(state, tmp_path / "run.pt")
    with pytest.raises(checkpoint.CheckpointError, match=message):
        checkpoint.load(tmp_path / "run.pt")

"""Save and restore a run: model, optimizer, random number generators and progress, in one
file written atomically, so that a run killed at any moment resumes where it stopped."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch


def rng_states(device: torch.device) -> dict[str, Any]:
    """The states of every random number generator a run may draw from: torch's (CPU and
    `device`'s), Python's `random` and NumPy's global one."""
    numpy_state = np.random.get_state(legacy=False)
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {**numpy_state, "state": dict(numpy_state["state"])},
    }
    states["numpy"]["state"]["key"] = torch.from_numpy(numpy_state["state"]["key"].copy())
    if device.type != "cpu":
        states[device.type] = getattr(torch, device.type).get_rng_state()
    return states


def set_rng_states(states: dict, device: torch.device) -> None:
    """Restore what `rng_states` returned (the accelerator's only on the same kind of device)."""
    torch.set_rng_state(states["torch"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = {**states["numpy"], "state": dict(states["numpy"]["state"])}
    numpy_state["state"]["key"] = numpy_state["state"]["key"].numpy()
    np.random.set_state(numpy_state)
    if device.type in states:
        getattr(torch, device.type).set_rng_state(states[device.type])


def save(state: dict, path: Path) -> None:
    """Write `state` to `path` atomically: into a temporary file beside it, then renamed over
    it, so that `path` always holds a whole checkpoint, the previous or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as open() would (mkstemp's file is private)
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path) -> dict[str, Any] | None:
    """The state saved at `path`, on the CPU, or None when there is none yet."""
    path = Path(path)
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)

"""Save and restore a run: model, optimizer, random number generators and progress, in one
file written atomically, so that a run killed at any moment resumes where it stopped; a
file that is not a whole checkpoint of this project is named with the fix, never trained
from."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import io
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

# The layout of a checkpoint: bumped when it changes, so that code never misreads an old one.
FORMAT = 1


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


class CheckpointError(ValueError):
    """A checkpoint cannot be resumed from; the message names the file and the fix."""


def best_path(path: Path) -> Path:
    """Where the best model of the run saved at `path` goes: `run.pt` -> `run.best.pt`."""
    path = Path(path)
    return path.with_name(f"{path.stem}.best{path.suffix}")


def load(path: Path) -> dict[str, Any] | None:
    """The state saved at `path`, on the CPU, or None when there is none yet. Raises
    CheckpointError for a file that is not a whole checkpoint of this format."""
    path = Path(path)
    return read(path, path) if path.exists() else None


def read(path: Path, source: Path | io.BytesIO) -> dict[str, Any]:
    """The checkpoint in `source` (the file at `path`, or its bytes), checked as `load` says."""
    fix = "delete it to start a new run, or pass the --checkpoint of the run to resume"
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file fails in many ways (OSError, EOFError, ...)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path} is not a whole checkpoint ({reason}): {fix}") from None
    found = state.get("format") if isinstance(state, dict) else None
    if found is None:
        raise CheckpointError(f"{path} is not a checkpoint of this project: {fix}")
    if found != FORMAT:
        raise CheckpointError(
            f"{path} has checkpoint format {found}, this code reads {FORMAT}: resume it with "
            f"the code that wrote it, or {fix}"
        )
    return state


def check_settings(path: Path, saved: dict[str, Any], settings: dict[str, Any]) -> None:
    """Raises CheckpointError naming the differences when the run saved at `path` had other
    `settings` (seed, lr, ...) than this one: it would not take the same steps."""
    changed = [name for name in settings if saved.get(name) != settings[name]]
    if changed:

        def flags(values: dict[str, Any]) -> str:
            return " ".join(f"--{name.replace('_', '-')} {values.get(name)}" for name in changed)

        raise CheckpointError(
            f"{path} is the checkpoint of a run with {flags(saved)}, not {flags(settings)}: "
            "resume with those, or start a new run with another --checkpoint path"
        )


def check_resumable(path: Path, state: dict[str, Any], sharded: bool) -> None:
    """Raises CheckpointError when the checkpoint `state` read from `path` is no run this
    one can resume: a best-model file (the model only), or an FSDP run's checkpoint without
    its shards or without FSDP (`sharded` False: not under torchrun with --sharding fsdp)."""
    if "settings" not in state:
        run = path.with_name(path.name.replace(".best", "", 1))
        raise CheckpointError(
            f"{path} is a best-model file (the model only): pass the run's checkpoint {run}"
        )
    if "shards" in state and not sharded:
        raise CheckpointError(
            f"{path} is the checkpoint of an FSDP run: resume it under torchrun with "
            "--sharding fsdp and the same number of processes"
        )
    if "shards" in state and not (path.with_name(state["shards"])).is_dir():
        raise CheckpointError(
            f"the shards of {path} ({path.with_name(state['shards'])}) are missing: restore "
            "them, or start a new run with another --checkpoint path"
        )


def check_processes(path: Path, saved: int, processes: int) -> None:
    """Raises CheckpointError when the run saved at `path` had `saved` processes and this one
    has `processes`: the epoch's loss so far is summed over the saved run's ranks."""
    if saved != processes:
        raise CheckpointError(
            f"{path} is the checkpoint of a run with {saved} process(es), not {processes}: "
            f"resume it with {saved} (torchrun --nproc-per-node), or start a new run with "
            "another --checkpoint path"
        )


def check_epochs(path: Path, trained: int, epochs: int) -> None:
    """Raises CheckpointError when the run saved at `path` has `trained` epochs, more than
    the `epochs` this one asks for (its losses would hold epochs it did not ask for)."""
    if epochs < trained:
        raise CheckpointError(
            f"{path} has trained {trained} epochs, more than --epochs {epochs}: pass --epochs "
            f"{trained} or more, or start a new run with another --checkpoint path"
        )


def load_on_every_rank(path: Path) -> dict[str, Any] | None:
    """`load(path)` from the file rank 0 sees, on every rank of the group (ranks may see
    different files: node-local disks, relative paths), so that all resume alike or all
    raise the same CheckpointError."""
    if not (dist.is_available() and dist.is_initialized()):
        return load(path)
    path = Path(path)
    found: list[bytes | None] = [None]
    if dist.get_rank() == 0 and path.exists():
        found[0] = path.read_bytes()
    dist.broadcast_object_list(found, src=0)
    return None if found[0] is None else read(path, io.BytesIO(found[0]))

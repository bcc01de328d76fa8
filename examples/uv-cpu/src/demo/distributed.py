"""Join the group of processes torchrun (or a job script) describes in the environment, and
say so when it cannot: a stale shell's variables never hang a run without a word."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import datetime
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist

# What torchrun sets for each process it starts (torch.distributed's "env://" rendezvous).
VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
SAY_AFTER_S = 2.0  # a group normally forms in well under this: say what a slow join waits for


class LaunchError(RuntimeError):
    """The process cannot join its group; the message says why and how to fix it."""


@dataclass(frozen=True)
class Launch:
    """This process's place in the group, from torchrun's variables."""

    rank: int
    local_rank: int
    world_size: int
    master_addr: str
    master_port: int

    @property
    def address(self) -> str:
        return f"{self.master_addr}:{self.master_port}"


def launch_from_env(environ: Mapping[str, str] | None = None) -> Launch | None:
    """The launch torchrun's variables describe (`environ`: os.environ), or None when none is
    set. Raises LaunchError when only some are set (e.g. LOCAL_RANK left in a shell) or one
    is not a number."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    found = [name for name in VARIABLES if name in env]
    if not found:
        return None
    missing = [name for name in VARIABLES if name not in env]
    if missing:
        raise LaunchError(
            f"{', '.join(found)} set but not {', '.join(missing)}: start the processes with "
            f"torchrun, or unset {' '.join(found)} to train in one process"
        )
    try:
        launch = Launch(
            rank=int(env["RANK"]),
            local_rank=int(env["LOCAL_RANK"]),
            world_size=int(env["WORLD_SIZE"]),
            master_addr=env["MASTER_ADDR"],
            master_port=int(env["MASTER_PORT"]),
        )
    except ValueError as error:
        raise LaunchError(f"torchrun's variables must be numbers: {error}") from None
    if not 0 <= launch.rank < launch.world_size:
        raise LaunchError(f"RANK {launch.rank} is not below WORLD_SIZE {launch.world_size}")
    return launch


def _wait_for_address(launch: Launch, deadline: float) -> None:
    """Until `deadline` (time.monotonic()), wait for rank 0 to listen at the address; raises
    LaunchError when it never does (torch would retry longer, with C++ stack traces)."""
    while True:
        try:
            socket.create_connection((launch.master_addr, launch.master_port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() >= deadline:
                raise LaunchError(f"nothing listened at {launch.address}") from None
            time.sleep(0.5)


def connect_store(launch: Launch, timeout: float) -> dist.Store:
    """The key-value store the group forms through, at `launch.address`, for this restart of
    the run: under torchrun its agent's store (which outlives restarts: a prefix per restart
    keeps the killed processes' addresses out of the new group, pytorch/pytorch#135712), else
    one rank 0 hosts. Waits at most `timeout` seconds for it; raises LaunchError."""
    deadline = time.monotonic() + timeout
    agent_store = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    hosts = launch.rank == 0 and not agent_store
    if not hosts:  # torch would retry longer, with C++ stack traces
        _wait_for_address(launch, deadline)
    left = datetime.timedelta(seconds=max(deadline - time.monotonic(), 1.0))
    store = dist.TCPStore(
        launch.master_addr, launch.master_port, launch.world_size, hosts, left
    )  # fmt: skip
    restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    return dist.PrefixStore(f"restart-{restart}", store)


def join(launch: Launch, backend: str, timeout: float, device: torch.device | None = None):
    """Join the process group of `launch` (as `launch_from_env` read it from the environment)
    with `backend` (nccl, xccl, gloo), waiting at most `timeout` seconds for the others (and
    as long for each collective later); prints what it waits for when that takes more than a
    couple of seconds. `device`: the accelerator of this process, if any. Raises LaunchError
    naming the address and the fix when the group does not form in time."""
    waiting = (
        f"rank {launch.rank}/{launch.world_size} waits for the other processes at "
        f"{launch.address} (up to {timeout:g} s, --dist-timeout)"
    )
    say = threading.Timer(SAY_AFTER_S, lambda: print(waiting, flush=True))
    say.daemon = True
    say.start()
    try:
        store = connect_store(launch, timeout)
        dist.init_process_group(
            backend,
            store=store,
            rank=launch.rank,
            world_size=launch.world_size,
            timeout=datetime.timedelta(seconds=timeout),
            device_id=device if backend == "nccl" else None,  # binds NCCL to the GPU
        )
    except (LaunchError, RuntimeError) as error:  # torch's DistError is a RuntimeError
        reason = str(error).splitlines()[0].rstrip(".")
        raise LaunchError(
            f"rank {launch.rank}: no group of {launch.world_size} processes formed at "
            f"{launch.address} ({reason}). Start every process (torchrun does), with the same "
            "MASTER_ADDR, MASTER_PORT and WORLD_SIZE; or, if these variables were left over in "
            f"your shell, unset {' '.join(VARIABLES)} to train in one process"
        ) from None
    finally:
        say.cancel()

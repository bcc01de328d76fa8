"""Stop on SIGTERM or SIGUSR1 (what SLURM, Kubernetes and torchrun send before they kill a
job) with a checkpoint: the signal is noted, and every rank stops after the same step."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import signal
from types import FrameType
from typing import Any

import torch
import torch.distributed as dist

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGUSR1") if hasattr(signal, name))


class Preemption:
    """Within `with Preemption() as preemption:` (in the main thread), notes the stop
    signals instead of dying of them; `agreed()` says, on every rank alike, whether any rank
    got one. The previous handlers come back at the end of the block."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> Preemption:
        for number in SIGNALS:
            self.previous[number] = signal.signal(number, self._note)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def _note(self, number: int, frame: FrameType | None) -> None:
        self.signal = number

    def agreed(self, device: torch.device) -> bool:
        """Whether a rank of the group got a stop signal (one small all_reduce per call)."""
        got = self.signal is not None
        if not (dist.is_available() and dist.is_initialized()):
            return got
        flag = torch.tensor([1.0 if got else 0.0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def exit_code(self) -> int:
        """What a process killed by the signal would exit with (143 for SIGTERM): not
        finished, as schedulers expect."""
        return 128 + (self.signal or signal.SIGTERM)

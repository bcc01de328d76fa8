"""What rank 0 shows of a run: TensorBoard scalars (`tensorboard --logdir runs/tensorboard`),
a line per epoch, and on a terminal a progress line per step."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import sys
import time
from pathlib import Path
from typing import Any


class Metrics:
    """Rank 0's record of a run (other ranks: `active` False, nothing is written). Writes
    event files to `log_dir` (None: none) from `step` on (a resumed run drops the steps the
    interrupted one took after its checkpoint)."""

    def __init__(self, active: bool, log_dir: Path | None, step: int, epochs: int) -> None:
        self.active = active
        self.epochs = epochs
        self.terminal = active and sys.stdout.isatty()
        self.writer: Any = None
        if active and log_dir:  # only rank 0 pays for importing TensorBoard (seconds)
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(log_dir), purge_step=step)
        self.started = time.monotonic()
        self.samples = 0

    def step(self, step: int, epoch: int, done: int, steps: int, loss: float, lr: float) -> None:
        """After optimizer step `step` (`done` of `steps` this epoch) with `loss` at `lr`."""
        if self.writer:
            self.writer.add_scalar("train/lr", lr, step)
        if self.terminal:
            line = f"epoch {epoch + 1}/{self.epochs}  {done}/{steps}  loss {loss:.6f}  lr {lr:.3g}"
            print(f"\r{line}", end="", flush=True)

    def epoch(self, epoch: int, step: int, loss: float, val_loss: float, samples: int) -> None:
        """After `epoch` (0-based), at `step`: its mean losses and how many samples it took."""
        speed = samples / max(time.monotonic() - self.started, 1e-9)
        self.started = time.monotonic()
        if self.writer:
            self.writer.add_scalar("train/loss", loss, step)
            self.writer.add_scalar("val/loss", val_loss, step)
            self.writer.add_scalar("train/samples_per_s", speed, step)
            self.writer.flush()
        if self.active:
            clear = "\r\x1b[K" if self.terminal else ""  # over the progress line
            print(
                f"{clear}epoch {epoch + 1}/{self.epochs}  loss {loss:.6f}  val_loss {val_loss:.6f}"
                f"  {speed:.0f} samples/s",
                flush=True,
            )

    def say(self, text: str) -> None:
        """A line from rank 0."""
        if self.active:
            print(("\n" if self.terminal else "") + text, flush=True)

    def close(self) -> None:
        """Write what is left to the event files."""
        if self.writer:
            self.writer.close()

"""Train a small model on synthetic data: seconds on a CPU, the same code on GPUs.

    python -m demo.train

README.md shows the other commands. Under torchrun each process (rank) trains a
DistributedDataParallel replica on its own shard of the data; gradients are averaged, so N
ranks with the same global batch size follow the same steps as one process. Only rank 0
prints the losses and writes the output files. With `--checkpoint PATH` every epoch ends
with the whole state of the run in PATH, and a run that finds PATH resumes from it with the
steps the interrupted run would have taken.
"""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import argparse
import gc
import json
import math
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from . import checkpoint
from .device import (
    DeviceError,
    accelerator,
    amp_dtype,
    get_device,
    needs_grad_scaler,
    process_device,
    process_group_backend,
    use_device,
)
from .distributed import Launch, LaunchError, join, launch_from_env

# What a checkpoint must share with the run that resumes it: the same data and steps.
RUN_SETTINGS = ("batch_size", "lr", "seed")


def make_dataset(num_samples: int, seed: int) -> TensorDataset:
    """A noisy linear regression problem: y = x @ w + b + noise."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(num_samples, 16, generator=generator)
    weights = torch.randn(16, 1, generator=generator)
    targets = inputs @ weights + 0.5 + 0.1 * torch.randn(num_samples, 1, generator=generator)
    return TensorDataset(inputs, targets)


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))


def seed_everything(seed: int) -> None:
    """Seed every random number generator a run may draw from (torch's on every device)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_deterministic() -> None:
    """Deterministic algorithms only, with the settings they need on GPUs (as torchtitan's
    set_determinism): the same seed gives the same results, bit for bit, a little slower."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before cuBLAS starts
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


class CheckpointMismatch(ValueError):
    """A checkpoint was written by a run with other settings."""


def train(
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 0.05,
    num_samples: int = 1024,
    seed: int = 0,
    device: str | None = None,
    checkpoint_path: Path | None = None,
    amp: bool = False,
) -> dict:
    """Train and return the mean loss of each epoch. `batch_size` is the global batch size:
    each of the world's ranks takes an equal part of it. With `checkpoint_path`, resume from
    it if it exists and save there after every epoch (rank 0). `amp`: autocast to bfloat16
    (float16 with a gradient scaler where the device lacks bfloat16). Raises ValueError for
    a batch size the ranks cannot split, CheckpointMismatch for another run's checkpoint."""
    distributed = dist.is_available() and dist.is_initialized()
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1
    if batch_size % world_size:
        raise ValueError(f"batch size {batch_size} does not split over {world_size} processes")

    seed_everything(seed)
    target_device = get_device(device)
    dataset = make_dataset(num_samples, seed)
    # The same seeded shuffle on every rank; rank r takes every world_size-th sample of it.
    sampler: DistributedSampler[int] = DistributedSampler(
        dataset, num_replicas=world_size, rank=rank, seed=seed
    )
    loader = DataLoader(dataset, batch_size=batch_size // world_size, sampler=sampler)

    net = make_model().to(target_device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    dtype = amp_dtype(target_device) if amp else None
    scaled = dtype is not None and needs_grad_scaler(dtype)  # fp16 needs it, bf16 does not
    scaler = torch.amp.GradScaler(target_device.type, enabled=scaled)
    loss_fn = nn.MSELoss()
    settings = {"batch_size": batch_size, "lr": lr, "seed": seed}

    losses = []
    state = checkpoint.load(checkpoint_path) if checkpoint_path else None
    if state is not None:
        if state["settings"] != settings:
            saved = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in state["settings"].items())
            raise CheckpointMismatch(
                f"{checkpoint_path} is the checkpoint of a run with {saved}: resume with those, "
                "or start a new run with another --checkpoint path"
            )
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state["scaler"]:  # empty from a run without a gradient scaler
            scaler.load_state_dict(state["scaler"])
        checkpoint.set_rng_states(state["rng"], target_device)
        losses = state["losses"]
        if rank == 0:
            print(f"resuming from {checkpoint_path} after epoch {len(losses)}", flush=True)

    model = net
    if world_size > 1:
        device_ids = [target_device.index] if target_device.type in ("cuda", "xpu") else None
        model = DistributedDataParallel(net, device_ids=device_ids)

    for epoch in range(len(losses), epochs):
        sampler.set_epoch(epoch)
        total = torch.zeros((), device=target_device)
        for inputs, targets in loader:
            inputs, targets = inputs.to(target_device), targets.to(target_device)
            optimizer.zero_grad()
            with torch.autocast(target_device.type, dtype=dtype, enabled=amp):
                loss = loss_fn(model(inputs), targets)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += loss.detach().float()
        if world_size > 1:
            dist.all_reduce(total)
        losses.append(total.item() / (len(loader) * world_size))
        if rank == 0:
            if checkpoint_path:
                checkpoint.save(
                    {
                        "settings": settings,
                        "losses": losses,
                        "model": net.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scaler": scaler.state_dict(),
                        "rng": checkpoint.rng_states(target_device),
                    },
                    checkpoint_path,
                )
            print(f"epoch {epoch + 1}/{epochs}  loss {losses[-1]:.6f}", flush=True)
    return {"losses": losses, "world_size": world_size, "device": str(target_device)}


def positive(kind):
    """An argparse type: a finite number of `kind` (int, float) above zero."""

    def parse(text: str):
        value = kind(text)
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"pass a number above 0, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its errors
    return parse


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Launch | None]:
    """The command line and torchrun's launch (None for one process); exits 2, saying the fix,
    for arguments or variables that cannot run."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--epochs", type=positive(int), default=5)
    parser.add_argument("--batch-size", type=positive(int), default=64, help="global batch size")
    parser.add_argument("--lr", type=positive(float), default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="e.g. cpu, cuda (default: best found)")
    parser.add_argument("--output", type=Path, default=None, help="write the losses as JSON")
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="save every epoch here; resume from it"
    )
    parser.add_argument("--amp", action="store_true", help="mixed precision (bfloat16)")
    parser.add_argument(
        "--deterministic", action="store_true", help="deterministic algorithms only"
    )
    parser.add_argument(
        "--dist-timeout",
        type=positive(float),
        default=600.0,
        metavar="SECONDS",
        help="how long a process waits for the others under torchrun (default: 600)",
    )
    args = parser.parse_args(argv)
    try:
        launch = launch_from_env()
    except LaunchError as error:
        parser.error(str(error))
    world_size = launch.world_size if launch else 1
    if args.batch_size % world_size:
        parser.error(
            f"--batch-size {args.batch_size} does not split over {world_size} processes: "
            f"pass a multiple of {world_size}"
        )
    return args, launch


def main(argv: list[str] | None = None) -> None:
    args, launch = parse_args(argv)
    if args.deterministic:
        make_deterministic()
    device = args.device
    if launch:
        try:
            process = process_device(launch.local_rank, launch.world_size, args.device)
            backend = process_group_backend(process)
            use_device(process)
            join(launch, backend, args.dist_timeout, process)
        except (DeviceError, LaunchError) as error:
            sys.exit(f"error: {error}")
        device = str(process)
        print(f"rank {dist.get_rank()}/{dist.get_world_size()} on {device} ({backend})")
        found = accelerator()
        if launch.rank == 0 and process.type == "cpu" and found and not args.device:
            print(f"{found.type} takes one process: these {launch.world_size} share the CPU")
    try:
        result = train(
            args.epochs,
            args.batch_size,
            args.lr,
            seed=args.seed,
            device=device,
            checkpoint_path=args.checkpoint,
            amp=args.amp,
        )
        if args.output and (not launch or dist.get_rank() == 0):
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(result, indent=2) + "\n")
        if launch:
            # DDP holds reference cycles: free the model while its process group exists (left
            # to the interpreter's exit, after the group is gone, it can abort the process).
            gc.collect()
            dist.barrier()
    except CheckpointMismatch as error:
        sys.exit(f"error: {error}")
    finally:
        if launch:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()

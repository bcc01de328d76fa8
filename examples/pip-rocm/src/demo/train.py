"""Train a small model on synthetic data: seconds on a CPU, the same code on GPUs.

    python -m demo.train

README.md shows the other commands; config.py lists every setting. Under torchrun each
process (rank) trains a DistributedDataParallel replica on its own shard of the data;
gradients are averaged, so N ranks with the same global batch size follow the same steps as
one process. Only rank 0 prints, writes the TensorBoard files and saves. With `--checkpoint
PATH` each epoch (and every `--checkpoint-every` steps, and a SIGTERM or SIGUSR1) ends with
the whole state of the run in PATH; a run that finds PATH resumes with the steps the
interrupted run would have taken.
"""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import contextlib
import dataclasses
import gc
import itertools
import json
import math
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from . import checkpoint, data, sharding
from .checkpoint import CheckpointError
from .config import Config, resolve
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
from .metrics import Metrics
from .preemption import Preemption


def make_model() -> nn.Module:
    """The model: replace it with yours (it takes `data.FEATURES` inputs here)."""
    return nn.Sequential(nn.Linear(data.FEATURES, 32), nn.ReLU(), nn.Linear(32, 1))


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


def lr_factor(config: Config, total_steps: int):
    """The learning rate of each step, as a factor of `config.lr`: a linear warmup over
    `warmup_steps`, then constant, or a cosine decay to 0 at `total_steps`."""

    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        if config.schedule == "constant":
            return 1.0
        progress = (step - config.warmup_steps) / max(total_steps - config.warmup_steps, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor


@dataclass
class Run:
    """A run in progress: what it trains with and how far it is."""

    config: Config
    device: torch.device
    rank: int
    world_size: int
    net: nn.Module  # the model itself (its state is what a checkpoint holds)
    model: nn.Module  # what trains: `net`, wrapped for several ranks, compiled
    sharded: bool  # FSDP2: `net` is sharded over the ranks
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    dtype: torch.dtype | None  # autocast's, None without --amp
    train_loader: torch.utils.data.DataLoader
    val_loader: torch.utils.data.DataLoader
    steps_per_epoch: int
    epoch: int = 0  # the epoch in progress (0-based)
    step: int = 0  # optimizer steps taken
    done: int = 0  # of them in this epoch
    total: float = 0.0  # the sum of this rank's step losses in this epoch
    losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    best: float = math.inf  # the lowest validation loss so far


class DivergedError(RuntimeError):
    """The loss is no longer a finite number; the message names the step and the fix."""


def make_loaders(config: Config, rank: int, world_size: int):
    """The training and validation loaders of this rank; each rank takes its part of the
    global batch, in `accumulation` micro-batches."""
    train_set, val_set = data.make_datasets(config.num_samples, config.val_fraction, config.seed)
    micro_batch = config.batch_size // world_size // config.accumulation
    loaders = [
        data.make_loader(dataset, micro_batch, rank, world_size, config.seed, config.workers)
        for dataset in (train_set, val_set)
    ]
    return loaders[0], loaders[1]


def wrap(net: nn.Module, config: Config, device: torch.device, world_size: int) -> nn.Module:
    """`net` as it trains: a DistributedDataParallel replica on several ranks (or sharded in
    place with `--sharding fsdp`), compiled with `--compile`."""
    model = net
    if config.sharding == "fsdp" and dist.is_initialized():
        sharding.shard(net)
    elif world_size > 1:
        device_ids = [device.index] if device.type in ("cuda", "xpu") else None
        model = DistributedDataParallel(net, device_ids=device_ids)
    if config.compile:
        model = torch.compile(model, backend=config.compile_backend)  # type: ignore[assignment]
    return model


def build(config: Config) -> Run:
    """A new run of `config` on this process's device and place in the group."""
    distributed = dist.is_available() and dist.is_initialized()
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1
    seed_everything(config.seed)
    device = get_device(config.device)
    train_loader, val_loader = make_loaders(config, rank, world_size)
    steps_per_epoch = math.ceil(len(train_loader) / config.accumulation)
    net = make_model().to(device)
    model = wrap(net, config, device, world_size)  # before the optimizer: FSDP swaps params
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=0.9)
    sharded = config.sharding == "fsdp" and dist.is_initialized()
    factor = lr_factor(config, steps_per_epoch * config.epochs)
    dtype = amp_dtype(device) if config.amp else None
    scaled = dtype is not None and needs_grad_scaler(dtype)  # fp16 needs it, bf16 does not
    return Run(
        config, device, rank, world_size, net, model, sharded,
        optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor),
        torch.amp.GradScaler(device.type, enabled=scaled), dtype,
        train_loader, val_loader, steps_per_epoch,
    )  # fmt: skip


def state_of(run: Run) -> dict[str, Any]:
    """What a checkpoint of `run` holds: all it needs to take the same steps again (sharded:
    the model and the optimizer are in the shards)."""
    state = {
        "format": checkpoint.FORMAT,
        "settings": run.config.settings(),
        "world_size": run.world_size,
        "config": run.config.to_toml(),
        "progress": {"epoch": run.epoch, "step": run.step, "done": run.done, "total": run.total},
        "losses": run.losses,
        "val_losses": run.val_losses,
        "best": run.best,
        "model": run.net.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "scaler": run.scaler.state_dict(),
        "rng": checkpoint.rng_states(run.device),
    }
    if run.sharded:
        del state["model"], state["optimizer"]
    return state


def restore(run: Run, state: dict[str, Any], path: Path) -> None:
    """Continue `run` from the `state` of the checkpoint at `path` (as `state_of` made it)."""
    checkpoint.check_resumable(path, state, run.sharded)
    checkpoint.check_settings(path, state["settings"], run.config.settings())
    checkpoint.check_processes(path, state.get("world_size", run.world_size), run.world_size)
    checkpoint.check_epochs(path, state["progress"]["epoch"], run.config.epochs)
    if run.sharded:
        sharding.load_shards(run.net, run.optimizer, path.with_name(state["shards"]))
    else:
        run.net.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    if state["scaler"]:  # empty from a run without a gradient scaler
        run.scaler.load_state_dict(state["scaler"])
    checkpoint.set_rng_states(state["rng"], run.device)
    progress = state["progress"]
    run.epoch, run.step, run.done = progress["epoch"], progress["step"], progress["done"]
    run.total = progress["total"] if run.rank == 0 else 0.0  # every rank's sum, saved
    run.best = state["best"]
    run.losses, run.val_losses = state["losses"], state["val_losses"]


def save(run: Run, best: bool = False) -> None:
    """Save the run to `--checkpoint` (rank 0; sharded: every rank its shards first), with
    `best`: its model to the best one too."""
    path = run.config.checkpoint
    if path is None:
        return
    state = state_of(run)
    # The epoch's loss so far, of every rank (restored on rank 0: the sum stays the same).
    state["progress"]["total"] = sum_over_ranks(run, run.total)
    if run.sharded:
        shards = sharding.shards_path(path, run.step)
        sharding.save_shards(run.net, run.optimizer, shards)
        state["shards"] = shards.name
    model = None
    if best:
        model = sharding.full_model_state(run.net) if run.sharded else run.net.state_dict()
    if run.rank != 0:
        return
    checkpoint.save(state, path)
    if run.sharded:
        sharding.remove_other_shards(path, keep=shards)
    if model is not None:
        saved = {"format": checkpoint.FORMAT, "config": run.config.to_toml(), "model": model}
        saved |= {"val_loss": run.best, "epoch": run.epoch}
        checkpoint.save(saved, checkpoint.best_path(path))


def micro_steps(run: Run, batches: list) -> torch.Tensor:
    """Forward and backward over the micro-batches of one step; their mean loss."""
    loss_fn = nn.MSELoss()
    total = torch.zeros((), device=run.device)
    for index, (inputs, targets) in enumerate(batches):
        inputs, targets = inputs.to(run.device), targets.to(run.device)
        last = index == len(batches) - 1
        syncs = last or not isinstance(run.model, DistributedDataParallel)
        with contextlib.nullcontext() if syncs else run.model.no_sync():  # type: ignore[operator]
            with torch.autocast(run.device.type, dtype=run.dtype, enabled=run.dtype is not None):
                loss = loss_fn(run.model(inputs), targets) / len(batches)
            run.scaler.scale(loss).backward()
        total += loss.detach().float()
    return total


def optimizer_step(run: Run, batches: list) -> float:
    """One step of the optimizer over `batches`; its loss on this rank."""
    run.optimizer.zero_grad()
    loss = micro_steps(run, batches)
    if run.config.clip_grad_norm:
        run.scaler.unscale_(run.optimizer)
        nn.utils.clip_grad_norm_(run.net.parameters(), run.config.clip_grad_norm)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    run.step, run.done = run.step + 1, run.done + 1
    return loss.item()


def steps(run: Run) -> Iterator[list]:
    """The micro-batches of each step left in this epoch (a resumed epoch skips the ones its
    checkpoint took)."""
    sampler = run.train_loader.sampler
    assert isinstance(sampler, data.ResumableSampler)
    sampler.set_epoch(run.epoch)
    sampler.skip = run.done * run.train_loader.batch_size * run.config.accumulation  # type: ignore[operator]
    batches = iter(run.train_loader)
    while chunk := list(itertools.islice(batches, run.config.accumulation)):
        yield chunk


def run_epoch(run: Run, metrics: Metrics, preemption: Preemption) -> bool:
    """Train the rest of the epoch in progress; False when a stop signal ended it early
    (after a checkpoint)."""
    for batches in steps(run):
        loss = optimizer_step(run, batches)
        if not math.isfinite(loss):
            raise DivergedError(
                f"the loss is {loss} at step {run.step}: training diverged; lower --lr (now "
                f"{run.config.lr}) or clip the gradients (--clip-grad-norm 1.0)"
            )
        run.total += loss
        metrics.step(run.step, run.epoch, run.done, run.steps_per_epoch, loss, lr_of(run))
        if preemption.agreed(run.device):
            save(run)
            saved = "saved" if run.config.checkpoint else "not saved (no --checkpoint)"
            metrics.say(f"stopped by signal {preemption.signal} after step {run.step}: {saved}")
            return False
        if run.config.checkpoint_every and run.step % run.config.checkpoint_every == 0:
            save(run)
    return True


def lr_of(run: Run) -> float:
    """The learning rate of the next step."""
    return run.optimizer.param_groups[0]["lr"]


def sum_over_ranks(run: Run, value: float) -> float:
    """The sum of `value` over the ranks (every rank calls it)."""
    summed = torch.tensor([value], dtype=torch.float64, device=run.device)
    if run.world_size > 1:
        dist.all_reduce(summed)
    return summed.item()


def mean_over_ranks(run: Run, total: float, count: int) -> float:
    """The mean of values whose sum on this rank is `total`, over `count` of them per rank."""
    summed = torch.tensor([total, float(count)], dtype=torch.float64, device=run.device)
    if run.world_size > 1:
        dist.all_reduce(summed)
    return (summed[0] / summed[1]).item()


def validate(run: Run) -> float:
    """The mean loss of the validation set (every rank's part of it)."""
    loss_fn = nn.MSELoss(reduction="sum")
    total, count = torch.zeros((), device=run.device), 0
    run.net.eval()
    with torch.no_grad():
        for inputs, targets in run.val_loader:
            inputs, targets = inputs.to(run.device), targets.to(run.device)
            with torch.autocast(run.device.type, dtype=run.dtype, enabled=run.dtype is not None):
                total += loss_fn(run.net(inputs), targets).float()
            count += targets.numel()
    run.net.train()
    return mean_over_ranks(run, total.item(), count)


def end_epoch(run: Run, metrics: Metrics) -> None:
    """Record the epoch just trained and its validation loss; save the run (and the best)."""
    run.losses.append(mean_over_ranks(run, run.total, run.done))
    run.val_losses.append(validate(run))
    samples = run.done * run.config.batch_size
    metrics.epoch(run.epoch, run.step, run.losses[-1], run.val_losses[-1], samples)
    best = run.val_losses[-1] < run.best
    run.best = min(run.best, run.val_losses[-1])
    run.epoch, run.done, run.total = run.epoch + 1, 0, 0.0
    save(run, best=best)


def resume(run: Run) -> str | None:
    """Continue from `--checkpoint` if the file is there (the same on every rank); what to
    say about it."""
    path = run.config.checkpoint
    state = checkpoint.load_on_every_rank(path) if path else None
    if state is None or path is None:
        return None
    restore(run, state, path)
    return f"resuming from {path} after epoch {run.epoch}, step {run.step}"


def train(config: Config, preemption: Preemption | None = None) -> dict[str, Any]:
    """Train as `config` says; return the mean training and validation loss of each epoch.
    `preemption`: the stop signals caught (None: none). Raises CheckpointError for a
    checkpoint that cannot be resumed; with `stopped` True in the result after a signal."""
    run = build(config)
    resumed = resume(run)
    metrics = Metrics(run.rank == 0, config.log_dir, run.step, config.epochs)
    if resumed:
        metrics.say(resumed)
    preemption = preemption or Preemption()
    try:
        stopped = False
        while run.epoch < config.epochs and not stopped:
            stopped = not run_epoch(run, metrics, preemption)
            if not stopped:
                end_epoch(run, metrics)
    finally:
        metrics.close()
    return {
        "losses": run.losses,
        "val_losses": run.val_losses,
        "world_size": run.world_size,
        "device": str(run.device),
        "stopped": stopped,
    }


def start_group(config: Config, launch: Launch) -> Config:
    """Join torchrun's group on this process's device; the config with that device."""
    process = process_device(launch.local_rank, launch.world_size, config.device)
    backend = process_group_backend(process)
    use_device(process)
    join(launch, backend, config.dist_timeout, process)
    print(f"rank {dist.get_rank()}/{dist.get_world_size()} on {process} ({backend})")
    found = accelerator()
    if launch.rank == 0 and process.type == "cpu" and found and not config.device:
        print(f"{found.type} takes one process: these {launch.world_size} share the CPU")
    return dataclasses.replace(config, device=str(process))


def parse_args(argv: list[str] | None = None) -> tuple[Config, Launch | None]:
    """The config and torchrun's launch (None for one process); exits 2, saying the fix, for
    arguments or variables that cannot run."""
    config, cli = resolve(argv)
    try:
        launch = launch_from_env()
    except LaunchError as error:
        cli.error(str(error))
    train_size, val_size = data.split_sizes(config.num_samples, config.val_fraction)
    if not (train_size and val_size):
        cli.error(
            f"--num-samples {config.num_samples} with --val-fraction {config.val_fraction} "
            f"leaves {train_size} training and {val_size} validation samples: pass more "
            "--num-samples (or another --val-fraction) so that both have some"
        )
    parts = (launch.world_size if launch else 1) * config.accumulation
    if config.batch_size % parts:
        cli.error(
            f"--batch-size {config.batch_size} does not split over {parts} micro-batches "
            f"(processes x --accumulation): pass a multiple of {parts}"
        )
    return config, launch


def write_outputs(config: Config, result: dict[str, Any]) -> None:
    """Rank 0 writes the losses (`--output`) and the resolved config (beside the TensorBoard
    files), to run again with `--config`."""
    if dist.is_initialized() and dist.get_rank() != 0:
        return
    if config.log_dir:
        config.log_dir.mkdir(parents=True, exist_ok=True)
        (config.log_dir / "config.toml").write_text(config.to_toml())
    if config.output and not result["stopped"]:
        config.output.parent.mkdir(parents=True, exist_ok=True)
        config.output.write_text(json.dumps(result, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    config, launch = parse_args(argv)
    if config.deterministic:
        make_deterministic()
    with Preemption() as preemption:
        try:
            # The config as given is saved: each process's own device is its run's only.
            process_config = start_group(config, launch) if launch else config
            result = train(process_config, preemption)
            write_outputs(config, result)
            if launch:
                # DDP holds reference cycles: free the model while its process group exists
                # (left to the interpreter's exit, after the group is gone, it can abort).
                gc.collect()
                dist.barrier()
        except (DeviceError, LaunchError, CheckpointError, DivergedError) as error:
            sys.exit(f"error: {error}")
        finally:
            if launch and dist.is_initialized():
                dist.destroy_process_group()
    if result["stopped"]:
        sys.exit(preemption.exit_code())


if __name__ == "__main__":
    main()

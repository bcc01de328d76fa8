"""Train a small model on synthetic data: seconds on a CPU, the same code on GPUs.

    python -m demo.train
    torchrun --standalone --nproc-per-node 2 -m demo.train

Under torchrun each process (rank) trains a DistributedDataParallel replica on its own shard
of the data; gradients are averaged, so N ranks with the same global batch size follow the
same steps as one process. Only rank 0 prints the losses and writes the output file.
"""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import argparse
import gc
import json
import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from demo.device import get_device


def make_dataset(num_samples: int, seed: int) -> TensorDataset:
    """A noisy linear regression problem: y = x @ w + b + noise."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(num_samples, 16, generator=generator)
    weights = torch.randn(16, 1, generator=generator)
    targets = inputs @ weights + 0.5 + 0.1 * torch.randn(num_samples, 1, generator=generator)
    return TensorDataset(inputs, targets)


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))


def train(
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 0.05,
    num_samples: int = 1024,
    seed: int = 0,
    device: str | None = None,
) -> dict:
    """Train and return the mean loss of each epoch. `batch_size` is the global batch size:
    each of the world's ranks takes an equal part of it."""
    distributed = dist.is_available() and dist.is_initialized()
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1
    if batch_size % world_size:
        raise ValueError(f"batch size {batch_size} does not split over {world_size} processes")

    torch.manual_seed(seed)
    target_device = get_device(device)
    dataset = make_dataset(num_samples, seed)
    # The same seeded shuffle on every rank; rank r takes every world_size-th sample of it.
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, seed=seed)
    loader = DataLoader(dataset, batch_size=batch_size // world_size, sampler=sampler)

    model = make_model().to(target_device)
    if distributed:
        device_ids = [target_device.index] if target_device.type == "cuda" else None
        model = DistributedDataParallel(model, device_ids=device_ids)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()

    losses = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        total = torch.zeros((), device=target_device)
        for inputs, targets in loader:
            inputs, targets = inputs.to(target_device), targets.to(target_device)
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        if distributed:
            dist.all_reduce(total)
        losses.append(total.item() / (len(loader) * world_size))
        if rank == 0:
            print(f"epoch {epoch + 1}/{epochs}  loss {losses[-1]:.6f}")
    return {"losses": losses, "world_size": world_size, "device": str(target_device)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="e.g. cpu, cuda (default: best found)")
    parser.add_argument("--output", type=Path, default=None, help="write the losses as JSON")
    args = parser.parse_args(argv)

    distributed = "LOCAL_RANK" in os.environ  # set by torchrun
    device = args.device
    if distributed:
        if device is None:
            # One GPU (CUDA or ROCm) per process; without one, the processes share the CPU.
            local_rank = int(os.environ["LOCAL_RANK"])
            device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
        on_gpu = device.startswith("cuda")
        if on_gpu:
            torch.cuda.set_device(device)
        backend = "nccl" if on_gpu else "gloo"
        dist.init_process_group(backend, device_id=torch.device(device) if on_gpu else None)
        print(f"rank {dist.get_rank()}/{dist.get_world_size()} on {device} ({backend})")
    try:
        result = train(args.epochs, args.batch_size, args.lr, seed=args.seed, device=device)
        if args.output and (not distributed or dist.get_rank() == 0):
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(result, indent=2) + "\n")
        if distributed:
            # DDP holds reference cycles: free the model while its process group exists (left
            # to the interpreter's exit, after the group is gone, it can abort the process).
            gc.collect()
            dist.barrier()
    finally:
        if distributed:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()

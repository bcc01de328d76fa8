"""The data seam: replace `make_datasets` with your own Datasets; the loaders stay as they are
(each rank reads its own shard, in the same seeded order on every run)."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import signal
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset, random_split

FEATURES = 16  # the inputs of one sample (the model in train.py takes as many)


def split_sizes(num_samples: int, val_fraction: float) -> list[int]:
    """The sizes of the training and validation sets of `num_samples`, `val_fraction` held out."""
    held_out = round(num_samples * val_fraction)
    return [num_samples - held_out, held_out]


def make_datasets(num_samples: int, val_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """The training and validation sets: a noisy linear regression problem, y = x @ w + b +
    noise, `val_fraction` of it held out (the same split for a seed)."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(num_samples, FEATURES, generator=generator)
    weights = torch.randn(FEATURES, 1, generator=generator)
    targets = inputs @ weights + 0.5 + 0.1 * torch.randn(num_samples, 1, generator=generator)
    train, val = random_split(
        TensorDataset(inputs, targets), split_sizes(num_samples, val_fraction), generator=generator
    )
    return train, val


class ResumableSampler(DistributedSampler):
    """DistributedSampler that starts an epoch after the samples a checkpoint already took."""

    skip = 0  # samples of this rank's shard to leave out, for the epoch set next

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())[self.skip :]
        self.skip = 0  # for this epoch only
        return iter(indices)

    def __len__(self) -> int:
        return super().__len__() - self.skip  # what the next epoch yields


def quiet_worker(worker_id: int) -> None:
    """Loader workers leave SIGTERM, SIGUSR1 and SIGINT to the training process, which saves
    a checkpoint and stops them (a launcher signals the whole process group)."""
    for name in ("SIGTERM", "SIGUSR1", "SIGINT"):
        if hasattr(signal, name):  # Windows has no SIGUSR1
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def make_loader(
    dataset: Dataset, batch_size: int, rank: int, world_size: int, seed: int, workers: int = 0
) -> DataLoader:
    """Batches of `batch_size` from this rank's shard of `dataset`, reshuffled each epoch
    (`loader.sampler.set_epoch`); `workers` processes load them, into pinned memory where a
    GPU takes them."""
    sampler = ResumableSampler(dataset, num_replicas=world_size, rank=rank, seed=seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        worker_init_fn=quiet_worker,
        persistent_workers=workers > 0,
    )

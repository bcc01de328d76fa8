"""FSDP2 (`--sharding fsdp`): each rank holds a shard of the parameters, gradients and
optimizer state, for a model too big for one device; its checkpoint is a folder of shards
(torch.distributed.checkpoint), every rank writing its own, beside the run's checkpoint."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import shutil
from pathlib import Path
from typing import Any

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)
from torch.distributed.fsdp import fully_shard


def shard(net: nn.Module) -> nn.Module:
    """Shard `net` over the ranks of the group, in place: each layer with parameters (its
    own all-gather, as torchtitan shards each block), then the rest."""
    for layer in net.children():
        if any(True for _ in layer.parameters()):
            fully_shard(layer)
    fully_shard(net)
    return net


def shards_path(path: Path, step: int) -> Path:
    """The folder of the shards of the checkpoint at `path` saved after `step`."""
    return path.with_name(f"{path.name}.shards-{step}")


def save_shards(net: nn.Module, optimizer: torch.optim.Optimizer, folder: Path) -> None:
    """Every rank writes its shards of the model and the optimizer to `folder` (a folder all
    ranks see); returns once all are written."""
    model_state, optimizer_state = get_state_dict(net, optimizer)
    dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=str(folder))


def load_shards(net: nn.Module, optimizer: torch.optim.Optimizer, folder: Path) -> None:
    """Every rank reads its shards of the model and the optimizer from `folder`."""
    model_state, optimizer_state = get_state_dict(net, optimizer)
    state: dict[str, Any] = {"model": model_state, "optimizer": optimizer_state}
    dcp.load(state, checkpoint_id=str(folder))
    set_state_dict(
        net, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"]
    )


def full_model_state(net: nn.Module) -> dict[str, Any]:
    """The whole model's state, gathered on rank 0's CPU (every rank takes part)."""
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(net, options=options)


def remove_other_shards(path: Path, keep: Path) -> None:
    """Delete the shard folders of the checkpoint at `path` other than `keep`."""
    for folder in path.parent.glob(f"{path.name}.shards-*"):
        if folder != keep:
            shutil.rmtree(folder, ignore_errors=True)

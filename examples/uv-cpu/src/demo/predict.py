"""Run the trained model on inputs: the best model a training run kept, on any device, with
no training state.

    python -m demo.predict \\
        runs/checkpoint.best.pt inputs.json

`inputs.json` holds a list of samples, each a list of the model's input numbers; the
predictions are printed as JSON, one list per sample.
"""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn

from .checkpoint import CheckpointError, best_path, load
from .config import device_name
from .device import get_device
from .train import make_model


def load_model(path: Path, device: torch.device) -> nn.Module:
    """The model saved at `path` (a best checkpoint, or a run's checkpoint), in evaluation
    mode on `device`. Raises CheckpointError for a file that is not one."""
    state = load(path)
    if state is None:
        raise CheckpointError(f"{path} does not exist: pass the .best.pt file a training run wrote")
    if "model" not in state:  # an FSDP run's checkpoint: its model is in shards
        raise CheckpointError(
            f"{path} holds no whole model (an FSDP run's checkpoint): pass {best_path(path)}"
        )
    model = make_model()
    model.load_state_dict(state["model"])
    return model.to(device).eval()


def predict(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The outputs of `model` for a batch of `inputs` (on the model's device), on the CPU."""
    device = next(model.parameters()).device
    with torch.inference_mode():
        return model(inputs.to(device)).cpu()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.predict", description=__doc__.splitlines()[0]
    )
    parser.add_argument("checkpoint", type=Path, help="e.g. runs/checkpoint.best.pt")
    parser.add_argument("inputs", type=Path, help="a JSON list of samples")
    parser.add_argument("--device", type=device_name, help="default: the best found")
    args = parser.parse_args(argv)
    try:
        inputs = torch.tensor(json.loads(args.inputs.read_text()), dtype=torch.float32)
    except (OSError, ValueError, TypeError) as error:
        parser.error(f"{args.inputs}: {error}: give a JSON list of lists of numbers")
    try:
        model = load_model(args.checkpoint, get_device(args.device))
        outputs = predict(model, inputs)
    except (CheckpointError, RuntimeError) as error:
        sys.exit(f"error: {error}")
    print(json.dumps(outputs.tolist()))


if __name__ == "__main__":
    main()

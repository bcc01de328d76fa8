import torch

from demo.device import get_device


def test_an_explicit_device_wins():
    assert get_device("cpu") == torch.device("cpu")


def test_the_default_device_runs_a_computation():
    device = get_device()
    assert (torch.ones(2, device=device) * 2).sum().item() == 4

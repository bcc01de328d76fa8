import pytest
import torch

from demo import train as training
from demo.train import train


def test_training_reduces_the_loss():
    losses = train(epochs=5, device="cpu")["losses"]
    assert losses[-1] < losses[0] / 2


def test_training_is_reproducible_with_a_seed():
    assert train(epochs=2, seed=3, device="cpu") == train(epochs=2, seed=3, device="cpu")


def test_main_writes_the_losses(tmp_path):
    output = tmp_path / "out" / "losses.json"
    training.main(["--epochs", "1", "--device", "cpu", "--output", str(output)])
    assert '"losses"' in output.read_text()


def test_a_resumed_run_ends_with_the_losses_of_an_uninterrupted_one(tmp_path, capsys):
    path = tmp_path / "run.pt"
    train(epochs=2, device="cpu", checkpoint_path=path)  # stopped after epoch 2
    resumed = train(epochs=4, device="cpu", checkpoint_path=path)
    assert "resuming from" in capsys.readouterr().out
    assert resumed == train(epochs=4, device="cpu")


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    path = tmp_path / "run.pt"
    train(epochs=1, device="cpu", checkpoint_path=path)
    with pytest.raises(training.CheckpointMismatch, match="--seed 0: resume with those"):
        train(epochs=2, seed=1, device="cpu", checkpoint_path=path)


def test_mixed_precision_reduces_the_loss():
    losses = train(epochs=5, device="cpu", amp=True)["losses"]
    assert losses[-1] < losses[0] / 2


@pytest.fixture
def deterministic():
    yield training.make_deterministic
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic = False


def test_deterministic_training_reduces_the_loss_and_repeats_bit_for_bit(deterministic):
    deterministic()
    assert torch.are_deterministic_algorithms_enabled()
    losses = train(epochs=5, device="cpu")["losses"]
    assert losses[-1] < losses[0] / 2
    assert train(epochs=5, device="cpu")["losses"] == losses


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "-1"], "argument --epochs: pass a number above 0, not -1"),
        (["--lr", "0"], "argument --lr: pass a number above 0, not 0"),
        (["--lr", "nan"], "argument --lr: pass a number above 0, not nan"),
        (["--dist-timeout", "inf"], "argument --dist-timeout: pass a number above 0, not inf"),
        (["--batch-size", "63"], "--batch-size 63 does not split over 2 processes"),
    ],
)
def test_arguments_that_cannot_train_are_refused_with_the_fix(monkeypatch, capsys, args, message):
    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    with pytest.raises(SystemExit) as exit:
        training.parse_args(args)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err

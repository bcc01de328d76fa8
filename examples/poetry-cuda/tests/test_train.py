import ast
import dataclasses
import re
import socket
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import (  # type: ignore[import-untyped]
    EventAccumulator,
)

import demo
from demo import checkpoint
from demo import train as training
from demo.checkpoint import CheckpointError
from demo.config import Config
from demo.metrics import Metrics
from demo.predict import load_model
from demo.train import train


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Each test's runs/ (TensorBoard files) in its own folder."""
    monkeypatch.chdir(tmp_path)


def run(**settings):
    return train(Config(device="cpu", **settings))


def test_training_reduces_the_loss_and_validates_each_epoch():
    result = run(epochs=5)
    assert result["losses"][-1] < result["losses"][0] / 2
    assert len(result["val_losses"]) == 5 and result["val_losses"][-1] < result["val_losses"][0]


def test_training_is_reproducible_with_a_seed():
    assert run(epochs=2, seed=3) == run(epochs=2, seed=3)


def test_main_writes_the_losses_and_the_config(tmp_path):
    output = tmp_path / "out" / "losses.json"
    training.main(["--epochs", "1", "--device", "cpu", "--output", str(output)])
    assert '"losses"' in output.read_text()
    assert "epochs = 1\n" in (tmp_path / "runs/tensorboard/config.toml").read_text()


def test_a_resumed_run_ends_with_the_losses_of_an_uninterrupted_one(tmp_path, capsys):
    path = tmp_path / "run.pt"
    run(epochs=2, checkpoint=path)  # stopped after epoch 2
    resumed = run(epochs=4, checkpoint=path)
    assert "resuming from" in capsys.readouterr().out
    assert resumed == run(epochs=4)


class SignalAtStep(training.Preemption):
    """As if SIGTERM came during step `step`."""

    def __init__(self, step):
        super().__init__()
        self.step, self.calls = step, 0

    def agreed(self, device):
        self.calls += 1
        self.signal = 15 if self.calls >= self.step else None
        return super().agreed(device)


def test_a_signal_inside_an_epoch_saves_and_the_rerun_ends_as_an_uninterrupted_run(tmp_path):
    path = tmp_path / "run.pt"
    stopped = train(Config(device="cpu", epochs=3, checkpoint=path), SignalAtStep(17))
    assert stopped["stopped"] and len(stopped["losses"]) == 1  # inside epoch 2 (12 steps each)
    assert torch.load(path, weights_only=True)["progress"]["step"] == 17
    assert run(epochs=3, checkpoint=path)["losses"] == run(epochs=3)["losses"]


def test_a_signal_without_a_checkpoint_says_nothing_was_saved(capsys):
    stopped = train(Config(device="cpu", epochs=3), SignalAtStep(5))
    assert stopped["stopped"]
    assert "after step 5: not saved (no --checkpoint)" in capsys.readouterr().out


def fsdp_checkpoint(path):
    """The checkpoint at `path` as an FSDP run saves it: its model and optimizer in shards."""
    state = torch.load(path, weights_only=True)
    del state["model"], state["optimizer"]
    torch.save({**state, "shards": f"{path.name}.shards-12"}, path)


def test_an_fsdp_checkpoint_resumed_without_fsdp_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "run.pt"
    run(epochs=1, checkpoint=path)
    fsdp_checkpoint(path)
    with pytest.raises(CheckpointError, match="FSDP run: resume it under torchrun"):
        run(epochs=2, checkpoint=path)


def test_an_fsdp_checkpoint_without_its_shards_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "run.pt"
    run(epochs=1, checkpoint=path)
    fsdp_checkpoint(path)
    with pytest.raises(CheckpointError, match="run.pt.shards-12\\) are missing: restore them"):
        checkpoint.check_resumable(path, torch.load(path, weights_only=True), sharded=True)


def test_predict_on_an_fsdp_checkpoint_names_the_best_model_file(tmp_path):
    path = tmp_path / "run.pt"
    run(epochs=1, checkpoint=path)
    fsdp_checkpoint(path)
    with pytest.raises(CheckpointError, match="no whole model .* pass .*run.best.pt"):
        load_model(path, torch.device("cpu"))
    assert load_model(tmp_path / "run.best.pt", torch.device("cpu"))


def test_resuming_from_the_best_model_file_names_the_run_checkpoint(tmp_path):
    run(epochs=1, checkpoint=tmp_path / "run.pt")
    with pytest.raises(CheckpointError, match="best-model file .* pass the run's checkpoint"):
        run(epochs=2, checkpoint=tmp_path / "run.best.pt")


def test_best_model_is_kept_beside_the_last_checkpoint(tmp_path):
    path = tmp_path / "run.pt"
    result = run(epochs=3, checkpoint=path)
    best = torch.load(tmp_path / "run.best.pt", weights_only=True)
    assert best["val_loss"] == min(result["val_losses"])


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"seed": 1}, "with --seed 0, not --seed 1"),
        ({"lr": 0.1}, "with --lr 0.05, not --lr 0.1"),
        ({"amp": True}, "with --amp False, not --amp True"),
        ({"batch_size": 32}, "with --batch-size 64, not --batch-size 32"),
    ],
)
def test_a_checkpoint_of_other_settings_is_refused_with_the_difference(tmp_path, changed, message):
    path = tmp_path / "run.pt"
    run(epochs=1, checkpoint=path)
    with pytest.raises(CheckpointError, match=message):
        run(epochs=2, checkpoint=path, **changed)


def test_a_checkpoint_of_another_number_of_processes_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "run.pt"
    run(epochs=1, checkpoint=path)
    state = torch.load(path, weights_only=True)
    torch.save({**state, "world_size": 2}, path)  # as a run under torchrun --nproc-per-node 2
    with pytest.raises(CheckpointError, match="with 2 process\\(es\\), not 1: resume it with 2"):
        run(epochs=2, checkpoint=path)


def test_a_checkpoint_of_more_epochs_than_asked_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "run.pt"
    run(epochs=2, checkpoint=path)
    with pytest.raises(CheckpointError, match="trained 2 epochs, more than --epochs 1: pass"):
        run(epochs=1, checkpoint=path)


def test_a_diverging_run_stops_naming_the_step_and_the_fix_and_writes_no_losses(tmp_path):
    output = tmp_path / "losses.json"
    with pytest.raises(SystemExit) as exit:
        training.main(["--lr", "1e30", "--device", "cpu", "--output", str(output)])
    assert re.search(r"loss is nan at step \d+: training diverged; lower --lr", str(exit.value))
    assert not output.exists()


def test_the_saved_config_keeps_the_device_as_given_under_torchrun(tmp_path, monkeypatch):
    launch = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
    for name, value in {**launch, "MASTER_PORT": str(free_port())}.items():
        monkeypatch.setenv(name, value)
    training.main(["--epochs", "1", "--log-dir", str(tmp_path / "tb")])
    assert "device =" not in (tmp_path / "tb/config.toml").read_text()  # each rank finds its own


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_micro_batches_take_the_steps_of_one_batch():
    whole = run(epochs=3)["losses"]
    assert run(epochs=3, accumulation=2)["losses"] == pytest.approx(whole, rel=1e-5)


def test_clipping_warmup_and_a_cosine_schedule_train():
    losses = run(epochs=5, clip_grad_norm=1.0, warmup_steps=10, schedule="cosine")["losses"]
    assert losses[-1] < losses[0] / 2


def test_the_warmup_rises_to_the_learning_rate_then_the_cosine_falls_to_zero():
    factor = training.lr_factor(Config(warmup_steps=4, schedule="cosine"), total_steps=12)
    assert [factor(step) for step in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert factor(12) == pytest.approx(0.0, abs=1e-12)


def test_a_compiled_model_trains():
    losses = run(epochs=3, compile=True, compile_backend="aot_eager")["losses"]
    assert losses[-1] < losses[0]


def test_mixed_precision_reduces_the_loss():
    losses = run(epochs=5, amp=True)["losses"]
    assert losses[-1] < losses[0] / 2


@pytest.fixture
def deterministic():
    yield training.make_deterministic
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic = False


def test_deterministic_training_reduces_the_loss_and_repeats_bit_for_bit(deterministic):
    deterministic()
    assert torch.are_deterministic_algorithms_enabled()
    losses = run(epochs=5)["losses"]
    assert losses[-1] < losses[0] / 2
    assert run(epochs=5)["losses"] == losses


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "-1"], "argument --epochs: pass a number above 0, not -1"),
        (["--lr", "0"], "argument --lr: pass a number above 0, not 0"),
        (["--lr", "nan"], "argument --lr: pass a number above 0, not nan"),
        (["--dist-timeout", "inf"], "argument --dist-timeout: pass a number above 0, not inf"),
        (["--batch-size", "63"], "--batch-size 63 does not split over 2 micro-batches"),
        (["--accumulation", "3"], "--batch-size 64 does not split over 6 micro-batches"),
        (["--device", "banana"], "argument --device: choose one of cpu, cuda, mps, xpu"),
        (["--device", "cpu:"], "argument --device: choose one of cpu, cuda, mps, xpu"),
        (["--num-samples", "3", "--val-fraction", "0.9"], "leaves 0 training and 3 validation"),
        (["--num-samples", "1"], "leaves 1 training and 0 validation samples: pass more"),
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


def test_no_function_of_the_package_is_over_40_lines():
    package = Path(demo.__file__).parent
    long = [
        f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 40
    ]
    assert long == []


def test_every_setting_has_a_flag_and_its_default_once():
    flags = training.resolve([])[1].format_help()
    for spec in dataclasses.fields(Config):
        assert "--" + spec.name.replace("_", "-") in flags


def test_rank_0_writes_tensorboard_scalars_and_a_progress_line_on_a_terminal(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    metrics = Metrics(True, tmp_path / "tb", step=0, epochs=2)
    metrics.step(1, epoch=0, done=1, steps=12, loss=0.5, lr=0.05)
    metrics.epoch(0, step=12, loss=0.5, val_loss=0.25, samples=768)
    metrics.close()
    out = capsys.readouterr().out
    assert out.startswith("\repoch 1/2  1/12  loss 0.500000  lr 0.05")
    assert "\r\x1b[Kepoch 1/2  loss 0.500000  val_loss 0.250000" in out
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert set(events.Tags()["scalars"]) == {
        "train/loss",
        "train/lr",
        "train/samples_per_s",
        "val/loss",
    }
    assert [event.value for event in events.Scalars("val/loss")] == [0.25]


def test_other_ranks_write_nothing(tmp_path, capsys):
    metrics = Metrics(False, tmp_path / "tb", step=0, epochs=2)
    metrics.epoch(0, step=12, loss=0.5, val_loss=0.25, samples=768)
    metrics.close()
    assert capsys.readouterr().out == "" and not (tmp_path / "tb").exists()

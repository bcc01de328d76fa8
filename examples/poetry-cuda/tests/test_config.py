"""A run's settings: defaults once in Config, a TOML file over them, flags over the file."""

import pytest

from demo.config import Config, resolve


def test_the_defaults_are_the_config_dataclass():
    assert resolve([])[0] == Config()


def test_a_config_file_sets_the_run_and_flags_override_it(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text("epochs = 4\nlr = 0.02\nbatch_size = 32\namp = true\n")
    config = resolve(["--config", str(path), "--epochs", "3"])[0]
    assert (config.epochs, config.lr, config.batch_size, config.amp) == (3, 0.02, 32, True)
    assert resolve(["--config", str(path), "--no-amp"])[0].amp is False


def test_the_saved_config_reads_back_as_the_same_run(tmp_path):
    config = Config(epochs=3, lr=0.1, checkpoint=tmp_path / "run.pt", schedule="cosine")
    path = tmp_path / "config.toml"
    path.write_text(config.to_toml())
    assert resolve(["--config", str(path)])[0] == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("learning_rate = 0.1\n", "unknown key 'learning_rate'"),
        ("epochs = -2\n", "epochs: pass a number above 0, not -2"),
        ("amp = 1\n", "amp: 1 is not true or false"),
        ("epochs = [1]\n", "epochs: [1] is not a single value"),
        ("compile_backend = true\n", "compile_backend: True is not a string"),
        ("epochs = true\n", "epochs: True is not a number"),
        ('device = "cpu:"\n', "device: choose one of cpu, cuda, mps, xpu"),
        ("epochs = \n", "exp.toml: "),
    ],
)
def test_a_config_file_that_cannot_run_is_refused_naming_the_key(tmp_path, capsys, text, message):
    path = tmp_path / "exp.toml"
    path.write_text(text)
    with pytest.raises(SystemExit) as exit:
        resolve(["--config", str(path)])
    assert exit.value.code == 2
    assert message in capsys.readouterr().err

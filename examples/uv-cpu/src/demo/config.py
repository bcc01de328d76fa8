"""The settings of a training run, each default written once: `Config` below. A TOML file
(`--config exp.toml`, keys as the field names) sets them, command-line flags override it
(`--batch-size` for `batch_size`), and the resolved config is saved with the run."""

from __future__ import annotations  # `X | None` annotations on Python 3.9

import argparse
import dataclasses
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .device import available

DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")  # cuda is also ROCm: HIP builds answer as cuda
SCHEDULES = ("constant", "cosine")
SHARDINGS = ("ddp", "fsdp")


def positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type: a finite number of `kind` (int, float) above zero."""

    def parse(text: str) -> Any:
        value = kind(text)
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"pass a number above 0, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its errors
    return parse


def at_least_zero(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type: a finite number of `kind` that is 0 or more (0: off)."""

    def parse(text: str) -> Any:
        value = kind(text)
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"pass 0 or more, not {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def fraction(text: str) -> float:
    """An argparse type: a number between 0 and 1, both excluded."""
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"pass a number between 0 and 1, not {text}")
    return value


def device_name(text: str) -> str:
    """An argparse type: a device this torch can run on, as `cpu`, `cuda` or `cuda:1`."""
    kind, colon, index = text.partition(":")
    if kind not in DEVICE_TYPES or (colon and not index.isdigit()):
        choices = ", ".join(DEVICE_TYPES)
        raise argparse.ArgumentTypeError(f"choose one of {choices} (cuda:1 for a GPU), not {text}")
    if not available(kind):
        raise argparse.ArgumentTypeError(f"this machine's torch finds no {kind}: pass --device cpu")
    return text


def choice(options: tuple[str, ...]) -> Callable[[str], str]:
    """An argparse type: one of `options`."""

    def parse(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(f"choose one of {', '.join(options)}, not {text}")
        return text

    parse.__name__ = "choice"
    return parse


def setting(default: Any, parse: Callable[[str], Any] | None, help: str) -> Any:
    """A field of `Config`: its default, how a flag's text becomes its value (None: a switch,
    true or false) and what it does (the --help text)."""
    return field(default=default, metadata={"parse": parse, "help": help})


@dataclass(frozen=True)
class Config:
    """Every setting of a run, with its default."""

    epochs: int = setting(5, positive(int), "passes over the training data")
    batch_size: int = setting(64, positive(int), "global batch size of an optimizer step")
    lr: float = setting(0.05, positive(float), "learning rate after the warmup")
    warmup_steps: int = setting(0, at_least_zero(int), "steps of linear warmup to --lr")
    schedule: str = setting("constant", choice(SCHEDULES), "after the warmup: constant, cosine")
    clip_grad_norm: float = setting(0.0, at_least_zero(float), "clip gradients to it (0: off)")
    accumulation: int = setting(1, positive(int), "micro-batches per optimizer step")
    num_samples: int = setting(1024, positive(int), "samples of the synthetic dataset")
    val_fraction: float = setting(0.25, fraction, "part of the data held out for validation")
    workers: int = setting(0, at_least_zero(int), "DataLoader worker processes per rank")
    seed: int = setting(0, int, "seed of every random number generator")
    device: str | None = setting(None, device_name, "cpu, cuda, mps, xpu (default: best found)")
    amp: bool = setting(False, None, "mixed precision (bfloat16, else float16 with a scaler)")
    deterministic: bool = setting(False, None, "deterministic algorithms only")
    compile: bool = setting(False, None, "torch.compile the model")
    compile_backend: str = setting("inductor", str, "torch.compile backend (e.g. aot_eager)")
    sharding: str = setting("ddp", choice(SHARDINGS), "under torchrun: ddp, or fsdp (FSDP2)")
    checkpoint: Path | None = setting(None, Path, "save the run here (and PATH.best); resume")
    checkpoint_every: int = setting(0, at_least_zero(int), "also save every N steps (0: off)")
    output: Path | None = setting(None, Path, "write the losses as JSON")
    log_dir: Path | None = setting(Path("runs/tensorboard"), Path, "TensorBoard event files")
    dist_timeout: float = setting(600.0, positive(float), "seconds to wait for other ranks")

    def settings(self) -> dict[str, Any]:
        """What a checkpoint must share with the run that resumes it: what changes the steps
        (the epochs, for a cosine schedule, which decays over them)."""
        names = ["seed", "lr", "batch_size", "amp", "sharding", "num_samples", "val_fraction"]
        names += ["warmup_steps", "schedule", "clip_grad_norm"]
        names += ["epochs"] if self.schedule == "cosine" else []
        return {name: getattr(self, name) for name in names}

    def to_toml(self) -> str:
        """The config as a TOML file `--config` reads back (unset paths left out)."""
        lines = []
        for name, value in dataclasses.asdict(self).items():
            if value is not None:
                lines.append(f"{name} = {toml_value(value)}")
        return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """`value` (bool, int, float, str, Path) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def parser() -> argparse.ArgumentParser:
    """The command line: `--config` and a flag per field of `Config` (defaults: None, so that
    only the flags given override the file)."""
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}.train")
    parser.add_argument("--config", type=Path, help="a TOML file of settings (flags win)")
    for spec in dataclasses.fields(Config):
        flag = "--" + spec.name.replace("_", "-")
        parse, help = spec.metadata["parse"], spec.metadata["help"]
        default = f" (default: {spec.default})"
        if parse is None:
            action = argparse.BooleanOptionalAction
            parser.add_argument(flag, action=action, default=None, help=help + default)
        else:
            parser.add_argument(flag, type=parse, default=None, help=help + default)
    return parser


def from_toml(path: Path, error: Callable[[str], Any]) -> dict[str, Any]:
    """The settings of the TOML file at `path`; calls `error` (argparse's: exit 2) for a file
    that cannot be read, an unknown key or a value of the wrong type."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as reason:
        error(f"--config {path}: {reason}")
    known = {spec.name: spec for spec in dataclasses.fields(Config)}
    values = {}
    for key, value in data.items():
        if key not in known:
            error(f"--config {path}: unknown key {key!r}; the keys are {', '.join(known)}")
        parse = known[key].metadata["parse"]
        try:
            values[key] = from_toml_value(value, parse)
        except (TypeError, ValueError, argparse.ArgumentTypeError) as reason:
            error(f"--config {path}: {key}: {reason}")
    return values


def expected(parse: Callable[[str], Any]) -> str:
    """What a setting parsed by `parse` takes, as a TOML value: a number or a string."""
    return "a number" if parse.__name__ in ("int", "float", "fraction") else "a string"


def from_toml_value(value: Any, parse: Callable[[str], Any] | None) -> Any:
    """A TOML value checked as its flag would be (`parse` None: a switch, true or false)."""
    if parse is None or isinstance(value, bool):
        if parse is None and isinstance(value, bool):
            return value
        raise TypeError(f"{value!r} is not {'true or false' if parse is None else expected(parse)}")
    if isinstance(value, (dict, list)):
        raise TypeError(f"{value!r} is not a single value")
    return parse(str(value))


def resolve(argv: list[str] | None = None) -> tuple[Config, argparse.ArgumentParser]:
    """The config of the command line `argv`: defaults, then `--config`, then flags. Exits 2,
    saying the fix, for a value that cannot run."""
    cli = parser()
    args = vars(cli.parse_args(argv))
    values = from_toml(args.pop("config"), cli.error) if args.get("config") else {}
    args.pop("config", None)
    values.update({name: value for name, value in args.items() if value is not None})
    return Config(**values), cli

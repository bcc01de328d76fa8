"""For real: a generated CPU project installs a real torch 2.13.0 through its own index setting,
passes its own tests and lint, its doctor, and trains on one and on two processes (torchrun)."""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from extensions.index_model import MANAGERS
from extensions.project_tools import COVERAGE_FLOOR, hook_runner
from tests.tools import (
    install_as_readme_says,
    installed_version,
    load_toml,
    readme_blocks,
    readme_commands,
    render,
    render_real_cpu_project,
    sh,
    tool_env,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("manager", MANAGERS)
def test_a_cpu_project_works_with_real_torch(tmp_path, real_cpu_index, manager):
    project = render_real_cpu_project(tmp_path / "demo", manager, real_cpu_index.url)
    python = install_as_readme_says(project, manager)
    assert installed_version(python, "torch") == "2.13.0+cpu"

    def run(line: str) -> str:
        # As in the activated virtual environment (pip's README lines assume it).
        return sh(line, project, PATH=f"{python.parent}{os.pathsep}{tool_env()['PATH']}")

    checks, hooks = readme_commands(project, "Test and lint")[:2]
    for line in checks:  # the justfile's test and lint: mypy passes with the real torch
        output = run(line)
        if "just test" in line:  # the tests pass and cover the package above the floor
            assert re.search(rf"Required test coverage of {COVERAGE_FLOOR}(\.0)?% reached", output)
    commit_with_the_hooks_offline(project, manager, hooks, run)

    [doctor_line] = readme_commands(project, "Install")[1]
    doctor = run(doctor_line)
    assert "2.13.0+cpu (cpu build)" in doctor
    assert "ok: the installed torch is the configured build" in doctor
    # The same torch in a project configured for cu130: the doctor fails and says the fix.
    mismatch = subprocess.run(
        [
            python,
            "-c",
            "import demo.doctor as d; "
            "d.EXPECTED_BUILDS = dict.fromkeys(d.EXPECTED_BUILDS, ('cu130',)); "
            "exit(d.main())",
        ],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert mismatch.returncode == 1
    assert "torch is a cpu build, the project installs the cu130 build" in mismatch.stderr
    assert "Reinstall the configured build: " in mismatch.stderr

    prefix = {"uv": "uv run ", "poetry": "poetry run ", "pip": ""}[manager]
    single = run(f"{prefix}python -m demo.train --epochs 4 --output single/losses.json")
    losses = json.loads((project / "single/losses.json").read_text())["losses"]
    assert losses[-1] < losses[0], single

    two = run(
        f"{prefix}torchrun --standalone --nproc-per-node 2 -m demo.train "
        "--epochs 4 --output ddp/losses.json"
    )
    assert "rank 0/2 on cpu (gloo)" in two and "rank 1/2 on cpu (gloo)" in two
    assert len(re.findall(r"^epoch \d/4", two, flags=re.M)) == 4  # only rank 0 reports
    ddp = json.loads((project / "ddp/losses.json").read_text())
    assert ddp["world_size"] == 2
    # Two ranks on half the global batch each take the same steps as one process.
    assert ddp["losses"] == pytest.approx(losses, rel=1e-4)


# Any connection through these fails: the hooks must need none.
NO_NETWORK = {name: "http://127.0.0.1:9" for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")} | {
    name.lower(): "http://127.0.0.1:9" for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
}


def commit_with_the_hooks_offline(project, manager, hooks, run):
    """The README's hook lines (git init, pre-commit install), then a first commit without a
    network: every hook (the file checks, ruff, mypy on the real torch) runs from the project's
    environment, nothing is cloned, and the hooks' ruff is the lock's ruff."""
    home = project.parent / "pre-commit-home"
    for line in hooks:
        run(line)
    identity = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.com"}
    offline = {**NO_NETWORK, **identity, "PRE_COMMIT_HOME": str(home)}
    sh("git add -A && git commit -q -m 'First commit'", project, **offline)
    assert sh("git status --porcelain", project) == ""  # no hook had to fix a file
    assert not [path for path in home.iterdir() if path.name.startswith("repo")]  # no clones

    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    [ruff] = [h["entry"] for h in config["repos"][0]["hooks"] if h["id"] == "ruff-check"]
    assert ruff.startswith(hook_runner(manager))
    version = sh(ruff.replace("check --fix", "--version"), project, **NO_NETWORK).split()[-1]
    if manager == "pip":  # the venv's ruff, which its install put there from pylock.toml
        assert version == installed_version(project / ".venv/bin/python", "ruff")
    else:
        lock = load_toml(project / f"{manager}.lock")
        [locked] = [p["version"] for p in lock["package"] if p["name"] == "ruff"]
        assert version == locked


def test_a_project_with_hostile_answers_passes_its_own_tests(tmp_path, real_cpu_index):
    """Quotes, backslashes and other scripts in every free-text answer, a package name unlike
    the project's: the project installs, imports, and its tests and lint pass."""
    project = render(
        tmp_path / "project",
        project_name='Ünï "Seg" \\ 3D',
        package_name="imgcls",
        description='Say "hi" \\ to <all> """',
        author_name='DOMAIN\\user "J", Jr.',
        author_email="o'neil+tag@example.co.uk",
        package_manager="uv",
        torch_version="2.13.0",
        torch_backend="cpu",
        python_version="3.11",
        torch_libraries=[],
        pytorch_index_url=real_cpu_index.url,
    )
    install_as_readme_says(project, "uv")
    for line in readme_commands(project, "Test and lint")[0]:
        sh(line, project)
    assert "ok: the installed torch" in sh("uv run python -m imgcls.doctor", project)


def test_a_gpu_project_synced_without_its_extra_has_no_torch_and_the_doctor_says_how(
    tmp_path, stand_in_index
):
    """A plain `uv sync` in a project with one extra per backend installs no torch: the doctor
    names the README's install command, with its extra, and exits 1 without a traceback."""
    project = render(
        tmp_path / "demo",
        project_name="demo",
        torch_version="2.13.0",
        torch_backend="cuda",
        python_version="3.11",
        torch_libraries=[],
        pytorch_index_url=stand_in_index.url,
    )
    [install], [doctor_line], *_ = readme_commands(project, "Install")
    assert install == "uv sync --extra cuda"
    sh("uv sync", project)
    doctor = subprocess.run(
        doctor_line, shell=True, cwd=project, env=tool_env(), capture_output=True, text=True
    )
    assert doctor.returncode == 1
    assert "error: torch is not installed in this environment" in doctor.stderr
    assert f"\n  {install}  # the cu130 build\n" in doctor.stderr
    assert "Traceback" not in doctor.stderr


# Training as the README says, with real torch: one project, installed once, serves every test
# below. The losses of a run are in the JSON file of `--output` (rank 0 writes it).
KILLER = '''"""`python -m demo.train`, but the process kills itself (SIGKILL: no cleanup)
right after its checkpoint of epoch 2, in its first attempt (torchrun counts restarts)."""
import os
import signal

from demo import checkpoint, train

save = checkpoint.save


def save_then_die(state, path):
    save(state, path)
    first_attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") == "0"
    if len(state.get("losses", [])) == 2 and first_attempt:  # the run's checkpoint, not the best
        os.kill(os.getpid(), signal.SIGKILL)


checkpoint.save = save_then_die
train.main()
'''
# SLURM's commands, standing in on a machine without SLURM: the job runs at once, here, its
# "nodes" are processes on 127.0.0.1, with the variables SLURM sets.
SLURM_STAND_INS = {
    "sbatch": """#!/bin/bash
export SLURM_JOB_ID=4242 SLURM_JOB_NODELIST="node[0-1]"
export SLURM_JOB_NAME=$(sed -n 's/^#SBATCH --job-name=//p' "$1")
export SLURM_NNODES=$(sed -n 's/^#SBATCH --nodes=//p' "$1")
exec bash "$1"
""",
    "srun": """#!/bin/bash
pids=()
for ((node = 0; node < SLURM_NNODES; node++)); do
    SLURM_NODEID=$node SLURM_PROCID=$node "$@" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
exit $status
""",
    "scontrol": '#!/bin/bash\n[ "$1 $2" = "show hostnames" ] && echo 127.0.0.1\n',
}


# What torchrun sets for rank 0 of two processes.
TORCHRUN_2 = {
    "LOCAL_RANK": "0",
    "RANK": "0",
    "WORLD_SIZE": "2",
    "MASTER_ADDR": "127.0.0.1",
    "MASTER_PORT": "29500",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Trainer:
    """The installed project, and how its README's training lines run in it."""

    def __init__(self, project: Path, python: Path):
        self.project = project
        self.env = {"PATH": f"{python.parent}{os.pathsep}{tool_env()['PATH']}"}
        self.killer = project.parent / "killer.py"
        self.killer.write_text(KILLER)
        lines, [self.configured], (self.tensorboard, self.inspect), [self.predict] = (
            readme_commands(project, "Train")
        )
        self.alone, self.checkpointed, self.amp, self.deterministic, self.pair = lines[:5]
        self.elastic, self.options, self.compiled, self.sharded = lines[5:]
        train = (project / "README.md").read_text().split("## Train\n", 1)[1]
        [self.exp_toml] = re.findall(r"```toml\n(.*?)```", train.split("\n## ", 1)[0], re.S)

    def run(self, line: str, **env: str) -> str:
        return sh(line, self.project, 900, **{**self.env, **env})

    def refused(self, *args: str) -> subprocess.CompletedProcess:
        """One process of the training module with `args`."""
        return subprocess.run(
            [self.project / ".venv/bin/python", "-m", "demo.train", *args],
            cwd=self.project,
            env=tool_env(**self.env),
            capture_output=True,
            text=True,
            timeout=900,
        )

    def start(self, line: str) -> subprocess.Popen:
        """`line` (a README line) started from the environment's own scripts, not through
        `uv run`, so that a signal reaches the process itself."""
        return subprocess.Popen(
            shlex.split(line.replace("uv run ", "", 1)),
            cwd=self.project,
            env=tool_env(**self.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def killed(self, line: str) -> subprocess.CompletedProcess:
        """Run `line` with the killer in place of the training module: it dies mid-run."""
        return subprocess.run(
            line.replace("-m demo.train", str(self.killer)),
            shell=True,
            cwd=self.project,
            env=tool_env(**self.env),
            capture_output=True,
            text=True,
            timeout=900,
        )

    def losses(self, output: str) -> list[float]:
        return json.loads((self.project / output).read_text())["losses"]

    def checkpoint_losses(self, path: str) -> list[float]:
        code = f"import torch; print(torch.load({path!r}, weights_only=True)['losses'])"
        return json.loads(self.run(f"python -c {shlex.quote(code)}"))


@pytest.fixture(scope="module")
def trainer(tmp_path_factory, real_cpu_index) -> Trainer:
    project = render_real_cpu_project(
        tmp_path_factory.mktemp("train") / "demo", "uv", real_cpu_index.url
    )
    return Trainer(project, install_as_readme_says(project, "uv"))


@pytest.fixture(scope="module")
def alone(trainer) -> list[float]:
    """The losses of the README's one-process run."""
    trainer.run(trainer.alone)
    return trainer.losses("runs/losses.json")


@pytest.fixture(scope="module")
def pair(trainer) -> list[float]:
    """The losses of the README's two-process run."""
    trainer.run(f"{trainer.pair} --output runs/pair.json --log-dir runs/tb-pair")
    return trainer.losses("runs/pair.json")


def test_two_processes_take_the_steps_of_one(alone, pair):
    assert len(alone) == 5 and alone[-1] < alone[0] / 2
    assert pair == pytest.approx(alone, rel=1e-4)


def test_a_killed_run_resumes_from_its_checkpoint_with_the_uninterrupted_losses(trainer, alone):
    killed = trainer.killed(trainer.checkpointed)
    assert killed.returncode != 0 and "epoch 3/5" not in killed.stdout, killed.stdout
    resumed = trainer.run(f"{trainer.checkpointed} --output runs/resumed.json")
    assert "resuming from runs/checkpoint.pt after epoch 2" in resumed
    assert trainer.losses("runs/resumed.json") == alone


def test_two_killed_processes_resume_with_the_uninterrupted_losses(trainer, pair):
    line = f"{trainer.pair} --checkpoint runs/pair.pt --output runs/pair-resumed.json"
    killed = trainer.killed(line)
    assert killed.returncode != 0 and "epoch 3/5" not in killed.stdout, killed.stdout
    assert "resuming from runs/pair.pt after epoch 2" in trainer.run(line)
    assert trainer.losses("runs/pair-resumed.json") == pair


def test_torchrun_restarts_a_killed_worker_and_finishes_with_the_uninterrupted_losses(
    trainer, pair
):
    restarted = trainer.killed(f"{trainer.elastic} --output runs/elastic.json")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "failed (exitcode: -9)" in restarted.stderr  # the worker died, torchrun restarted it
    assert "resuming from runs/elastic.pt after epoch 2" in restarted.stdout
    assert trainer.losses("runs/elastic.json") == pair


def test_two_machines_train_as_one_group(trainer, alone, pair):
    """The README's multi-node command on two "machines" of 127.0.0.1, one process each."""
    head, torchrun = readme_commands(trainer.project, "Train on several machines")[0]
    line = head.replace("node0.example.com", "127.0.0.1") + " && " + torchrun
    line = line.replace(":29500", f":{free_port()}") + " --output runs/nodes.json"
    nodes = [
        subprocess.Popen(
            line,
            shell=True,
            cwd=trainer.project,
            env=tool_env(**trainer.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [node.communicate(timeout=900)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs
    assert sorted("rank 0/2" in out for out in outputs) == [False, True]  # one group of two
    assert trainer.losses("runs/nodes.json") == pair
    assert trainer.losses("runs/nodes.json") == pytest.approx(alone, rel=1e-4)


def test_the_slurm_job_script_trains_on_its_nodes(trainer, tmp_path, pair):
    script, submit = readme_blocks(trainer.project, "Train on several machines")[1:]
    (trainer.project / "train.sbatch").write_text(script.replace(":29500", f":{free_port()}"))
    for name, text in SLURM_STAND_INS.items():
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    path = f"{tmp_path}{os.pathsep}{trainer.env['PATH']}"
    out = sh(submit.strip(), trainer.project, **{**trainer.env, "PATH": path})
    assert "rank 0/2" in out and "rank 1/2" in out
    assert trainer.checkpoint_losses("runs/demo.pt") == pair


def test_mixed_precision_and_deterministic_runs_train(trainer):
    for line, output in [(trainer.amp, "runs/amp.json"), (trainer.deterministic, "runs/det.json")]:
        trainer.run(f"{line} --output {output}")
        losses = trainer.losses(output)
        assert losses[-1] < losses[0] / 2, (line, losses)


def test_stale_torchrun_variables_say_what_they_wait_for_and_stop(trainer):
    """A shell with a previous run's variables: no peer will come."""
    address = f"127.0.0.1:{free_port()}"
    host, port = address.split(":")
    stale = {"LOCAL_RANK": "0", "RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": host}
    process = subprocess.Popen(
        [trainer.project / ".venv/bin/python", "-m", "demo.train", "--dist-timeout", "10"],
        cwd=trainer.project,
        env=tool_env(**stale, MASTER_PORT=port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = process.stdout.readline()
    assert f"rank 0/2 waits for the other processes at {address} (up to 10 s" in said
    # It stops on its own: a run that waited for a peer for good would fail this timeout, many
    # times its own 10 s (a busy machine may be late by seconds, never by minutes).
    _, error = process.communicate(timeout=300)
    assert process.returncode == 1
    assert f"no group of 2 processes formed at {address} (Timed out after" in error
    assert "Traceback" not in error


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--epochs", "-1"], {}, "argument --epochs: pass a number above 0, not -1"),
        (["--batch-size", "63"], TORCHRUN_2, "--batch-size 63 does not split over 2 micro-batches"),
        (["--device", "banana"], {}, "argument --device: choose one of cpu, cuda, mps, xpu"),
        (["--device", "cuda"], {}, "argument --device: this machine's torch finds no cuda"),
        (["--device", "cpu:"], {}, "argument --device: choose one of cpu, cuda, mps, xpu"),
        (["--num-samples", "1"], {}, "leaves 1 training and 0 validation samples: pass more"),
        ([], {"LOCAL_RANK": "0"}, "LOCAL_RANK set but not RANK, WORLD_SIZE"),
    ],
)
def test_a_run_that_cannot_train_is_refused_with_the_fix(trainer, args, env, message):
    refused = subprocess.run(
        [trainer.project / ".venv/bin/python", "-m", "demo.train", *args],
        cwd=trainer.project,
        env=tool_env(**env),
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and message in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize("processes", [1, 2])
def test_sigterm_inside_an_epoch_stops_with_a_checkpoint_and_the_rerun_ends_as_uninterrupted(
    trainer, processes
):
    """What SLURM or Kubernetes does before a time limit or a preemption, to one process and
    to torchrun (which passes it on); epochs long enough that the signal lands inside one."""
    base = trainer.pair if processes == 2 else trainer.alone.split(" --output")[0]
    base += " --num-samples 40000 --log-dir runs/tb-term"
    line = f"{base} --checkpoint runs/term{processes}.pt"
    run = trainer.start(line)
    output = ""
    while "epoch 3/5" not in output:
        output += run.stdout.readline() or pytest.fail(output)
    run.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    rest, _ = run.communicate(timeout=300)
    assert time.monotonic() - signalled < 60 and run.returncode != 0, output + rest
    assert "stopped by signal 15 after step" in rest
    # No process of the program fails (torchrun's agent itself ends with torch's traceback of
    # the SignalException it raises on SIGTERM).
    assert "[rank0]:" not in rest and "[rank1]:" not in rest, rest
    assert processes == 2 or "Traceback" not in output + rest, rest
    saved = trainer.checkpoint_losses(f"runs/term{processes}.pt")
    assert 3 <= len(saved) < 5, rest  # written after the signal, inside epoch 4 or 5
    resumed = trainer.run(f"{line} --output runs/term{processes}.json")
    assert f"resuming from runs/term{processes}.pt after epoch {len(saved)}" in resumed
    trainer.run(f"{base} --output runs/whole{processes}.json")
    whole = trainer.losses(f"runs/whole{processes}.json")
    assert trainer.losses(f"runs/term{processes}.json") == pytest.approx(whole, rel=1e-6)


def test_the_slurm_script_asks_for_a_signal_before_the_time_limit_and_requeues(trainer):
    script = readme_blocks(trainer.project, "Train on several machines")[1]
    assert "#SBATCH --signal=TERM@" in script and "#SBATCH --requeue" in script
    assert 'scontrol requeue "$SLURM_JOB_ID"' in script


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "is not a whole checkpoint"), (b"epochs = 3\n", "is not a whole checkpoint")],
)
def test_a_file_that_is_no_checkpoint_is_named_and_never_trained_over(trainer, content, reason):
    path = trainer.project / "runs/damaged.pt"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    refused = trainer.refused("--epochs", "1", "--checkpoint", "runs/damaged.pt")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"error: runs/damaged.pt {reason}" in refused.stderr
    assert "delete it" in refused.stderr and "Traceback" not in refused.stderr
    assert "epoch 1/1" not in refused.stdout and path.read_bytes() == content


def test_half_a_checkpoint_is_named_and_never_trained_over(trainer):
    trainer.run(f"{trainer.alone} --epochs 1 --checkpoint runs/half.pt --log-dir runs/tb-half")
    whole = (trainer.project / "runs/half.pt").read_bytes()
    (trainer.project / "runs/half.pt").write_bytes(whole[: len(whole) // 2])
    refused = trainer.refused("--epochs", "2", "--checkpoint", "runs/half.pt")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "error: runs/half.pt is not a whole checkpoint" in refused.stderr
    assert "epoch 2/2" not in refused.stdout


RANK_DIRECTORY = """import os

os.chdir(f"rank{os.environ['RANK']}")  # each rank its own disk: only rank 0's has the file
from demo import train

train.main()
"""


def test_ranks_that_see_different_checkpoints_resume_alike(trainer, pair):
    for rank in (0, 1):
        (trainer.project / f"rank{rank}/runs").mkdir(parents=True, exist_ok=True)
    trainer.run(f"{trainer.pair} --epochs 2 --checkpoint rank0/runs/two.pt --log-dir runs/tb-two")
    (trainer.project / "rank0/runs/two.pt").replace(trainer.project / "rank0/runs/local.pt")
    (trainer.project / "by_rank.py").write_text(RANK_DIRECTORY)
    line = trainer.pair.replace("-m demo.train", "by_rank.py")
    out = trainer.run(f"{line} --checkpoint runs/local.pt --output out.json --log-dir tb")
    assert "resuming from runs/local.pt after epoch 2" in out and "epoch 1/5" not in out
    assert json.loads((trainer.project / "rank0/out.json").read_text())["losses"] == pair


def test_a_config_file_sets_the_run_and_flags_override_it(trainer):
    (trainer.project / "exp.toml").write_text(trainer.exp_toml)
    out = trainer.run(f"{trainer.configured} --output runs/exp.json --log-dir runs/tb-exp")
    assert len(trainer.losses("runs/exp.json")) == 3 and "epoch 3/3" in out
    saved = load_toml(trainer.project / "runs/tb-exp/config.toml")
    assert (saved["epochs"], saved["lr"], saved["batch_size"]) == (3, 0.02, 32)
    (trainer.project / "bad.toml").write_text("epochs = 2\nlearning_rate = 0.1\n")
    refused = trainer.refused("--config", "bad.toml")
    assert refused.returncode == 2 and "unknown key 'learning_rate'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_tensorboard_shows_the_curves_of_one_writer_under_torchrun(trainer, pair):
    [events] = (trainer.project / "runs/tb-pair").glob("events.out.tfevents.*")
    inspected = trainer.run(trainer.inspect.replace("runs/tensorboard", "runs/tb-pair"))
    for tag in ("train/loss", "train/lr", "val/loss", "train/samples_per_s"):
        assert tag in inspected, inspected
    port = free_port()
    line = f"{trainer.tensorboard.replace('runs/tensorboard', 'runs/tb-pair')} --port {port}"
    board = trainer.start(line)
    try:
        tags = ""
        for _ in range(120):  # generous: tensorboard starts in seconds
            try:
                url = f"http://127.0.0.1:{port}/data/plugin/scalars/tags"
                tags = urllib.request.urlopen(url, timeout=5).read().decode()
                if "val/loss" in tags:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert "val/loss" in tags and "train/lr" in tags
    finally:
        board.terminate()
        board.communicate(timeout=60)


def test_the_loop_options_and_compile_train_and_the_best_model_predicts(trainer):
    for line, output in [(trainer.options, "runs/opt.json"), (trainer.compiled, "runs/c.json")]:
        trainer.run(f"{line} --output {output} --log-dir runs/tb-options")
        result = json.loads((trainer.project / output).read_text())
        assert len(result["val_losses"]) == len(result["losses"]), line
        assert result["losses"][-1] < result["losses"][0], (line, result)
    trainer.run(trainer.checkpointed.replace("checkpoint.pt", "best-run.pt"))
    (trainer.project / "inputs.json").write_text(json.dumps([[0.5] * 16, [-1.0] * 16]))
    line = trainer.predict.replace("checkpoint.best.pt", "best-run.best.pt")
    predictions = json.loads(trainer.run(line))
    assert len(predictions) == 2 and all(len(row) == 1 for row in predictions)


def test_fsdp_on_two_processes_resumes_to_the_uninterrupted_sharded_losses(trainer):
    """The README's FSDP2 line killed after its epoch-2 checkpoint (torch.distributed.checkpoint
    shards, gloo on the CPU), then run again: it resumes, epoch 1 is not trained again."""
    line = f"{trainer.sharded} --log-dir runs/tb-fsdp"
    trainer.run(f"{line.replace('runs/fsdp.pt', 'runs/fsdp-whole.pt')} --output runs/fsdp.json")
    killed = trainer.killed(line)
    assert killed.returncode != 0 and "epoch 3/5" not in killed.stdout, killed.stdout
    resumed = trainer.run(f"{line} --output runs/fsdp-resumed.json")
    assert "resuming from runs/fsdp.pt after epoch 2" in resumed and "epoch 1/5" not in resumed
    whole = trainer.losses("runs/fsdp.json")
    assert trainer.losses("runs/fsdp-resumed.json") == pytest.approx(whole, rel=1e-5)

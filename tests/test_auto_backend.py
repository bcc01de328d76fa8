"""`torch_backend: auto`: the backend a machine takes, from what its GPU tools say, recorded
as the answer; and the facts the doctor's GPU check and advice come from."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from copier import run_copy
from packaging.version import Version

from extensions import machine
from extensions.choices import resolve_backend
from extensions.drivers import (
    cuda_answers_for_driver,
    detect_backend,
    gpu_fixes,
    machine_offer,
    minimum_driver,
    oldest_gpu,
)
from extensions.index_model import MODEL, family_of
from tests.test_update import GIT_ENV, Project, TemplateRepo
from tests.tools import TEMPLATE, render

CUDA_13_DRIVER = minimum_driver("cu130")  # NVIDIA's minimum for any CUDA 13 build (580)


def nvidia(driver: str) -> machine.Machine:
    return machine.Machine(nvidia_driver=driver)


# The pure choice, from what the tools said.


def test_a_driver_that_runs_the_recommended_cuda_build_takes_it():
    choice = detect_backend("2.13.0", nvidia("580.65.06"))
    assert choice.backend == resolve_backend("2.13.0", "cuda") == "cu130"
    assert choice.reason == "NVIDIA driver 580.65.06 runs cu130"


def test_an_older_driver_takes_the_newest_cuda_build_it_runs():
    choice = detect_backend("2.13.0", nvidia("550.54.14"))
    assert choice.backend == "cu129"  # cu130 and cu132 are CUDA 13: driver 580 or newer
    assert f"cu130 needs {CUDA_13_DRIVER} or newer" in choice.reason
    # torch 2.14.1 has no cu129: its newest CUDA 12 build is cu126.
    assert detect_backend("2.14.1", nvidia("550.54.14")).backend == "cu126"


def test_a_driver_too_old_for_every_cuda_build_takes_the_cpu_build_and_says_why():
    choice = detect_backend("2.13.0", nvidia("470.256.02"))
    assert choice.backend == "cpu"
    assert "runs no CUDA build of torch 2.13.0" in choice.reason
    assert f"cu126 needs {minimum_driver('cu126')}" in choice.reason


def test_a_driver_too_old_for_this_torch_is_told_the_newest_torch_it_runs(tmp_path):
    """Driver 470 (CUDA 11.4) runs cu118 (CUDA 11: 450.80.02 or newer), which torch 2.7.1 is
    the newest to have; driver 560 runs CUDA 12, whose newest build is 2.14.1's cu126."""
    choice = detect_backend("2.15.0", nvidia("470.256.02"))
    assert choice.backend == "cpu"
    fix = "-d torch_version=2.7.1 -d torch_backend=cu118"
    assert choice.reason.endswith(
        f"update the driver to use the GPU; or keep this driver with `{fix}`"
    )
    assert cuda_answers_for_driver("560.35.03") == "-d torch_version=2.14.1 -d torch_backend=cu126"
    assert cuda_answers_for_driver("390.157") == cuda_answers_for_driver("") == ""
    answers = dict(flag.removeprefix("-d ").split("=") for flag in re.findall(r"-d \S+", fix))
    project = render(tmp_path / "older", project_name="older", **answers)
    assert '"torch==2.7.1"' in (project / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("driver", "answers", "told"),
    [
        ("470.256.02", {"python_version": "3.14"}, False),  # torch 2.7.1 stops at Python 3.13
        ("470.256.02", {"torch_libraries": ["torchcodec"]}, False),  # torch 2.7.1 has none
        ("470.256.02", {"torch_libraries": ["torchaudio"]}, True),
        ("550.54.14", {"python_version": "3.14", "torch_libraries": ["torchaudio"]}, True),
    ],
)
def test_the_older_torch_a_driver_is_told_takes_the_other_answers(tmp_path, driver, answers, told):
    """The `-d` flags a too-old driver is told, pasted beside the answers given with
    `torch_backend=auto`, make the project; where no torch the driver runs allows them,
    none are told."""
    choice = detect_backend("2.15.0", nvidia(driver), {**answers, "torch_backend": "auto"})
    said = re.search(r"keep this driver with `([^`]+)`", choice.reason)
    older = cuda_answers_for_driver(driver, answers)
    assert (said[1] if said else "") == older and bool(older) == told
    if not told:
        return
    flags = dict(flag.removeprefix("-d ").split("=") for flag in re.findall(r"-d \S+", older))
    project = render(tmp_path / "older", project_name="older", **answers, **flags)
    assert f'"torch=={flags["torch_version"]}"' in (project / "pyproject.toml").read_text()


def test_amd_and_intel_gpus_take_their_family_where_the_torch_has_it():
    assert detect_backend("2.13.0", machine.Machine(amd_tool="rocminfo")).backend == "rocm"
    assert detect_backend("2.13.0", machine.Machine(intel_tool="xpu-smi")).backend == "xpu"
    no_rocm = detect_backend("2.15.0", machine.Machine(amd_tool="rocminfo"))
    assert no_rocm == machine.Choice(
        "cpu", "rocminfo found an AMD GPU, but torch 2.15.0 has no rocm build"
    )


def test_no_gpu_takes_the_cpu_build():
    assert detect_backend("2.13.0", machine.Machine()) == machine.Choice(
        "cpu", "no NVIDIA, AMD or Intel GPU found"
    )


def test_the_offer_lists_the_torch_cuda_builds_oldest_first_with_their_drivers():
    offer = machine_offer("2.13.0")
    cuda = [v for v in MODEL.releases["2.13.0"].variants if family_of(v) == "cuda"]
    assert list(offer.cuda_drivers) == cuda
    assert offer.cuda_drivers == {v: minimum_driver(v) for v in cuda}
    assert machine_offer("2.6.0").recommended_cuda == "cu126"  # its newest: no cu130


def test_nvidia_smi_output_gives_the_driver_of_the_first_gpu():
    assert machine.nvidia_driver("550.54.14\n550.54.14\n") == "550.54.14"
    assert machine.nvidia_driver("No devices were found\n") == ""
    assert machine.nvidia_driver(None) == ""
    assert machine.driver_version("580.65.06") > machine.driver_version("580.9.1")


# The thin probe, with stand-in tools on PATH.


PROBED_TOOLS = [machine.NVIDIA_SMI[0], *(c[0] for c in machine.AMD_TOOLS + machine.INTEL_TOOLS)]


def stand_in_tools(folder: Path, **scripts: str) -> str:
    """A PATH where each GPU tool the probe asks is a stand-in (name -> shell script body; the
    others fail, as without a GPU), then the system's commands."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in PROBED_TOOLS:
        tool = folder / name
        tool.write_text(f"#!/bin/sh\n{scripts.get(name.replace('-', '_'), 'exit 1')}\n")
        tool.chmod(0o755)
    return os.pathsep.join([str(folder), "/usr/bin", "/bin"])


def test_the_probe_reads_each_tool(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", stand_in_tools(tmp_path / "a", nvidia_smi="echo 550.54.14"))
    assert machine.probe() == nvidia("550.54.14")
    failing = (
        'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the driver"; exit 9'
    )
    monkeypatch.setenv("PATH", stand_in_tools(tmp_path / "b", nvidia_smi=failing))
    assert machine.probe() == machine.Machine()
    monkeypatch.setenv("PATH", stand_in_tools(tmp_path / "c", rocminfo="echo '  Name: gfx90a'"))
    assert machine.probe() == machine.Machine(amd_tool="rocminfo")
    found = "echo '[level_zero:gpu][level_zero:0] Intel(R) Level-Zero, Intel(R) Arc(TM) A770'"
    monkeypatch.setenv("PATH", stand_in_tools(tmp_path / "d", sycl_ls=found))
    assert machine.probe() == machine.Machine(intel_tool="sycl-ls")


# For real: `copier copy -d torch_backend=auto` on machines made of stand-in tools.


def copy_with_auto(destination: Path, monkeypatch, tools: str, **data) -> dict:
    """Copy with `torch_backend=auto` on a machine whose PATH is `tools`; the recorded answers."""
    monkeypatch.setenv("PATH", tools)
    run_copy(
        str(TEMPLATE),
        destination,
        data={"project_name": "demo", "torch_backend": "auto", "torch_version": "2.13.0", **data},
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=False,
    )
    return yaml.safe_load((destination / ".copier-answers.yml").read_text())


@pytest.mark.parametrize(
    ("driver", "recorded"),
    [("550.54.14", "cu129"), ("580.65.06", "cu130")],
)
def test_auto_records_the_cuda_build_the_driver_runs(
    tmp_path, monkeypatch, capsys, driver, recorded
):
    tools = stand_in_tools(tmp_path / "bin", nvidia_smi=f"echo {driver}")
    answers = copy_with_auto(tmp_path / "demo", monkeypatch, tools)
    assert answers["torch_backend"] == recorded
    assert answers["extra_backends"] == ["cpu"]  # a GPU project's default
    assert f'index = "pytorch-{recorded}"' in (tmp_path / "demo/pyproject.toml").read_text()
    message = capsys.readouterr().err
    assert f"torch_backend auto: {recorded} (NVIDIA driver {driver}" in message


def test_auto_without_a_gpu_records_the_cpu_build(tmp_path, monkeypatch, capsys):
    tools = stand_in_tools(tmp_path / "bin")
    answers = copy_with_auto(tmp_path / "demo", monkeypatch, tools)
    assert (answers["torch_backend"], answers["extra_backends"]) == ("cpu", [])
    assert "torch_backend auto: cpu (no NVIDIA, AMD or Intel GPU found)" in capsys.readouterr().err


# The doctor's facts: which build runs an older GPU.


def test_cuda_13_builds_start_at_turing_and_cuda_12_builds_of_torch_at_maxwell():
    assert oldest_gpu("cu130") == oldest_gpu("cu132") == Version("7.5")
    assert oldest_gpu("cu126") == Version("5.0") and oldest_gpu("cu118") == Version("3.7")
    assert oldest_gpu("cu129") == oldest_gpu("cu128") == Version("7.5")  # PyTorch's arch lists
    assert oldest_gpu("rocm7.2") is None and oldest_gpu("cpu") is None


def test_a_pascal_gpu_is_fixed_by_the_newest_build_that_runs_it():
    fixes = gpu_fixes("2.13.0")
    assert fixes["5.0"] == "-d torch_backend=cu126"  # Pascal (6.1) reaches 5.0, not 7.5
    assert fixes["7.5"] == "-d torch_backend=cu132"
    # torch 2.15.0 has CUDA 13 builds only: the newest torch with a CUDA 12 one.
    assert gpu_fixes("2.15.0")["5.0"] == "-d torch_version=2.14.1 -d torch_backend=cu126"
    assert list(fixes) == sorted(fixes, key=float)


def test_the_generated_doctor_carries_the_template_machine_module(tmp_path, monkeypatch):
    tools = stand_in_tools(tmp_path / "bin")
    copy_with_auto(tmp_path / "demo", monkeypatch, tools, torch_backend="cuda")
    shipped = (tmp_path / "demo/src/demo/machine.py").read_text()
    assert shipped == (TEMPLATE / "extensions/machine.py").read_text()
    doctor = (tmp_path / "demo/src/demo/doctor.py").read_text()
    for capability, fix in gpu_fixes("2.13.0").items():
        assert f'    "{capability}": "{fix}",' in doctor


@pytest.mark.tools
def test_updates_keep_the_detected_build_and_auto_detects_again(tmp_path, monkeypatch):
    """A project made with `auto` on a machine with driver 550 records cu129; an update on
    another machine keeps it; `-d torch_backend=auto` detects again, there (`copier update`
    on the command line: its migrations run with the shell's PATH)."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    template = TemplateRepo(tmp_path / "template")
    template.release("1.0.0")
    monkeypatch.setenv("PATH", stand_in_tools(tmp_path / "550", nvidia_smi="echo 550.54.14"))
    project = Project(
        template, tmp_path / "demo", "1.0.0", torch_backend="auto", torch_version="2.13.0"
    )
    template.release("1.1.0")

    monkeypatch.setenv("PATH", stand_in_tools(tmp_path / "580", nvidia_smi="echo 580.65.06"))
    updated = project.update_with_the_command_line("--defaults")
    assert updated.returncode == 0, updated.stderr
    answers = project.path / ".copier-answers.yml"
    assert yaml.safe_load(answers.read_text())["torch_backend"] == "cu129"
    project.commit("Update to 1.1.0")
    updated = project.update_with_the_command_line("--defaults", "-d", "torch_backend=auto")
    assert updated.returncode == 0, updated.stderr
    assert yaml.safe_load(answers.read_text())["torch_backend"] == "cu130"
    assert 'index = "pytorch-cu130"' in (project.path / "pyproject.toml").read_text()
    assert "torch_backend auto: cu130 (NVIDIA driver 580.65.06 runs cu130)." in updated.stderr

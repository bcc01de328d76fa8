"""Joining the group torchrun describes: a stale shell's variables never hang in silence."""

import socket

import pytest

from demo import distributed

TORCHRUN = {
    "RANK": "1",
    "LOCAL_RANK": "1",
    "WORLD_SIZE": "2",
    "MASTER_ADDR": "127.0.0.1",
    "MASTER_PORT": "29500",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_without_torchrun_there_is_one_process():
    assert distributed.launch_from_env({}) is None


def test_torchrun_variables_place_the_process():
    launch = distributed.launch_from_env(TORCHRUN)
    assert launch == distributed.Launch(1, 1, 2, "127.0.0.1", 29500)
    assert launch.address == "127.0.0.1:29500"


def test_a_leftover_local_rank_names_what_is_missing_and_the_fix():
    with pytest.raises(distributed.LaunchError, match="LOCAL_RANK set but not RANK.*unset"):
        distributed.launch_from_env({"LOCAL_RANK": "0"})


@pytest.mark.parametrize(("name", "value"), [("WORLD_SIZE", "two"), ("RANK", "2")])
def test_variables_that_cannot_be_a_group_are_refused(name, value):
    with pytest.raises(distributed.LaunchError, match=value):
        distributed.launch_from_env({**TORCHRUN, name: value})


@pytest.mark.parametrize("rank", [0, 1])  # rank 0 listens, the others connect
def test_a_group_that_never_forms_stops_after_the_timeout_naming_the_address(
    monkeypatch, capsys, rank
):
    port = str(free_port())
    for name, value in {**TORCHRUN, "RANK": str(rank), "MASTER_PORT": port}.items():
        monkeypatch.setenv(name, value)
    launch = distributed.launch_from_env()
    assert launch is not None
    with pytest.raises(distributed.LaunchError, match=f"at {launch.address} .*unset"):
        distributed.join(launch, "gloo", timeout=3)
    assert f"waits for the other processes at {launch.address}" in capsys.readouterr().out

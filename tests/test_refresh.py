"""`python -m maintainers.refresh` rebuilds the matrix from two sources, PyPI and the PyTorch
index, deterministically; `--check` changes nothing and says what is out of date; a fault of
any kind leaves every file byte-identical. Against stand-ins of both sources on 127.0.0.1: the
PyPI recorded in tests/data/pypi_facts.yml, and the index the model describes.

The stand-in PyPI also holds what real PyPI holds under the names of torch's dependencies: the
PyPI-hosted ones the stubs require, and the stale namesakes of the index-only triton packages
(as PyPI lists them), so that the rule "index-only: no release on PyPI satisfies it" meets the
real shapes."""

import copy
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from email.message import Message
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from extensions.index_model import FACTS_PATH, MATRIX_PATH, load_facts, load_matrix, load_model
from maintainers import refresh
from tests.pypi_stand_in import PyPIContent, Release, recorded_pypi
from tests.pytorch_index import TORCH_PYPI_REQUIRES, IndexContent, StandInIndex
from tests.stand_in_server import TRUNCATED, Replies, Response, StandInServer, redirect_elsewhere

RECORDED = Path(__file__).with_name("data") / "pypi_facts.yml"
PYPI_FACTS = yaml.safe_load(RECORDED.read_text())


@pytest.fixture
def files(tmp_path):
    """Copies of the matrix, the index facts and the README to refresh."""
    for source in (MATRIX_PATH, FACTS_PATH, refresh.README_PATH):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def command_line_files(monkeypatch, folder: Path) -> None:
    """`refresh.main` reads and writes the copies in `folder`."""
    for name in ("MATRIX_PATH", "FACTS_PATH", "README_PATH"):
        monkeypatch.setattr(refresh, name, folder / getattr(refresh, name).name)


def load_facts_from(folder: Path) -> dict:
    return yaml.safe_load((folder / FACTS_PATH.name).read_text())


def run(folder, index, pypi, **options) -> refresh.Outcome:
    return refresh.refresh(
        index.url,
        pypi.url,
        folder / MATRIX_PATH.name,
        folder / refresh.README_PATH.name,
        folder / FACTS_PATH.name,
        **options,
    )


def index_content(matrix=None, facts=None, **more) -> IndexContent:
    return IndexContent(model=load_model(matrix or load_matrix(), facts or load_facts()), **more)


# Same-named projects on PyPI that are not the index's packages (F4, read 2026-11-30).
NAMESAKES = {
    "pytorch-triton-rocm": ("2.0.0", "2.1.0"),
    "triton-rocm": ("3.0.0rc1",),
    "triton-xpu": ("0.0.2", "3.0.0b1", "3.3.0b1"),
    "rocm": ("0.1.0",),
}


def pypi_content(*extra: Release) -> PyPIContent:
    hosted = [
        Release(name, version, ("py3-none-any",))
        for name, versions in {
            **{n: (v,) for n, v in TORCH_PYPI_REQUIRES.items()},
            **NAMESAKES,
        }.items()
        for version in versions
    ]
    return PyPIContent([*recorded_pypi(PYPI_FACTS), *hosted, *extra])


def with_new_release():
    """A month later: torch 2.16.0 on PyPI (cp311-cp315) and on the index's cpu and cu132."""
    pypi_16 = Release(
        "torch",
        "2.16.0",
        tuple(
            f"cp{v}-cp{v}-{tag}"
            for v in ("311", "312", "313", "314", "315")
            for tag in (
                "manylinux_2_28_x86_64",
                "manylinux_2_28_aarch64",
                "win_amd64",
                "macosx_14_0_arm64",
            )
        ),
        ('cuda-toolkit[cudart]==13.2.2; platform_system == "Linux"',),
        ">=3.11",
    )
    matrix, facts = copy.deepcopy(load_matrix()), copy.deepcopy(load_facts())
    matrix["releases"]["2.16.0"] = {
        "status": "confirmed",
        "python": ["3.11", "3.12", "3.13", "3.14", "3.15"],
        "variants": ["cpu", "cu132"],
    }
    facts["releases"]["2.16.0"] = facts["releases"]["2.15.0"]
    return pypi_16, index_content(matrix, facts)


def test_the_matrix_file_is_in_its_canonical_layout():
    text = MATRIX_PATH.read_text()
    assert refresh.with_matrix(text, yaml.safe_load(text)) == text


def test_the_readme_table_is_generated_from_the_matrix():
    readme = refresh.README_PATH.read_text()
    assert refresh.with_table(readme, load_matrix()) == readme, (
        "run python -m maintainers.refresh --table"
    )


TORCHCODEC_0_17 = "! torchcodec 0.17.0 is on PyPI, not offered: its wheels declare no torch"


def test_against_todays_sources_check_reports_torchcodec_0_17_0_and_why_it_is_not_offered(files):
    """PyPI as recorded today holds torchcodec 0.17.0 (since 2026-09-30): no source pairs it
    with a torch yet (no torch requirement in its wheels, no row in its README's table), so it
    is drift, with why. Also: every recorded index-only dependency is what the variant's torch
    METADATA says, read by range (206), never by downloading the wheel."""
    before = snapshot(files)
    content = index_content()
    with StandInIndex(content) as index, StandInServer(pypi_content()) as pypi:
        outcome = run(files, index, pypi, check=True)
    assert outcome.drift and not outcome.unread
    (line,) = outcome.lines
    assert line.startswith(TORCHCODEC_0_17) and "TABLE_PAIRINGS" in line
    assert snapshot(files) == before
    wheels = [request for request in content.requests if request.path.endswith(".whl")]
    assert {"rocm7.2", "xpu", "cu130"} <= {request.path.split("/")[2] for request in wheels}
    assert {request.status for request in wheels} == {206}


@pytest.fixture
def settled(files):
    """The copies, with torchcodec 0.17.0 withheld as a maintainer would (matrix and table)."""
    matrix_file, readme = files / MATRIX_PATH.name, files / refresh.README_PATH.name
    matrix = yaml.safe_load(matrix_file.read_text())
    matrix["releases"]["2.15.0"]["withheld"] = {"torchcodec 0.17.0": "its torch pairing is unknown"}
    matrix_file.write_text(refresh.with_matrix(matrix_file.read_text(), matrix))
    readme.write_text(refresh.with_table(readme.read_text(), matrix))
    return files


def test_a_library_release_a_row_withholds_is_no_longer_drift(settled):
    with StandInIndex(index_content()) as index, StandInServer(pypi_content()) as pypi:
        outcome = run(settled, index, pypi, check=True)
    assert (outcome.drift, outcome.lines, outcome.unread) == (False, [], [])


def test_check_reports_a_new_release_and_writes_nothing(files):
    before = snapshot(files)
    pypi_16, content = with_new_release()
    with StandInIndex(content) as index, StandInServer(pypi_content(pypi_16)) as pypi:
        outcome = run(files, index, pypi, check=True)
    assert outcome.drift
    assert "+ torch 2.16.0: cpu, cu132; Python 3.11-3.15" in outcome.lines
    assert snapshot(files) == before


def test_check_reports_a_new_variant(files):
    """The index root now lists rocm7.14, with torch 2.15.0 (which the matrix lists as
    unconfirmed for ROCm): reported, not offered by itself."""
    before = snapshot(files)
    matrix, facts = copy.deepcopy(load_matrix()), copy.deepcopy(load_facts())
    matrix["releases"]["2.15.0"]["variants"].append("rocm7.14")
    with StandInIndex(index_content(matrix, facts)) as index, StandInServer(pypi_content()) as pypi:
        outcome = run(files, index, pypi, check=True)
    assert outcome.drift
    assert any("2.15.0: the index serves rocm7.14" in line for line in outcome.lines)
    assert snapshot(files) == before


def test_check_reports_a_library_patch(files):
    """torchvision 0.29.3 (torch>=2.14.0) on PyPI and the index: the newest pairing."""
    before = snapshot(files)
    matrix = copy.deepcopy(load_matrix())
    for torch in ("2.15.0", "2.14.1"):
        matrix["releases"][torch]["torchvision"] = {"version": "0.29.3"}
    tags = tuple(f"cp312-cp312-{t}" for t in ("manylinux_2_28_x86_64", "win_amd64"))
    patch = Release("torchvision", "0.29.3", tags, ("torch>=2.14.0",), ">=3.10,!=3.14.1")
    with (
        StandInIndex(index_content(matrix)) as index,
        StandInServer(pypi_content(patch)) as pypi,
    ):
        outcome = run(files, index, pypi, check=True)
    assert outcome.drift
    assert any(line.startswith("~ torch 2.15.0 torchvision") for line in outcome.lines)
    assert "0.29.3" in " ".join(outcome.lines)
    assert snapshot(files) == before


def test_refresh_adds_a_new_release_and_keeps_the_human_choices(settled):
    pypi_16, content = with_new_release()
    with StandInIndex(content) as index, StandInServer(pypi_content(pypi_16)) as pypi:
        outcome = run(settled, index, pypi)
        assert run(settled, index, pypi, check=True).drift is False  # deterministic
    new = yaml.safe_load((settled / MATRIX_PATH.name).read_text())
    row = new["releases"]["2.16.0"]
    assert row["variants"] == ["cpu", "cu132"]
    assert row["python"] == ["3.11", "3.12", "3.13", "3.14", "3.15"]
    assert row["torchvision"] == {"version": "0.29.1"}  # admitted, and on the index
    assert list(new["releases"])[0] == "2.16.0"
    assert new["releases"]["2.6.0"]["accelerator_api"] is False  # a human fact, kept
    assert new["releases"]["2.8.0"]["torchrun_xpu"] is False
    assert (
        new["releases"]["2.15.0"]["unconfirmed"]
        == load_matrix()["releases"]["2.15.0"]["unconfirmed"]
    )
    assert new["recommended"] == load_matrix()["recommended"]
    assert any(line.startswith("+ torch 2.16.0") for line in outcome.lines)
    facts = yaml.safe_load((settled / FACTS_PATH.name).read_text())
    assert facts["releases"]["2.16.0"]["pypi_builds"]["linux-x86_64"] == "cu132"
    assert "2.16.0" in load_model(new, facts).releases
    assert "| 2.16.0 | 0.29.1 |" in (settled / refresh.README_PATH.name).read_text()


def test_rewording_the_matrix_comments_loses_no_data(settled):
    """The files are rewritten by a YAML library, not spliced at comments: with the `# Tools`
    comment reworded, a refresh that adds a release keeps `tools`, `drivers` and the words."""
    matrix_file = settled / MATRIX_PATH.name
    text = matrix_file.read_text()
    assert "\n# Tools the generated project uses" in text
    matrix_file.write_text(text.replace("\n# Tools the", "\n# Versions of the tools the"))
    pypi_16, content = with_new_release()
    with StandInIndex(content) as index, StandInServer(pypi_content(pypi_16)) as pypi:
        run(settled, index, pypi)
    written = matrix_file.read_text()
    assert "\n# Versions of the tools the generated project uses" in written
    new, old = yaml.safe_load(written), yaml.safe_load(text)
    assert (new["tools"], new["drivers"]) == (old["tools"], old["drivers"])
    assert "2.16.0" in new["releases"]


@pytest.mark.parametrize(
    ("requirement", "on_pypi", "index_only"),
    [
        # The index's triton packages; PyPI holds stale or unrelated projects of those names.
        ("triton-rocm==3.7.1; platform_system == 'Linux'", NAMESAKES["triton-rocm"], True),
        ("triton-rocm~=3.8.0", NAMESAKES["triton-rocm"], True),
        ("pytorch-triton-rocm==3.5.1", NAMESAKES["pytorch-triton-rocm"], True),
        ("triton-xpu==3.7.2; python_version < '3.15'", NAMESAKES["triton-xpu"], True),
        ("pytorch-triton-xpu==3.5.0", (), True),
        ("rocm[device-all,libraries]==7.14.*", NAMESAKES["rocm"], True),
        # PyPI-hosted, though PyPI's torch does not require them (+xpu, +cu126 wheels).
        ("intel-cmplr-lib-rt==2025.3.1", ("2025.2.1", "2025.3.1", "2026.2.0"), False),
        ("nvidia-cudnn-cu12==9.10.2.21", ("9.10.2.21", "9.20.0.48"), False),
        ("filelock", ("3.20.0",), False),
    ],
)
def test_a_dependency_is_index_only_when_no_release_on_pypi_satisfies_it(
    requirement, on_pypi, index_only
):
    released = {Version(v) for v in on_pypi}
    assert refresh.satisfied(Requirement(requirement), released) is not index_only


def test_index_requires_are_recorded_by_family_where_its_variants_agree():
    triton = (Requirement("triton-rocm~=3.10.0; platform_system == 'Linux'"),)
    sdk = (*triton, Requirement("rocm[libraries]==7.14.1"))
    xpu = (Requirement("triton-xpu==3.10.1"),)
    found = {"cpu": (), "cu132": (), "rocm7.2": triton, "rocm7.14": triton, "xpu": xpu}
    assert refresh.by_family(found) == {
        "rocm": ["triton-rocm~=3.10.0; platform_system == 'Linux'"],
        "xpu": ["triton-xpu==3.10.1"],
    }
    assert refresh.by_family(found | {"rocm7.14": sdk}) == {
        "rocm7.2": ["triton-rocm~=3.10.0; platform_system == 'Linux'"],
        "rocm7.14": ["triton-rocm~=3.10.0; platform_system == 'Linux'", "rocm[libraries]==7.14.1"],
        "xpu": ["triton-xpu==3.10.1"],
    }


def test_check_reports_an_index_only_dependency_the_index_now_declares_otherwise(files):
    """The index's torch 2.13.0+rocm wheels require triton-rocm 3.7.9, not the recorded 3.7.1:
    reported for each ROCm variant, files unchanged."""
    before = snapshot(files)
    facts = copy.deepcopy(load_facts())
    planted = "triton-rocm==3.7.9; platform_system == 'Linux' and python_version < '3.15'"
    facts["releases"]["2.13.0"]["index_requires"]["rocm"] = [planted]
    with StandInIndex(index_content(facts=facts)) as index, StandInServer(pypi_content()) as pypi:
        outcome = run(files, index, pypi, check=True)
    assert outcome.drift
    drift = [line for line in outcome.lines if "index_requires" in line]
    assert [line.split(":")[0] for line in drift] == [
        "~ torch 2.13.0 index_requires rocm7.1",
        "~ torch 2.13.0 index_requires rocm7.2",
    ]
    assert all("3.7.1" in line and "3.7.9" in line for line in drift)
    assert snapshot(files) == before


def test_refresh_writes_a_new_releases_index_only_dependencies_from_its_metadata(settled):
    """torch 2.16.0 on rocm7.2, rocm7.14 (which also requires its ROCm SDK) and xpu: the
    index_requires of the new release are what the wheels declare and PyPI does not hold."""
    pypi_16, _ = with_new_release()
    matrix, facts = copy.deepcopy(load_matrix()), copy.deepcopy(load_facts())
    matrix["releases"]["2.16.0"] = {
        "status": "confirmed",
        "python": ["3.11", "3.12", "3.13", "3.14", "3.15"],
        "variants": ["cpu", "cu132", "rocm7.2", "rocm7.14", "xpu"],
    }
    triton = "triton-rocm~=3.10.0; platform_system == 'Linux' and python_version < '3.16'"
    planted = {
        "rocm7.2": [triton],
        "rocm7.14": [triton, "rocm[libraries]==7.14.1; platform_system == 'Linux'"],
        "xpu": ["triton-xpu==3.10.1; python_version < '3.16'"],
    }
    facts["releases"]["2.16.0"] = {**facts["releases"]["2.15.0"], "index_requires": planted}
    with (
        StandInIndex(index_content(matrix, facts)) as index,
        StandInServer(pypi_content(pypi_16)) as pypi,
    ):
        run(settled, index, pypi)
        assert run(settled, index, pypi, check=True).drift is False
    written = load_facts_from(settled)["releases"]["2.16.0"]
    assert written["index_requires"] == planted
    assert written["evidence"]["index_requires"] == "R1 P1"
    new = yaml.safe_load((settled / MATRIX_PATH.name).read_text())
    release = load_model(new, load_facts_from(settled)).releases["2.16.0"]
    assert [str(r.name) for r in release.requirements("rocm7.14")] == ["triton-rocm", "rocm"]
    assert release.requirements("cu132") == ()


def test_refresh_moves_a_recommendation_only_when_told(files):
    with StandInIndex(index_content()) as index, StandInServer(pypi_content()) as pypi:
        outcome = run(files, index, pypi, recommend={"cuda": "cu132"})
    assert yaml.safe_load((files / MATRIX_PATH.name).read_text())["recommended"]["cuda"] == "cu132"
    assert "~ recommended cuda: cu130 -> cu132" in outcome.lines


PARTIAL = b"<!DOCTYPE html><html><body></body></html>"
FAULTS = {
    "a variant gone from the root": (
        {"faults": {"/whl/": Response(200, b'<a href="cpu/">cpu/</a>')}},
        "no longer lists cu118, .*cu126.*refusing to drop",
    ),
    "not an index": ({"faults": {"/whl/": Response(200, b"<html></html>")}}, "lists no `cpu/`"),
    "--variants without the matrix's": (
        {"variants": ["cpu", "cu132"]},
        "add cu118, .*cu130.* to --variants",
    ),
    "bad recommendation": ({"recommend": {"torch": "9.9"}}, "not in the matrix"),
    "unknown variant": ({"recommend": {"rocm": "rocm9.9"}}, "no rocm variant rocm9.9"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_refusal_changes_nothing(files, fault):
    given, message = FAULTS[fault]
    before = snapshot(files)
    content = index_content(faults=given.get("faults", {}))
    with (
        StandInIndex(content) as index,
        StandInServer(pypi_content()) as pypi,
        pytest.raises(refresh.RefreshError, match=message),
    ):
        run(files, index, pypi, recommend=given.get("recommend"), variants=given.get("variants"))
    assert snapshot(files) == before


UNREADABLE = {
    "unreachable": ({}, "cannot reach"),
    "server error": ({"/whl/cu130/torch/": Response(500, b"oops")}, "HTTP 500.*3 tries"),
    "a variant's page lists no wheels": (
        {"/whl/cu126/torch/": Response(200, PARTIAL)},
        "lists no wheels",
    ),
    "a library page lists no wheels": (
        {"/whl/cpu/torchvision/": Response(200, PARTIAL)},
        "lists no wheels of torchvision",
    ),
}


@pytest.mark.parametrize("fault", list(UNREADABLE))
def test_an_unreadable_index_leaves_the_check_incomplete_and_changes_nothing(files, fault):
    """Even without --check: nothing is written from one source's evidence."""
    faults, message = UNREADABLE[fault]
    before = snapshot(files)
    with (
        StandInIndex(index_content(faults=faults)) as index,
        StandInServer(pypi_content()) as pypi,
        dead_port() as port,
    ):
        if fault == "unreachable":
            index.url = f"http://127.0.0.1:{port}/whl"
        outcome = run(files, index, pypi)
    (why,) = outcome.unread
    assert why.startswith("the PyTorch index") and re.search(message, why)
    assert any(line.startswith(TORCHCODEC_0_17) for line in outcome.lines)  # PyPI's drift
    assert snapshot(files) == before


@contextmanager
def dead_port() -> Iterator[int]:
    """A port of 127.0.0.1 that refuses connections: bound, never listening, and held until
    the block ends, so no other test's server can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def test_check_with_the_index_unreachable_lists_pypis_new_release_and_exits_incomplete(
    files, monkeypatch, capsys
):
    """torch 2.16.0 is on PyPI, not in the matrix; the index does not answer: the release is
    listed, the index is named as not read, exit 3, files unchanged."""
    command_line_files(monkeypatch, files)
    before = snapshot(files)
    pypi_16, _ = with_new_release()
    with dead_port() as port, StandInServer(pypi_content(pypi_16)) as pypi:
        dead = f"http://127.0.0.1:{port}/whl"
        arguments = ["--check", "--index-url", dead, "--pypi-url", pypi.url, "--deadline", "60"]
        assert refresh.main(arguments) == refresh.INCOMPLETE == 3
    out = capsys.readouterr().out
    assert "+ torch 2.16.0: Python 3.11-3.15; variants unknown (index not read)" in out
    assert TORCHCODEC_0_17 in out
    assert f"Not read: the PyTorch index ({dead}): cannot reach" in out
    assert "Incomplete: nothing was written" in out
    assert snapshot(files) == before


def test_check_with_pypi_unreachable_lists_what_the_index_serves_and_exits_incomplete(
    files, monkeypatch, capsys
):
    command_line_files(monkeypatch, files)
    before = snapshot(files)
    _, content = with_new_release()
    with dead_port() as port, StandInIndex(content) as index:
        dead = f"http://127.0.0.1:{port}/simple/"
        arguments = ["--check", "--index-url", index.url, "--pypi-url", dead]
        assert refresh.main(arguments) == refresh.INCOMPLETE
    out = capsys.readouterr().out
    assert "+ torch 2.16.0 on the index: cpu, cu132 (PyPI not read)" in out
    assert f"Not read: PyPI ({dead}): cannot reach" in out
    assert snapshot(files) == before


# Seconds: long enough for the other source to be read on a busy machine (a few seconds when
# idle); a drip of one byte every DRIP seconds sends none before it.
DEADLINE, DRIP = 20, 600
TRANSPORT = {
    "drip": f"the {DEADLINE} s deadline",
    "truncated": "truncated",
    "redirect": "redirects to another host",
}


@pytest.mark.parametrize("fault", list(TRANSPORT))
@pytest.mark.parametrize("source", ["index", "PyPI"])
def test_a_misbehaving_source_is_a_clean_error_within_the_deadline(files, fault, source):
    """A mirror that sends one byte every 10 minutes, a body shorter than its Content-Length,
    a redirect to another host: named, the run ended by the deadline (not by the drip), files
    byte-identical."""
    before = snapshot(files)
    mirror = Replies()
    with (
        StandInServer(mirror) as faulty,
        StandInIndex(index_content()) as index,
        StandInServer(pypi_content()) as pypi,
    ):
        drip = Response(200, b"<" * 1000, drip=DRIP)
        replies = {"drip": drip, "truncated": TRUNCATED, "redirect": redirect_elsewhere(faulty.url)}
        mirror.replies.append(replies[fault])
        urls = {"index": index.url, "PyPI": pypi.url} | {source: faulty.url}
        started = time.monotonic()
        outcome = refresh.refresh(
            urls["index"],
            urls["PyPI"],
            files / MATRIX_PATH.name,
            files / refresh.README_PATH.name,
            files / FACTS_PATH.name,
            deadline=DEADLINE,
        )
        took = time.monotonic() - started
    (why,) = outcome.unread
    assert TRANSPORT[fault] in why
    assert took < DRIP  # the drip's first byte would come after DRIP seconds
    assert snapshot(files) == before


def test_a_page_over_the_cap_is_named_and_nothing_is_written(settled, monkeypatch, capsys):
    """A cu130 torch page one byte over the cap (`--max-page-mb`; its default,
    `fetch.MAX_BODY_BYTES`, is far above any real index page, so 1 MB here keeps the test
    fast): refused before its body is read, the URL named with the cap that would hold it,
    exit 3, no traceback, files unchanged. With the cap raised as the message says, it is read."""
    command_line_files(monkeypatch, settled)
    before = snapshot(settled)
    content = index_content()
    page = content.answer("/whl/cu130/torch/", Message())
    padding = b" " * (2**20 + 1 - len(page.body))
    content.faults["/whl/cu130/torch/"] = replace(page, body=page.body + padding)
    with StandInIndex(content) as index, StandInServer(pypi_content()) as pypi:
        arguments = ["--check", "--index-url", index.url, "--pypi-url", pypi.url]
        assert refresh.main([*arguments, "--max-page-mb", "1"]) == refresh.INCOMPLETE
        out, err = capsys.readouterr()
        assert (
            f"Not read: the PyTorch index ({index.url}): {index.url}/cu130/torch/ declares "
            f"{2**20 + 1} bytes, over the 1 MB cap on one response: not read. No index page is "
            "that large; if this one really is, raise the cap (--max-page-mb 2)\n"
        ) in out
        assert "Incomplete: nothing was written" in out and "Traceback" not in out + err
        assert snapshot(settled) == before
        assert refresh.main([*arguments, "--max-page-mb", "2"]) == refresh.UP_TO_DATE
    assert "up to date" in capsys.readouterr().out


def test_slow_work_on_what_was_read_ends_at_the_deadline(files, monkeypatch, capsys, slow_step):
    """Both sources read, then work that takes an hour per step (going through each release's
    index-only dependencies): the run stops at the deadline, between two steps, not when the
    work is done; exit 3, nothing written."""
    command_line_files(monkeypatch, files)
    before = snapshot(files)
    index_only = refresh.index_only

    def slow_index_only(*args):
        found = index_only(*args)
        slow_step(3600)
        return found

    monkeypatch.setattr(refresh, "index_only", slow_index_only)
    with StandInIndex(index_content()) as index, StandInServer(pypi_content()) as pypi:
        arguments = ["--check", "--index-url", index.url, "--pypi-url", pypi.url]
        assert refresh.main([*arguments, "--deadline", "60"]) == refresh.INCOMPLETE
    out, err = capsys.readouterr()
    assert re.search(
        r"Not read: the torch wheels' METADATA on the index: the 60 s deadline passed while "
        r"reading torch \S+'s dependencies on \S+\n",
        out,
    )
    assert "Incomplete: nothing was written" in out and "Traceback" not in out + err
    assert snapshot(files) == before


def test_a_missing_torch_release_on_a_variant_is_refused(files):
    """A partial fault: cu126 stops serving torch 2.14.1 (the real index answers 200 with
    other releases): refused, never dropped from the matrix."""
    before = snapshot(files)
    matrix = copy.deepcopy(load_matrix())
    matrix["releases"]["2.14.1"]["variants"].remove("cu126")
    with (
        StandInIndex(index_content(matrix)) as index,
        StandInServer(pypi_content()) as pypi,
        pytest.raises(refresh.RefreshError, match="no torch 2.14.1 on cu126.*refusing to drop"),
    ):
        run(files, index, pypi)
    assert snapshot(files) == before


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("torch", "--recommend 'torch' is not KEY=VALUE"),
        ("gpu=cu130", "cannot recommend 'gpu'"),
        ("rocm=cu130", "'cu130' is not a rocm variant"),
    ],
)
def test_a_malformed_recommendation_gets_a_message_not_a_traceback(capsys, argument, message):
    before = MATRIX_PATH.read_bytes()
    assert refresh.main(["--recommend", argument]) == 2
    error = capsys.readouterr().err
    assert message in error and "Nothing was written" in error
    assert MATRIX_PATH.read_bytes() == before


def test_the_command_line_check_exits_1_on_drift_and_0_when_up_to_date(
    settled, monkeypatch, capsys
):
    command_line_files(monkeypatch, settled)
    pypi_16, content = with_new_release()
    with StandInIndex(index_content()) as index, StandInServer(pypi_content()) as pypi:
        arguments = ["--check", "--index-url", index.url, "--pypi-url", pypi.url]
        assert refresh.main(arguments) == 0
        assert "up to date" in capsys.readouterr().out
    with StandInIndex(content) as index, StandInServer(pypi_content(pypi_16)) as pypi:
        arguments = ["--check", "--index-url", index.url, "--pypi-url", pypi.url]
        before = snapshot(settled)
        assert refresh.main(arguments) == 1
        assert "+ torch 2.16.0" in capsys.readouterr().out
        assert snapshot(settled) == before


WORKFLOW = MATRIX_PATH.parent.parent / ".github" / "workflows" / "refresh.yml"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (0, None),
        (1, "The matrix is out of date"),
        (2, "refresh --check failed (exit 2)"),
        (3, "Incomplete check: a source (PyPI or the PyTorch index) could not be read"),
    ],
)
def test_the_weekly_workflow_fails_on_drift_faults_and_incomplete_checks(status, message):
    """The workflow's step, with the refresh replaced by its exit status: it fails on every
    non-zero one, and says which it was."""
    step = yaml.safe_load(WORKFLOW.read_text())["jobs"]["check"]["steps"][-1]["run"]
    command = "uv run python -m maintainers.refresh --check --deadline 900"
    assert command in step
    script = step.replace(command, f"(exit {status})")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert result.returncode == status
    assert (message in result.stdout) if message else result.stdout == ""


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
@pytest.mark.parametrize(("option", "unit"), [("--deadline", "seconds"), ("--max-page-mb", "MB")])
def test_a_deadline_or_cap_that_is_no_number_above_zero_is_refused(option, unit, value, capsys):
    with pytest.raises(SystemExit) as refused:
        refresh.main(["--check", option, value])
    assert refused.value.code == 2
    assert f"give a number of {unit} above 0" in capsys.readouterr().err

"""The rules of the version matrix, as the questions and templates use them."""

import copy
import re
import shlex
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from extensions import copier_hooks, migrate
from extensions.build import build
from extensions.choices import (
    answer_errors,
    available_libraries,
    backend_choices,
    backend_error,
    default_python,
    library_choices,
    library_error,
    pins,
    python_error,
    resolve_backend,
    resolve_torch,
    torch_version_choices,
    torch_versions,
    with_companions,
)
from extensions.commands import commands
from extensions.drivers import minimum_driver
from extensions.index_model import (
    FAMILIES,
    MODEL,
    Model,
    family_of,
    load_facts,
    load_matrix,
    load_model,
)
from tests.facts import (
    RECOMMENDED_CUDA,
    RECOMMENDED_ROCM,
    RECOMMENDED_TORCH,
    has_family,
    has_variant,
    lacks_family,
    newest_release,
)

MATRIX = load_matrix()  # the file's data, as the refresh writes it
RECORDED = Path(__file__).with_name("data") / "pypi_facts.yml"


def model_of(matrix: dict) -> Model:
    """The model of a changed copy of the matrix, with the template's index facts."""
    return load_model(matrix, load_facts())


def with_recommended(**changes) -> Model:
    matrix = copy.deepcopy(MATRIX)
    matrix["recommended"].update(changes)
    return model_of(matrix)


def test_the_matrix_covers_torch_2_6_to_the_recommended_one_with_a_status_per_row():
    versions = torch_versions()
    assert versions[0] == RECOMMENDED_TORCH and versions[-1] == "2.6.0"
    assert "2.13.0" in versions
    for row in MATRIX["releases"].values():
        assert row["status"] in ("confirmed", "corroborated", "unconfirmed")
        assert "cpu" in row["variants"]


def test_every_recommendation_exists_in_the_matrix():
    recommended = MATRIX["recommended"]
    row = MATRIX["releases"][recommended["torch"]]
    assert recommended["cuda"] in row["variants"]
    assert recommended["python"] in row["python"]
    assert any(recommended["rocm"] in r["variants"] for r in MATRIX["releases"].values())


def test_every_python_list_and_pairing_is_what_pypi_says():
    """Against PyPI as recorded (tests/data/pypi_facts.yml, `python -m maintainers.pypi`):
    each row's Pythons are PyPI's CPython wheel tags, each pinned library release admits the
    torch by its Requires-Dist (or declares no torch requirement), and no newer release that
    admits it exists unless the row says why it is not pinned."""
    recorded = yaml.safe_load(RECORDED.read_text())
    for torch, row in MATRIX["releases"].items():
        on_pypi = recorded["torch"][torch]
        assert row["python"] == on_pypi["python"], torch
        for library in ("torchvision", "torchaudio"):
            pinned = recorded["libraries"][library][row[library]["version"]]
            if pinned["torch"] != "none declared":
                assert Version(torch) in SpecifierSet(pinned["torch"]), (torch, library)
            newest = on_pypi["pairing"][library]["version"]
            if Version(newest) > Version(row[library]["version"]):
                assert f"{library} {newest}" in row.get("unconfirmed", {}), (torch, library)


def test_torchcodec_follows_its_readme_table():
    for torch, row in MATRIX["releases"].items():
        if "torchcodec" in row:
            assert Version(torch) >= Version("2.11") and row["torchcodec"]["version"] == "0.16.0"


def test_the_recommended_release_offers_every_family_or_says_why_and_where():
    torch = MODEL.recommended.torch
    assert torch == torch_versions()[0]
    for family in FAMILIES:
        error = backend_error("recommended", family)
        if error:
            assert f"not offered: no torch {torch}+" in error
            assert error.startswith(f"Use `-d torch_version={newest_release(has_family(family))}`")


def test_recommended_follows_the_matrix():
    assert resolve_torch("recommended") == MODEL.recommended.torch
    assert resolve_torch("recommended", model=with_recommended(torch="2.12.1")) == "2.12.1"
    assert resolve_torch("2.9.1") == "2.9.1"


@pytest.mark.parametrize(
    ("torch", "backend", "variant"),
    [
        (newest_release(has_variant(RECOMMENDED_CUDA)), "cuda", RECOMMENDED_CUDA),
        ("2.13.0", "cu126", "cu126"),
        (newest_release(has_variant(RECOMMENDED_ROCM)), "rocm", RECOMMENDED_ROCM),
        ("2.10.0", "rocm", "rocm7.1"),  # newest of the family when the recommended one is absent
        ("2.6.0", "cuda", "cu126"),
        ("2.13.0", "cpu", "cpu"),
        ("2.13.0", "xpu", "xpu"),
    ],
)
def test_a_family_means_its_recommended_or_newest_variant(torch, backend, variant):
    assert resolve_backend(torch, backend) == variant


def test_only_backends_the_torch_has_are_offered():
    assert backend_choices("2.14.1") == [
        "cpu",
        "cuda",
        "rocm",
        "xpu",
        "cu126",
        "cu130",
        "cu132",
        "rocm7.2",
    ]
    assert backend_error("2.14.1", "cu118").startswith(
        "Use `-d torch_backend=cuda`: torch 2.14.1 has no 'cu118' build"
    )
    without, with_rocm = newest_release(lacks_family("rocm")), newest_release(has_family("rocm"))
    assert backend_error(without, "rocm").startswith(
        f"Use `-d torch_version={with_rocm}`: torch {without} has no 'rocm' build"
    )
    assert backend_error("2.13.0", "cuda") == ""


def test_python_defaults_to_the_recommended_one_where_supported():
    assert default_python("2.13.0") == MODEL.recommended.python
    assert default_python("2.13.0", model=with_recommended(python="3.9")) == "3.14"
    assert python_error("2.13.0", "3.9").startswith(
        f"Use `-d python_version={MODEL.recommended.python}`: torch 2.13.0 supports Python"
    )


def test_a_library_without_a_build_for_the_variant_is_listed_disabled_with_why():
    choices = library_choices("2.13.0", "cu132")
    assert choices["torchvision"]["validator"] == ""
    assert choices["torchaudio"]["validator"].endswith(
        "torchaudio 2.11.0 has no cu132 build for torch 2.13.0"
    )
    assert available_libraries("2.13.0", "cu130") == ["torchvision", "torchaudio", "torchcodec"]
    assert library_error("torchcodec", "2.13.0", "rocm") == (
        "Leave torchcodec out: torchcodec 0.16.0 has no rocm7.2 build for torch 2.13.0"
    )
    # A torch with a Python its torchvision has no wheel for.
    torch = newest_release(lambda r: bool(set(r.python) - set(r.libraries["torchvision"].python)))
    torchvision = MODEL.releases[torch].libraries["torchvision"]
    python = max(set(MODEL.releases[torch].python) - set(torchvision.python), key=Version)
    assert library_error("torchvision", torch, "cpu", python) == (
        f"Leave torchvision out: torchvision {torchvision.version} has no wheel for Python "
        f"{python} (it has {', '.join(torchvision.python)})"
    )


def test_torchaudio_brings_torchcodec_where_it_has_a_build():
    assert with_companions("2.13.0", "cu130", ["torchaudio"]) == ["torchaudio", "torchcodec"]
    assert with_companions("2.13.0", "cu132", ["torchaudio"]) == ["torchaudio"]
    assert with_companions("2.13.0", "rocm", ["torchaudio"]) == ["torchaudio"]
    assert with_companions("2.9.1", "cpu", ["torchaudio"]) == ["torchaudio"]  # none pairs
    assert with_companions("2.13.0", "cpu", ["torchvision"]) == ["torchvision"]


def test_pins_come_from_the_pairing():
    assert pins("2.13.0", ["torchvision", "torchaudio"]) == {
        "torch": "2.13.0",
        "torchvision": "0.28.0",
        "torchaudio": "2.11.0",
    }
    assert pins("2.9.1", []) == {"torch": "2.9.1"}


def test_a_recorded_version_the_matrix_dropped_is_shown_disabled_with_the_way_out():
    choices = torch_version_choices("2.5.1")
    disabled = choices["2.5.1 (not available)"]
    assert disabled["value"] == "2.5.1"
    assert "copier update" not in disabled["validator"]  # the same words serve copy and update
    assert f"-d torch_version={RECOMMENDED_TORCH}" in disabled["validator"]
    assert "recommended" in torch_version_choices("").values()


def test_release_constraints_reach_the_build():
    matrix = copy.deepcopy(MATRIX)
    matrix["releases"]["2.6.0"]["constraints"] = ["numpy<2"]
    answers = {
        "package_manager": "uv",
        "torch_version": "2.6.0",
        "torch_backend": "cpu",
        "python_version": "3.11",
        "pytorch_index_url": "https://download.pytorch.org/whl",
    }
    the_build = build(answers, model=model_of(matrix))
    assert the_build.constraints == ("numpy<2",)
    assert the_build.accelerator_api is False
    assert build({**answers, "torch_version": "2.13.0"}).accelerator_api is True


def test_each_manager_has_its_install_and_reinstall_commands():
    assert commands("uv", "3.12").install == ("uv sync",)
    assert commands("poetry", "3.12").install[0] == "poetry env use python3.12"
    pip = commands("pip", "3.12")
    assert "pip install --require-hashes -r pylock.toml" in pip.install
    assert pip.install[0] == "python3.12 -m venv .venv"


def test_recorded_answers_are_checked_against_the_matrix():
    good = {"torch_version": "2.13.0", "torch_backend": "cu126", "python_version": "3.11"}
    assert answer_errors(good) == []
    assert "torch 2.5.1 is not in" in answer_errors({**good, "torch_version": "2.5.1"})[0]
    assert "no 'cu118' build" in answer_errors({**good, "torch_backend": "cu118"})[0]
    errors = answer_errors({**good, "torch_backend": "cu132", "torch_libraries": ["torchaudio"]})
    assert errors == [
        "Use `-d torch_backend=cu130` or leave torchaudio out: "
        "torchaudio 2.11.0 has no cu132 build for torch 2.13.0"
    ]


def cuda_variants(torchaudio: bool) -> list[str]:
    """The recommended torch's CUDA variants with (or without) a build of its torchaudio."""
    release = MODEL.releases[RECOMMENDED_TORCH]
    lacks = release.libraries["torchaudio"].lacks
    return [v for v in release.in_family("cuda") if lacks(v) != torchaudio]


def with_matrix_change(recommend: dict) -> Model:
    return with_recommended(**recommend)


@pytest.mark.parametrize(
    ("answers", "recommend", "way_out"),
    [
        # A cuda project with torchaudio, when the recommended variant has no torchaudio:
        # the variant of its family that has it, not its own (failing) answer again.
        (
            {"torch_backend": "cuda", "torch_libraries": ["torchaudio"]},
            {"cuda": cuda_variants(torchaudio=False)[-1]},
            {"torch_backend": cuda_variants(torchaudio=True)[-1]},
        ),
        # A rocm project whose recommended torch has no ROCm build: the torch that has one.
        (
            {"torch_backend": "rocm"},
            {"torch": newest_release(lacks_family("rocm"))},
            {"torch_version": newest_release(has_family("rocm"))},
        ),
        # An explicit variant gone: its family, which follows the recommendation.
        ({"torch_version": "2.13.0", "torch_backend": "cu118"}, {}, {"torch_backend": "cuda"}),
        # A torch gone, with a Python the newest lacks: both move.
        (
            {"torch_version": "2.5.1", "python_version": "3.9"},
            {},
            {"torch_version": RECOMMENDED_TORCH, "python_version": MODEL.recommended.python},
        ),
        ({"python_version": "3.9"}, {}, {"python_version": MODEL.recommended.python}),
    ],
)
def test_the_way_out_changes_only_the_answers_that_are_wrong(answers, recommend, way_out):
    from extensions.migrate import way_out as compute

    given = {"torch_version": "recommended", "python_version": "3.12", **answers}
    model = with_matrix_change(recommend)
    assert answer_errors(given, model=model)
    assert compute(given, model=model) == way_out
    assert answer_errors({**given, **way_out}, model=model) == []


def test_every_cuda_variant_has_a_minimum_driver():
    for row in MATRIX["releases"].values():
        for variant in row["variants"]:
            driver = minimum_driver(variant)
            assert bool(driver) == (family_of(variant) == "cuda"), variant
    assert minimum_driver("cu130") == MODEL.drivers["cuda13"] == "580.65.06"


def test_the_way_out_drops_the_extra_backends_the_new_torch_lacks():
    matrix = copy.deepcopy(MATRIX)
    del matrix["releases"]["2.11.0"]
    answers = {
        "torch_version": "2.11.0",
        "torch_backend": "cu130",
        "extra_backends": ["cpu", "cu128"],  # cu128 ends with torch 2.11
        "python_version": "3.11",
    }
    newest = torch_versions(model=model_of(matrix))[0]
    assert migrate.way_out(answers, model=model_of(matrix)) == {
        "torch_version": newest,
        "extra_backends": ["cpu"],
    }


def test_an_update_with_a_list_answer_on_the_command_line_is_checked_as_a_list(tmp_path):
    """`copier update -d 'torch_libraries=[]'` reaches the migration as text."""
    answers_file = tmp_path / ".copier-answers.yml"
    answers_file.write_text(
        "torch_version: '2.13.0'\ntorch_backend: cu132\npython_version: '3.11'\n"
        "torch_libraries: [torchaudio]\nextra_backends: []\n"
    )
    assert migrate.before_update(answers_file, {}, {}, {}) == 1  # torchaudio has no cu132 build
    assert migrate.before_update(answers_file, {"torch_libraries": "[]"}, {}, {}) == 0
    both = {"torch_libraries": "[]", "extra_backends": '["cpu"]'}
    assert migrate.before_update(answers_file, both, {}, {}) == 0


@pytest.mark.parametrize(
    ("backend", "extras"), [("cuda", "[zz]"), ("cpu", "[zz]"), ("cuda", "[cpu, cu118]")]
)
def test_a_refused_extra_backend_is_told_a_list_the_update_accepts(
    tmp_path, capsys, backend, extras
):
    """`copier update -d extra_backends=[zz]` names the `-d` that fixes it: a list (a bare
    `extra_backends=cpu` is refused as not one), which the same update then takes."""
    answers_file = tmp_path / ".copier-answers.yml"
    answers_file.write_text(
        f"torch_version: '{RECOMMENDED_TORCH}'\ntorch_backend: {backend}\n"
        f"python_version: '{MODEL.recommended.python}'\n"
        "torch_libraries: []\nextra_backends: []\n"
    )
    assert migrate.before_update(answers_file, {"extra_backends": extras}, {}, {}) == 1
    printed = capsys.readouterr()
    told = re.search(r"Use `-d ([^`]+)`", printed.out + printed.err)
    assert told, "the refusal names no -d"
    key, value = shlex.split(told[1])[0].split("=", 1)
    assert key == "extra_backends" and value.startswith("[")
    assert migrate.before_update(answers_file, {key: value}, {}, {}) == 0


def test_a_refused_update_writes_no_carried_answer(tmp_path):
    """A project made before `extra_backends` whose answers no longer fit: the answer the
    update would carry over (`extra_backends: []`) is not written, nor is a renamed one."""
    answers_file = tmp_path / ".copier-answers.yml"
    text = (
        "compute_backend: cu132\ntorch_version: '2.13.0'\npython_version: '3.11'\n"
        "torch_libraries: [torchaudio]\n"
    )
    answers_file.write_text(text)
    migration = ({}, {"extra_backends": []}, {"compute_backend": "torch_backend"})
    assert migrate.before_update(answers_file, *migration) == 1
    assert answers_file.read_text() == text
    migration[0]["torch_libraries"] = "[]"
    assert migrate.before_update(answers_file, *migration) == 0
    carried = yaml.safe_load(answers_file.read_text())
    assert carried["torch_backend"] == "cu132" and carried["extra_backends"] == []
    assert "compute_backend" not in carried


def test_torchcodec_joins_torchaudio_only_where_every_backend_has_it():
    answers = {
        "package_manager": "uv",
        "torch_version": "2.14.1",
        "torch_backend": "cu130",  # 2.14.1's cu130 has torchcodec (its cu132 has none)
        "extra_backends": ["rocm", "cpu"],
        "torch_libraries": ["torchaudio"],
        "python_version": "3.11",
        "pytorch_index_url": "https://download.pytorch.org/whl",
    }
    the_build = build(answers)
    assert "torchcodec" not in the_build.pins  # no ROCm build of it
    rocm = next(b for b in the_build.backends if b.extra == "rocm")
    assert rocm.plan.sources["linux-x86_64"].index == "rocm7.2"
    without_rocm = build({**answers, "extra_backends": ["cpu"]})
    assert "torchcodec" in without_rocm.pins
    assert [b.extra for b in without_rocm.backends] == ["cuda", "cpu"]


ANSWERS = {
    "package_manager": "uv",
    "torch_version": "recommended",
    "torch_backend": "cuda",
    "python_version": "3.12",
    "pytorch_index_url": "https://download.pytorch.org/whl",
}


def test_the_context_hook_adds_the_build_once_the_answers_make_one():
    context = dict(ANSWERS)
    copier_hooks.BuildContext.hook(None, context)
    assert context["build"] == build(ANSWERS)
    for wrong in ({"torch_backend": "cu118"}, {"python_version": "3.9"}, {"extra_backends": "cpu"}):
        context = {**ANSWERS, **wrong}  # still being asked: no build yet, no error
        copier_hooks.BuildContext.hook(None, context)
        assert "build" not in context


def test_an_error_in_the_build_surfaces_with_its_cause(monkeypatch):
    def broken(answers, *, model=None):
        raise KeyError("a bug in build()")

    monkeypatch.setattr(copier_hooks, "build", broken)
    with pytest.raises(KeyError, match="a bug in build"):
        copier_hooks.BuildContext.hook(None, dict(ANSWERS))


def test_one_before_update_migration_checks_before_anything_writes():
    """Copier runs the migrations in order and stops at the first that fails: a second
    before-stage migration that writes (a rename, a default) would write before or without
    the check. Such changes are options of the one `before-update` migration instead."""
    migrations = yaml.safe_load((Path(migrate.__file__).parent.parent / "copier.yml").read_text())
    before = [m for m in migrations["_migrations"] if "'before'" in m.get("when", "")]
    assert [m["command"][2] for m in before] == ["before-update"]

"""`python -m extensions.refresh` rebuilds the matrix from an index, deterministically, and a
fault of any kind leaves the matrix and README as they were."""

import copy
import shutil

import pytest
import yaml

from extensions import refresh
from extensions.index_model import Model, load_model
from extensions.torch_matrix import MATRIX_PATH, load_facts, load_matrix
from tests.pytorch_index import IndexContent, StandInIndex

VARIANTS = [
    "cpu",
    "cu126",
    "cu128",
    "cu129",
    "cu130",
    "cu132",
    "rocm7.1",
    "rocm7.2",
    "rocm7.14",
    "xpu",
]


@pytest.fixture
def files(tmp_path):
    """Copies of the matrix and README to refresh."""
    shutil.copy(MATRIX_PATH, tmp_path / "torch_matrix.yml")
    shutil.copy(refresh.README_PATH, tmp_path / "README.md")
    return tmp_path / "torch_matrix.yml", tmp_path / "README.md"


def index_with_new_release() -> IndexContent:
    """The live index, a month later: torch 2.15.0 is out, 2.14.1 gained rocm7.14."""
    matrix = copy.deepcopy(load_matrix())
    matrix["releases"]["2.15.0"] = {
        "status": "confirmed",
        "python": ["3.10", "3.11", "3.12", "3.13", "3.14"],
        "variants": ["cpu", "cu130", "cu132", "xpu"],
        "torchvision": {"version": "0.30.0"},
        "torchaudio": {"version": "2.11.0"},
    }
    matrix["releases"]["2.14.1"]["variants"].append("rocm7.14")
    facts = copy.deepcopy(load_facts())
    facts["releases"]["2.15.0"] = facts["releases"]["2.14.1"]
    return IndexContent(model=load_model(matrix, facts))


def test_the_matrix_file_is_in_its_canonical_layout():
    text = MATRIX_PATH.read_text()
    assert refresh.dump(yaml.safe_load(text), *refresh.split_file(text)) == text


def test_the_readme_table_is_generated_from_the_matrix():
    readme = refresh.README_PATH.read_text()
    assert refresh.with_table(readme, load_matrix()) == readme, (
        "run python -m extensions.refresh --table"
    )


def test_refresh_adds_a_new_release_and_keeps_the_recommendation(files):
    matrix_path, readme_path = files
    with StandInIndex(index_with_new_release()) as index:
        lines = refresh.refresh(index.url, matrix_path, readme_path, variants=VARIANTS)
    new = yaml.safe_load(matrix_path.read_text())
    assert new["releases"]["2.15.0"]["torchvision"] == {"version": "0.30.0"}
    assert new["releases"]["2.15.0"]["variants"] == ["cpu", "cu130", "cu132", "xpu"]
    assert new["releases"]["2.14.1"]["variants"] == [
        "cpu",
        "cu126",
        "cu130",
        "cu132",
        "rocm7.2",
        "rocm7.14",
        "xpu",
    ]
    assert new["releases"]["2.6.0"]["accelerator_api"] is False  # a human fact, kept
    assert new["recommended"] == load_matrix()["recommended"]
    assert list(new["releases"])[0] == "2.15.0"
    assert any(line.startswith("+ torch 2.15.0") for line in lines)
    assert "| 2.15.0 | 0.30.0 |" in readme_path.read_text()
    assert "tools:" in matrix_path.read_text() and "# status:" in matrix_path.read_text()


def test_refresh_is_deterministic(files):
    matrix_path, readme_path = files
    with StandInIndex(index_with_new_release()) as index:
        refresh.refresh(index.url, matrix_path, readme_path, variants=VARIANTS)
        first = matrix_path.read_text()
        assert refresh.refresh(index.url, matrix_path, readme_path, variants=VARIANTS) == []
    assert matrix_path.read_text() == first


def test_refresh_moves_a_recommendation_only_when_told(files):
    matrix_path, readme_path = files
    with StandInIndex(index_with_new_release()) as index:
        lines = refresh.refresh(
            index.url,
            matrix_path,
            readme_path,
            variants=VARIANTS,
            recommend={"torch": "2.15.0", "cuda": "cu132"},
        )
    recommended = yaml.safe_load(matrix_path.read_text())["recommended"]
    assert recommended["torch"] == "2.15.0" and recommended["cuda"] == "cu132"
    assert "~ recommended torch: 2.14.1 -> 2.15.0" in lines


def test_refresh_probes_for_variants_by_itself(files):
    matrix_path, readme_path = files
    with StandInIndex(index_with_new_release()) as index:
        refresh.refresh(index.url, matrix_path, readme_path)
    assert "rocm7.2" in yaml.safe_load(matrix_path.read_text())["releases"]["2.14.1"]["variants"]


FAULTS = {
    "unreachable": ("http://127.0.0.1:9/whl", None, "cannot reach"),
    "not an index": (None, {}, "lists no torch wheel"),
    "server error": (None, {"/whl/cpu/torch/": (500, "oops")}, "answered HTTP 500"),
    "malformed page": (
        None,
        {"/whl/cpu/torch/": (200, "{not html")},
        "is not a package index page",
    ),
    "empty index": (None, {"/whl/cpu/torch/": (200, "<html><body></body></html>")}, "no links"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_changes_nothing(files, fault):
    matrix_path, readme_path = files
    url, faults, message = FAULTS[fault]
    before = matrix_path.read_text(), readme_path.read_text()
    empty = Model(releases={}, platforms=IndexContent().model.platforms)
    content = IndexContent(model=empty, faults=faults or {})
    with StandInIndex(content) as index, pytest.raises(refresh.RefreshError, match=message):
        refresh.refresh(url or index.url, matrix_path, readme_path, variants=VARIANTS)
    assert (matrix_path.read_text(), readme_path.read_text()) == before
    assert sorted(p.name for p in matrix_path.parent.iterdir()) == ["README.md", "torch_matrix.yml"]


def test_a_recommendation_the_index_lacks_is_refused(files):
    matrix_path, readme_path = files
    before = matrix_path.read_text()
    with (
        StandInIndex(index_with_new_release()) as index,
        pytest.raises(refresh.RefreshError, match="has no cu128 build"),
    ):
        refresh.refresh(
            index.url,
            matrix_path,
            readme_path,
            variants=VARIANTS,
            recommend={"torch": "2.15.0", "cuda": "cu128"},
        )
    assert matrix_path.read_text() == before


def test_the_command_line_says_what_is_wrong_and_writes_nothing(capsys):
    assert refresh.main(["--index-url", "http://127.0.0.1:9/whl", "--variants", "cpu"]) == 1
    assert "Nothing was written" in capsys.readouterr().err

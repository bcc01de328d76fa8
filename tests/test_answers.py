"""Every answer a user can get wrong is refused with what to choose instead; nothing is written."""

import pytest

from tests.tools import render

VALID = {"project_name": "Demo", "torch_version": "2.13.0"}
INVALID = [
    ({"package_name": "My-Package"}, "not a valid import name"),
    ({"package_name": "2fast"}, "not a valid import name"),
    ({"package_name": "class"}, "is a Python keyword"),
    ({"package_name": "torch"}, "would shadow"),
    ({"package_name": "tests"}, "would shadow"),
    ({"package_name": "json"}, "would shadow"),
    ({"author_email": "nobody"}, "not an email address"),
    ({"torch_version": "2.5.1"}, "Choose one of: recommended, 2.15.0"),
    ({"torch_backend": "cu118"}, "torch 2.13.0 has no 'cu118' build. Choose one of: cpu, cuda"),
    ({"torch_version": "2.14.1", "torch_backend": "cu118"}, "It exists for torch 2.7.1"),
    ({"torch_backend": "metal"}, "has no 'metal' build"),
    ({"python_version": "3.9"}, "torch 2.13.0 supports Python 3.10, 3.11"),
    (
        {"torch_backend": "cu132", "torch_libraries": ["torchaudio"]},
        "torchaudio 2.11.0 has no cu132 build",
    ),
    ({"pytorch_index_url": "ftp://mirror.example/whl"}, "is not an http(s) URL"),
    ({"pytorch_index_url": "download.pytorch.org/whl"}, "is not an http(s) URL"),
    ({"pytorch_index_url": "https://me:secret@mirror.example/whl"}, "UV_INDEX_<NAME>_USERNAME"),
    ({"pytorch_index_url": "https://mirror.example/whl?token=x"}, "without a query"),
]


@pytest.mark.parametrize(("wrong", "message"), INVALID, ids=[str(w) for w, _ in INVALID])
def test_an_invalid_answer_is_refused_and_nothing_is_written(tmp_path, wrong, message):
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match=None) as refused:
        render(destination, **{**VALID, **wrong})
    assert message in str(refused.value)
    assert not destination.exists()


def test_credentials_message_names_every_managers_variables(tmp_path):
    with pytest.raises(ValueError) as refused:
        render(tmp_path / "p", **VALID, pytorch_index_url="https://u:p@mirror.example/whl")
    for variable in ("UV_INDEX_", "POETRY_HTTP_BASIC_", ".netrc"):
        assert variable in str(refused.value)

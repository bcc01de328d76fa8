"""Every answer is either refused with what to choose instead (nothing written), or gives a
project whose files parse, lint, and carry the answer exactly as it was typed."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from copier.errors import UserMessageError

from extensions import answers as rules
from extensions import configs, index_model
from extensions.copier_hooks import questions
from extensions.index_urls import index_url_error
from tests.facts import RECOMMENDED_TORCH, has_family, lacks_family, newest_release
from tests.tools import (
    BIN,
    TEMPLATE,
    install_as_readme_says,
    jinja_left,
    readme_commands,
    render,
    sh,
)

VALID = {"project_name": "Demo", "torch_version": "2.13.0"}

# Refused, with the part of the message that says what to do.
INVALID = [
    ({"package_name": "My-Package"}, "Use e.g. 'my_package': 'My-Package' is not a valid"),
    ({"package_name": "2fast"}, "Use e.g. '_2fast'"),
    ({"package_name": "class"}, "Use e.g. 'class_lib': 'class' is a Python keyword"),
    ({"package_name": "torch"}, "Use e.g. 'my_torch': 'torch' would shadow the module"),
    ({"package_name": "torchcodec"}, "'torchcodec' would shadow the module"),
    ({"package_name": "tests"}, "would shadow the module"),
    ({"package_name": "json"}, "would shadow the module"),
    ({"package_name": "pytest"}, "Use e.g. 'my_pytest': 'pytest' would shadow the dev tool"),
    ({"package_name": "ruff"}, "would shadow the dev tool"),
    ({"package_name": "hatchling"}, "would shadow the dev tool"),
    # What a torch install brings (extensions/torch_modules.yml, read from the wheels).
    (
        {"package_name": "functorch"},
        "Use e.g. 'my_functorch': 'functorch' would shadow the module of the same name "
        "(torch's own wheel installs it)",
    ),
    ({"package_name": "torchgen"}, "(torch's own wheel installs it)"),
    ({"package_name": "sympy"}, "(sympy, a dependency of torch, installs it)"),
    ({"package_name": "mpmath"}, "(mpmath, a dependency of torch, installs it)"),
    ({"package_name": "typing_extensions"}, "(typing-extensions, a dependency of torch,"),
    ({"package_name": "isympy"}, "(sympy, a dependency of torch, installs it)"),
    ({"package_name": "markupsafe"}, "would shadow the module of the same name"),
    # ... and what its GPU builds require: NVIDIA's libraries, triton (read from PyPI).
    (
        {"package_name": "nvidia"},
        "Use e.g. 'my_nvidia': 'nvidia' would shadow the module of the same name "
        "(nvidia-cublas, a dependency of torch, installs it)",
    ),
    ({"package_name": "triton"}, "(triton, a dependency of torch, installs it)"),
    ({"package_name": "a" * 300}, "a package name has 100 characters at most"),
    ({"package_name": "Ab" * 5000}, "a package name has 100 characters at most"),
    (
        {"project_name": "A" * 300},
        "Shorten the project name to 100 characters or fewer (it is 300)",
    ),
    ({"project_name": "Long " * 2000}, "Shorten the project name to 100 characters"),
    ({"package_name": "__main__"}, "Use e.g. 'my_main': '__main__' is a dunder name"),
    ({"package_name": "_"}, "Use e.g. 'my_project': '_' has no letter or digit"),
    ({"package_name": "пакет"}, "Use e.g. 'my_project': 'пакет' is not a valid import name"),
    ({"package_name": 'pkg"'}, "Use e.g. 'pkg'"),
    ({"package_name": "pkg\\x"}, "Use e.g. 'pkg_x'"),
    ({"package_name": "pkg\n"}, "Use e.g. 'pkg'"),
    ({"project_name": "   "}, "Give the project a name"),
    ({"project_name": "\u200d"}, "Give the project a name"),  # joiners alone: invisible
    ({"project_name": " \u200c\u200d "}, "Give the project a name"),
    ({"project_name": "My\nProject"}, "Write the project name on one line, without \\n"),
    ({"project_name": "My\tProject"}, "without \\t"),
    ({"description": "One line.\nTwo lines."}, "Write it on one line, without \\n"),
    ({"description": "A\x00B"}, "without \\x00"),
    ({"author_name": "Jane\rDoe"}, "Write it on one line, without \\r"),
    ({"author_name": "Jane\u2028Doe"}, "without \\u2028"),
    # Bytes that are not UTF-8 in a `-d` value (Python keeps them as lone surrogates).
    ({"description": "caf\udce9"}, "Write it in UTF-8: it holds bytes that are not text (\\udce9)"),
    ({"project_name": "caf\udce9"}, "Write the project name in UTF-8"),
    ({"author_name": "caf\udce9"}, "Write it in UTF-8"),
    ({"author_email": "nobody"}, "Give an address like jane@example.com"),
    ({"author_email": ""}, "Give an address like"),
    ({"author_email": 'jane"@example.com'}, "Give an address like"),
    ({"author_email": "jane\\@example.com"}, "Give an address like"),
    ({"author_email": "jane@example.com\n"}, "Give an address like"),
    ({"author_email": "Jane <jane@example.com>"}, "Give an address like"),
    ({"author_email": "jane@example"}, "Give an address like"),
    ({"torch_version": "2.5.1"}, f"Use `-d torch_version={RECOMMENDED_TORCH}`: torch 2.5.1 is not"),
    ({"torch_version": '2.13.0"'}, "is not in this template's matrix"),
    (
        {"torch_backend": "cu118"},
        "Use `-d torch_backend=cuda`: torch 2.13.0 has no 'cu118' build (cpu, cuda",
    ),
    (  # a torch without ROCm builds: the newest torch with them
        {"torch_version": newest_release(lacks_family("rocm")), "torch_backend": "rocm"},
        f"`-d torch_version={newest_release(has_family('rocm'))}`",
    ),
    ({"torch_backend": "metal"}, "Use `-d torch_backend=cpu`: torch 2.13.0 has no 'metal'"),
    ({"torch_backend": "cpu\n"}, "has no 'cpu\n' build"),
    (
        {"python_version": "3.9"},
        "Use `-d python_version=3.12`: torch 2.13.0 supports Python 3.10, 3.11",
    ),
    ({"python_version": "3.12\\"}, "supports Python"),
    (
        {"torch_backend": "cu132", "torch_libraries": ["torchaudio"]},
        "torchaudio 2.11.0 has no cu132 build",
    ),
    ({"pytorch_index_url": "ftp://mirror.example/whl"}, "Give an http(s) URL"),
    ({"pytorch_index_url": "download.pytorch.org/whl"}, "Give an http(s) URL"),
    ({"pytorch_index_url": "https://me:secret@mirror.example/whl"}, "Keep credentials out"),
    ({"pytorch_index_url": "https://mirror.example/whl?token=x"}, "without a query"),
    (
        {"pytorch_index_url": "https://mirror.example/whl\n--extra-index-url https://evil.example"},
        "Remove the spaces and control characters",
    ),
    ({"pytorch_index_url": "https://mirror.example/whl\t"}, "Remove the spaces"),
    ({"pytorch_index_url": " https://mirror.example/whl"}, "Remove the spaces"),
    ({"pytorch_index_url": "https://mirror.example/my whl"}, "Remove the spaces"),
    ({"pytorch_index_url": "https://mirror.example/whl/cu132"}, "Give the base, e.g. https://mi"),
    ({"pytorch_index_url": "https://mirror.example/whl/cpu/"}, "Give the base"),
    ({"pytorch_index_url": "https://mirror.example/whl/rocm7.14"}, "Give the base"),
    ({"pytorch_index_url": 'https://mirror.example/whl"'}, "Percent-encode"),
    ({"pytorch_index_url": "https://mirror.example/w$(id)"}, "Percent-encode"),
    ({"pytorch_index_url": "https://зеркало.example/whl"}, "Give a valid host name"),
    ({"pytorch_index_url": "http://mirror.example/whl"}, "Use https://mirror.example/whl: an"),
    ({"pytorch_index_url": "http://10.0.0.8:8080/whl"}, "Use https://10.0.0.8:8080/whl"),
    ({"pytorch_index_url": "http://[fe80::1]/whl"}, "http:// index is accepted only on this"),
    ({"pytorch_index_url": "https://mirror.example:99999/whl"}, "Give a port between 1 and"),
    ({"pytorch_index_url": "https://mirror.example:0/whl"}, "Give a port between 1 and"),
    ({"pytorch_index_url": "https://mirror.example:8x/whl"}, "Give a port between 1 and"),
    ({"pytorch_index_url": "https://[::1/whl"}, "Give an IPv6 host in brackets"),
    ({"pytorch_index_url": "https://[mirror]/whl"}, "Give an IPv6 host in brackets"),
    ({"pytorch_index_url": "https://[::1]x/whl"}, "Give the port after the IPv6 address"),
    ({"pytorch_index_url": "https://mirror..example/whl"}, "Give a valid host name"),
    ({"pytorch_index_url": "https://300.1.1.1/whl"}, "Give a valid IPv4 address"),
    ({"pytorch_index_url": "https://a.b.c.123/whl"}, "Give a valid IPv4 address or host"),
    ({"pytorch_index_url": "https://[fe80::1%25eth0]/whl"}, "Leave the zone out"),
    ({"pytorch_index_url": "https://mirror.example:/whl"}, "Give the port after the colon"),
    (  # poetry's lock cannot read a bracketed host (uv's and pip's can: tests/test_mirrors.py)
        {"package_manager": "poetry", "pytorch_index_url": "https://[2001:db8::1]:8443/whl"},
        "Give the mirror's host name (one your DNS or /etc/hosts resolves to that address)",
    ),
    ({"project_name": "torch"}, "Name the project after what it does"),
    ({"project_name": "TorchVision"}, "its distribution 'torchvision'"),
    ({"project_name": "sympy"}, "Name the project after what it does"),
    (
        {"pytorch_index_url": "https://nexus.example/repository/pytorch-{foo}/simple"},
        "Write the variant's place as {variant}, the only placeholder the template fills: '{foo}'",
    ),
    ({"pytorch_index_url": "https://nexus.example/{variant/simple"}, "'{' is not one"),
    ({"pytorch_index_url": "https://nexus.example/{Variant}/simple"}, "'{Variant}' is not one"),
    ({"pytorch_index_url": "https://mirror.example/whl\\"}, "Percent-encode"),
    ({"pytorch_index_url": ""}, "Give an http(s) URL"),
    ({"copyright_year": 26}, "Give a four-digit year"),
]
# Questions with choices: a valid choice made hostile is refused, naming the question.
CHOICES = {
    "license": "MIT",
    "package_manager": "uv",
    "torch_version": "2.13.0",
    "torch_backend": "cpu",
    "python_version": "3.11",
    "torch_libraries": "torchvision",
}
HOSTILE_KINDS = {
    "quote": lambda v: f'{v}"',
    "backslash": lambda v: f"{v}\\",
    "newline": lambda v: f"{v}\n",
    "tab": lambda v: f"\t{v}",
    "non-Latin": lambda v: "МИТ",
    "empty": lambda v: "",
}
INVALID += [
    # Text that displays unlike what it holds (a bidirectional override, a zero-width space).
    ({"description": "ok \u202egnp.exe"}, "Write it without \\u202e: invisible characters"),
    ({"project_name": "Demo\u200b"}, "Write the project name without \\u200b: invisible"),
]
INVALID += [
    (
        {key: [kind(value)] if key == "torch_libraries" else kind(value)},
        f"Invalid choice for '{key}'",
    )
    for key, value in CHOICES.items()
    for kind in HOSTILE_KINDS.values()
]


@pytest.mark.parametrize(("wrong", "message"), INVALID, ids=[repr(w) for w, _ in INVALID])
def test_an_invalid_answer_is_refused_and_nothing_is_written(tmp_path, wrong, message):
    destination = tmp_path / "project"
    with pytest.raises(ValueError) as refused:
        render(destination, **{**VALID, **wrong})
    assert message in str(refused.value)
    assert not destination.exists()
    # The fix it names, if it names one, gives a valid project.
    if fix := suggested_answers(str(refused.value)):
        project = render(tmp_path / "fixed", **{**VALID, **wrong, **fix})
        assert_every_file_parses_and_lints(project)


def test_credentials_message_names_every_managers_variables(tmp_path):
    with pytest.raises(ValueError) as refused:
        render(tmp_path / "p", **VALID, pytorch_index_url="https://u:p@mirror.example/whl")
    for variable in ("UV_INDEX_<NAME>_USERNAME", "poetry config http-basic.<name>", ".netrc"):
        assert variable in str(refused.value)


def wrong_types(question: dict) -> list:
    """Values of another type than `question` (copier.yml) takes, as a data file can hold."""
    if question.get("type") == "bool":
        return [None, 1, ["x"], {"a": 1}]
    if question.get("multiselect"):
        return [None, 5, "torchvision", {"torchvision": True}, [1], [None]]
    if question.get("type") == "int":
        return [None, 3.12, True, "twenty", ["x"], {"a": 1}]
    return [None, 2024, 3.12, True, ["x"], {"a": 1}]


WRONG_TYPES = [
    (name, value) for name, question in questions().items() for value in wrong_types(question)
]


@pytest.mark.parametrize(("name", "value"), WRONG_TYPES, ids=[repr(w) for w in WRONG_TYPES])
def test_an_answer_of_the_wrong_type_is_refused_with_the_templates_message(tmp_path, name, value):
    """Every question, given as data (`--data-file`, `-d`) a value of a type it cannot take:
    the template's message names the question and the fix, and nothing is written."""
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match=f"^Answer {name} with ") as refused:
        render(destination, **{**VALID, name: value})
    assert isinstance(refused.value, UserMessageError)  # the command line prints it, exit 1
    assert not destination.exists()


def test_a_data_file_with_a_null_list_is_refused_on_the_command_line(tmp_path):
    data = tmp_path / "answers.yml"
    data.write_text("project_name: Demo\ntorch_libraries: null\n")
    result = subprocess.run(
        [BIN / "copier", "copy", "--trust", "--defaults", "--vcs-ref", "HEAD"]
        + ["--data-file", data, TEMPLATE, tmp_path / "project"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Answer torch_libraries with a list of names (torch_libraries: [] for none)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "project").exists()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("package_name=torch", "Use e.g. 'my_torch': 'torch' would shadow the module"),
        ("torch_backend=cu126", "Use `-d torch_backend=cuda`: torch"),
    ],
)
def test_a_refused_answer_on_the_command_line_prints_its_message_alone(tmp_path, answer, message):
    """A validator's or a choice's refusal of a `-d` answer: the message, no traceback."""
    result = subprocess.run(
        [BIN / "copier", "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "-d", answer]
        + [TEMPLATE, tmp_path / "project"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert message in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "project").exists()


def test_a_program_calling_run_copy_keeps_the_traceback_of_a_refusal_it_leaves_uncaught(
    tmp_path,
):
    """The command line's message-alone printing does not reach a program using the API:
    the refusal it does not catch shows where it came from, as any exception does."""
    program = (
        "from copier import run_copy\n"
        f"run_copy({str(TEMPLATE)!r}, {str(tmp_path / 'project')!r}, vcs_ref='HEAD',\n"
        "         data={'torch_backend': 'cu126'}, defaults=True, unsafe=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "Use `-d torch_backend=cuda`" in result.stderr.splitlines()[-1]
    assert not (tmp_path / "project").exists()


def suggested_answers(message: str) -> dict:
    """The answers a refusal proposes: `-d KEY=VALUE` commands or `Use e.g. 'name'`."""
    found = dict(
        shlex.split(flag)[1].split("=", 1) for flag in re.findall(r"`(-d [^`]+)`", message)
    )
    if name := re.match(r"Use e\.g\. '([^']*)'", message):
        found["package_name"] = name[1]
    return found


# Accepted: the kinds of text a user types, each one kept exactly in every file it lands in.
ACCEPTED = [
    {"project_name": 'The "Best" Model'},
    {"project_name": "C:\\Models\\"},
    {"project_name": "Классификатор"},  # no ASCII letter: package my_project
    {"project_name": "日本語 AI"},
    {"project_name": "---"},  # empty after normalisation
    {"project_name": "3D Segmenter"},
    {"project_name": "Déjà vu"},
    {"project_name": "می\u200cخواهم"},  # Persian: a zero-width non-joiner inside the word
    {"description": "Made by 👩\u200d💻 in क\u094d\u200dष"},  # zero-width joiners
    {"description": 'Say "hi" to """everyone"""'},
    {"description": 'Ends with a quote"'},
    {"description": "Paths like C:\\data\\ and \\n are text"},
    {"description": "<b>*bold*</b> [link](x) # | `code` & - 1. _x_"},
    {"description": "- a list item? 1. no"},
    {"description": "Ünïcödé 日本語 ÆØÅ 🚀"},
    {"description": ""},
    {"description": "'single' quotes'"},
    {"author_name": "DOMAIN\\user"},
    {"author_name": 'Jane "JD" Doe, Jr.'},
    {"author_name": "José Müller-Łukasz"},
    {"author_name": "李雷"},
    {"author_name": ""},
    {"author_email": "o'neil+tag@example.co.uk"},
    {"author_email": "jane@例え.jp"},
    {"package_name": "imgcls"},
    {"package_name": "_private"},
    {"package_name": "snake_case_2"},
    {"pytorch_index_url": "https://mirror.example/pytorch/whl/"},
    {"pytorch_index_url": "http://127.0.0.1:8080/a%20b/whl"},
    {"pytorch_index_url": "https://nexus.example/repository/pytorch-{variant}/simple"},
    {"pytorch_index_url": "https://[::1]:8443/whl"},
    {"pytorch_index_url": "http://localhost:8080/whl/"},
]


def assert_every_file_parses_and_lints(project: Path) -> None:
    for path in project.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        assert not jinja_left(path, text), f"Jinja left in {path}"
        if path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in (".yml", ".yaml"):
            yaml.safe_load(text)
        elif path.suffix == ".py":
            ast.parse(text, filename=str(path))
    for lint in (["check", "."], ["format", "--check", "."]):
        ruff = subprocess.run([BIN / "ruff", *lint], cwd=project, capture_output=True, text=True)
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def assert_the_answers_are_kept_as_typed(project: Path, given: dict) -> None:
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    package = recorded["package_name"]
    assert rules.package_name_error(package) == ""
    assert metadata["project"]["name"] and re.fullmatch(r"[a-z0-9-]+", metadata["project"]["name"])
    assert metadata["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [f"src/{package}"]
    if "poetry" in metadata["tool"]:  # poetry installs the project from its own package list
        assert metadata["tool"]["poetry"]["packages"] == [{"include": package, "from": "src"}]
    init = ast.parse((project / "src" / package / "__init__.py").read_text(encoding="utf-8"))
    for key, value in given.items():
        assert recorded[key] == value, key
        if key == "description":
            assert metadata["project"]["description"] == value
            assert ast.get_docstring(init, clean=False) == (value or "The project package.")
        if key in ("author_name", "author_email"):
            assert metadata["project"]["authors"][0][key.removeprefix("author_")] == value
        if key == "project_name":
            title = (project / "README.md").read_text(encoding="utf-8").splitlines()[0]
            assert title == f"# {rules.markdown_text(value)}"


@pytest.mark.parametrize("given", ACCEPTED, ids=[repr(a) for a in ACCEPTED])
def test_any_accepted_answer_gives_a_project_that_parses_and_lints(tmp_path, given):
    project = render(tmp_path / "project", **{**VALID, **given})
    assert_every_file_parses_and_lints(project)
    assert_the_answers_are_kept_as_typed(project, given)


@pytest.mark.parametrize("folder", ["test", "code", "profile", "site", "class", "pytest", "日本"])
def test_the_default_package_name_is_valid_whatever_the_folder(tmp_path, folder):
    project = render(tmp_path / folder, torch_version="2.13.0")  # no project_name: the folder's
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert recorded["project_name"] == folder
    assert rules.package_name_error(recorded["package_name"]) == ""
    assert_every_file_parses_and_lints(project)


def render_with_git_identity(tmp_path, monkeypatch, user):
    """A project rendered with --defaults where git's `[user]` section is `user`; its
    pyproject's authors."""
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f"[user]\n{user}")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    project = render(tmp_path / "project", **VALID)
    return project, tomllib.loads((project / "pyproject.toml").read_text())["project"]["authors"]


def test_the_author_defaults_from_git_config_whatever_it_holds(tmp_path, monkeypatch):
    user = '\tname = "CORP\\\\jdoe \\"J\\""\n\temail = jdoe@corp.example\n'
    project, authors = render_with_git_identity(tmp_path, monkeypatch, user)
    assert authors == [{"name": 'CORP\\jdoe "J"', "email": "jdoe@corp.example"}]
    assert_every_file_parses_and_lints(project)


def test_a_git_identity_the_questions_refuse_is_no_default(tmp_path, monkeypatch):
    """`user.email = jane@localhost` would stop `copier copy --defaults` over a value the user
    never typed: the placeholders stand in for it."""
    user = '\tname = "Jane\\tDoe"\n\temail = jane@localhost\n'
    _, authors = render_with_git_identity(tmp_path, monkeypatch, user)
    assert authors == [{"name": "Your Name", "email": "you@example.com"}]


# The rules themselves, without Copier.


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("My Project", "my_project"),
        ("2D-Vision", "_2d_vision"),
        ("Déjà vu", "deja_vu"),
        ("日本", "my_project"),
        ("test", "my_test"),
        ("class", "class_lib"),
        ("__init__", "init"),
    ],
)
def test_the_default_package_name_applies_its_own_suggestion(name, expected):
    assert rules.suggest_package_name(name) == expected
    assert rules.package_name_error(expected) == ""


@pytest.mark.parametrize(("kind", "value"), [("bool", "maybe"), ("bool", 2), ("int", "2.5")])
def test_a_given_answer_of_another_kind_is_refused(kind, value):
    assert rules.answer_type_error("q", value, {"type": kind}).startswith("Answer q with ")


def test_the_distribution_name_falls_back_to_the_package():
    assert rules.to_distribution_name("My Project") == "my-project"
    assert rules.to_distribution_name("3D Segmenter") == "3d-segmenter"
    assert rules.to_distribution_name("日本", "my_project") == "my-project"


@pytest.mark.parametrize(
    "url",
    [
        "https://download.pytorch.org/whl",
        "https://m.example/",
        "https://mirror.example:8443/pytorch/whl",
        "https://[::1]:8443/whl",
        "https://[2001:db8::1]/whl",
        "https://nexus.example/repository/pytorch-{variant}/simple",
        "https://artifactory.example/api/pypi/torch/whl/{variant}/simple",
        "https://pytorch-{variant}.mirror.example/simple",
        # http only on this machine: a local mirror or proxy.
        "http://127.0.0.1:8080/whl",
        "http://127.8.9.10/whl",
        "http://[::1]:8080/whl",
        "http://localhost/whl",
    ],
)
def test_index_urls_are_accepted(url):
    assert index_url_error(url) == ""
    assert index_url_error(url, "uv") == index_url_error(url, "pip") == ""


@pytest.mark.parametrize(
    ("answer", "variant", "url"),
    [
        ("https://download.pytorch.org/whl", "cu130", "https://download.pytorch.org/whl/cu130"),
        ("https://mirror.example/whl/", "rocm7.1", "https://mirror.example/whl/rocm7.1"),
        (
            "https://nexus.example/repository/pytorch-{variant}/simple",
            "cu130",
            "https://nexus.example/repository/pytorch-cu130/simple",
        ),
        (
            "https://nexus.example/repository/pytorch-{variant}/simple/",
            "cpu",
            "https://nexus.example/repository/pytorch-cpu/simple",
        ),
        ("https://m.example/whl/{variant}/simple", "xpu", "https://m.example/whl/xpu/simple"),
    ],
)
def test_an_index_url_is_the_answer_with_the_variant_in_place_or_appended(answer, variant, url):
    assert index_model.index_url(answer, variant) == url


@pytest.mark.parametrize(
    "text", ['a "b" \\ c', "tab\there", "nul\x00", "del\x7f", "é 🚀", "\\u0041", "'''"]
)
def test_toml_strings_read_back_as_the_text(text):
    assert tomllib.loads(f"value = {rules.toml_string(text)}")["value"] == text


def test_toml_arrays_read_back_as_the_values_they_render():
    """What pyproject.toml's tables are made of: strings, inline tables, arrays of tables."""
    arrays = {
        "cpu": ["torch==2.13.0", 'pytorch-triton-rocm==3.5.0; sys_platform == "linux"'],
        "torch": [{"index": "pytorch-cpu", "marker": 'sys_platform != "darwin"'}],
        "conflicts": [[{"extra": "cpu"}, {"extra": "cu130"}]],
    }
    assert tomllib.loads(configs.toml_arrays(arrays)) == arrays
    assert configs.toml_items([]) == ""


def test_toml_keys_that_are_not_bare_read_back_as_one_key():
    """A distribution named with a dot (`zope.interface`) stays one key, not a nested table."""
    arrays = {"zope.interface": [{"index": "a", "odd key": "b", "é": "c"}], "": ["d"]}
    assert tomllib.loads(configs.toml_arrays(arrays)) == arrays


LONG_DESCRIPTION = " ".join(["A description", *["that goes on"] * 36])[:120]


@pytest.mark.parametrize(
    "text", ['a "b" \\ c', 'ends "', "\\", "'''", '"""', "é 🚀", LONG_DESCRIPTION, "x " * 99]
)
def test_docstrings_read_back_as_the_text_within_the_projects_line_length(text):
    """Wrapped at spaces where a line would pass the project's ruff line length."""
    docstring = rules.python_docstring(text)
    module = ast.parse(docstring)
    assert ast.get_docstring(module, clean=False).replace("\n", " ") == text.strip()
    assert max(map(len, docstring.splitlines())) <= rules.PROJECT_LINE_LENGTH


def test_a_project_with_a_120_character_description_passes_its_own_lint(tmp_path):
    """The description becomes the package's docstring: wrapped, `ruff check` stays green."""
    assert len(LONG_DESCRIPTION) == 120
    project = render(tmp_path / "project", **VALID, description=LONG_DESCRIPTION)
    for check in (["check"], ["format", "--check", "--diff"]):
        lint = subprocess.run(
            [BIN / "ruff", *check, "."], cwd=project, capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.tools
@pytest.mark.parametrize(
    "names",
    [{"project_name": "3D Segmenter"}, {"project_name": "Vision", "package_name": "imgcls"}],
    ids=["3D Segmenter", "imgcls"],
)
def test_a_project_builds_whatever_its_names(tmp_path, names):
    project = render(tmp_path / "project", **{**VALID, **names}, python_version="3.11")
    sh("uv build", project)
    [wheel] = (project / "dist").glob("*.whl")
    package = yaml.safe_load((project / ".copier-answers.yml").read_text())["package_name"]
    listing = subprocess.run(
        [BIN / "python", "-m", "zipfile", "-l", wheel], capture_output=True, text=True
    ).stdout
    assert f"{package}/__init__.py" in listing and f"{package}/train.py" in listing


HOSTILE = {
    "project_name": 'Ünï "Seg" \\ 3D',
    "description": 'Say "hi" \\ to <all> """',
    "author_name": 'DOMAIN\\user "J", Jr.',
    "author_email": "o'neil+tag@example.co.uk",
}


@pytest.mark.tools
@pytest.mark.parametrize("manager", ["uv", "pip"])
def test_a_project_with_hostile_answers_installs_and_keeps_them(tmp_path, stand_in_index, manager):
    project = render(
        tmp_path / "project",
        **{**VALID, **HOSTILE},
        package_manager=manager,
        python_version="3.11",
        pytorch_index_url=stand_in_index.url,
    )
    python = install_as_readme_says(project, manager)
    package = yaml.safe_load((project / ".copier-answers.yml").read_text())["package_name"]
    distribution = tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]
    code = (
        "import importlib.metadata as m, json, sys\n"
        f"import {package} as p\n"
        f"meta = m.metadata({distribution!r})\n"
        "print(json.dumps([p.__doc__, meta['Summary'], meta['Author-email']]))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    doc, summary, author = yaml.safe_load(out)
    assert doc == summary == HOSTILE["description"]
    assert "o'neil+tag@example.co.uk" in author and "DOMAIN" in author
    if manager == "uv":  # the lock check of the project's CI
        sh("uv lock --check", project)
    # The README's hook setup works as written (pre-commit comes with the dev group).
    venv = f"{python.parent}{os.pathsep}{os.environ['PATH']}"
    for line in readme_commands(project, "Test and lint")[1]:
        sh(line, project, PATH=venv)
    assert (project / ".git" / "hooks" / "pre-commit").exists()

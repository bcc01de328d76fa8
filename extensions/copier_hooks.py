"""The Jinja extension and the context hook that Copier loads from copier.yml (part of the
render-time model: it imports no maintainers' tool), and the questions' defaults that read the
user's git identity.

`TorchMatrixExtension` registers the rules of the answers (`extensions/choices.py`), the
commands (`extensions/commands.py`), the drivers and `auto` (`extensions/drivers.py`) in
Jinja; `BuildContext` adds the `Build` (`extensions/build.py`) of valid answers to the
templates' context. Copier loads this file by path: it makes the other `extensions.*` modules
importable from this copy of the template before importing them.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PureWindowsPath
from typing import Any

import yaml
from copier.errors import UserMessageError
from copier_template_extensions import ContextHook
from jinja2 import Environment
from jinja2.ext import Extension


def _import_siblings_from_this_template() -> None:
    """Copier loads this file by path, and an update loads two versions of the template in
    one process: import `extensions.*` from this copy of the template, not another one."""
    root = str(Path(__file__).resolve().parent.parent)
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
        if name.split(".")[0] == "extensions" and not str(where).startswith(root):
            del sys.modules[name]
    if root not in sys.path[:1]:
        sys.path.insert(0, root)


_import_siblings_from_this_template()

from extensions import answers as answer_rules  # noqa: E402
from extensions import configs, project_tools  # noqa: E402
from extensions.build import build, buildable  # noqa: E402
from extensions.choices import (  # noqa: E402
    available_libraries,
    default_extra_backends,
    default_python,
    extra_backend_choices,
    extra_backends_error,
    library_choices,
    other_backend,
    python_version_choices,
    torch_version_choices,
)
from extensions.commands import commands, container_steps, template_update  # noqa: E402
from extensions.drivers import (  # noqa: E402
    gpu_fixes,
    machine_offer,
    minimum_driver,
    minimum_drivers,
    resolve_auto,
    torch_backend_choices,
)
from extensions.index_model import (  # noqa: E402
    CONFLICT_MARKER,
    MANAGERS,
    MODEL,
    VARIANT_PREFIXES,
)
from extensions.index_urls import index_url_error  # noqa: E402

QUESTIONS_PATH = Path(__file__).resolve().parent.parent / "copier.yml"


def git_config(key: str) -> str:
    """A value from the user's git configuration, "" when git or the key is absent."""
    try:
        result = subprocess.run(
            ["git", "config", "--get", key], capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return result.stdout.strip()


def git_author(key: str) -> str:
    """The user's git `user.name` or `user.email` when the author questions accept it, else
    "" (absent, or refused, e.g. `jane@localhost`: as a default it would stop a copy with
    `--defaults` over a value the user never typed)."""
    value = git_config(key)
    check = {"user.name": answer_rules.text_error, "user.email": answer_rules.email_error}[key]
    return value if value and not check(value) else ""


def jinja_globals() -> dict[str, object]:
    """What copier.yml and the templates call by name: the model (as `matrix`), the answer
    rules and choices above, the commands, and the answers' validators."""
    return dict(
        matrix=MODEL,
        managers=MANAGERS,
        conflict_marker=CONFLICT_MARKER,
        variant_prefixes=VARIANT_PREFIXES,
        torch_version_choices=torch_version_choices,
        torch_backend_choices=torch_backend_choices,
        python_version_choices=python_version_choices,
        default_python=default_python,
        library_choices=library_choices,
        extra_backend_choices=extra_backend_choices,
        other_backend=other_backend,
        default_extra_backends=default_extra_backends,
        extra_backends_error=extra_backends_error,
        available_libraries=available_libraries,
        git_author=git_author,
        commands=commands,
        container_steps=container_steps,
        template_update=template_update,
        minimum_driver=minimum_driver,
        minimum_drivers=minimum_drivers,
        machine_offer=machine_offer,
        gpu_fixes=gpu_fixes,
        credential_commands=configs.credential_commands,
        **project_tools.jinja_globals(MODEL),
        **(answer_rules.VALIDATORS | {"index_url_error": index_url_error}),
    )


class TorchMatrixExtension(Extension):
    """Registers `jinja_globals` and the escaping filters for copier.yml and the templates."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        answer_rules.print_refusals_without_traceback()
        environment.globals.update(jinja_globals())
        environment.filters.update(
            to_yaml=_to_yaml,
            toml_inline=configs.toml_inline,
            toml_items=configs.toml_items,
            toml_arrays=configs.toml_arrays,
            shell_quote=shlex.quote,
            **answer_rules.FILTERS,
        )


@cache
def questions(path: Path = QUESTIONS_PATH) -> dict[str, dict[str, Any]]:
    """The questions of copier.yml: name -> its settings (`type`, `multiselect`, ...)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: spec for name, spec in data.items() if not name.startswith("_")}


def given_answers_error(context: Mapping[str, Any]) -> str:
    """Why an answer given as data (`-d`, `--data-file`) or as a settings default is of a
    type its question cannot take, or "" (checked before any question uses it)."""
    conf = context.get("_copier_conf")
    if conf is None:
        return ""
    given = {**(conf["user_defaults"] or {}), **(conf["data"] or {})}
    for name, value in given.items():
        if name in questions() and (
            error := answer_rules.answer_type_error(name, value, questions()[name])
        ):
            return error
    return ""


# A template source Copier finds again from inside the project: a URL (`https://...`,
# `git+ssh://...`, `git@host:org/repo`, the `gh:` and `gl:` shortcuts) or an absolute path.
URL_SOURCE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[\w.-]+@[\w.-]+:|gh:|gl:)")


class RelativeSourceError(UserMessageError):
    """A copy from a relative path: Copier prints the message and exits 1, writing nothing."""


def relative_source_error(source: str, destination: str, cwd: Path | None = None) -> str:
    """The refusal of a copy from a relative path (`copier copy . ../my-project`), or "" for a
    URL or an absolute path. Copier records the source as given (`_src_path` in the answers
    file) and `copier update`, run inside the project, looks for the template there: `.` is
    then the project itself, whose history lacks the recorded commit (`Unknown revision`).
    The fix is the same command from the absolute path, resolved from `cwd` (where Copier
    runs); `destination` as given."""
    if not source or URL_SOURCE.match(source):
        return ""
    if Path(source).expanduser().is_absolute() or PureWindowsPath(source).is_absolute():
        return ""
    absolute = ((cwd or Path.cwd()) / source).resolve()
    command = f"copier copy --trust {shlex.quote(str(absolute))} {shlex.quote(destination)}"
    return (
        f"Copy from the template's absolute path: `{command}` (with your other options). "
        f"Copier records the source as given ({source!r}), and `copier update` in the project "
        "would look for the template there, relative to the project."
    )


def copy_source_error(context: Mapping[str, Any]) -> str:
    """`relative_source_error` of the source Copier was given, or "" where there is none or
    where Copier runs inside a project that records its answers (an update or a recopy: the
    source is the one the project recorded, and the copy that recorded it was checked)."""
    conf = context.get("_copier_conf")
    source = (context.get("_copier_answers") or {}).get("_src_path")
    if conf is None or not source or Path(str(conf["answers_file"])).is_file():
        return ""
    return relative_source_error(str(source), str(conf["dst_path"]))


class BuildContext(ContextHook):
    """Refuses a copy from a relative path (`copy_source_error`) and answers given with the
    wrong type (a data file's `torch_libraries: null`) with the template's message, before any
    question uses them; resolves `torch_backend: auto` (`resolve_auto`); adds `build` (a
    `Build`) to the templates' context once the answers make one (see `buildable`): an error
    in `build` itself surfaces with its cause."""

    def hook(self, context: dict[str, Any]) -> None:
        if error := copy_source_error(context):
            raise RelativeSourceError(error)
        if error := given_answers_error(context):
            raise answer_rules.AnswerTypeError(error)
        resolve_auto(context)
        if "build" not in context and buildable(context):
            context["build"] = build(context)


def _to_yaml(value: object) -> str:
    """`value` as one line of YAML flow style (what Copier's templated choices parse)."""
    text: str = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6)
    return text.strip()

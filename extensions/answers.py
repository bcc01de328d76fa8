"""Free-text and name answers: what a valid one is, and how each is written into the files.

Validators read the raw answer (what Copier passes on, before any template sees it) and return
"" or a refusal that says the fix first, briefly. Filters escape an answer for the format it
lands in (TOML, Python, Markdown), so no answer that passes can break a generated file.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import traceback
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from copier.errors import UserMessageError
from packaging.utils import canonicalize_name

from extensions.index_model import LIBRARY_NAMES

# Names a project package must not take: importing them would shadow a real module, or the
# project's own tools (tests and builds import these).
DEV_TOOLS = frozenset(
    {
        "pytest",
        "_pytest",
        "pluggy",
        "iniconfig",
        "ruff",
        "hatchling",
        "setuptools",
        "pkg_resources",
        "wheel",
        "pip",
        "uv",
        "poetry",
        "pre_commit",
        "packaging",
        "copier",
        "conftest",
    }
)
TORCH_MODULES_PATH = Path(__file__).with_name("torch_modules.yml")


def load_torch_modules(path: Path = TORCH_MODULES_PATH) -> dict[str, tuple[str, ...]]:
    """Distribution -> the top-level modules it installs, for torch and every distribution
    a torch install brings (read from the wheels by `python -m maintainers.torch_modules`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: tuple(modules) for name, modules in data["modules"].items()}


def installers(modules: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Module -> the distribution that brings it (`sympy` -> `sympy`, `functorch` -> `torch`):
    where several do (`nvidia`, `triton`), the one named like the module, else the first."""
    result: dict[str, str] = {}
    for name, provided in modules.items():
        for module in provided:
            if module not in result or canonicalize_name(module) == name:
                result[module] = name
    return result


def load_dev_tool_modules(path: Path = TORCH_MODULES_PATH) -> dict[str, tuple[str, str]]:
    """Module -> (the distribution that installs it, the dev tool of the generated project's
    dev group that brings that distribution): `yaml` -> ("pyyaml", "pre-commit"), read from
    the dev tools' wheels by `python -m maintainers.torch_modules --dev-tools` (`dev_tools`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    dev_tools = data.get("dev_tools", {})
    modules = installers({name: entry["modules"] for name, entry in dev_tools.items()})
    return {module: (name, dev_tools[name]["installed_by"]) for module, name in modules.items()}


TORCH_MODULES = load_torch_modules()  # read once per render
TORCH_INSTALLS = installers(TORCH_MODULES)
DEV_TOOL_INSTALLS = load_dev_tool_modules()
# The distributions a project installs with torch: it may not be named like one of them.
TORCH_DISTRIBUTIONS = frozenset(
    canonicalize_name(name) for name in ("torch", *LIBRARY_NAMES, *TORCH_MODULES)
)
SHADOWED_NAMES = (
    frozenset({"torch", *LIBRARY_NAMES, "test", "tests", "numpy", "src", "setup", "main"})
    | frozenset(TORCH_INSTALLS)
    | frozenset(DEV_TOOL_INSTALLS)
    | DEV_TOOLS
    | frozenset(sys.stdlib_module_names)
)
FALLBACK_PACKAGE = "my_project"
# Names become file names (`src/<package>/`, `<name>-<version>-py3-none-any.whl`,
# `__editable___<name>_<version>_finder.py`, `<name>-<version>.dist-info`): file systems allow
# 255 bytes per name, and the tools add up to ~60 characters around it, more with a long
# version; 100 leaves room for both.
MAX_NAME_LENGTH = 100


# The format characters that writing needs: the zero-width non-joiner and joiner (Persian,
# Indic scripts, emoji sequences such as 👩‍💻). The others (bidirectional overrides, zero-width
# space, ...) hide or reorder text: refused with the control characters.
JOINERS = frozenset("\u200c\u200d")


def control_characters(text: str) -> list[str]:
    """The control and format characters (newline, tab, NUL, DEL, a bidirectional override,
    ...) in `text`, but `JOINERS`, as Python escapes."""
    return [
        repr(c)[1:-1]
        for c in text
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c not in JOINERS
    ]


def single_line_error(text: str, what: str) -> str:
    """Why `text` cannot be a one-line answer, or ""."""
    # Bytes that are not UTF-8 in a command-line value reach Python as lone surrogates, which
    # no file can hold.
    if undecoded := [repr(c)[1:-1] for c in text or "" if unicodedata.category(c) == "Cs"]:
        return f"Write {what} in UTF-8: it holds bytes that are not text ({', '.join(undecoded)})."
    if found := control_characters(text or ""):
        listed = ", ".join(dict.fromkeys(found))
        if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text):
            return f"Write {what} on one line, without {listed}."
        return f"Write {what} without {listed}: invisible characters that hide or reorder text."
    return ""


def project_name_error(name: str) -> str:
    if error := single_line_error(name, "the project name"):
        return error
    if not "".join(c for c in name or "" if c not in JOINERS).strip():  # nothing visible
        return 'Give the project a name (e.g. "Image Classifier").'
    if len(name) > MAX_NAME_LENGTH or len(to_package_name(name)) > MAX_NAME_LENGTH:
        return (
            f"Shorten the project name to {MAX_NAME_LENGTH} characters or fewer (it is "
            f"{len(name)}): it names the distribution, its wheel and its folders."
        )
    distribution = canonicalize_name(to_distribution_name(name))
    if distribution in TORCH_DISTRIBUTIONS:
        return (
            f'Name the project after what it does (e.g. "{name} experiments"): its distribution '
            f"'{distribution}' would be a package the project installs, and no lockfile can "
            "hold two."
        )
    return ""


def text_error(text: str) -> str:
    """Description and author name: one line, anything else goes (the files escape it)."""
    return single_line_error(text, "it")


def to_package_name(project_name: str) -> str:
    """`My Project-2` -> `my_project_2`, `Déjà vu` -> `deja_vu` (letters beyond ASCII are
    folded to ASCII where they have a form there, dropped otherwise)."""
    ascii_name = unicodedata.normalize("NFKD", project_name or "").encode("ascii", "ignore")
    name = re.sub(r"[^a-z0-9]+", "_", ascii_name.decode().lower()).strip("_")
    return f"_{name}" if name[:1].isdigit() else name


def suggest_package_name(text: str) -> str:
    """A valid package name close to `text` (what a refusal proposes, and the default)."""
    name = to_package_name(text)[:MAX_NAME_LENGTH].rstrip("_")
    if not name.strip("_"):
        return FALLBACK_PACKAGE
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{name}_lib"
    if name in SHADOWED_NAMES or name.startswith("__"):
        return f"my_{name.strip('_')}"
    return name


def package_name_error(name: str) -> str:
    """Why `name` cannot be the import name of the project's package, or ""."""
    use = f"Use e.g. '{suggest_package_name(name)}'"
    if len(name or "") > MAX_NAME_LENGTH:
        return (
            f"{use}: a package name has {MAX_NAME_LENGTH} characters at most (it names folders "
            f"and files), this one {len(name)}."
        )
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name or ""):
        return (
            f"{use}: '{name}' is not a valid import name "
            "(lowercase letters, digits, underscores; no leading digit)."
        )
    if not name.strip("_"):
        return f"{use}: '{name}' has no letter or digit (the distribution name would be empty)."
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{use}: '{name}' is a Python keyword."
    if name.startswith("__") and name.endswith("__"):
        return f"{use}: '{name}' is a dunder name Python reserves (__main__, __init__, ...)."
    return _shadowing_error(name, use)


def _shadowing_error(name: str, use: str) -> str:
    """Why the package name `name` would shadow a module the project imports or its tools run
    with (torch's wheels, the dev tools' wheels: `torch_modules.yml`), or ""; `use` leads."""
    if name in DEV_TOOLS:
        return f"{use}: '{name}' would shadow the dev tool of the same name."
    if name in TORCH_INSTALLS and name != "torch":
        brought = TORCH_INSTALLS[name]
        wheel = "torch's own wheel" if brought == "torch" else f"{brought}, a dependency of torch,"
        return f"{use}: '{name}' would shadow the module of the same name ({wheel} installs it)."
    if name in DEV_TOOL_INSTALLS:
        distribution, tool = DEV_TOOL_INSTALLS[name]
        wheel = f"{distribution}, which the dev tool {tool} needs,"
        if distribution == tool:
            wheel = f"the dev tool {tool}"
        return f"{use}: '{name}' would shadow the module of the same name ({wheel} installs it)."
    if name in SHADOWED_NAMES:
        return f"{use}: '{name}' would shadow the module of the same name."
    return ""


def to_distribution_name(project_name: str, package_name: str = "") -> str:
    """`My Project` -> `my-project` (the name in pyproject.toml); a project name without
    ASCII letters or digits takes the package's."""
    name = to_package_name(project_name).strip("_") or (package_name or "").strip("_")
    return re.sub(r"_+", "-", name) or FALLBACK_PACKAGE.replace("_", "-")


# A PEP 621 author email, as hatchling and `packaging` write it into the metadata: an
# addr-spec of a dot-atom local part and a domain of dot-separated labels.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


def email_error(email: str) -> str:
    if EMAIL.fullmatch(email or ""):
        return ""
    return f"Give an address like jane@example.com: '{email}' is not one."


class AnswerTypeError(UserMessageError, ValueError):
    """An answer given as data (`-d`, `--data-file`, settings' defaults) of a type its question
    cannot take: Copier prints the message and exits 1, writing nothing."""


# How Copier words a refusal of an answer given as data (`-d`, `--data-file`) by a question's
# validator or choices (copier/_user_data.py): a ValueError, which its command line leaves to
# Python, so a traceback comes before the message.
COPIER_REFUSALS = ("Validation error for question ", "Invalid choice for ")


def _print_refusal(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    """`sys.excepthook` for the copier command line: a refused answer's message alone. A
    refusal raised elsewhere (a program that calls `run_copy`) keeps its traceback."""
    from_cli = any(
        frame.f_globals.get("__name__") in COPIER_CLI for frame, _ in traceback.walk_tb(trace)
    )
    if from_cli and issubclass(kind, ValueError) and str(error).startswith(COPIER_REFUSALS):
        print(error, file=sys.stderr)
        return
    sys.__excepthook__(kind, error, trace)


# The modules of Copier's command line (copier/_cli.py; copier/cli.py re-exports it).
COPIER_CLI = frozenset({"copier._cli", "copier.cli"})


def print_refusals_without_traceback() -> None:
    """Makes the copier command line print a refused answer as it prints its own errors: the
    message alone (exit status 1, nothing written). Every other exception keeps its
    traceback, as does a refusal a program calling the API leaves uncaught."""
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _print_refusal


def answer_type_error(name: str, value: object, question: Mapping[str, Any]) -> str:
    """Why `value`, given as data for the question `name` of copier.yml (`question`: its
    `type`, `multiselect`), is of the wrong type, or "". A data file's YAML gives any type
    (`null`, `2024`, a mapping); `-d NAME=VALUE` gives strings, which Copier parses for lists
    (`-d torch_libraries=[torchvision]`) and booleans (`-d dockerfile=false`)."""
    kind = "multiselect" if question.get("multiselect") else question.get("type", "str")
    if _is_of_kind(value, kind):
        return ""
    shown = yaml.safe_dump(value, default_flow_style=True, width=80).strip().removesuffix("...")
    shown = shown.strip()[:60]
    wanted = {
        "bool": "true or false",
        "int": "a whole number",
        "multiselect": f"a list of names ({name}: [] for none)",
    }.get(kind)
    if wanted:
        return f"Answer {name} with {wanted}: {shown} is not one."
    return (
        f"Answer {name} with text, in quotes where YAML would read another type "
        f'({name}: "3.12"): {shown} is not text.'
    )


BOOLEANS = frozenset(("true", "false", "yes", "no", "y", "n", "on", "off", "1", "0"))


def _is_of_kind(value: object, kind: str) -> bool:
    """Whether `value` (from YAML data or a `-d` string) answers a question of `kind`: `bool`,
    `int`, `multiselect` (a list of names) or text."""
    if kind == "bool":  # what Copier reads as a boolean from a `-d` string
        return isinstance(value, bool) or (isinstance(value, str) and value.lower() in BOOLEANS)
    if kind == "int":
        number = isinstance(value, int) and not isinstance(value, bool)
        return number or (isinstance(value, str) and value.strip().isdigit())  # `-d NAME=2026`
    if kind == "multiselect":
        items = value
        if isinstance(value, str):
            try:
                items = yaml.safe_load(value)
            except yaml.YAMLError:
                items = None
        return isinstance(items, list) and all(isinstance(item, str) for item in items)
    return isinstance(value, str)


def toml_string(text: object) -> str:
    """`text` as a TOML basic string, quotes included."""
    # JSON's escapes (\" \\ \n \t \uXXXX ...) are TOML's; TOML also wants DEL escaped.
    return json.dumps(str(text), ensure_ascii=False).replace("\x7f", "\\u007f")


# The generated project's ruff line length (template/pyproject.toml.jinja, [tool.ruff]).
PROJECT_LINE_LENGTH = 100


def python_docstring(text: object, width: int = PROJECT_LINE_LENGTH) -> str:
    """`text` as a Python docstring, triple quotes included, wrapped at its spaces so that no
    line is longer than `width` (the generated project's ruff `line-length`: a long
    description keeps `ruff check` green); its lines joined with spaces read back as `text`.
    A word longer than a line stays whole (ruff's E501 skips a line of one word)."""
    body = str(text).replace("\\", "\\\\").replace('"', '\\"').strip()
    lines: list[str] = []
    for word in (body or "The project package.").split(" "):
        # 3 for the opening quotes on the first line, the closing ones on the last.
        if lines and len(lines[-1]) + 1 + len(word) <= width - 3:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return '"""' + "\n".join(lines) + '"""'


MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|&])")
MARKDOWN_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")


def markdown_text(text: object) -> str:
    """`text` as literal Markdown text: its punctuation does not format, link, embed HTML,
    or start a list or heading."""
    escaped = MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    # `\-` escapes a bullet, `1\.` an ordered list item (a backslash before a digit does not).
    return MARKDOWN_LINE_START.sub(lambda m: f"{m[1]}{m[2][:-1]}\\{m[2][-1]}", escaped)


def folder_name(path: object) -> str:
    """The name of the folder `path` (Copier's destination) names, resolved."""
    return Path(str(path)).resolve().name


VALIDATORS = {
    "project_name_error": project_name_error,
    "package_name_error": package_name_error,
    "text_error": text_error,
    "email_error": email_error,
}
FILTERS = {
    "to_package_name": suggest_package_name,
    "to_distribution_name": to_distribution_name,
    "folder_name": folder_name,
    "toml_string": toml_string,
    "python_docstring": python_docstring,
    "markdown_text": markdown_text,
}

"""What each question offers and refuses, with the fix (part of the render-time model).

The torch, backend, Python, library and extra-backend answers: their Copier choices, the
error of an answer the matrix cannot build (the `-d` that fixes it first), and what the
valid answers pin (`with_companions`, `pins`). Plain functions of the model
(`index_model.MODEL`, from `torch_matrix.yml` and `index_facts.yml`; tests pass another with
`model=`) and of the answers, unit-tested without Copier.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from packaging.version import Version

from extensions.index_model import (
    FAMILIES,
    LIBRARY_NAMES,
    MODEL,
    RECOMMENDED,
    Library,
    Model,
    Release,
    Variant,
    family_of,
    ordered,
)

Choices = dict[str, Any]  # Copier's choices: label -> value, or {value, validator}


def torch_versions(*, model: Model = MODEL) -> list[str]:
    """Torch releases the template supports, newest first (PEP 440 order)."""
    return model.torch_versions


def resolve_torch(torch_version: str, *, model: Model = MODEL) -> str:
    """The concrete torch version of an answer: `recommended` follows the matrix."""
    return model.recommended.torch if torch_version == RECOMMENDED else torch_version


def release(torch_version: str, *, model: Model = MODEL) -> Release:
    """The release of a torch_version answer. Raises KeyError for one the matrix lacks."""
    return model.releases[resolve_torch(torch_version, model=model)]


def copier_choices(
    offered: list[str], current: str, reason: str, labels: Mapping[str, str] | None = None
) -> Choices:
    """Copier choices: the offered values, plus the current answer, disabled with `reason`,
    when it is not among them (Copier then prints the reason and writes nothing)."""
    labels = labels or {}
    choices: Choices = {labels.get(value, value): value for value in offered}
    if current and current not in offered:
        choices[f"{current} (not available)"] = {"value": current, "validator": reason}
    return choices


def torch_version_error(torch_version: str, *, model: Model = MODEL) -> str:
    """Why a torch_version answer is not in the matrix (the fix first), or ""."""
    offered = [RECOMMENDED, *model.torch_versions]
    if torch_version in offered:
        return ""
    return (
        f"Use `-d torch_version={offered[1]}`: torch {torch_version} is not in this "
        f"template's matrix ({', '.join(offered)})."
    )


def torch_version_choices(current: str = "", *, model: Model = MODEL) -> Choices:
    """Copier choices of torch_version: `recommended`, then every release, newest first."""
    offered = [RECOMMENDED, *model.torch_versions]
    labels = {RECOMMENDED: f"recommended (now {model.recommended.torch})"}
    return copier_choices(offered, current, torch_version_error(current, model=model), labels)


def resolve_backend(torch_version: str, backend: str, *, model: Model = MODEL) -> str:
    """The index variant of an answer: a family means its recommended variant for this torch
    (or the newest one it has), an explicit variant stays as it is."""
    variants = release(torch_version, model=model).variants
    if backend not in FAMILIES or backend in variants:
        return backend
    preferred = model.recommended.variants.get(backend)
    if preferred is not None and preferred in variants:
        return preferred
    in_family = release(torch_version, model=model).in_family(backend)
    return in_family[-1] if in_family else backend


def backend_choices(torch_version: str, *, model: Model = MODEL) -> list[str]:
    """Families this torch has a build for, then every explicit variant."""
    variants = release(torch_version, model=model).variants
    families = [f for f in FAMILIES if any(family_of(v) == f for v in variants)]
    return families + [v for v in variants if v not in families]


def backend_error(torch_version: str, backend: str, *, model: Model = MODEL) -> str:
    """Why a backend answer cannot be built, or "" when it can: the choices, why this torch
    does not offer it (when the matrix says) and which torch releases do."""
    offered = backend_choices(torch_version, model=model)
    if backend in offered:
        return ""
    why = (
        release(torch_version, model=model).reason_not_offered(backend)
        if Variant.is_name(backend)
        else ""
    )
    because = f", not offered: {why.split('. ')[0]}" if why else ""
    question, answer = backend_fix(torch_version, backend, model=model)
    torch = resolve_torch(torch_version, model=model)
    return (
        f"Use `-d {question}={answer}`: torch {torch} has no '{backend}' build{because} "
        f"({', '.join(offered)})."
    )


def backend_fix(torch_version: str, backend: str, *, model: Model = MODEL) -> tuple[str, str]:
    """The answer (question, value) that replaces a backend this torch has no build for: its
    family where this torch has it, else the newest torch that has the backend, else cpu."""
    offered = backend_choices(torch_version, model=model)
    family = family_of(backend) if Variant.is_name(backend) else ""
    if family in offered:  # keep torch and the family
        return "torch_backend", family
    elsewhere = [v for v in model.torch_versions if backend in backend_choices(v, model=model)]
    if elsewhere:  # keep the backend, move torch
        return "torch_version", elsewhere[0]
    return "torch_backend", "cpu"


def python_choices(torch_version: str, *, model: Model = MODEL) -> list[str]:
    """The Pythons this torch has wheels for."""
    return list(release(torch_version, model=model).python)


def default_python(torch_version: str, *, model: Model = MODEL) -> str:
    """The recommended Python when this torch supports it, else the newest it supports."""
    supported = python_choices(torch_version, model=model)
    preferred = model.recommended.python
    return preferred if preferred in supported else max(supported, key=Version)


def python_error(torch_version: str, python_version: str, *, model: Model = MODEL) -> str:
    """Why this torch cannot go with `python_version` (the fix first), or ""."""
    supported = python_choices(torch_version, model=model)
    if python_version in supported:
        return ""
    torch = resolve_torch(torch_version, model=model)
    return (
        f"Use `-d python_version={default_python(torch_version, model=model)}`: torch {torch} "
        f"supports Python {', '.join(supported)}."
    )


def python_version_choices(
    torch_version: str, current: str = "", *, model: Model = MODEL
) -> Choices:
    """Copier choices of python_version, `current` disabled with why when this torch lacks it."""
    offered = python_choices(torch_version, model=model)
    return copier_choices(offered, current, python_error(torch_version, current, model=model))


def library_error(
    library: str,
    torch_version: str,
    backend: str,
    python_version: str = "",
    *,
    model: Model = MODEL,
) -> str:
    """Why `library` cannot be offered next to this torch, backend (and Python), or ""."""
    the_release = release(torch_version, model=model)
    facts = the_release.libraries.get(library)
    if not facts:
        return f"no {library} build pairs with torch {the_release.torch}"
    variant = resolve_backend(torch_version, backend, model=model)
    if facts.lacks(variant):
        return _library_lacks_variant(the_release, facts, variant)
    if python_version and facts.python and python_version not in facts.python:
        return (
            f"Leave {library} out: {library} {facts.version} has no wheel for Python "
            f"{python_version} (it has {', '.join(facts.python)})"
        )
    return ""


def _library_lacks_variant(the_release: Release, library: Library, variant: str) -> str:
    """The refusal of a library without a build for `variant`: the newest variant of its
    family that has one, else leave the library out."""
    with_it = [v for v in the_release.in_family(family_of(variant)) if not library.lacks(v)]
    fix = f"Use `-d torch_backend={with_it[-1]}` or l" if with_it else "L"
    return (
        f"{fix}eave {library.name} out: {library.name} {library.version} has no {variant} build "
        f"for torch {the_release.torch}"
    )


def answer_errors(answers: Mapping[str, Any], *, model: Model = MODEL) -> list[str]:
    """What is wrong with a project's recorded answers under this matrix (used on updates,
    where Copier would otherwise replace an answer that is no longer valid by its default)."""
    torch_version = answers.get("torch_version", RECOMMENDED)
    if error := torch_version_error(torch_version, model=model):
        return [error]
    backend = answers.get("torch_backend", "cpu")
    python = answers.get("python_version", "")
    libraries = answers.get("torch_libraries") or []
    errors = [
        backend_error(torch_version, backend, model=model),
        python_error(torch_version, python, model=model),
    ]
    if not errors[0]:
        errors += [
            library_error(library, torch_version, backend, python, model=model)
            for library in libraries
        ]
        extras = answers.get("extra_backends") or []
        errors.append(extra_backends_error(torch_version, backend, extras, libraries, model=model))
    return [error for error in errors if error]


def other_backend(torch_version: str, variant: str, *, model: Model = MODEL) -> str:
    """An explicit variant this torch has besides `variant` (the newest CUDA one first), for
    the README's example of moving a project to another backend."""
    others = [
        v for v in backend_choices(torch_version, model=model) if v not in FAMILIES and v != variant
    ]
    cuda = [v for v in others if family_of(v) == "cuda"]
    return ordered(cuda or others or ["cpu"])[-1]


def extra_backend_choices(
    torch_version: str, torch_backend: str, *, model: Model = MODEL
) -> Choices:
    """Multiselect choices of `extra_backends`: every backend this torch has; the one
    `torch_backend` already installs is listed disabled, with why."""
    primary = resolve_backend(torch_version, torch_backend, model=model)
    return {
        answer: {
            "value": answer,
            "validator": (
                f"'{answer}' is the torch_backend already ({primary}): leave it out"
                if resolve_backend(torch_version, answer, model=model) == primary
                else ""
            ),
        }
        for answer in backend_choices(torch_version, model=model)
    }


def default_extra_backends(torch_backend: str) -> list[str]:
    """A GPU project also installs the CPU build (laptops, CI); a CPU project nothing more."""
    return [] if torch_backend == "cpu" else ["cpu"]


def extra_backends_error(
    torch_version: str,
    torch_backend: str,
    extra_backends: Iterable[str],
    libraries: Iterable[str] = (),
    *,
    model: Model = MODEL,
) -> str:
    """Why these further backends cannot go beside `torch_backend` in one project, or ""."""
    primary = resolve_backend(torch_version, torch_backend, model=model)
    families: dict[str, str] = {}
    for answer in extra_backends:
        if error := _extra_backend_error(torch_version, answer, extra_backends, primary, model):
            return error
        variant = resolve_backend(torch_version, answer, model=model)
        if variant == primary:
            return (
                f"'{answer}' is the torch_backend already ({primary}): leave it out of "
                "extra_backends"
            )
        family = family_of(variant)
        if family in families:
            return (
                f"choose one {family} backend among extra_backends, not both "
                f"'{families[family]}' and '{answer}' (each gets requirements-<name>.txt)"
            )
        families[family] = answer
        if error := _extra_lacks_library(torch_version, answer, libraries, model):
            return error
    return ""


def _extra_backend_error(
    torch_version: str,
    answer: str,
    extra_backends: Iterable[str],
    primary: str,
    model: Model,
) -> str:
    """`backend_error` for `answer`, one of `extra_backends`: where the fix is another
    backend, the `-d` it names is the list answer with that backend for `answer` (left out
    where it is the torch_backend, variant `primary`, already), as `copier` takes it."""
    error = backend_error(torch_version, answer, model=model)
    question, fix = backend_fix(torch_version, answer, model=model)
    if not error or question != "torch_backend":
        return error
    fixed = [fix if a == answer else a for a in extra_backends]
    if resolve_backend(torch_version, fix, model=model) == primary:
        fixed.remove(fix)
    flag = shlex.quote(f"extra_backends=[{', '.join(dict.fromkeys(fixed))}]")
    return error.replace(f"-d torch_backend={fix}", f"-d {flag}")


def _extra_lacks_library(
    torch_version: str, answer: str, libraries: Iterable[str], model: Model
) -> str:
    """Why a chosen library rules out the extra backend `answer`, or ""."""
    for library in libraries:
        if library_error(library, torch_version, answer, model=model):
            variant = resolve_backend(torch_version, answer, model=model)
            version = release(torch_version, model=model).libraries[library].version
            return (
                f"Leave '{answer}' out of extra_backends, or {library} out of "
                f"torch_libraries: {library} {version} has no {variant} build"
            )
    return ""


def available_libraries(
    torch_version: str, backend: str, python_version: str = "", *, model: Model = MODEL
) -> list[str]:
    """The libraries with a build for this torch, backend and Python, in the offered order."""
    return [
        lib
        for lib in LIBRARY_NAMES
        if not library_error(lib, torch_version, backend, python_version, model=model)
    ]


def library_choices(
    torch_version: str, backend: str, python_version: str = "", *, model: Model = MODEL
) -> Choices:
    """Multiselect choices; a library without a compatible build is listed disabled, with why."""
    helps = {c.companion: c.help for c in model.companions}
    choices: Choices = {}
    for library in LIBRARY_NAMES:
        reason = library_error(library, torch_version, backend, python_version, model=model)
        label = f"{library} ({helps[library]})" if library in helps else library
        choices[label] = {"value": library, "validator": reason}
    return choices


def with_companions(
    torch_version: str,
    backend: str,
    libraries: Iterable[str] | None,
    python_version: str = "",
    extra_backends: Iterable[str] = (),
    *,
    model: Model = MODEL,
) -> list[str]:
    """The chosen libraries, plus what a chosen one needs (the matrix's `companions`:
    torchcodec beside torchaudio >= 2.9) when it has a build for this torch and Python on
    every backend of the project; in the offered order."""
    chosen = set(libraries or [])
    paired = release(torch_version, model=model).libraries
    backends = [backend, *extra_backends]
    for c in model.companions:
        needs = c.library in chosen and Version(paired[c.library].version) >= c.since
        if needs and not any(
            library_error(c.companion, torch_version, b, python_version, model=model)
            for b in backends
        ):
            chosen.add(c.companion)
    return [library for library in LIBRARY_NAMES if library in chosen]


def pins(torch_version: str, libraries: Iterable[str], *, model: Model = MODEL) -> dict[str, str]:
    """Exact versions of torch and the chosen libraries, from the matrix's pairing."""
    the_release = release(torch_version, model=model)
    chosen = set(libraries)
    result = {"torch": the_release.torch}
    result.update(
        {lib: the_release.libraries[lib].version for lib in LIBRARY_NAMES if lib in chosen}
    )
    return result

"""The `Build` of a project's valid answers: what they mean for the generated files (pins,
backends, dependencies, indexes, pip files, the launch line), and whether the answers make
one yet (`buildable`) (part of the render-time model)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from extensions import configs
from extensions.choices import (
    answer_errors,
    pins,
    release,
    resolve_backend,
    with_companions,
)
from extensions.index_model import (
    MANAGERS,
    MODEL,
    Library,
    Model,
    Plan,
    family_of,
    index_url,
    plan,
)
from extensions.launch import Launch, launch


def requires_python(python_version: str, libraries: Iterable[Library]) -> str:
    """`requires-python` of a project on `python_version` ("3.14") with torch and these
    libraries: `==3.14.*`, less the patch releases a library's Requires-Python excludes
    (torchvision 0.26-0.29: `!=3.14.1`). Poetry's solver crashes on a project range wider
    than its dependencies' (an `AssertionError` in its `version_solver.py` with `==3.14.*` and
    torchvision's `!=3.14.1`, reproduced with poetry 2.2; uv and pip accept it)."""
    specifiers = [f"=={python_version}.*"]
    for library in libraries:
        for spec in library.requires_python:
            if spec.operator == "!=" and spec.version.startswith(f"{python_version}."):
                specifiers.append(str(spec))
    return ",".join(specifiers)


@dataclass(frozen=True)
class PipFile:
    """One pip requirements file of a project: its name, the backend's variant, its lines."""

    name: str
    variant: str
    lines: list[str]


@dataclass(frozen=True)
class Build:
    """What the answers mean for the generated files (see `extensions/configs.py`). The first
    backend is `torch_backend`'s; a project with `extra_backends` has one extra per backend."""

    torch: str
    variant: str
    family: str
    pins: dict[str, str]  # torch and the chosen libraries -> version
    backends: list[configs.Backend]  # torch_backend's first
    requires_python: str
    dependencies: dict[str, list[str]]  # extra ("" = [project] dependencies) -> requirements
    indexes: dict[str, str]  # name -> URL of each PyTorch index the project uses
    index_name: str  # the name of the variant's index
    index_url: str
    uv_sources: dict[str, list[dict[str, str]]]
    uv_conflicts: list[list[dict[str, str]]]
    poetry_dependencies: dict[str, list[dict[str, str]]]
    pip_files: dict[str, PipFile]  # "main" (the first backend) or an extra's family -> file
    expected_builds: dict[tuple[str, str], tuple[str, ...]]  # (sys.platform, machine) -> builds
    constraints: tuple[str, ...]
    accelerator_api: bool
    tools: dict[str, str]
    launch: Launch  # how the README starts training on the first backend's devices

    @property
    def plan(self) -> Plan:
        """The first backend's plan."""
        return self.backends[0].plan

    @property
    def extras(self) -> bool:
        return bool(self.backends[0].extra)

    @property
    def ci_backend(self) -> configs.Backend:
        """The backend CI installs: the one of the CPU build (no GPU wheels on a runner),
        else, in a project without one, the first."""
        return next((b for b in self.backends if b.variant == "cpu"), self.backends[0])


def build(answers: Mapping[str, Any], *, model: Model = MODEL) -> Build:
    """The `Build` of a project's answers (`BUILD_ANSWERS`, `torch_libraries`,
    `extra_backends`). Raises KeyError for an answer absent or not in the matrix."""
    the_release = release(answers["torch_version"], model=model)
    chosen = pins(answers["torch_version"], chosen_libraries(answers, model=model), model=model)
    backends = _backends(answers, chosen, model)
    base = answers["pytorch_index_url"]  # a base URL or a template (index_model.index_url)
    first = backends[0]
    libraries = [the_release.libraries[name] for name in chosen if name != "torch"]
    return Build(
        torch=the_release.torch,
        variant=first.variant,
        family=family_of(first.variant),
        pins=chosen,
        backends=backends,
        requires_python=requires_python(answers["python_version"], libraries),
        dependencies=configs.dependencies(backends, chosen),
        indexes=configs.indexes(backends, base),
        index_name=configs.index_name(first.variant),
        index_url=index_url(base, first.variant),
        uv_sources=configs.uv_sources(backends),
        uv_conflicts=configs.uv_conflicts(backends),
        poetry_dependencies=configs.poetry_dependencies(backends),
        pip_files=_pip_files(backends, chosen, base),
        expected_builds=configs.expected_builds(backends),
        constraints=the_release.constraints,
        accelerator_api=the_release.accelerator_api,
        tools=model.tools,
        launch=launch(family_of(first.variant), the_release),
    )


def chosen_libraries(answers: Mapping[str, Any], *, model: Model = MODEL) -> list[str]:
    """The libraries a project pins: its torch_libraries with their companions (see
    `with_companions`)."""
    return with_companions(
        answers["torch_version"],
        answers["torch_backend"],
        answers.get("torch_libraries"),
        answers.get("python_version", ""),
        answers.get("extra_backends") or [],
        model=model,
    )


def _backends(
    answers: Mapping[str, Any], pins: dict[str, str], model: Model
) -> list[configs.Backend]:
    """The project's backends: torch_backend's, then each of extra_backends, each with its
    plan for the manager, and its extra when the project has several."""
    torch_version = answers["torch_version"]
    the_release = release(torch_version, model=model)
    extra_answers = list(answers.get("extra_backends") or [])
    backends: list[configs.Backend] = []
    for answer in [answers["torch_backend"], *extra_answers]:
        variant = resolve_backend(torch_version, answer, model=model)
        the_plan = plan(the_release, variant, pins, model.platforms, answers["package_manager"])
        taken = [b.extra for b in backends]
        extra = configs.extra_name(variant, taken) if extra_answers else ""
        requirements = f"requirements-{extra}.txt" if backends else "requirements.txt"
        backends.append(configs.Backend(answer, the_plan, extra, requirements))
    return backends


def _pip_files(
    backends: list[configs.Backend], pins: dict[str, str], base: str
) -> dict[str, PipFile]:
    """pip's requirements files: "main" for the first backend, the family for the others."""
    return {
        ("main" if i == 0 else family_of(b.variant)): PipFile(
            b.requirements_file, b.variant, configs.pip_requirements(b.plan, pins, base)
        )
        for i, b in enumerate(backends)
    }


BUILD_ANSWERS = (
    "package_manager",
    "torch_version",
    "torch_backend",
    "python_version",
    "pytorch_index_url",
)


def buildable(context: Mapping[str, Any]) -> bool:
    """Whether the answers in `context` make a `Build`: every one of `BUILD_ANSWERS` given,
    the list answers lists, and no error under the matrix. While Copier still asks the
    questions an answer may be missing or wrong: then there is no `build` yet."""
    if not all(isinstance(context.get(key), str) for key in BUILD_ANSWERS):
        return False
    lists = [context.get(key) or [] for key in ("torch_libraries", "extra_backends")]
    if not all(isinstance(value, list) for value in lists):
        return False
    return context["package_manager"] in MANAGERS and not answer_errors(context)

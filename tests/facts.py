"""Today's facts as the tests read them: from the model (extensions/torch_matrix.yml and
index_facts.yml), never written as literals, so that moving the recommendation to a new torch
or variant changes no test (tests/test_facts_once.py scans for such literals).

A test about today's recommendation reads it here; a test that needs "a release with (or
without) some property" picks the newest one that has it, as a maintainer's next release may
add or drop it. A test may still name an older release where the fact it checks is that
release's own (its variants and pins do not change)."""

from __future__ import annotations

from collections.abc import Callable

from extensions.index_model import MODEL, Release, family_of

RECOMMENDED_TORCH = MODEL.recommended.torch
RECOMMENDED_CUDA = MODEL.recommended.variants["cuda"]
RECOMMENDED_ROCM = MODEL.recommended.variants["rocm"]


def newest_release(where: Callable[[Release], bool]) -> str:
    """The newest torch release of the matrix for which `where` holds. Raises LookupError
    when none does (the test's premise no longer holds: say which)."""
    for torch, release in MODEL.releases.items():
        if where(release):
            return torch
    raise LookupError("no release of the matrix has the property this test needs")


def has_family(family: str) -> Callable[[Release], bool]:
    """`where` for `newest_release`: the release has a build of `family` (`rocm`, `xpu`)."""
    return lambda release: any(family_of(v) == family for v in release.variants)


def lacks_family(family: str) -> Callable[[Release], bool]:
    """`where` for `newest_release`: the release has no build of `family`."""
    return lambda release: not has_family(family)(release)


def has_variant(variant: str) -> Callable[[Release], bool]:
    """`where` for `newest_release`: the release has a build of `variant` (`cu126`)."""
    return lambda release: variant in release.variants

"""`examples/` is what the template generates now: a fresh render of each example equals it,
byte for byte, so a review sees every change's effect on generated projects."""

import pytest

from tests.examples import (
    ANSWERS,
    COMMAND,
    EXAMPLES,
    committable_files_of,
    files_of,
    render_example,
)


@pytest.mark.parametrize("name", list(ANSWERS))
def test_the_example_equals_a_fresh_render(tmp_path, name):
    fresh = files_of(render_example(name, tmp_path / name))
    recorded = committable_files_of(EXAMPLES / name)
    differing = sorted(
        path for path in fresh.keys() | recorded.keys() if fresh.get(path) != recorded.get(path)
    )
    assert not differing, (
        f"examples/{name} is not what the template renders now ({', '.join(differing)}): "
        f"run `{COMMAND}` and commit the result"
    )

"""Rewriting the template's YAML files with ruamel.yaml's round trip: comments, key order,
quotes and every block the tool does not own are kept, whatever their wording.

Maintainers' tooling (`maintainers/`): never loaded by a render.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

WIDTH = 100  # where long plain scalars fold


def _yaml(width: int) -> YAML:
    document = YAML()
    document.width = width
    document.preserve_quotes = True
    document.indent(mapping=2, sequence=4, offset=2)
    return document


def updated(text: str, updates: Mapping[str, object], width: int = WIDTH) -> str:
    """`text` (a YAML mapping) with each top-level key of `updates` made equal to its value: a
    changed value replaced, a new key inserted where `updates` orders it, a key it lacks
    removed, an equal value left as written (with its comments). Other top-level keys stay as
    they are. Lists are written inline, mappings as blocks; lines fold at `width` (a file with
    long inline mappings and end-of-line comments wants a large one). Raises ValueError if the
    text is not a YAML mapping."""
    document = _yaml(width)
    data = document.load(text)
    if not isinstance(data, CommentedMap):
        raise ValueError("not a YAML mapping")
    for key, value in updates.items():
        _merge(data, key, value)
    out = io.StringIO()
    document.dump(data, out)
    return _without_trailing_spaces(out.getvalue())


def _merge(target: CommentedMap, key, value) -> None:
    if key in target and target[key] == value:
        return
    if key in target and isinstance(target[key], CommentedMap) and isinstance(value, Mapping):
        for name, item in value.items():
            _merge(target[key], name, item)
        for gone in [k for k in target[key] if k not in value]:
            del target[key][gone]
        _reorder(target[key], list(value))
        return
    if key in target:
        target[key] = _node(value)
    else:
        target.insert(len(target), key, _node(value))


def _reorder(target: CommentedMap, order: list) -> None:
    """Move keys that `order` places elsewhere (a new row, a new fact) to their place; keys
    already in order keep their position and comments."""
    wanted = [k for k in order if k in target] + [k for k in target if k not in order]
    if list(target) == wanted:
        return
    for position, key in enumerate(wanted):
        if list(target)[position] != key:
            value = target.pop(key)
            target.insert(position, key, value)


def _node(value):
    if isinstance(value, Mapping):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = _node(item)
        return node
    if isinstance(value, list | tuple):
        node = CommentedSeq(_node(item) for item in value)
        node.fa.set_flow_style()
        return node
    return value


def _without_trailing_spaces(text: str) -> str:
    """ruamel.yaml leaves a space where it folds a long plain scalar; YAML's line folding ignores
    it, so it goes (unless the data would change)."""
    stripped = "\n".join(line.rstrip() for line in text.split("\n"))
    return stripped if yaml.safe_load(stripped) == yaml.safe_load(text) else text

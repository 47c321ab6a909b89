"""The part of kubectl's JSONPath that state checks use: ``{.a.b}``, ``{.a[0].b}``,
``{.a[*].b}``, ``{.a['x.y/z']}``, escaped dots (``{.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}``)
and filters ``{.a[?(@.name=="x")].b}``. A path yields every value it reaches (none when a
step is missing), as kubectl does.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import TaskError

_FILTER = re.compile(r"""\?\(@\.([\w.-]+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([\w.-]+))\)""")


def _steps(path: str) -> list[str]:
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if text.startswith("$"):
        text = text[1:]
    steps: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == ".":
            i += 1
            name = []
            while i < len(text) and text[i] not in ".[":
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                name.append(text[i])
                i += 1
            if name:
                steps.append("." + "".join(name))
        elif char == "[":
            end = text.find("]", i)
            if end < 0:
                raise TaskError(f"jsonpath {path!r}: an unclosed [")
            inner = text[i + 1:end]
            if inner.startswith("?(") and not inner.endswith(")"):  # a filter holding ]
                end = text.find(")]", i) + 1
                inner = text[i + 1:end]
            steps.append("[" + inner + "]")
            i = end + 1
        else:
            raise TaskError(f"jsonpath {path!r}: unexpected {char!r} at {i}")
    return steps


def find(document: Any, path: str) -> list[Any]:
    """Every value ``path`` reaches in ``document``."""
    current = [document]
    for step in _steps(path):
        found: list[Any] = []
        for value in current:
            found += _step(value, step, path)
        current = found
    return current


def _step(value: Any, step: str, path: str) -> list[Any]:
    if step.startswith("."):
        key = step[1:]
        return [value[key]] if isinstance(value, dict) and key in value else []
    inner = step[1:-1].strip()
    if inner.startswith(("'", '"')):
        key = inner[1:-1]
        return [value[key]] if isinstance(value, dict) and key in value else []
    if inner == "*":
        if isinstance(value, list):
            return list(value)
        return list(value.values()) if isinstance(value, dict) else []
    if inner.startswith("?("):
        matched = _FILTER.fullmatch(inner)
        if not matched or not isinstance(value, list):
            if not matched:
                raise TaskError(f"jsonpath {path!r}: filters are ?(@.field==\"value\")")
            return []
        field, op, *literals = matched.groups()
        wanted = next(v for v in literals if v is not None)
        out = []
        for item in value:
            got = find(item, "." + field.replace(".", "."))
            hit = bool(got) and str(got[0]) == wanted
            if hit == (op == "=="):
                out.append(item)
        return out
    try:
        index = int(inner)
    except ValueError:
        raise TaskError(f"jsonpath {path!r}: [{inner}] is not an index, a 'key', * or a filter") from None
    if isinstance(value, list) and -len(value) <= index < len(value):
        return [value[index]]
    return []


def render(values: list[Any]) -> str:
    """The values as kubectl prints them: space-separated; objects as JSON."""
    import json

    return " ".join(v if isinstance(v, str) else json.dumps(v) if isinstance(v, dict | list) else
                    str(v).lower() if isinstance(v, bool) else str(v) for v in values)

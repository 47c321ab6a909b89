"""Argument matchers of ``expect.calls`` and ``expect.forbidden``.

A plain value matches exactly (numbers by value, so ``3`` matches ``3.0`` and the string ``"3"``,
but not ``"+3"``, which is relative; other strings exactly);
``{regex: R}`` searches the value as a string; ``{min: A, max: B}`` is a numeric range
(either end may be left out); ``{in: [...]}`` is one of several plain values; ``{any: true}``
matches anything, even a missing argument; ``{equals: V}`` is an exact value that is itself
an object. A missing argument matches only ``any``, ``null`` and an ``in`` list holding null.
"""

from __future__ import annotations

import re
from typing import Any

MISSING = object()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _plain_number(value: Any) -> float | None:
    """A number, or a string that writes one without a sign (``"3"``; ``"+3"`` is relative)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        return float(value)
    return None


def _exact(expected: Any, actual: Any) -> bool:
    if actual is MISSING:
        return expected is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float):
        number = _plain_number(actual)
        return number is not None and number == float(expected)
    return bool(expected == actual)


def matches(matcher: Any, actual: Any) -> bool:
    """Whether ``actual`` (``MISSING`` when the call lacks the argument) fits ``matcher``."""
    if not isinstance(matcher, dict):
        return _exact(matcher, actual)
    if "any" in matcher:
        return True
    if "equals" in matcher:
        return _exact(matcher["equals"], actual)
    if "in" in matcher:
        return any(_exact(choice, actual) for choice in matcher["in"])
    if actual is MISSING or actual is None:
        return False
    if "regex" in matcher:
        text = actual if isinstance(actual, str) else str(actual)
        return re.search(str(matcher["regex"]), text) is not None
    number = _number(actual)
    if number is None:
        return False
    low, high = matcher.get("min"), matcher.get("max")
    return (low is None or number >= float(low)) and (high is None or number <= float(high))


def args_matched(spec: dict[str, Any], arguments: dict[str, Any]) -> int:
    """How many of ``spec``'s matchers ``arguments`` satisfy."""
    return sum(1 for key, matcher in spec.items() if matches(matcher, arguments.get(key, MISSING)))


def describe(matcher: Any) -> str:
    """``=3``, ``~^backend$``, ``∈[1,5]``: how a matcher reads in a report."""
    if not isinstance(matcher, dict):
        return f"={matcher!r}"
    if "any" in matcher:
        return "=*"
    if "equals" in matcher:
        return f"={matcher['equals']!r}"
    if "in" in matcher:
        return " in " + "|".join(repr(v) for v in matcher["in"])
    if "regex" in matcher:
        return f"~/{matcher['regex']}/"
    low, high = matcher.get("min"), matcher.get("max")
    return f" in [{'' if low is None else low}, {'' if high is None else high}]"

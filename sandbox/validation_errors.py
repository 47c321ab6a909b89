"""Field errors of the semantic validation rules, worded as ``k8s.io/apimachinery`` words them.

:class:`FieldError` is one ``field.Error``; the constructors (:func:`required`,
:func:`invalid`, :func:`not_supported`, ...) build the same bodies as
``field.Required``, ``field.Invalid`` and friends, printing values the way Go's
``%q``/``%v``/``%#v`` do.  The checks shared by many kinds (immutable fields,
non-negative counts, unique names) live here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

Obj = dict[str, Any]


class FieldError(NamedTuple):
    """One ``field.Error``: the path, its ``details.causes`` reason and its body."""

    field: str
    reason: str
    body: str

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"


Rule = Callable[[Obj, "Obj | None", list[FieldError]], None]
"""The validation rule of a kind: ``(object, stored object on update, errors to append to)``."""


# ---------------------------------------------------------------------------
# Go value formatting


def go_value(value: Any) -> str:
    """A value as ``field.Invalid`` prints it (Go's ``%q``/``%v``/``%#v``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        items = ", ".join(f"{json.dumps(k)}:{json.dumps(value[k])}" for k in sorted(value))
        return f"map[string]string{{{items}}}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def go_labels(labels: Any) -> str:
    """A ``map[string]string`` value, ``nil`` when absent."""
    return go_value(labels) if isinstance(labels, dict) and labels else "map[string]string(nil)"


def go_selector(selector: Any) -> str:
    """A ``*metav1.LabelSelector`` as Go's ``%#v`` prints it."""
    if not isinstance(selector, dict):
        return "nil"
    labels = go_labels(selector.get("matchLabels"))
    exprs = selector.get("matchExpressions")
    if exprs:
        parts = [
            f"v1.LabelSelectorRequirement{{Key:{go_value(e.get('key', ''))}, "
            f"Operator:{go_value(e.get('operator', ''))}, Values:{_go_strings(e.get('values'))}}}"
            for e in exprs
            if isinstance(e, dict)
        ]
        expressions = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        expressions = "[]v1.LabelSelectorRequirement(nil)"
    return f"&v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{expressions}}}"


def _go_strings(values: Any) -> str:
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_value(v) for v in values) + "}"


def go_quoted(values: Iterable[str]) -> str:
    """Strings as a list of Go ``%q`` values: ``"OnFailure", "Never"``."""
    return ", ".join(json.dumps(v) for v in values)


# ---------------------------------------------------------------------------
# field.Error constructors


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(field, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def invalid(field: str, value: Any, detail: str, *, formatted: str | None = None) -> FieldError:
    shown = formatted if formatted is not None else go_value(value)
    return FieldError(field, "FieldValueInvalid", f"Invalid value: {shown}: {detail}")


def not_supported(field: str, value: Any, supported: Iterable[str]) -> FieldError:
    return FieldError(
        field,
        "FieldValueNotSupported",
        f"Unsupported value: {go_value(value)}: supported values: {go_quoted(supported)}",
    )


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(field, "FieldValueForbidden", f"Forbidden: {detail}")


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(field, "FieldValueDuplicate", f"Duplicate value: {go_value(value)}")


def not_found(field: str, value: Any) -> FieldError:
    return FieldError(field, "FieldValueNotFound", f"Not found: {go_value(value)}")


def too_long(field: str, limit: int) -> FieldError:
    return FieldError(field, "FieldValueTooLong", f"Too long: must have at most {limit} bytes")


# ---------------------------------------------------------------------------
# Checks shared by many kinds


def immutable(new: Any, old: Any, field: str, errs: list[FieldError], *, formatted: str | None = None) -> None:
    """``field is immutable`` when both values are set and differ."""
    if new is not None and old is not None and new != old:
        errs.append(invalid(field, new, "field is immutable", formatted=formatted))


def non_negative(spec: Obj, field: str, path: str, errs: list[FieldError]) -> None:
    """An integer field of ``spec`` (at ``path``) that may not be negative."""
    value = spec.get(field)
    if isinstance(value, int) and value < 0:
        errs.append(invalid(f"{path}.{field}", value, "must be greater than or equal to 0"))


def unique(value: Any, seen: set[Any], field: str, errs: list[FieldError]) -> None:
    """A ``Duplicate value`` error if ``value`` is in ``seen``; then add it there."""
    if value in seen:
        errs.append(duplicate(field, value))
    seen.add(value)

"""Validation of built-in kinds, as a real kube-apiserver decodes and validates them.

:func:`validate` runs the two stages a request body goes through:

1. decoding (``sandbox.validation_schema``), against the schema generated from
   the official ``kubernetes`` client's models: unknown fields are pruned and,
   depending on the ``fieldValidation`` directive, refused (``Strict``),
   returned as warnings (``Warn``) or dropped silently (``Ignore``); values of
   the wrong type are refused.  Both answer ``400 BadRequest`` with the real
   server's messages::

       Deployment in version "v1" cannot be handled as a Deployment:
       strict decoding error: unknown field "spec.replicaz"

2. validation (``sandbox.validation_rules``): required fields from the schema
   and the API server's semantic rules, answered ``422 Invalid`` with
   ``details.causes``::

       Deployment.apps "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: ...]

Kinds the schema does not know (custom resources, ``List``) pass unvalidated.
"""

from __future__ import annotations

from typing import Any, Final

from sandbox.errors import BadRequest, Invalid, field_cause
from sandbox.validation_errors import FieldError, required
from sandbox.validation_rules import check
from sandbox.validation_schema import DecodeError, decode, schema

__all__ = ["FIELD_VALIDATION_DIRECTIVES", "invalid_error", "validate"]

FIELD_VALIDATION_DIRECTIVES: Final = ("Strict", "Warn", "Ignore")


def _split(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def invalid_error(kind: str, group: str, name: str, errors: list[FieldError]) -> Invalid:
    """The ``Invalid`` (422) error for a list of field errors, worded as the server does."""
    unique = list(dict.fromkeys(errors))
    qualified = f"{kind}.{group}" if group else kind
    text = ", ".join(str(e) for e in unique)
    if len(unique) > 1:
        text = f"[{text}]"
    return Invalid(
        f'{qualified} "{name}" is invalid: {text}',
        name=name,
        kind=kind,
        group=group,
        causes=[field_cause(e.field, e.body, e.reason) for e in unique],
    )


def validate(
    obj: dict[str, Any], *, field_validation: str = "Strict", old: dict[str, Any] | None = None
) -> list[str]:
    """Decode and validate ``obj`` in place; return the warnings to send.

    ``obj`` is a decoded JSON object with ``apiVersion`` and ``kind``; unknown
    fields and ``null`` values are removed from it and quantities given as
    numbers become strings.  ``field_validation`` is the request's
    ``fieldValidation`` directive; ``old`` is the stored object on update, for
    the immutable-field rules.

    Raises ``BadRequest`` for decoding errors and ``Invalid`` for validation errors.
    """
    if field_validation not in FIELD_VALIDATION_DIRECTIVES:
        raise BadRequest(
            f'invalid fieldValidation directive "{field_validation}": '
            'must be one of "Ignore", "Warn", "Strict"'
        )
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return []
    model = schema().lookup(api_version, kind)
    if model is None:
        return []
    group, version = _split(api_version)
    prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
    try:
        unknown, missing = decode(obj, model)
    except DecodeError as exc:
        raise BadRequest(prefix + str(exc)) from None
    warnings = [f'unknown field "{path}"' for path in unknown]
    if warnings and field_validation == "Strict":
        raise BadRequest(prefix + "strict decoding error: " + ", ".join(warnings))
    errors = [required(path) for path in missing]
    errors.extend(check(obj, group, kind, old))
    if errors:
        meta = obj.get("metadata")
        name = meta.get("name") or "" if isinstance(meta, dict) else ""
        raise invalid_error(kind, group, name, errors)
    return warnings if field_validation == "Warn" else []

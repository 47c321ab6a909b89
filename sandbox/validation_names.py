"""Syntax of names, label keys and values, from ``k8s.io/apimachinery/pkg/util/validation``.

Each function returns the messages the real server gives for a string that is
not a valid name of its kind (empty when it is): DNS-1123 labels and
subdomains, DNS-1035 labels, RBAC path segments, qualified names (label and
annotation keys), label values and ConfigMap/Secret keys.  The callers wrap
the messages in ``field.Invalid`` errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

NameFn = Callable[[str], list[str]]


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``validation.RegexError``: a message, examples and the regex."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len(n: int) -> str:
    return f"must be no more than {n} characters"


_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT: Final = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT: Final = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_CONFIG_KEY_FMT: Final = "[-._a-zA-Z0-9]+"
_DNS1123_LABEL_RE: Final = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE: Final = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE: Final = re.compile(_DNS1035_LABEL_FMT)
_QUALIFIED_NAME_RE: Final = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE: Final = re.compile(_LABEL_VALUE_FMT)
_CONFIG_KEY_RE: Final = re.compile(_CONFIG_KEY_FMT)
_QUALIFIED_NAME_MSG: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)


def _syntax(value: str, limit: int, pattern: re.Pattern[str], message: str) -> list[str]:
    """The length and regex checks every name kind starts with."""
    errs = [max_len(limit)] if len(value) > limit else []
    if not pattern.fullmatch(value):
        errs.append(message)
    return errs


def dns1123_label(value: str) -> list[str]:
    return _syntax(
        value,
        63,
        _DNS1123_LABEL_RE,
        regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
            "and must start and end with an alphanumeric character",
            _DNS1123_LABEL_FMT,
            "my-name",
            "123-abc",
        ),
    )


def dns1123_subdomain(value: str) -> list[str]:
    return _syntax(
        value,
        253,
        _DNS1123_SUBDOMAIN_RE,
        regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', "
            "and must start and end with an alphanumeric character",
            _DNS1123_SUBDOMAIN_FMT,
            "example.com",
        ),
    )


def dns1035_label(value: str) -> list[str]:
    return _syntax(
        value,
        63,
        _DNS1035_LABEL_RE,
        regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character",
            _DNS1035_LABEL_FMT,
            "my-name",
            "abc-123",
        ),
    )


def path_segment(value: str) -> list[str]:
    """``path.IsValidPathSegmentName``, for RBAC object names."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]


def qualified_name(value: str) -> list[str]:
    """A label or annotation key: a name with an optional DNS subdomain prefix."""
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) > 2:
        return [
            "a qualified name "
            + regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in dns1123_subdomain(parts[0]))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len(63))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errs.append(
            "name part " + regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def label_value(value: str) -> list[str]:
    return _syntax(
        value,
        63,
        _LABEL_VALUE_RE,
        regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', "
            "and must start and end with an alphanumeric character",
            _LABEL_VALUE_FMT,
            "MyValue",
            "my_value",
            "12345",
        ),
    )


def config_key(value: str) -> list[str]:
    """A ConfigMap or Secret data key."""
    errs = _syntax(
        value,
        253,
        _CONFIG_KEY_RE,
        regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            _CONFIG_KEY_FMT,
            "key.name",
            "KEY_NAME",
            "key-name",
        ),
    )
    if value in (".", ".."):
        errs.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs

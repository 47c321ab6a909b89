"""Ports, as container ports and Service ports are validated: numbers, names, protocols.

``IsValidPortNum`` and ``IsValidPortName`` (an ``IANA_SVC_NAME``) of
``k8s.io/apimachinery/pkg/util/validation``, and the supported protocols.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sandbox.validation_errors import FieldError, invalid, not_supported
from sandbox.validation_names import max_len

PORT_RANGE: Final = "must be between 1 and 65535, inclusive"
PROTOCOLS: Final = ("SCTP", "TCP", "UDP")
_PORT_NAME_CHARS_RE: Final = re.compile("[-a-z0-9]+")


def port_name(value: str) -> list[str]:
    """``IsValidPortName`` (an IANA_SVC_NAME)."""
    errs = [max_len(15)] if len(value) > 15 else []
    if not _PORT_NAME_CHARS_RE.fullmatch(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_ok(value: Any) -> bool:
    """``IsValidPortNum``: an integer from 1 to 65535."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def validate_port_number(value: Any, field: str, errs: list[FieldError]) -> None:
    if not port_ok(value):
        errs.append(invalid(field, value, PORT_RANGE))


def validate_protocol(protocol: Any, field: str, errs: list[FieldError]) -> None:
    """An optional ``protocol`` (absent: TCP)."""
    if protocol is not None and protocol not in PROTOCOLS:
        errs.append(not_supported(field, protocol, PROTOCOLS))

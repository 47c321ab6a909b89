"""The argument types tools share: names of objects, namespaces, kinds and containers, and
label selectors. Each is checked when a tool's arguments are validated, so shell or path
characters fail before any request is sent; the messages say what is allowed, as they reach
the model that made the call.

:data:`ObjectName` is a name or part of one as people say it ("backend", "Todo Backend"),
found later by :func:`tools.resolve.resolve`; :data:`ExactName` is an object's own name,
used as given. Types of one family of tools stay with it (Helm's release names in
tools/helm_plan.py, the workload kinds of the write tools in tools/preview.py), and those
one tool takes stay with that tool (user names in tools/access.py, environment variable
names in tools/containers.py).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from .errors import InvalidInput
from .resolve import NAME, check_name, check_selector

KIND = re.compile(r"^[A-Za-z][A-Za-z0-9.-]*$")


def _object_name(value: str) -> str:
    """A name as people write it: resolve() lower-cases it and reads spaces as dashes."""
    name = value.strip()
    probe = name.lower().replace(" ", "-")
    if not probe or len(probe) > 253 or not NAME.match(probe):
        raise ValueError(f"invalid name {value!r}: names are letters, digits, '-' and '.', starting and ending "
                         "with a letter or digit")
    return name


def _exact_name(value: str) -> str:
    try:
        return check_name(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _namespace(value: str) -> str:
    return _dns_label(value, "namespace")


def _container(value: str) -> str:
    return _dns_label(value, "container name")


def _dns_label(value: str, what: str) -> str:
    """``value`` if it is a DNS label (what namespaces and containers are named), else ValueError."""
    if not value or len(value) > 63 or "." in value or not NAME.match(value):
        raise ValueError(f"invalid {what} {value!r}: lower-case letters, digits and '-', starting and ending "
                         "with a letter or digit, at most 63")
    return value


def _kind(value: str) -> str:
    if not KIND.match(value):
        raise ValueError(f"invalid kind {value!r}: a kind as kubectl takes it (deployment, deploy, Deployment, "
                         "certificates.cert-manager.io): letters, digits, '.' and '-'")
    return value


def _selector(value: str) -> str:
    try:
        return check_selector(value)
    except InvalidInput:
        raise ValueError(f"invalid label selector {value!r}: write it as kubectl -l takes it, "
                         "e.g. app=web,tier!=db or env in (prod,staging)") from None


ObjectName = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_object_name)]
"""A name or part of one as people say it; resolved later against the cluster."""
ExactName = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_exact_name)]
"""An object's exact name (a DNS subdomain), used as given."""
NamespaceName = Annotated[str, Field(min_length=1, max_length=63), AfterValidator(_namespace)]
ContainerName = Annotated[str, Field(min_length=1, max_length=63), AfterValidator(_container)]
KindName = Annotated[str, Field(min_length=1, max_length=80, json_schema_extra={"pattern": KIND.pattern}),
                     AfterValidator(_kind)]
"""A kind as kubectl takes it: plural, singular, Kind, short name or ``plural.group``."""
Selector = Annotated[str, Field(max_length=1000), AfterValidator(_selector)]
"""A label selector as ``kubectl -l`` takes it."""

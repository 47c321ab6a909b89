"""Resource paths: ``/api/v1/namespaces/<ns>/<plural>/<name>/<sub>`` and
``/apis/<group>/<version>/…`` to a :class:`Route`."""

from __future__ import annotations

from dataclasses import dataclass

from . import resources
from .errors import NotFound
from .resources import ResourceType


@dataclass(frozen=True)
class Route:
    res: ResourceType
    namespace: str  # "" for cluster-scoped resources and all-namespace lists
    name: str
    sub: str
    legacy_watch: bool = False

    @property
    def is_collection(self) -> bool:
        return not self.name


def _missing(path: str) -> NotFound:
    return NotFound("the server could not find the requested resource", kind="", name=None)


def parse(path: str) -> Route:
    """The route of a resource path; NotFound for anything not served."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise _missing(path)
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        raise _missing(path)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = resources.lookup(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    res = resources.lookup(group, version, rest[0])
    if res is None or len(rest) > 3:
        raise _missing(path)
    if res.namespaced is False and namespace:
        raise _missing(path)
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in res.subresources:
        raise _missing(path)
    return Route(res, namespace, name, sub, legacy_watch)

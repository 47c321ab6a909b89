"""Small helpers for plain-dict Kubernetes objects."""

from __future__ import annotations

import random
from typing import Any

import orjson

Obj = dict[str, Any]

NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def copy(obj: Obj) -> Obj:
    """A deep copy (objects in the store are never modified in place)."""
    result: Obj = orjson.loads(orjson.dumps(obj))
    return result


def meta(obj: Obj) -> Obj:
    value = obj.get("metadata")
    if not isinstance(value, dict):
        value = {}
        obj["metadata"] = value
    return value


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(NAME_CHARS) for _ in range(n))


def owner_uids(obj: Obj) -> list[str]:
    return [str(r.get("uid")) for r in (obj.get("metadata") or {}).get("ownerReferences") or []]

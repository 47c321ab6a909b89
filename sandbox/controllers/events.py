"""Events as controllers and the kubelet record them: one Event per object, reason and
message, its count and lastTimestamp rising when it happens again."""

from __future__ import annotations

import secrets
from typing import Any

from .. import objects, timefmt
from ..errors import StatusError
from ..registry import Registry, WriteOptions
from .kinds import EVENTS

Obj = dict[str, Any]


class Recorder:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._seen: dict[tuple[str, str, str, str], str] = {}

    def record(self, involved: Obj, type_: str, reason: str, message: str, component: str,
               host: str = "", field_path: str = "") -> None:
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (namespace, str(meta.get("uid", "")), reason, message)
        now = timefmt.rfc3339()
        name = self._seen.get(key)
        existing = self.registry.store.get(EVENTS.storage_key, namespace, name) if name else None
        try:
            if existing is not None and name is not None:
                updated = objects.copy(existing)
                updated["count"] = int(updated.get("count", 1)) + 1
                updated["lastTimestamp"] = now
                self.registry.update(EVENTS, namespace, name, updated, WriteOptions())
                return
            name = f"{meta['name']}.{secrets.token_hex(8)}"
            ref: Obj = {"kind": involved.get("kind", ""), "namespace": meta.get("namespace", ""),
                        "name": meta["name"], "uid": meta.get("uid", ""),
                        "apiVersion": involved.get("apiVersion", ""),
                        "resourceVersion": meta.get("resourceVersion", "")}
            if field_path:
                ref["fieldPath"] = field_path
            source: Obj = {"component": component}
            if host:
                source["host"] = host
            event = {
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {k: v for k, v in ref.items() if v},
                "reason": reason, "message": message, "type": type_, "source": source,
                "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                "reportingComponent": component, "reportingInstance": host,
            }
            self.registry.create(EVENTS, namespace, event, WriteOptions())
            if len(self._seen) > 10_000:  # forget events that are gone (their namespaces were deleted)
                store = self.registry.store
                self._seen = {k: n for k, n in self._seen.items() if store.get(EVENTS.storage_key, k[0], n)}
            self._seen[key] = name
        except StatusError:
            pass  # the namespace is going away: its events go with it

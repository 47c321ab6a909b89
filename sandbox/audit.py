"""The API server's audit log, as kube-apiserver writes with ``--audit-log-path`` at the
``Metadata`` level: one ``audit.k8s.io/v1`` Event per request, a JSON line each, written
when the response is complete. Tests read it to see what the sandbox actually received."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from .rbac import Attributes, User


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] = path.open("ab")
        self._lock = threading.Lock()

    def record(self, *, method: str, uri: str, user: User | None, attrs: Attributes | None, code: int,
               started: float, dry_run: bool) -> None:
        event: dict[str, Any] = {
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": str(uuid.uuid4()), "stage": "ResponseComplete", "requestURI": uri,
            "verb": attrs.verb if attrs else method.lower(),
            "user": {"username": user.name, "groups": list(user.groups)} if user else {},
            "responseStatus": {"metadata": {}, "code": code},
            "requestReceivedTimestamp": _stamp(started), "stageTimestamp": _stamp(time.time()),
        }
        if attrs is not None and attrs.is_resource:
            ref = {"resource": attrs.resource, "namespace": attrs.namespace, "name": attrs.name,
                   "apiGroup": attrs.group, "subresource": attrs.subresource}
            event["objectRef"] = {k: v for k, v in ref.items() if v}
        if dry_run:
            event["annotations"] = {"sandbox.kai.dev/dry-run": "true"}
        line = orjson.dumps(event) + b"\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read(path: Path) -> list[dict[str, Any]]:
    """The events written so far (an absent log is empty)."""
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]

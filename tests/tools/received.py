"""What the sandbox actually received, from its audit log (``--audit-log``): the ground
truth the guard tests check against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


class Received:
    """Requests logged after :meth:`mark`."""

    def __init__(self, state: Path) -> None:
        self.path = state / "audit.log"
        self.offset = 0
        self.mark()

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def since(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        return [orjson.loads(line) for line in data.splitlines() if line.strip()]

    def writes(self) -> list[dict[str, Any]]:
        """Requests that changed (or tried to change) something: not reads, not dry runs.
        Access reviews are questions, not writes."""
        return [e for e in self.since() if e["verb"] in WRITE_VERBS
                and "sandbox.kai.dev/dry-run" not in e.get("annotations", {})
                and e.get("objectRef", {}).get("apiGroup") != "authorization.k8s.io"]

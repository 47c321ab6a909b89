"""What the tool suites share: a Cluster that records every request it sends, so a
test sees that planning sent no write (only reads and ``dryRun=All`` requests) and that bad
input sent nothing at all."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.tools.conftest import plan as plan_only
from tests.tools.conftest import read as run_read
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.errors import KaiError
from tools.registry import REGISTRY, Change


@dataclass
class RecordingCluster(Cluster):
    sent: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def _send(self, method: str, path: str, query: list[tuple[str, str]] | None, body: Any,
              content_type: str | None, accept: str) -> Any:
        self.sent.append((method, path, dict(query or [])))
        return super()._send(method, path, query, body, content_type, accept)

    def writes(self) -> list[tuple[str, str, dict[str, str]]]:
        """Requests that would change something: not GET and not a dry run."""
        return [s for s in self.sent if s[0] != "GET" and s[2].get("dryRun") != "All"]

    def dry_runs(self) -> list[tuple[str, str, dict[str, str]]]:
        return [s for s in self.sent if s[2].get("dryRun") == "All"]


def recording_context(kubeconfig: Path) -> tuple[ToolContext, RecordingCluster]:
    cluster = RecordingCluster(kubeconfig=kubeconfig)
    return ToolContext(cluster), cluster




def refused(ctx: ToolContext, tool: str, /, **arguments: Any) -> KaiError:
    """The error validating or planning ``tool`` raises (the test fails if none does)."""
    item = REGISTRY.get(tool)
    try:
        asyncio.run(item.plan(ctx, item.validate(arguments)))
    except KaiError as exc:
        return exc
    raise AssertionError(f"{tool}({arguments}) was planned")




def applied(change: Change) -> Any:
    """Apply a planned change (in a loop of its own, as a later approval would)."""

    async def go() -> Any:
        return await change.apply()

    return asyncio.run(go())


__all__ = ["RecordingCluster", "plan_only", "recording_context", "refused", "run_read"]

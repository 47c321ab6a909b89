"""``/metrics``: requests, their latency, tool calls by decision and status, approvals and the
queue, in a registry of the app's own (each app in a process counts for itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


@dataclass
class Metrics:
    registry: Any = field(init=False)
    requests: Any = field(init=False)
    latency: Any = field(init=False)
    tool_calls: Any = field(init=False)
    approvals: Any = field(init=False)
    commands: Any = field(init=False)
    queued: Any = field(init=False)

    def __post_init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("kai_http_requests", "HTTP requests by route and status code",
                                ["route", "code"], registry=self.registry)
        self.latency = Histogram("kai_http_request_seconds", "Time to answer an HTTP request", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.tool_calls = Counter("kai_tool_calls", "Tool calls by tool, guard decision and outcome",
                                  ["tool", "decision", "status"], registry=self.registry)
        self.approvals = Counter("kai_approvals", "Approval answers and expiries by result", ["result"],
                                 registry=self.registry)
        self.commands = Counter("kai_commands", "Accepted commands by how they ended", ["result"],
                                registry=self.registry)
        self.queued = Gauge("kai_queue_depth", "Accepted requests waiting to run in this process",
                            registry=self.registry)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

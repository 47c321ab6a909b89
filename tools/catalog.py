"""Every tool, registered: importing this module fills :data:`REGISTRY`."""

from __future__ import annotations

from . import (  # noqa: F401  (registration)
    access,
    autoscale,
    diagnose,
    events,
    health,
    helm_tools,
    logs,
    manifests,
    nodes,
    objects,
    workloads,
)
from .registry import REGISTRY, Registry, Tool

__all__ = ["REGISTRY", "Registry", "Tool"]

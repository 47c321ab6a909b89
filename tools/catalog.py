"""Every tool, registered: importing this module fills :data:`REGISTRY`."""

from __future__ import annotations

from . import access, autoscale, events, logs, manifests, nodes, objects, workloads  # noqa: F401  (registration)
from .registry import REGISTRY, Registry, Tool

__all__ = ["REGISTRY", "Registry", "Tool"]

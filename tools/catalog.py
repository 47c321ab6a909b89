"""Every tool, registered: importing this module fills :data:`REGISTRY`."""

from __future__ import annotations

from .registry import REGISTRY, Registry, Tool

__all__ = ["REGISTRY", "Registry", "Tool"]

"""The options of writes and deletes, as the API server reads them from a request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Warn"
    field_manager: str = ""
    force: bool = False


@dataclass
class DeleteOptions:
    dry_run: bool = False
    propagation: str = "Background"
    uid: str | None = None
    resource_version: str | None = None
    grace_period: int | None = None

"""The Helm engines behind the helm_* tools. ONE interface, two engines:

- ``SdkEngine``: helm-python-sdk (Helm's own Go SDK, no binary), the default;
- ``CliEngine``: the ``helm`` binary through pyhelm3, when one is on PATH and
  ``KAI_HELM_ENGINE=cli`` is set.

Both return the same :class:`ReleaseInfo` and raise only kai errors
(:class:`~tools.errors.NotFound` for a missing release, :class:`~tools.errors.HelmError`).

(Skeleton: the implementation is being written; the interface below is fixed.)
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from .cluster import Cluster


class ReleaseInfo(BaseModel):
    name: str
    namespace: str
    revision: int
    status: str  # deployed, failed, superseded, pending-install, uninstalled, ...
    chart: str  # name-version
    app_version: str = ""
    updated: str | None = None
    description: str | None = None


class HelmEngine(Protocol):
    name: str

    async def releases(self, namespace: str | None) -> list[ReleaseInfo]: ...  # None: every namespace

    async def status(self, release: str, namespace: str) -> ReleaseInfo: ...

    async def history(self, release: str, namespace: str) -> list[ReleaseInfo]: ...

    async def get_values(self, release: str, namespace: str, all_values: bool = False) -> dict[str, Any]: ...

    async def manifest(self, release: str, namespace: str) -> str: ...


def select_engine(cluster: Cluster) -> HelmEngine:
    raise NotImplementedError

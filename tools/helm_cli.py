"""The Helm engine on the ``helm`` binary, through pyhelm3 (``KAI_HELM_ENGINE=cli``).

pyhelm3 runs ``helm`` as a subprocess (values go in on stdin, so they never show in a process
list) and decodes its JSON output. Its :class:`~pyhelm3.command.Command` is used directly: its
high-level ``Client`` needs chart metadata models and turns install into ``upgrade --install``.
pyhelm3 is imported when the engine is built, never at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from .errors import Conflict, NotFound
from .helm_engine import (
    DEFAULT_TIMEOUT,
    KubeTarget,
    ReleaseInfo,
    Rendered,
    helm_error,
    iso_time,
    missing_release,
    previous_revision,
)

T = TypeVar("T")


def info_from_entry(entry: dict[str, Any], name: str | None = None, namespace: str | None = None) -> ReleaseInfo:
    """A ReleaseInfo from a ``helm list -o json`` or ``helm history -o json`` entry."""
    return ReleaseInfo(
        name=str(entry.get("name") or name or ""), namespace=str(entry.get("namespace") or namespace or ""),
        revision=int(entry.get("revision") or 0), status=str(entry.get("status", "")),
        chart=str(entry.get("chart", "")), app_version=str(entry.get("app_version") or ""),
        updated=iso_time(entry.get("updated")), description=entry.get("description") or None)


def info_from_release(doc: dict[str, Any]) -> ReleaseInfo:
    """A ReleaseInfo from a release document (``helm install|upgrade|status -o json``)."""
    info = doc.get("info") or {}
    meta = (doc.get("chart") or {}).get("metadata") or {}
    return ReleaseInfo(
        name=str(doc.get("name", "")), namespace=str(doc.get("namespace", "")), revision=int(doc.get("version") or 0),
        status=str(info.get("status", "")), chart=f"{meta.get('name', '')}-{meta.get('version', '')}",
        app_version=str(meta.get("appVersion") or ""), updated=iso_time(info.get("last_deployed")),
        description=info.get("description") or None)


def _command(target: KubeTarget) -> Any:
    """A pyhelm3 Command for ``target`` (with ``--kube-as-user`` when it impersonates)."""
    from pyhelm3.command import Command  # type: ignore[import-untyped]

    class Impersonating(Command):  # type: ignore[misc]
        async def run(self, command: list[str], input: bytes | None = None) -> bytes:
            if target.impersonate:
                command = [*command, "--kube-as-user", target.impersonate]
            return bytes(await super().run(command, input))

    return Impersonating(kubeconfig=target.kubeconfig, kubecontext=target.context)


class CliEngine:
    name = "cli"

    def __init__(self, target: KubeTarget) -> None:
        from pyhelm3 import Client  # type: ignore[import-untyped]

        self.target = target
        self.command = _command(target)
        self.client = Client(command=self.command)  # checks the binary and reads its version
        self._writing: dict[tuple[str, str], asyncio.Lock] = {}

    def close(self) -> None:
        """Nothing to release: each call is a helm process of its own."""

    async def _call(self, work: Awaitable[T], missing: str | None = None) -> T:
        from pyhelm3.errors import Error  # type: ignore[import-untyped]

        try:
            return await work
        except Error as exc:
            raise helm_error(exc, missing) from exc

    def _lock(self, release: str, namespace: str) -> asyncio.Lock:
        return self._writing.setdefault((namespace, release), asyncio.Lock())

    @staticmethod
    def _timeout(timeout: int) -> str:
        return f"{int(timeout)}s"

    # --- reads -------------------------------------------------------------------------------

    async def releases(self, namespace: str | None) -> list[ReleaseInfo]:
        raw = await self._call(self.command.list(
            all_namespaces=namespace is None, namespace=namespace, include_deployed=True, include_failed=True,
            include_pending=True, include_superseded=True, include_uninstalling=True, max_releases=10000))
        return sorted((info_from_entry(e) for e in raw or []), key=lambda r: (r.namespace, r.name))

    async def history(self, release: str, namespace: str, max_revisions: int | None = None) -> list[ReleaseInfo]:
        raw = await self._call(self.command.history(release, namespace=namespace, max_revisions=max_revisions or 256),
                               missing_release(release, namespace))
        entries = [info_from_entry(e, release, namespace) for e in raw or []]
        return sorted(entries, key=lambda r: r.revision)

    async def status(self, release: str, namespace: str, revision: int | None = None) -> ReleaseInfo:
        # `helm history` has what `helm status -o json` lacks in some versions: chart and app version.
        history = await self.history(release, namespace)
        if revision is None and history:
            return history[-1]
        for entry in history:
            if entry.revision == revision:
                return entry
        raise NotFound(missing_release(release, namespace, revision))

    async def get_values(self, release: str, namespace: str, all_values: bool = False) -> dict[str, Any]:
        values = await self._call(self.command.get_values(release, computed=all_values, namespace=namespace),
                                  missing_release(release, namespace))
        return dict(values or {})

    async def manifest(self, release: str, namespace: str, revision: int | None = None) -> str:
        args = ["get", "manifest", release, "--namespace", namespace]
        if revision is not None:
            args += ["--revision", str(revision)]
        out = await self._call(self.command.run(args), missing_release(release, namespace, revision))
        return bytes(out).decode("utf-8", "replace")

    # --- writes ------------------------------------------------------------------------------

    async def install(self, chart: str, release: str, namespace: str, values: dict[str, Any], *,
                      version: str | None = None, create_namespace: bool = False, wait: bool = False,
                      timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered:
        try:
            current = await self.status(release, namespace)
        except NotFound:
            pass  # free to install
        else:
            raise Conflict(f"release {release} already exists in namespace {namespace} (revision {current.revision}, "
                           f"{current.status})")
        async with self._lock(release, namespace):
            doc = await self._call(self.command.install_or_upgrade(
                release, chart, values, create_namespace=create_namespace, dry_run=dry_run, namespace=namespace,
                timeout=self._timeout(timeout), version=version, wait=wait and not dry_run))
        return Rendered(release=info_from_release(doc), manifest=str(doc.get("manifest") or ""))

    async def upgrade(self, chart: str, release: str, namespace: str, values: dict[str, Any], *,
                      version: str | None = None, reuse_values: bool = True, wait: bool = False,
                      timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered:
        await self.status(release, namespace)  # `upgrade --install` must not install a missing release
        async with self._lock(release, namespace):
            doc = await self._call(self.command.install_or_upgrade(
                release, chart, values, create_namespace=False, dry_run=dry_run, namespace=namespace,
                reuse_values=reuse_values, reset_values=not reuse_values, timeout=self._timeout(timeout),
                version=version, wait=wait and not dry_run), missing_release(release, namespace))
        return Rendered(release=info_from_release(doc), manifest=str(doc.get("manifest") or ""))

    async def rollback(self, release: str, namespace: str, revision: int | None = None, *, wait: bool = False,
                       timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered:
        if revision is None:
            revision = previous_revision(await self.history(release, namespace), release)
        target = await self.status(release, namespace, revision)
        if dry_run:
            return Rendered(release=target, manifest=await self.manifest(release, namespace, revision))
        async with self._lock(release, namespace):
            await self._call(self.command.rollback(release, revision, namespace=namespace,
                                                   timeout=self._timeout(timeout), wait=wait),
                             missing_release(release, namespace, revision))
        return Rendered(release=await self.status(release, namespace), manifest=await self.manifest(release, namespace))

    async def uninstall(self, release: str, namespace: str, *, wait: bool = False, timeout: int = DEFAULT_TIMEOUT,
                        dry_run: bool = False) -> Rendered:
        current = await self.status(release, namespace)
        manifest = await self.manifest(release, namespace)
        if dry_run:
            return Rendered(release=current, manifest=manifest)
        async with self._lock(release, namespace):
            await self._call(self.command.uninstall(release, namespace=namespace, timeout=self._timeout(timeout),
                                                    wait=wait), missing_release(release, namespace))
        return Rendered(release=current.model_copy(update={"status": "uninstalled"}), manifest=manifest)

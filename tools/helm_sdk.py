"""The default Helm engine: helm-python-sdk, Helm's own Go SDK behind a C ABI (no binary).

Its calls are synchronous; :class:`SdkEngine` runs them in a worker thread. The ``*_sync``
methods are the same calls for synchronous callers (:mod:`tools.helm`). The SDK is imported
when a method runs, never at import time. A Config is bound to one namespace, so the engine
keeps one per namespace; writes to one release are serialised (concurrent writes to the
same release can corrupt its history).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
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


def _info(raw: dict[str, Any], info: dict[str, Any] | None = None) -> ReleaseInfo:
    """A ReleaseInfo from the SDK's release summary (and ``get_all``'s ``info``, which has the
    description and the precise time)."""
    extra = info or {}
    return ReleaseInfo(
        name=str(raw.get("name", "")), namespace=str(raw.get("namespace", "")), revision=int(raw.get("revision", 0)),
        status=str(raw.get("status", "") or extra.get("status", "")),
        chart=f"{raw.get('chart_name', '')}-{raw.get('chart_version', '')}",
        app_version=str(raw.get("app_version", "") or ""),
        updated=iso_time(extra.get("last_deployed") or raw.get("deployed_at")),
        description=str(extra["description"]) if extra.get("description") else None)


class SdkEngine:
    name = "sdk"

    def __init__(self, target: KubeTarget) -> None:
        self.target = target
        self._configs: dict[str | None, Any] = {}
        self._lock = threading.Lock()
        self._writing: dict[tuple[str, str], threading.Lock] = {}

    # --- plumbing --------------------------------------------------------------------------

    def _config(self, namespace: str | None) -> Any:
        with self._lock:
            config = self._configs.get(namespace)
            if config is None:
                from helm_python import Config

                config = Config(kubeconfig_path=self.target.kubeconfig, kube_context=self.target.context,
                                kube_as_user=self.target.impersonate, namespace=namespace)
                self._configs[namespace] = config
            return config

    def _release_lock(self, release: str, namespace: str) -> threading.Lock:
        with self._lock:
            return self._writing.setdefault((namespace, release), threading.Lock())

    def _call(self, fn: Callable[[], T], missing: str | None = None) -> T:
        from helm_python.errors import HelmError as SdkError

        try:
            return fn()
        except SdkError as exc:
            raise helm_error(exc, missing) from exc

    def close(self) -> None:
        with self._lock:
            for config in self._configs.values():
                config.close()
            self._configs.clear()

    # --- reads -------------------------------------------------------------------------------

    def releases_sync(self, namespace: str | None) -> list[ReleaseInfo]:
        config = self._config(namespace)
        raw = self._call(lambda: config.list(all_states=True, all_namespaces=namespace is None))
        return sorted((_info(r) for r in raw or []), key=lambda r: (r.namespace, r.name))

    def _get_all(self, release: str, namespace: str, revision: int | None) -> dict[str, Any]:
        """``helm get all``: the release's summary and its info (description, times)."""
        config = self._config(namespace)
        got = self._call(lambda: config.get_all(release, revision=revision),
                         missing_release(release, namespace, revision))
        return dict(got)

    def status_sync(self, release: str, namespace: str, revision: int | None = None) -> ReleaseInfo:
        got = self._get_all(release, namespace, revision)
        return _info(got["summary"], got.get("info"))

    def history_sync(self, release: str, namespace: str, max_revisions: int | None = None) -> list[ReleaseInfo]:
        config = self._config(namespace)
        raw = self._call(lambda: config.history(release, max_revisions=max_revisions),
                         missing_release(release, namespace))
        out = []
        for entry in sorted(raw or [], key=lambda r: int(r.get("revision", 0))):
            # The summary has no description: each revision's comes from `helm get all`.
            got = self._get_all(release, namespace, int(entry["revision"]))
            out.append(_info(entry, got.get("info")))
        return out

    def get_values_sync(self, release: str, namespace: str, all_values: bool = False) -> dict[str, Any]:
        config = self._config(namespace)
        values = self._call(lambda: config.get_values(release, all_values=all_values),
                            missing_release(release, namespace))
        return dict(values or {})

    def manifest_sync(self, release: str, namespace: str, revision: int | None = None) -> str:
        config = self._config(namespace)
        raw = self._call(lambda: config.status(release, revision=revision),
                         missing_release(release, namespace, revision))
        return str(raw.get("manifest") or "")

    # --- writes ------------------------------------------------------------------------------

    def install_sync(self, chart: str, release: str, namespace: str, values: dict[str, Any], *,
                     version: str | None = None, create_namespace: bool = False, wait: bool = False,
                     timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered:
        config = self._config(namespace)
        try:
            current = self.status_sync(release, namespace)
        except NotFound:
            pass  # free to install
        else:
            raise Conflict(f"release {release} already exists in namespace {namespace} (revision {current.revision}, "
                           f"{current.status})")
        with self._release_lock(release, namespace):
            raw = self._call(lambda: config.install(
                chart, release, values or None, namespace=namespace, create_namespace=create_namespace,
                chart_version=version, timeout=timeout, wait="watcher" if wait and not dry_run else None,
                dry_run="server" if dry_run else None))
        return Rendered(release=_info(raw), manifest=str(raw.get("manifest") or ""))

    def upgrade_sync(self, chart: str, release: str, namespace: str, values: dict[str, Any], *,
                     version: str | None = None, reuse_values: bool = True, wait: bool = False,
                     timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered:
        config = self._config(namespace)
        self.status_sync(release, namespace)  # a missing release is NotFound, not "no deployed releases"
        with self._release_lock(release, namespace):
            raw = self._call(lambda: config.upgrade(
                chart, release, values or None, namespace=namespace, chart_version=version,
                reuse_values=reuse_values, reset_values=not reuse_values, timeout=timeout,
                wait="watcher" if wait and not dry_run else None, dry_run="server" if dry_run else None),
                missing_release(release, namespace))
        return Rendered(release=_info(raw), manifest=str(raw.get("manifest") or ""))

    def rollback_sync(self, release: str, namespace: str, revision: int | None = None, *, wait: bool = False,
                      timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered:
        config = self._config(namespace)
        if revision is None:
            revision = previous_revision(self.history_sync(release, namespace), release)
        target = self.status_sync(release, namespace, revision)
        if dry_run:
            return Rendered(release=target, manifest=self.manifest_sync(release, namespace, revision))
        with self._release_lock(release, namespace):
            self._call(lambda: config.rollback(release, version=revision, timeout=timeout,
                                               wait="watcher" if wait else None),
                       missing_release(release, namespace, revision))
        return Rendered(release=self.status_sync(release, namespace), manifest=self.manifest_sync(release, namespace))

    def uninstall_sync(self, release: str, namespace: str, *, wait: bool = False, timeout: int = DEFAULT_TIMEOUT,
                       dry_run: bool = False) -> Rendered:
        config = self._config(namespace)
        current = self.status_sync(release, namespace)
        manifest = self.manifest_sync(release, namespace)
        if dry_run:
            return Rendered(release=current, manifest=manifest)
        with self._release_lock(release, namespace):
            raw = self._call(lambda: config.uninstall(release, timeout=timeout, wait="watcher" if wait else None),
                             missing_release(release, namespace))
        gone = raw.get("release") or {}
        info = _info(gone) if gone else current.model_copy(update={"status": "uninstalled"})
        return Rendered(release=info, manifest=manifest)

    # --- the async interface -------------------------------------------------------------------

    async def releases(self, namespace: str | None) -> list[ReleaseInfo]:
        return await asyncio.to_thread(self.releases_sync, namespace)

    async def status(self, release: str, namespace: str, revision: int | None = None) -> ReleaseInfo:
        return await asyncio.to_thread(self.status_sync, release, namespace, revision)

    async def history(self, release: str, namespace: str, max_revisions: int | None = None) -> list[ReleaseInfo]:
        return await asyncio.to_thread(self.history_sync, release, namespace, max_revisions)

    async def get_values(self, release: str, namespace: str, all_values: bool = False) -> dict[str, Any]:
        return await asyncio.to_thread(self.get_values_sync, release, namespace, all_values)

    async def manifest(self, release: str, namespace: str, revision: int | None = None) -> str:
        return await asyncio.to_thread(self.manifest_sync, release, namespace, revision)

    async def install(self, chart: str, release: str, namespace: str, values: dict[str, Any], *,
                      version: str | None = None, create_namespace: bool = False, wait: bool = False,
                      timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered:
        return await asyncio.to_thread(lambda: self.install_sync(
            chart, release, namespace, values, version=version, create_namespace=create_namespace, wait=wait,
            timeout=timeout, dry_run=dry_run))

    async def upgrade(self, chart: str, release: str, namespace: str, values: dict[str, Any], *,
                      version: str | None = None, reuse_values: bool = True, wait: bool = False,
                      timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered:
        return await asyncio.to_thread(lambda: self.upgrade_sync(
            chart, release, namespace, values, version=version, reuse_values=reuse_values, wait=wait,
            timeout=timeout, dry_run=dry_run))

    async def rollback(self, release: str, namespace: str, revision: int | None = None, *, wait: bool = False,
                       timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered:
        return await asyncio.to_thread(lambda: self.rollback_sync(
            release, namespace, revision, wait=wait, timeout=timeout, dry_run=dry_run))

    async def uninstall(self, release: str, namespace: str, *, wait: bool = False, timeout: int = DEFAULT_TIMEOUT,
                        dry_run: bool = False) -> Rendered:
        return await asyncio.to_thread(lambda: self.uninstall_sync(
            release, namespace, wait=wait, timeout=timeout, dry_run=dry_run))

"""Helm releases through Helm's Go SDK (helm-python-sdk), with the Secret storage driver.

The SDK is imported when a function runs, never at import time, so front ends that
only show help stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


class HelmError(Exception):
    """A Helm action failed; the message is Helm's."""


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    app_version: str

    @classmethod
    def from_sdk(cls, raw: dict[str, Any]) -> Release:
        return cls(name=str(raw.get("name", "")), namespace=str(raw.get("namespace", "")),
                   revision=int(raw.get("revision", 0)), status=str(raw.get("status", "")),
                   chart=f"{raw.get('chart_name', '')}-{raw.get('chart_version', '')}",
                   app_version=str(raw.get("app_version", "")))


def _config(kubeconfig: Path, namespace: str) -> Any:
    from helm_python import Config

    return Config(kubeconfig_path=str(kubeconfig), namespace=namespace)


def status(kubeconfig: Path, release: str, namespace: str) -> Release | None:
    """The release's current revision, or None when there is no such release."""
    from helm_python.errors import HelmError as SdkError
    from helm_python.errors import HelmNotFoundError

    try:
        return Release.from_sdk(_config(kubeconfig, namespace).status(release))
    except HelmNotFoundError:
        return None
    except SdkError as exc:
        raise HelmError(str(exc)) from exc


def install(kubeconfig: Path, chart: Path, release: str, namespace: str, *,
            values: dict[str, Any] | None = None, wait: bool = True, timeout: int = 300) -> Release:
    """Install ``chart`` as ``release`` in ``namespace`` (created when missing); with
    ``wait``, return once every resource is ready (Helm's watcher)."""
    from helm_python.errors import HelmError as SdkError

    try:
        raw = _config(kubeconfig, namespace).install(
            str(chart), release, values, namespace=namespace, create_namespace=True, timeout=timeout,
            wait="watcher" if wait else None)
    except SdkError as exc:
        raise HelmError(str(exc)) from exc
    return Release.from_sdk(raw)

"""Helm releases for synchronous callers (``kai sandbox up --with-todo-app``, test fixtures):
a thin facade over :class:`tools.helm_sdk.SdkEngine`, Helm's Go SDK with the Secret storage
driver. The SDK is imported when a function runs, never at import time, so front ends that
only show help stay fast. Every failure is a :class:`HelmError` (a kai error).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import HelmError, KaiError, NotFound
from .helm_engine import DEFAULT_TIMEOUT, KubeTarget, ReleaseInfo

__all__ = ["HelmError", "Release", "install", "status"]


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    app_version: str

    @classmethod
    def of(cls, info: ReleaseInfo) -> Release:
        return cls(name=info.name, namespace=info.namespace, revision=info.revision, status=info.status,
                   chart=info.chart, app_version=info.app_version)


def _engine(kubeconfig: Path) -> Any:
    from .helm_sdk import SdkEngine

    return SdkEngine(KubeTarget(kubeconfig=str(kubeconfig)))


def status(kubeconfig: Path, release: str, namespace: str) -> Release | None:
    """The release's current revision, or None when there is no such release."""
    engine = _engine(kubeconfig)
    try:
        return Release.of(engine.status_sync(release, namespace))
    except NotFound:
        return None
    except HelmError:
        raise
    except KaiError as exc:
        raise HelmError(exc.message) from exc
    finally:
        engine.close()


def install(kubeconfig: Path, chart: Path, release: str, namespace: str, *,
            values: dict[str, Any] | None = None, wait: bool = True, timeout: int = DEFAULT_TIMEOUT) -> Release:
    """Install ``chart`` as ``release`` in ``namespace`` (created when missing); with
    ``wait``, return once every resource is ready (Helm's watcher)."""
    engine = _engine(kubeconfig)
    try:
        done = engine.install_sync(str(chart), release, namespace, values or {}, create_namespace=True, wait=wait,
                                   timeout=timeout)
    except HelmError:
        raise
    except KaiError as exc:
        raise HelmError(exc.message) from exc
    finally:
        engine.close()
    return Release.of(done.release)

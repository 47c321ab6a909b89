"""The Helm engines behind the helm_* tools. ONE interface, two engines:

- ``SdkEngine`` (:mod:`tools.helm_sdk`): helm-python-sdk (Helm's own Go SDK, no binary), the default;
- ``CliEngine`` (:mod:`tools.helm_cli`): the ``helm`` binary through pyhelm3, when one is on PATH
  and ``KAI_HELM_ENGINE=cli`` is set.

Both return the same :class:`ReleaseInfo` / :class:`Rendered` and raise only kai errors:
:class:`~tools.errors.NotFound` for a missing release or revision, :class:`~tools.errors.Unavailable`
when the cluster cannot be reached, :class:`~tools.errors.HelmError` for the rest. The errors of
both libraries are translated in :func:`helm_error` and nowhere else.

Every write takes ``dry_run``: the release is rendered (install, upgrade) or looked up (rollback:
the target revision; uninstall: the current one) and nothing is changed; the manifest returned is
what the preview shows. ``wait`` blocks until the release's resources are ready, up to ``timeout``
seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from .cluster import Cluster
from .errors import HelmError, KaiError, NotFound, Unavailable, translate, trim

ENGINE_ENV = "KAI_HELM_ENGINE"
DEFAULT_TIMEOUT = 300  # seconds a waiting write may take


class ReleaseInfo(BaseModel):
    name: str
    namespace: str
    revision: int
    status: str  # deployed, failed, superseded, pending-install, uninstalled, ...
    chart: str  # name-version
    app_version: str = ""
    updated: str | None = None  # UTC, ISO 8601
    description: str | None = None


class Rendered(BaseModel):
    """A write's release and its manifest: the new revision, or (dry run) what it would be."""

    release: ReleaseInfo
    manifest: str


class HelmEngine(Protocol):
    name: str

    def close(self) -> None: ...  # release what the engine holds (the SDK's per-namespace configurations)

    async def releases(self, namespace: str | None) -> list[ReleaseInfo]: ...  # None: every namespace

    async def status(self, release: str, namespace: str, revision: int | None = None) -> ReleaseInfo: ...

    async def history(self, release: str, namespace: str, max_revisions: int | None = None) -> list[ReleaseInfo]: ...

    async def get_values(self, release: str, namespace: str, all_values: bool = False) -> dict[str, Any]: ...

    async def manifest(self, release: str, namespace: str, revision: int | None = None) -> str: ...

    async def install(self, chart: str, release: str, namespace: str, values: dict[str, Any], *,
                      version: str | None = None, create_namespace: bool = False, wait: bool = False,
                      timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered: ...

    async def upgrade(self, chart: str, release: str, namespace: str, values: dict[str, Any], *,
                      version: str | None = None, reuse_values: bool = True, wait: bool = False,
                      timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered: ...

    async def rollback(self, release: str, namespace: str, revision: int | None = None, *, wait: bool = False,
                       timeout: int = DEFAULT_TIMEOUT, dry_run: bool = False) -> Rendered: ...

    async def uninstall(self, release: str, namespace: str, *, wait: bool = False, timeout: int = DEFAULT_TIMEOUT,
                        dry_run: bool = False) -> Rendered: ...


@dataclass(frozen=True)
class KubeTarget:
    """Where an engine connects: the Cluster's kubeconfig file (None: KUBECONFIG or
    ~/.kube/config, resolved by Helm), its context and the user it impersonates."""

    kubeconfig: str | None = None
    context: str | None = None
    impersonate: str | None = None

    @classmethod
    def of(cls, cluster: Cluster) -> KubeTarget:
        return cls(str(cluster.kubeconfig) if cluster.kubeconfig else None, cluster.context, cluster.impersonate)


def select_engine(cluster: Cluster) -> HelmEngine:
    """The engine ``KAI_HELM_ENGINE`` asks for: ``sdk`` (default) or ``cli`` (needs ``helm`` on PATH)."""
    choice = (os.environ.get(ENGINE_ENV) or "sdk").strip().lower()
    target = KubeTarget.of(cluster)
    if choice == "cli":
        if shutil.which("helm") is None:
            raise HelmError(f"{ENGINE_ENV}=cli needs a helm binary on PATH and there is none: install helm, "
                            f"or unset {ENGINE_ENV} to use helm-python-sdk")
        from .helm_cli import CliEngine

        return CliEngine(target)
    if choice != "sdk":
        raise HelmError(f"{ENGINE_ENV}={choice!r} is not an engine: use sdk (the default) or cli")
    from .helm_sdk import SdkEngine

    return SdkEngine(target)


# --- the one place where the libraries' errors become kai errors ------------------------

_MISSING = ("release: not found", "has no deployed releases", "release not loaded")


def helm_error(exc: BaseException, missing: str | None = None) -> KaiError:
    """The kai error for an exception of helm-python-sdk or pyhelm3. ``missing`` is the message
    for "no such release" (it names the release and namespace the caller asked for)."""
    if isinstance(exc, KaiError):
        return exc
    kind = type(exc).__name__
    module = type(exc).__module__
    if not module.startswith(("helm_python", "pyhelm3")):
        return translate(exc)
    text = _message(exc)
    lowered = text.lower()
    if kind in ("HelmNotFoundError", "ReleaseNotFoundError") or any(m in lowered for m in _MISSING):
        return NotFound(missing or trim(text))
    if kind in ("HelmKubeError", "ConnectionError") or "cluster unreachable" in lowered:
        return Unavailable(trim(f"cannot reach the cluster: {text}"))
    return HelmError(trim(text or kind))


def _message(exc: BaseException) -> str:
    stderr = getattr(exc, "stderr", None)
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("WARNING:")]
    text = " ".join(lines)
    return text.removeprefix("Error: ").removeprefix("error: ")


# --- shared by the engines ---------------------------------------------------------------

_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?")


def iso_time(value: Any) -> str | None:
    """Helm's timestamps (``2024-05-01T10:20:30Z``, ``2024-05-01 12:20:30.1 +0200 CEST``) as UTC ISO 8601."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    match = _TIME.match(str(value).strip())
    if not match:
        return str(value)
    date, clock, zone = match.groups()
    when = dt.datetime.fromisoformat(f"{date}T{clock}").replace(tzinfo=dt.UTC)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        when -= sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def previous_revision(history: list[ReleaseInfo], release: str) -> int:
    """The revision ``helm rollback RELEASE`` goes back to: the one before the latest."""
    if len(history) < 2:
        raise HelmError(f"release {release} has only revision {history[-1].revision if history else 0}: "
                        "there is no earlier revision to roll back to")
    return history[-2].revision


def missing_release(release: str, namespace: str, revision: int | None = None) -> str:
    if revision is not None:
        return f"release {release} in namespace {namespace} has no revision {revision}"
    return f"no Helm release {release!r} in namespace {namespace}"

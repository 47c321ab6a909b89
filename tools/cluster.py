"""The connection to one cluster: a kubeconfig context read by the official ``kubernetes``
client, requests as plain JSON documents, retries, and API discovery.

Every tool reaches the API server through :meth:`Cluster.request` (or :meth:`Cluster.text`
for logs), so auth, TLS, impersonation, retries and error translation live here once. The
client is synchronous; calls run in a worker thread so tools stay ``async``.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import KaiError, Unavailable, translate

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def in_pod(env: Mapping[str, str]) -> bool:
    """Whether this runs in a Kubernetes pod with a ServiceAccount token mounted."""
    return bool(env.get("KUBERNETES_SERVICE_HOST")) and Path(SERVICE_ACCOUNT, "token").is_file()


@dataclass(frozen=True)
class ApiResource:
    """One served resource, as discovery lists it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    singular: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


@dataclass
class RetryPolicy:
    attempts: int = 4
    base: float = 0.2
    cap: float = 5.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.cap * 4)
            except ValueError:
                pass
        return float(min(self.cap, self.base * (2 ** attempt)) * (0.5 + random.random() / 2))


@dataclass
class Cluster:
    """One kubeconfig context. ``impersonate`` acts as that user (``kubectl --as``)."""

    kubeconfig: Path | None = None
    context: str | None = None
    impersonate: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0
    _api: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _resources: list[ApiResource] | None = field(default=None, init=False, repr=False)
    _context_entry: dict[str, Any] | None = field(default=None, init=False, repr=False)

    # --- the client ----------------------------------------------------------------

    def _config_file(self) -> str | None:
        if self.kubeconfig is not None:
            return str(self.kubeconfig)
        env = os.environ.get("KUBECONFIG")
        return env.split(os.pathsep)[0] if env else None

    @property
    def in_cluster(self) -> bool:
        """No kubeconfig anywhere, inside a pod: the pod's ServiceAccount (as kubectl and Helm do)."""
        return (self._config_file() is None and not (Path.home() / ".kube" / "config").is_file()
                and in_pod(os.environ))

    @property
    def api(self) -> Any:
        """The ``kubernetes.client.ApiClient`` for this context (built on first use)."""
        with self._lock:
            if self._api is None:
                from kubernetes import client, config

                api: Any
                try:
                    if self.in_cluster:
                        if self.context:
                            raise KaiError(f"no kubeconfig here to take context {self.context!r} from "
                                           "(in a pod, kai uses its ServiceAccount)")
                        configuration = client.Configuration()
                        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                        api = client.ApiClient(configuration)
                    else:
                        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                            config_file=self._config_file(), context=self.context)
                except Exception as exc:  # config errors: missing file, unknown context
                    raise KaiError(f"cannot load kubeconfig: {exc}") from exc
                if self.impersonate:
                    api.set_default_header("Impersonate-User", self.impersonate)
                self._api = api
            return self._api

    def _kubeconfig_context(self) -> dict[str, Any]:
        """The kubeconfig's entry for this context (read once)."""
        if self._context_entry is None:
            self._context_entry = self._read_context()
        return self._context_entry

    def _read_context(self) -> dict[str, Any]:
        from kubernetes import config

        if self.in_cluster:
            namespace = Path(SERVICE_ACCOUNT, "namespace")
            return {"name": "in-cluster",
                    "context": {"namespace": namespace.read_text().strip() if namespace.is_file() else "default"}}

        try:
            contexts, active = config.list_kube_config_contexts(config_file=self._config_file())  # type: ignore[no-untyped-call]
        except Exception:
            return {}
        if self.context:
            for ctx in contexts:
                if ctx.get("name") == self.context:
                    return dict(ctx)
            return {}
        return dict(active or {})

    @property
    def context_name(self) -> str:
        return str(self._kubeconfig_context().get("name") or self.context or "")

    @property
    def default_namespace(self) -> str:
        ctx = self._kubeconfig_context().get("context") or {}
        return str(ctx.get("namespace") or "default")

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    # --- requests ------------------------------------------------------------------

    def _send(self, method: str, path: str, query: list[tuple[str, str]] | None, body: Any,
              content_type: str | None, accept: str) -> Any:
        from kubernetes.client.exceptions import ApiException

        api = self.api
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        _, url, headers, body, _ = api.param_serialize(
            method=method, resource_path=path, query_params=query or [], header_params=headers, body=body,
            auth_settings=["BearerToken"])
        response = api.call_api(method, url, header_params=headers, body=body, _request_timeout=self.timeout)
        response.read()
        if not 200 <= response.status < 300:
            raise ApiException(http_resp=response)
        return response

    def _with_retries(self, method: str, path: str, query: list[tuple[str, str]] | None, body: Any,
                      content_type: str | None, accept: str, idempotent: bool) -> Any:
        import time

        attempt = 0
        while True:
            try:
                return self._send(method, path, query, body, content_type, accept)
            except Exception as exc:
                error = translate(exc)
                retryable = isinstance(error, Unavailable) and (
                    getattr(exc, "status", None) in RETRY_STATUSES or not hasattr(exc, "status")
                    or getattr(exc, "status", None) == 0)
                if not (idempotent and retryable) or attempt + 1 >= self.retry.attempts:
                    raise error from exc
                headers = getattr(exc, "headers", None) or {}
                time.sleep(self.retry.delay(attempt, headers.get("Retry-After")))
                attempt += 1

    async def request(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None,
                      content_type: str | None = None, idempotent: bool | None = None) -> Any:
        """Send one request and return the decoded JSON body. Reads (and writes the caller
        marks ``idempotent``) retry on 429, 5xx and connection errors, honouring Retry-After."""
        import json

        retry = method == "GET" if idempotent is None else idempotent
        response = await asyncio.to_thread(self._with_retries, method, path, _pairs(query), body,
                                           content_type, JSON, retry)
        return json.loads(response.data) if response.data else {}

    async def text(self, path: str, *, query: dict[str, Any] | None = None) -> str:
        """A plain-text GET (pod logs)."""
        response = await asyncio.to_thread(self._with_retries, "GET", path, _pairs(query), None, None,
                                           "*/*", True)
        return bytes(response.data).decode("utf-8", "replace")

    async def get(self, path: str, **query: Any) -> Any:
        return await self.request("GET", path, query=query)

    # --- discovery -----------------------------------------------------------------

    async def resources(self, refresh: bool = False) -> list[ApiResource]:
        """Every top-level resource the server serves, preferred versions first."""
        if self._resources is not None and not refresh:
            return self._resources
        found: list[ApiResource] = []
        core = await self.get("/api/v1")
        found += _parse_resources("", "v1", core)
        groups = await self.get("/apis")
        for group in groups.get("groups", []):
            versions = [group.get("preferredVersion", {}).get("version")]
            versions += [v["version"] for v in group.get("versions", []) if v["version"] not in versions]
            for version in versions:
                if not version:
                    continue
                try:
                    doc = await self.get(f"/apis/{group['name']}/{version}")
                except KaiError:
                    continue
                found += _parse_resources(group["name"], version, doc)
        self._resources = found
        return found


def _pairs(query: dict[str, Any] | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in (query or {}).items():
        if value is None or value is False:
            continue
        if isinstance(value, bool):
            value = "true"
        pairs.append((key, str(value)))
    return pairs


def _parse_resources(group: str, version: str, doc: dict[str, Any]) -> list[ApiResource]:
    out = []
    for item in doc.get("resources", []):
        if "/" in item.get("name", ""):
            continue  # subresources
        out.append(ApiResource(group=group, version=version, plural=item["name"], kind=item.get("kind", ""),
                               namespaced=bool(item.get("namespaced")), verbs=tuple(item.get("verbs", [])),
                               short_names=tuple(item.get("shortNames", []) or ()),
                               singular=item.get("singularName", "") or item.get("kind", "").lower()))
    return out

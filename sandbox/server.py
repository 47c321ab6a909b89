"""The sandbox API server: a Starlette application over the registry.

Every request is authenticated (bearer token, with impersonation for
``kubectl --as``), authorized by RBAC for impersonated users, routed and
answered; every :class:`~sandbox.errors.StatusError` becomes its ``Status``
body here and nowhere else.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.routing import Route as HttpRoute

from . import audit, discovery, faults_http, rbac, routing, snapshots_http
from .controllers.manager import ClusterOptions, ControllerManager
from .errors import (
    Forbidden,
    InternalError,
    NotFound,
    ServiceUnavailable,
    StatusError,
    TooManyRequests,
    Unauthorized,
)
from .faults import FaultBook
from .handlers import ResourceHandler, attributes, json_response
from .registry import Registry, WriteOptions
from .resources import lookup
from .snapshots import Snapshots
from .store import Store

log = logging.getLogger("sandbox")

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
OPEN_PATHS = ("/healthz", "/readyz", "/livez")


class SandboxServer:
    """State and request handling of one sandbox API server."""

    def __init__(self, state_dir: Path, token: str, address: str = "127.0.0.1:0",
                 options: ClusterOptions | None = None) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(state_dir / "sandbox.db")
        self.registry = Registry(self.store)
        self.faults = FaultBook(self.registry)
        self.controllers = ControllerManager(self.registry, options or ClusterOptions(), self.faults)
        self.token = token
        self.address = address
        self.resources = ResourceHandler(self.registry)
        self.audit = audit.AuditLog(state_dir / "audit.log") if self.controllers.options.audit_log else None
        self.snapshots = Snapshots(state_dir / "snapshots", self)
        self.seed()

    def seed(self) -> None:
        """A new cluster's objects: system namespaces, their default ServiceAccounts,
        the kubernetes Service and the default RBAC roles. Idempotent."""
        ns = lookup("", "v1", "namespaces")
        assert ns is not None
        opts = WriteOptions()
        with self.store.transaction():
            for name in SYSTEM_NAMESPACES:
                if self.store.get("namespaces", "", name) is None:
                    self.registry.create(ns, "", {"metadata": {"name": name}}, opts)
            svc = lookup("", "v1", "services")
            assert svc is not None
            if self.store.get("services", "default", "kubernetes") is None:
                self.registry.create(svc, "default", {
                    "metadata": {"name": "kubernetes", "labels": {
                        "component": "apiserver", "provider": "kubernetes"}},
                    "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 6443}]},
                }, opts)
            for obj in rbac.bootstrap_objects():
                res = lookup("rbac.authorization.k8s.io", "v1", obj["kind"].lower() + "s")
                assert res is not None
                if self.store.get(res.storage_key, "", obj["metadata"]["name"]) is None:
                    self.registry.create(res, "", obj, opts)

    # --- HTTP ----------------------------------------------------------------------

    def authenticate(self, request: Request) -> rbac.User:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.token:
            raise Unauthorized("Unauthorized")
        user = rbac.ADMIN
        name = request.headers.get("impersonate-user")
        groups = request.headers.getlist("impersonate-group")
        if name:
            user = rbac.User(name, (*groups, rbac.AUTHENTICATED))
        elif groups:
            raise Forbidden("impersonating groups requires impersonating a user as well")
        return user

    def authorize(self, user: rbac.User, attrs: rbac.Attributes) -> None:
        ok, _ = rbac.allowed(self.store, user, attrs)
        if not ok:
            raise Forbidden(rbac.forbidden_message(user, attrs), name=attrs.name or None,
                            kind=attrs.resource or None, group=attrs.group or None)

    async def dispatch(self, request: Request) -> Response:
        started = time.time()
        user: rbac.User | None = None
        attrs: rbac.Attributes | None = None
        try:
            path = request.url.path
            if path in OPEN_PATHS:
                return PlainTextResponse("ok")
            user = self.authenticate(request)
            if path == faults_http.PATH:
                response = await faults_http.handle(self.faults, request, user)
            elif snapshots_http.serves(path):
                response = await snapshots_http.handle(self.snapshots, request, user)
            elif path.startswith(("/api", "/apis")) and (fault := self.faults.take_api_fault()):
                if fault == "api-throttle":  # as API Priority and Fairness rejects: 429, Retry-After 1
                    response = json_response(TooManyRequests("Too many requests, please try again later.").status(),
                                             429)
                    response.headers["Retry-After"] = "1"
                else:
                    raise ServiceUnavailable("the server is currently unable to handle the request")
            elif path.startswith(("/api/", "/apis/")) and not _is_discovery(path):
                route = routing.parse(path)
                attrs = attributes(request, route)
                self.authorize(user, attrs)
                response = await self.resources.handle(request, route, user)
            else:
                attrs = rbac.Attributes(verb=request.method.lower(), path=path)
                self.authorize(user, attrs)
                response = self.static(request, path)
        except StatusError as exc:
            response = json_response(exc.status(), exc.code)
        except Exception as exc:  # a bug: answer as the API server would, and log it
            log.exception("internal error on %s %s", request.method, request.url.path)
            error = InternalError(f"Internal error occurred: {type(exc).__name__}: {exc}")
            response = json_response(error.status(), error.code)
        if self.audit is not None:
            uri = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            self.audit.record(method=request.method, uri=uri, user=user, attrs=attrs, code=response.status_code,
                              started=started, dry_run="dryRun=All" in request.url.query)
        return response

    def static(self, request: Request, path: str) -> Response:
        if request.method != "GET":
            raise NotFound("the server could not find the requested resource")
        doc: Any
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            doc = discovery.VERSION
        elif path == "/api":
            doc = discovery.api_versions(self.address)
        elif path == "/apis":
            doc = discovery.api_group_list()
        elif parts[:1] == ["api"] and len(parts) == 2:
            doc = discovery.resource_list("", parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 2:
            doc = discovery.api_group(parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 3:
            doc = discovery.resource_list(parts[1], parts[2])
        elif path == "/openapi/v3":
            doc = discovery.openapi_index()
        elif parts[:2] == ["openapi", "v3"]:
            rest = parts[2:]
            if rest[:1] == ["api"] and len(rest) == 2:
                body = discovery.openapi_doc("", rest[1])
            elif rest[:1] == ["apis"] and len(rest) == 3:
                body = discovery.openapi_doc(rest[1], rest[2])
            else:
                body = None
            if body is None:
                raise NotFound("the server could not find the requested resource")
            return Response(body, media_type="application/json",
                            headers={"Cache-Control": "public, immutable",
                                     "Expires": "Thu, 01 Jan 2100 00:00:00 GMT"})
        else:
            doc = None
        if doc is None:
            raise NotFound("the server could not find the requested resource")
        return json_response(doc)

    def app(self) -> Starlette:
        from .streaming import Streaming

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        streams = Streaming(self)
        paths = [f"/api/v1/namespaces/{{namespace}}/pods/{{name}}/{sub}" for sub in ("exec", "attach")]
        routes: list[BaseRoute] = [WebSocketRoute(p, streams.websocket) for p in paths]
        routes += [HttpRoute(p, streams.http, methods=methods) for p in paths]
        routes.append(HttpRoute("/{path:path}", self.dispatch, methods=methods))
        return Starlette(routes=routes, lifespan=self.lifespan)

    async def start(self) -> None:
        """Start what acts on the stored state by itself: the garbage collector's unfinished
        work, the controllers, the scheduler and the kubelets (at a start, after a restore)."""
        await self.registry.collector.resume()
        await self.controllers.start()

    async def stop(self) -> None:
        """Stop all of it; :meth:`start` picks the state up again (``sandbox.snapshots``)."""
        await self.controllers.stop()
        await self.registry.collector.stop()

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.start()
        yield
        await self.stop()
        self.store.close()
        if self.audit is not None:
            self.audit.close()


def _is_discovery(path: str) -> bool:
    parts = [p for p in path.split("/") if p]
    return (parts[0] == "api" and len(parts) <= 2) or (parts[0] == "apis" and len(parts) <= 3)



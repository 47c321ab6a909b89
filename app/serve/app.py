"""The FastAPI application of ``kai serve``: routes, the error handlers, request metrics, and
the :class:`~app.serve.service.Service` started and stopped with it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tools.errors import KaiError

from . import api_routes, slack_routes
from .errors import http_error, invalid_request, kai_error, unexpected
from .metrics import Metrics
from .service import Service
from .settings import MAX_BODY, Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
TOO_LARGE = f"the body is over {MAX_BODY} bytes"
ROUTES = frozenset({"/slack/commands", "/slack/interactions", "/v1/chat", "/healthz", "/readyz", "/metrics"})


class Measured:
    """Counts requests by route and status and times them (a plain ASGI middleware: cheap)."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics = self.metrics()
            if metrics is not None:
                path = str(scope.get("path", ""))
                route = path if path in ROUTES else ("/v1/approvals" if path.startswith("/v1/approvals/")
                                                     else "other")
                metrics.requests.labels(route, str(status[0])).inc()
                metrics.latency.labels(route).observe(time.perf_counter() - started)


class Limited:
    """Bodies over 1 MiB are refused (413) before any route reads them: by their Content-Length,
    or once that much has come in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_BODY:
            response = JSONResponse({"error": "too_large", "message": TOO_LARGE}, status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise StarletteHTTPException(413, TOO_LARGE)  # routes let it through; http_error answers
            return message

        await self.app(scope, counting, send)


def create_app(settings: Settings, service: Service | None = None) -> FastAPI:
    """The app; it builds its :class:`Service` from ``settings`` when it starts (or uses ``service``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = service or Service(settings)
        app.state.service = running
        await running.start()
        try:
            yield
        finally:
            await running.stop()

    app = FastAPI(title="kai", summary="Kubernetes ChatOps: Slack commands, approvals and a JSON API",
                  version=_version(), lifespan=lifespan)
    app.include_router(slack_routes.router)
    app.include_router(api_routes.router)
    app.add_exception_handler(KaiError, kai_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.get("/healthz", tags=["health"], summary="The process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="The database and the cluster answer",
             responses={503: {"description": "not ready"}})
    async def readyz(request: Request) -> Response:
        problems = await request.app.state.service.ready()
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        body, content_type = request.app.state.service.metrics.render()
        return Response(body, media_type=content_type)

    app.add_middleware(Limited)
    app.add_middleware(Measured, metrics=lambda: getattr(getattr(app.state, "service", None), "metrics", None))
    return app


ERROR_SCHEMA = {"type": "object", "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
REFUSALS = {"400": "invalid input", "401": "no or a wrong token or signature", "403": "refused by the policy",
            "409": "already received or already decided", "413": "the body is over 1 MiB",
            "415": "another content type", "429": "over the rate limit", "503": "the database does not answer"}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, saying what kai answers: 400 (not 422) for invalid input, and its refusals."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        for path, operations in doc.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                if path.startswith(("/slack/", "/v1/")):
                    for code, why in REFUSALS.items():
                        responses.setdefault(code, {"description": why, "content": {
                            "application/json": {"schema": ERROR_SCHEMA}}})
        doc.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        doc.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = doc
    return app.openapi_schema


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kai")
    except PackageNotFoundError:
        return "0"

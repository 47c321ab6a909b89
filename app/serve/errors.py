"""The one place where ``kai serve`` turns errors into HTTP responses."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tools.errors import (
    Ambiguous,
    ClusterError,
    Conflict,
    Denied,
    InvalidInput,
    KaiError,
    NotFound,
    StoreError,
    UnknownTool,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


CODES = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 415: "unsupported_media_type", 429: "rate_limited", 503: "unavailable"}


log = logging.getLogger("kai.serve")


class HttpError(KaiError):
    """A request refused at the HTTP level (signature, size, content type, token, rate)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.code = CODES.get(status, "error")


class Busy(KaiError):
    """This process has as many requests waiting as it may take (KAI_MAX_QUEUE)."""

    code = "busy"


class TimedOut(KaiError):
    """A request ran longer than KAI_RUN_TIMEOUT."""

    code = "timeout"


STATUS: list[tuple[type[KaiError], int]] = [
    (InvalidInput, 400), (UnknownTool, 400), (Ambiguous, 409), (NotFound, 404), (Denied, 403), (Conflict, 409),
    (StoreError, 503), (Busy, 503), (TimedOut, 504), (ClusterError, 502),
]


def status_of(exc: KaiError) -> int:
    if isinstance(exc, HttpError):
        return exc.status
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 500)


def public(exc: KaiError) -> str:
    """What a caller is told: a database's own words (its host, its driver) go to the log only."""
    if isinstance(exc, StoreError):
        log.warning("%s", exc.message)
        return "kai's database does not answer; nothing was done, try again later"
    return exc.message


async def kai_error(_request: Request, exc: Exception) -> Response:
    from starlette.responses import JSONResponse

    assert isinstance(exc, KaiError)
    headers = exc.headers if isinstance(exc, HttpError) else {}
    return JSONResponse({"error": exc.code, "message": public(exc)}, status_code=status_of(exc), headers=headers)


async def unexpected(_request: Request, exc: Exception) -> Response:
    """Anything else: logged with its traceback, answered in kai's shape without the details."""
    from starlette.responses import JSONResponse

    log.error("request failed", exc_info=exc)
    return JSONResponse({"error": "internal", "message": "kai failed on this request; see its log"},
                        status_code=500)


async def http_error(_request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, method not allowed, a body it cannot parse) in
    the same shape as kai's."""
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse

    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": CODES.get(exc.status_code, "error"), "message": str(exc.detail)},
                        status_code=exc.status_code, headers=exc.headers)


async def invalid_request(_request: Request, exc: Exception) -> Response:
    """FastAPI's validation errors as 400, with the fields named."""
    from fastapi.exceptions import RequestValidationError
    from starlette.responses import JSONResponse

    assert isinstance(exc, RequestValidationError)
    problems = [f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}" for err in exc.errors()]
    return JSONResponse({"error": "invalid_input", "message": "; ".join(problems)[:1000]}, status_code=400)

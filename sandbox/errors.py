"""Errors of the sandbox API server, each one a Kubernetes ``Status``.

Every failure a handler can meet is a :class:`StatusError`; the HTTP layer turns
it into the ``Status`` body and code a real kube-apiserver would send, at one
place (``sandbox.http``).

    StatusError
    ├── BadRequest          400  malformed bodies, strict decoding errors
    ├── Unauthorized        401
    ├── Forbidden           403
    ├── NotFound            404
    ├── MethodNotAllowed    405
    ├── AlreadyExists       409
    ├── Conflict            409  stale resourceVersion
    ├── Gone                410  expired resourceVersion
    ├── RequestTooLarge     413
    ├── UnsupportedMedia    415
    ├── Invalid             422  field errors, with causes
    └── InternalError       500
"""

from __future__ import annotations

from typing import Any


class StatusError(Exception):
    """A failure answered with a ``Status`` object."""

    code = 500
    reason = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        group: str | None = None,
        causes: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.kind = kind
        self.group = group
        self.causes = causes or []

    def status(self) -> dict[str, Any]:
        """The ``Status`` body for this error."""
        details: dict[str, Any] = {}
        if self.name is not None:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind is not None:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = self.causes
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


class BadRequest(StatusError):
    code = 400
    reason = "BadRequest"


class Unauthorized(StatusError):
    code = 401
    reason = "Unauthorized"


class Forbidden(StatusError):
    code = 403
    reason = "Forbidden"


class NotFound(StatusError):
    code = 404
    reason = "NotFound"


class MethodNotAllowed(StatusError):
    code = 405
    reason = "MethodNotAllowed"


class AlreadyExists(StatusError):
    code = 409
    reason = "AlreadyExists"


class Conflict(StatusError):
    code = 409
    reason = "Conflict"


class Gone(StatusError):
    code = 410
    reason = "Expired"


class RequestTooLarge(StatusError):
    code = 413
    reason = "RequestEntityTooLarge"


class UnsupportedMedia(StatusError):
    code = 415
    reason = "UnsupportedMediaType"


class Invalid(StatusError):
    code = 422
    reason = "Invalid"


class TooManyRequests(StatusError):
    code = 429
    reason = "TooManyRequests"


class InternalError(StatusError):
    code = 500
    reason = "InternalError"


class ServiceUnavailable(StatusError):
    code = 503
    reason = "ServiceUnavailable"


def field_cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict[str, str]:
    """One entry of ``details.causes`` as the API server writes it."""
    return {"reason": reason, "message": message, "field": field}

"""kai's one error hierarchy. Front ends catch :class:`KaiError` once and print its message.

    KaiError
    ├── InvalidInput        arguments that fail validation; nothing was sent to the cluster
    ├── UnknownTool         no tool by that name
    ├── NotFound            no such object (with the closest names there are)
    ├── Ambiguous           a name that fits several objects (with the candidates)
    ├── Denied              the policy refused the call (the reason is for the model and the human)
    │   ├── ApprovalRequired    a write needs an approval and no one can give it
    │   ├── Rejected            the approver said no
    │   └── ApprovalExpired     the approval came too late
    ├── PolicyError         a policy file that does not validate (with line and field)
    ├── ClusterError        the API server refused or could not be reached
    │   ├── Forbidden           RBAC said no
    │   ├── Conflict            the object changed or already exists
    │   └── Unavailable         connection errors, 429 and 5xx after the retries
    ├── HelmError           a Helm action failed (chart, render or release errors)
    └── StoreError          the audit database failed

Errors of the libraries underneath (``kubernetes`` ApiException, urllib3, helm-python-sdk)
are translated in :func:`translate` and nowhere else. Messages are short and never carry a
response body longer than :data:`MAX_MESSAGE`, nor a Secret's data.
"""

from __future__ import annotations

import json
from typing import Any

MAX_MESSAGE = 300


class KaiError(Exception):
    """The base of every error kai reports."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def details(self) -> dict[str, Any]:
        """What a model or a script needs beyond the message."""
        return {}


class InvalidInput(KaiError):
    code = "invalid_input"


class UnknownTool(KaiError):
    code = "unknown_tool"


class NotFound(KaiError):
    code = "not_found"

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions = suggestions or []

    def details(self) -> dict[str, Any]:
        return {"closest": self.suggestions} if self.suggestions else {}


class Ambiguous(KaiError):
    code = "ambiguous"

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates

    def details(self) -> dict[str, Any]:
        return {"candidates": self.candidates}


class Denied(KaiError):
    code = "denied"

    def __init__(self, message: str, rule: str = "") -> None:
        super().__init__(message)
        self.rule = rule

    def details(self) -> dict[str, Any]:
        return {"rule": self.rule} if self.rule else {}


class ApprovalRequired(Denied):
    code = "approval_required"


class Rejected(Denied):
    code = "rejected"


class ApprovalExpired(Denied):
    code = "approval_expired"


class PolicyError(KaiError):
    code = "policy_error"


class ClusterError(KaiError):
    code = "cluster_error"

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Forbidden(ClusterError):
    code = "forbidden"


class Conflict(ClusterError):
    code = "conflict"


class Unavailable(ClusterError):
    code = "unavailable"


class HelmError(KaiError):
    code = "helm_error"


class StoreError(KaiError):
    code = "store_error"


def trim(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_message(body: Any, fallback: str) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            doc = json.loads(body)
        except ValueError:
            return fallback
        if isinstance(doc, dict) and doc.get("message"):
            return str(doc["message"])
    return fallback


def translate(exc: BaseException) -> KaiError:
    """The kai error for an exception of the libraries underneath (``raise translate(e) from e``)."""
    if isinstance(exc, KaiError):
        return exc
    name = type(exc).__name__
    module = type(exc).__module__
    status = getattr(exc, "status", None)
    if module.startswith("kubernetes") and isinstance(status, int):
        reason = str(getattr(exc, "reason", "") or "")
        message = trim(_status_message(getattr(exc, "body", None), f"{status} {reason}".strip()))
        if status == 404:
            return NotFound(message)
        if status == 403:
            return Forbidden(message, status)
        if status == 409:
            return Conflict(message, status)
        if status == 422 or status == 400:
            return InvalidInput(message)
        if status == 429 or status >= 500 or status == 0:
            return Unavailable(message or "the API server is unavailable", status)
        return ClusterError(message, status)
    if module.startswith("urllib3") or isinstance(exc, (ConnectionError, TimeoutError)):
        return Unavailable(trim(f"cannot reach the API server: {name}: {exc}"))
    if module.startswith(("helm_python", "pyhelm3")):
        return HelmError(trim(str(exc) or name, 600))
    return KaiError(trim(f"{name}: {exc}"))

"""The JSON API for callers other than Slack: ``POST /v1/chat`` (a prompt in; the answer, each
call's decision and audit id out) and ``/v1/approvals/{id}`` (read or answer a waiting change),
with a bearer token per caller (``KAI_API_TOKENS``); the caller acts as ``api:<name>``."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from .errors import HttpError
from .settings import MAX_PROMPT

if TYPE_CHECKING:
    from .service import Service

router = APIRouter(prefix="/v1", tags=["api"])
bearer = HTTPBearer(auto_error=False, description="a token from KAI_API_TOKENS")
ApprovalId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatIn(_In):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT, description="what to do, in words")
    session: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                description="continue this conversation (or 'latest')")


class Call(BaseModel):
    tool: str
    arguments: dict[str, Any]
    status: str
    decision: str | None
    audit_id: int | None
    approval_id: str | None = None
    approver: str | None = None


class ChatOut(BaseModel):
    answer: str
    status: str
    session: str
    calls: list[Call]


class AnswerIn(_In):
    approve: bool
    note: str = Field(default="", max_length=500)


class ApprovalOut(BaseModel):
    id: str
    tool: str
    summary: str
    command: str
    preview: str
    status: str
    requested_by: str
    approver: str | None
    expires_at: datetime


class AnswerOut(BaseModel):
    approval_id: str
    status: str
    text: str
    audit_id: int
    approver: str | None


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def caller(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """``api:<name>`` for a known token; 401 otherwise; 429 over the rate."""
    service = _service(request)
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HttpError(401, "a bearer token is required", challenge)
    name = next((n for token, n in service.settings.api_tokens.items()
                 if hmac.compare_digest(token.encode(), credentials.credentials.encode())), None)
    if name is None:
        raise HttpError(401, "unknown token", challenge)
    identity = f"api:{name}"
    service.admit(identity)
    wait = service.limiter.allow(identity)
    if wait is not None:
        raise HttpError(429, f"too many requests: try again in {wait:.0f} s", {"Retry-After": str(int(wait) + 1)})
    return identity


Caller = Annotated[str, Depends(caller)]


@router.post("/chat", response_model=ChatOut, summary="Ask kai; writes wait for an approval")
async def chat(body: ChatIn, identity: Caller, request: Request) -> ChatOut:
    reply = await _service(request).run(identity, body.prompt, meta={}, session=body.session)
    calls = [Call(tool=c.tool, arguments=c.arguments, status=c.status, decision=c.decision, audit_id=c.audit_id,
                  approval_id=c.approval_id, approver=c.approver) for c in reply.result.calls]
    return ChatOut(answer=reply.result.answer, status=reply.result.status, session=reply.session, calls=calls)


@router.get("/approvals/{approval_id}", response_model=ApprovalOut, summary="A waiting (or decided) change")
async def approval(approval_id: ApprovalId, identity: Caller, request: Request) -> ApprovalOut:
    import asyncio

    found = await asyncio.to_thread(_service(request).store.approval, approval_id)
    return ApprovalOut(id=found.id, tool=found.tool, summary=found.summary, command=found.command,
                       preview=found.preview, status=found.status, requested_by=found.requested_by,
                       approver=found.approver, expires_at=found.expires_at)


@router.post("/approvals/{approval_id}", response_model=AnswerOut, summary="Approve or reject a waiting change")
async def answer(approval_id: ApprovalId, body: AnswerIn, identity: Caller, request: Request) -> AnswerOut:
    outcome, _ = await _service(request).answer(approval_id, identity, body.approve, body.note)
    return AnswerOut(approval_id=approval_id, status=outcome.status, text=outcome.text, audit_id=outcome.audit_id,
                     approver=outcome.approver)

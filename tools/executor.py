"""The one door to the cluster: every tool call by the agent, the webhook, MCP or the evals
comes through :meth:`Executor.call`, which validates it, asks the guard, previews and asks
for approval when it must, runs it, and records intent and outcome in the audit store.

Nothing raises out of :meth:`Executor.call`: errors and refusals come back as an
:class:`Outcome` whose ``text`` the model reads (so it can explain), with the audit id.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel

from .budget import render, truncate
from .context import ToolContext
from .errors import ApprovalExpired, ApprovalRequired, Denied, InvalidInput, KaiError, Rejected, translate
from .guard import Caller, Guard, Verdict
from .policy import Policy
from .redact import redact_arguments
from .registry import REGISTRY, Change, Registry, Tool, ToolInput, ToolResult

if TYPE_CHECKING:
    from .audit import AuditStore
    from .store import Approval

log = logging.getLogger("kai.tools")
T = TypeVar("T")
MAX_REPREVIEWS = 3


@dataclass(frozen=True)
class Preview:
    summary: str
    command: str
    diff: str


@dataclass(frozen=True)
class ApprovalRequest:
    """What the front end shows a human before a write."""

    approval_id: str
    tool: str
    risk: str
    caller: Caller
    preview: Preview
    reason: str
    expires_at: datetime


@dataclass(frozen=True)
class ApprovalAnswer:
    approved: bool
    approver: str
    note: str = ""


ApproveFn = Callable[[ApprovalRequest], Awaitable[ApprovalAnswer]]
Status = Literal["ok", "denied", "approval_required", "approval_pending", "rejected", "expired", "error"]


@dataclass(frozen=True)
class Defer:
    """``approve=`` for front ends that ask asynchronously (Slack buttons, the JSON API): the
    call is kept in the database with its approval, and any kai process on that database runs
    it when a permitted human answers (:meth:`Executor.answer`), even after a restart. ``meta``
    is what the front end needs then (where to post the outcome)."""

    meta: dict[str, Any] = field(default_factory=dict)


class Outcome(BaseModel):
    """A call's result as the agent and front ends see it."""

    tool: str
    status: Status
    text: str  # what the model reads: the bounded result, or why not
    audit_id: int
    decision: str | None = None
    error_code: str | None = None
    details: dict[str, Any] = {}
    result: dict[str, Any] | None = None
    preview: dict[str, str] | None = None
    approval_id: str | None = None
    approver: str | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Executor:
    def __init__(self, ctx: ToolContext, policy: Policy, store: AuditStore, *, registry: Registry = REGISTRY,
                 now: Callable[[], datetime] | None = None) -> None:
        self.ctx = ctx
        self.policy = policy
        self.store = store
        self.registry = registry
        self.now = now or (lambda: datetime.now(UTC))
        self.guard = Guard(policy, clock=lambda: self.now().timestamp())
        self._context_name: str | None = None
        self._schemas: list[dict[str, Any]] | None = None

    @property
    def context_name(self) -> str:
        if self._context_name is None:
            self._context_name = self.ctx.cluster.context_name
        return self._context_name

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def call(self, name: str, arguments: dict[str, Any], caller: Caller,
                   approve: ApproveFn | Defer | None = None) -> Outcome:
        """Run one tool call through the guard; never raises."""
        started = time.monotonic()
        known = self.registry.find(name)
        risk = known.risk if known else "unknown"
        call_id = await self._db(self.store.begin, caller=caller.identity, source=caller.source,
                                 session=caller.session, tool=name, risk=risk,
                                 arguments=redact_arguments(arguments), context=self.context_name)
        run = _Run(self, call_id, name, caller, started)
        try:
            tool = self.registry.get(name)
            args = tool.validate(arguments)
            verdict = self.guard.before(tool, args, caller)
            if verdict.decision == "deny":
                return await run.refuse(verdict)
            if not tool.writes:
                await self._db(self.store.decide, call_id, decision="allow")
                return await run.done(await tool.run(self.ctx, args), "allow")
            return await self._write(run, tool, args, arguments, approve)
        except KaiError as exc:
            return await run.fail(exc)
        except Exception as exc:
            log.exception("tool %s failed", name)
            return await run.fail(translate(exc))

    async def _write(self, run: _Run, tool: Tool, args: ToolInput, arguments: dict[str, Any],
                     approve: ApproveFn | Defer | None) -> Outcome:
        change = await tool.plan(self.ctx, args)
        for _ in range(MAX_REPREVIEWS):
            verdict = self.guard.after(tool, change)
            if verdict.decision != "deny":
                rbac = await self.guard.rbac(self.ctx, tool, change, run.caller)
                verdict = rbac if rbac.decision == "deny" else verdict
            if verdict.decision == "deny":
                return await run.refuse(verdict, change)
            if verdict.decision == "allow":
                await self._db(self.store.decide, run.call_id, decision="allow", preview=change.diff,
                               command=change.command)
                return await self._apply(run, change, "allow")
            await self._db(self.store.decide, run.call_id, decision="confirm", reason=verdict.reason,
                           preview=change.diff, command=change.command)
            deferred = isinstance(approve, Defer)
            # a deferred answer comes minutes later: bound to what the human saw (the previewed
            # change), not to resourceVersions that any status update moves
            fingerprint = (_seen(tool.name, arguments, change) if deferred
                           else _fingerprint(tool.name, arguments, change))
            approval = await self._db(
                self.store.create_approval, call_id=run.call_id, tool=tool.name, fingerprint=fingerprint,
                summary=change.summary, preview=change.diff, command=change.command, requested_by=run.caller.identity,
                expires_at=self.now() + timedelta(seconds=self.policy.approval.ttl_seconds),
                meta=_kept(tool.name, arguments, run.caller, approve) if isinstance(approve, Defer) else None)
            preview = Preview(change.summary, change.command, change.diff)
            if deferred:
                return await run.pending(change, approval.id, approval.expires_at)
            if not callable(approve):
                return await run.fail(ApprovalRequired(
                    f"approval required: {change.summary} (`{change.command}`); no one here can approve it",
                    "approval"), change, approval_id=approval.id)
            answer = await approve(ApprovalRequest(approval.id, tool.name, tool.risk, run.caller, preview,
                                                   verdict.reason, approval.expires_at))
            if not self.policy.may_approve(answer.approver, run.caller.identity):
                return await run.fail(Denied(f"{answer.approver} may not approve changes requested by "
                                             f"{run.caller.identity}", "approval"), change, approval_id=approval.id)
            await self._db(self.store.decide_approval, approval.id, approve=answer.approved,
                           approver=answer.approver, now=self.now())  # raises ApprovalExpired when late
            if not answer.approved:
                return await run.fail(Rejected(f"{answer.approver} rejected: {change.summary}"
                                               + (f" ({answer.note})" if answer.note else ""), "approval"),
                                      change, approval_id=approval.id, approver=answer.approver)
            again = await tool.plan(self.ctx, args)
            if _fingerprint(tool.name, arguments, again) != fingerprint:
                change = again  # the object changed since the preview: preview and ask again
                continue
            if not await self._db(self.store.consume_approval, approval.id, fingerprint, now=self.now()):
                return await run.fail(ApprovalExpired(f"the approval for {change.summary} is no longer valid",
                                                      "approval"), change, approval_id=approval.id)
            await self._db(self.store.approved, run.call_id, approver=answer.approver, approval_id=approval.id)
            run.approver, run.approval_id = answer.approver, approval.id
            return await self._apply(run, again, "confirm")
        return await run.fail(KaiError(f"{tool.name}: the objects kept changing while waiting for approval; "
                                       "nothing was done"), change)

    async def answer(self, approval_id: str, approver: str, approved: bool, note: str = "",
                     at: datetime | None = None) -> Outcome:
        """A human's answer to a deferred call (:class:`Defer`), in any kai process: check that
        ``approver`` may answer, record it, and run the call if approved — planned again, and only
        if it is still the change that was previewed. ``at``: when the answer was given (accepted
        by a front end), if not now. Raises :class:`NotFound` (no such approval),
        :class:`InvalidInput` (not a deferred call), :class:`Denied` (this approver may not; the
        approval stays open) and :class:`Conflict` (already answered). What became of the call is
        the returned :class:`Outcome`, as from :meth:`call`. Once answered, the call's kept
        arguments are forgotten (the audit row keeps them redacted)."""
        approval = await self._db(self.store.approval, approval_id)
        kept = _kept_call(approval)
        caller = Caller(kept["identity"], kept.get("session"))
        if not self.policy.may_approve(approver, approval.requested_by):
            raise Denied(f"{approver} may not approve changes requested by {approval.requested_by}", "approval")
        run = _Run(self, approval.call_id, approval.tool, caller, time.monotonic())
        run.approval_id = approval_id
        when = at or self.now()
        try:
            await self._db(self.store.decide_approval, approval_id, approve=approved, approver=approver, now=when)
        except ApprovalExpired as exc:
            await self._db(self.store.forget_call, approval_id)
            return await run.fail(exc)
        run.approver = approver
        try:
            if not approved:
                return await run.fail(Rejected(f"{approver} rejected: {approval.summary}"
                                               + (f" ({note})" if note else ""), "approval"))
            return await self._run_approved(run, approval, kept, when)
        except KaiError as exc:
            return await run.fail(exc)
        except Exception as exc:
            log.exception("approved call %s failed", approval.tool)
            return await run.fail(translate(exc))
        finally:
            await self._db(self.store.forget_call, approval_id)

    async def _run_approved(self, run: _Run, approval: Approval, kept: dict[str, Any], when: datetime) -> Outcome:
        tool = self.registry.get(approval.tool)
        args = tool.validate(kept["arguments"])
        verdict = self.guard.before(tool, args, run.caller)  # the policy or the rate may have changed since
        if verdict.decision == "deny":
            return await run.refuse(verdict)
        change = await tool.plan(self.ctx, args)
        verdict = self.guard.after(tool, change)
        if verdict.decision != "deny":
            verdict = await self.guard.rbac(self.ctx, tool, change, run.caller)
        if verdict.decision == "deny":
            return await run.refuse(verdict, change)
        if _seen(tool.name, kept["arguments"], change) != approval.fingerprint:
            return await run.fail(ApprovalExpired(f"{change.summary}: the objects changed since the preview, so "
                                                  "this approval no longer applies; nothing was done, ask again",
                                                  "approval"), change)
        if not await self._db(self.store.consume_approval, approval.id, approval.fingerprint, now=when):
            return await run.fail(ApprovalExpired(f"the approval for {change.summary} is no longer valid",
                                                  "approval"), change)
        await self._db(self.store.approved, run.call_id, approver=run.approver, approval_id=approval.id)
        return await self._apply(run, change, "confirm")

    async def expire(self) -> list[Approval]:
        """Expire the approvals past their time; deferred calls among them end ``expired`` in
        the audit. Each is returned by exactly one process (to update its message)."""
        late = await self._db(self.store.expire_approvals, self.now())
        for approval in late:
            if _is_kept(approval):
                await self._db(self.store.finish, approval.call_id, outcome="expired",
                               error=f"no answer before {approval.expires_at:%H:%M:%S} UTC", duration_ms=0.0)
                await self._db(self.store.forget_call, approval.id)
        return late

    async def _apply(self, run: _Run, change: Change, decision: str) -> Outcome:
        self.guard.record_write(run.caller)
        result = await change.apply()
        return await run.done(result, decision, change)

    def schemas(self) -> list[dict[str, Any]]:
        """The tools this policy lets anyone use at all, as JSON schemas (built once: a model is
        sent them on every turn; each caller gets its own copy to change)."""
        if self._schemas is None:
            allowed = {c for caps in self.policy.roles.values() for c in caps}
            if self.policy.mode == "read-only":
                allowed &= {"read"}
            self._schemas = [t.schema() for t in self.registry if t.risk in allowed]
        return copy.deepcopy(self._schemas)

    def close(self) -> None:
        self.guard.close()


class _Run:
    """One call's bookkeeping: turning results and errors into outcomes and audit rows."""

    def __init__(self, executor: Executor, call_id: int, tool: str, caller: Caller, started: float) -> None:
        self.executor = executor
        self.call_id = call_id
        self.tool = tool
        self.caller = caller
        self.started = started
        self.approver: str | None = None
        self.approval_id: str | None = None

    def _ms(self) -> float:
        return (time.monotonic() - self.started) * 1000

    async def done(self, result: ToolResult, decision: str, change: Change | None = None) -> Outcome:
        text = truncate(render(result), self.executor.ctx.budget)
        duration = self._ms()
        await self.executor._db(self.executor.store.finish, self.call_id, outcome="ok", result=text,
                                duration_ms=duration)
        return Outcome(tool=self.tool, status="ok", text=text, audit_id=self.call_id, decision=decision,
                       result=result.model_dump(mode="json"), preview=_preview(change),
                       approval_id=self.approval_id, approver=self.approver, duration_ms=duration)

    async def pending(self, change: Change, approval_id: str, expires_at: datetime) -> Outcome:
        """A deferred call: it waits in the database for an answer (audit outcome ``awaiting``)."""
        duration = self._ms()
        text = (f"approval_pending: {change.summary} (`{change.command}`) waits for approval {approval_id}, "
                f"until {expires_at:%H:%M:%S} UTC; it runs once someone permitted approves it")
        await self.executor._db(self.executor.store.finish, self.call_id, outcome="awaiting", duration_ms=duration)
        return Outcome(tool=self.tool, status="approval_pending", text=text, audit_id=self.call_id,
                       decision="confirm", preview=_preview(change), approval_id=approval_id, duration_ms=duration,
                       details={"expires_at": expires_at.isoformat()})

    async def refuse(self, verdict: Verdict, change: Change | None = None) -> Outcome:
        await self.executor._db(self.executor.store.decide, self.call_id, decision="deny", reason=verdict.reason,
                                preview=change.diff if change else None, command=change.command if change else None)
        return await self.fail(Denied(verdict.reason, verdict.rule), change)

    async def fail(self, error: KaiError, change: Change | None = None, *, approval_id: str | None = None,
                   approver: str | None = None) -> Outcome:
        status: Status = "error"
        if isinstance(error, ApprovalRequired):
            status = "approval_required"
        elif isinstance(error, Rejected):
            status = "rejected"
        elif isinstance(error, ApprovalExpired):
            status = "expired"
        elif isinstance(error, Denied):
            status = "denied"
        outcome = {"error": "error", "denied": "denied", "approval_required": "denied", "rejected": "rejected",
                   "expired": "expired"}[status]
        duration = self._ms()
        message = f"{error.code}: {error.message}"
        details = error.details()
        if details:
            message += "\n" + render(details).rstrip()
        await self.executor._db(self.executor.store.finish, self.call_id, outcome=outcome, error=error.message,
                                duration_ms=duration)
        return Outcome(tool=self.tool, status=status, text=message, audit_id=self.call_id,
                       decision="deny" if status == "denied" else ("confirm" if status != "error" else None),
                       error_code=error.code, details=details,
                       preview=_preview(change), approval_id=approval_id or self.approval_id,
                       approver=approver or self.approver, duration_ms=duration)


def _preview(change: Change | None) -> dict[str, str] | None:
    if change is None:
        return None
    return {"summary": change.summary, "command": change.command, "diff": change.diff}


def _kept(tool: str, arguments: dict[str, Any], caller: Caller, defer: Defer) -> dict[str, Any]:
    """What a deferred approval keeps to run the call later: the exact arguments (the audit row
    has them redacted), who asked, and the front end's own ``meta``."""
    return {"call": {"tool": tool, "arguments": arguments, "identity": caller.identity, "session": caller.session},
            "front": defer.meta}


def _is_kept(approval: Approval) -> bool:
    try:
        return bool(approval.meta) and "call" in json.loads(approval.meta or "{}")
    except ValueError:
        return False


def _kept_call(approval: Approval) -> dict[str, Any]:
    if not _is_kept(approval):
        raise InvalidInput(f"approval {approval.id} belongs to an interactive session; answer it there")
    call = json.loads(approval.meta or "{}")["call"]
    assert isinstance(call, dict)
    return call


def front_meta(approval: Approval) -> dict[str, Any]:
    """The front end's ``meta`` kept with a deferred approval ({} for others)."""
    if not _is_kept(approval):
        return {}
    front = json.loads(approval.meta or "{}").get("front") or {}
    return front if isinstance(front, dict) else {}


def _seen(tool: str, arguments: dict[str, Any], change: Change) -> str:
    """A deferred approval's binding: the tool, its exact arguments, and the change as previewed
    (summary, command, diff). Planned again when answered, the call runs only if these are the
    same: someone else's edit of what it changes voids it; a status update does not."""
    canonical = json.dumps(arguments, sort_keys=True, default=str)
    return hashlib.sha256(f"{tool}\n{canonical}\n{change.summary}\n{change.command}\n{change.diff}".encode()
                          ).hexdigest()


def _fingerprint(tool: str, arguments: dict[str, Any], change: Change) -> str:
    """An approval's binding: the tool, its exact arguments, and the change with each
    object's resourceVersion at preview time."""
    canonical = json.dumps(arguments, sort_keys=True, default=str)
    return hashlib.sha256(f"{tool}\n{canonical}\n{change.fingerprint()}".encode()).hexdigest()

"""Approvals: a human's yes or no to one previewed call, kept in the database so that any kai
process on it (a restarted one, another replica) can take the answer.

    create_approval ──► pending ──decide_approval──► approved ──consume_approval──► used (once)
                           │                     └─► rejected
                           └──(past expires_at)────► expired

Each transition is one conditional ``UPDATE`` whose row count says whether it happened, so two
processes racing for the same approval cannot both win.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from .errors import ApprovalExpired, Conflict, InvalidInput, NotFound
from .store import Approval, Store, aware, utcnow


def _now(now: datetime | None) -> datetime:
    return utcnow() if now is None else aware(now, "now")


class ApprovalStore(Store):
    """The ``approvals`` table (the base of :class:`~tools.audit.AuditStore`)."""

    def create_approval(self, *, call_id: int, tool: str, fingerprint: str, summary: str, preview: str,
                        command: str, requested_by: str, expires_at: datetime,
                        meta: dict[str, Any] | None = None) -> Approval:
        """A pending approval of audit record ``call_id``, with a random URL-safe id. ``meta``
        is what the front end needs later (where the approval message is, to update it)."""
        if not fingerprint:
            raise InvalidInput("an approval needs the fingerprint of the call it approves")
        approval = Approval(
            id=secrets.token_urlsafe(18), call_id=call_id, tool=tool, fingerprint=fingerprint, summary=summary,
            preview=preview, command=command, requested_by=requested_by, status="pending",
            created_at=utcnow(), expires_at=aware(expires_at, "expires_at"),
            meta=json.dumps(meta, sort_keys=True, default=str) if meta is not None else None)
        with self.transaction("recording an approval request") as session:
            session.add(approval)
        return self.approval(approval.id)

    def approval(self, approval_id: str) -> Approval:
        with self.reading("reading an approval") as session:
            found = session.get(Approval, approval_id)
        if found is None:
            raise NotFound(f"no approval {approval_id!r}")
        return found

    def decide_approval(self, approval_id: str, *, approve: bool, approver: str,
                        now: datetime | None = None) -> Approval:
        """Approve or reject a pending approval. Too late: it becomes ``expired`` and
        :class:`ApprovalExpired` is raised; already decided: :class:`Conflict`."""
        when = _now(now)
        status = "approved" if approve else "rejected"
        with self.transaction("deciding an approval") as session:
            done = session.exec(
                update(Approval)
                .where(col(Approval.id) == approval_id, col(Approval.status) == "pending",
                       col(Approval.expires_at) >= when)
                .values(status=status, approver=approver, decided_at=when))
        if done.rowcount == 1:
            return self.approval(approval_id)
        current = self.approval(approval_id)  # NotFound for an unknown id
        if current.status == "pending":  # it is past its time
            self._expire(approval_id, when)
            current = self.approval(approval_id)
        if current.status == "expired":
            raise ApprovalExpired(f"the approval of {current.tool} expired at {current.expires_at:%H:%M:%S} UTC; "
                                  "ask again", "approval")
        who = f" by {current.approver}" if current.approver else ""
        raise Conflict(f"the approval of {current.tool} was already {current.status}{who}")

    def consume_approval(self, approval_id: str, fingerprint: str, now: datetime | None = None) -> bool:
        """Use an approval for the call with ``fingerprint``: True exactly once, when it is
        approved, unused, not expired and for this very call; False otherwise."""
        when = _now(now)
        with self.transaction("using an approval") as session:
            done = session.exec(
                update(Approval)
                .where(col(Approval.id) == approval_id, col(Approval.status) == "approved",
                       col(Approval.used_at).is_(None), col(Approval.expires_at) >= when,
                       col(Approval.fingerprint) == fingerprint)
                .values(used_at=when))
        return done.rowcount == 1

    def forget_call(self, approval_id: str) -> None:
        """Drop the arguments a deferred call kept in ``meta`` (they may hold what the audit row
        redacts), once its approval is answered or expired: nothing needs them any more."""
        with self.transaction("forgetting a kept call") as session:
            found = session.get(Approval, approval_id)
            meta = json.loads(found.meta) if found is not None and found.meta else {}
            call = meta.get("call")
            if found is not None and isinstance(call, dict) and call.get("arguments") is not None:
                call["arguments"] = None
                found.meta = json.dumps(meta, sort_keys=True, default=str)

    def pending_approvals(self, now: datetime | None = None) -> list[Approval]:
        """Approvals still waiting for an answer and not yet expired, oldest first."""
        when = _now(now)
        with self.reading("listing approvals") as session:
            return list(session.exec(
                select(Approval)
                .where(col(Approval.status) == "pending", col(Approval.expires_at) >= when)
                .order_by(col(Approval.created_at), col(Approval.id))).all())

    def expire_approvals(self, now: datetime | None = None) -> list[Approval]:
        """Mark pending approvals past their time ``expired`` and return them (so a front end
        can update their messages); each is returned by exactly one caller."""
        when = _now(now)
        with self.reading("listing approvals") as session:
            late = list(session.exec(
                select(Approval.id).where(col(Approval.status) == "pending", col(Approval.expires_at) < when)).all())
        return [self.approval(i) for i in late if self._expire(i, when)]

    def _expire(self, approval_id: str, when: datetime) -> bool:
        with self.transaction("expiring an approval") as session:
            done = session.exec(
                update(Approval)
                .where(col(Approval.id) == approval_id, col(Approval.status) == "pending",
                       col(Approval.expires_at) < when)
                .values(status="expired", decided_at=when))
        return done.rowcount == 1

"""The audit trail: every tool call, in SQLite (``<state>/kai.db``) or PostgreSQL
(``KAI_DATABASE_URL``).

A call is written in steps, each its own transaction, so what is on disk is always true:

    begin    the intent, before anything runs: caller, tool, redacted arguments, context;
             decision ``pending``, outcome ``unknown``
    decide   the guard's ``allow`` / ``confirm`` / ``deny``, its reason, preview and command
    approved who approved it, and which approval
    finish   ``ok`` / ``error`` / ``denied`` / ``rejected`` / ``expired``, the result or
             error, the duration; a deferred call (one waiting for a Slack or API approval) is
             finished ``awaiting`` and finished again when the approval is answered or expires

A process that dies between ``begin`` and ``finish`` leaves its row with outcome ``unknown``,
never no row. Approvals (:mod:`tools.approvals`) live in the same database.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import update
from sqlmodel import col, select

from .approvals import ApprovalStore
from .errors import InvalidInput, NotFound
from .redact import redact_arguments
from .store import Approval, ApprovalStatus, AuditRecord, Decision, Outcome, aware, database_url, utcnow

__all__ = ["Approval", "ApprovalStatus", "AuditRecord", "AuditStore", "Decision", "Outcome", "database_url"]

RESULT_LIMIT = 8 * 1024
ERROR_LIMIT = 4 * 1024
PREVIEW_LIMIT = 64 * 1024
DECISIONS = frozenset(get_args(Decision)) - {"pending"}
OUTCOMES = frozenset(get_args(Outcome)) - {"unknown"}


def clip(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if text is None or len(text) <= limit:
        return text
    note = f"\n… {len(text) - limit} more characters"
    return text[: limit - len(note)] + note


def arguments_json(arguments: dict[str, Any]) -> str:
    """The arguments as the audit row keeps them: redacted (again), as JSON."""
    return json.dumps(redact_arguments(arguments), sort_keys=True, ensure_ascii=False, default=str)


class AuditStore(ApprovalStore):
    """Audit records and approvals on one database URL (see :func:`database_url`)."""

    def begin(self, *, caller: str, source: str, session: str | None, tool: str, risk: str,
              arguments: dict[str, Any], context: str) -> int:
        """Record a call's intent before it runs; returns the record's id."""
        record = AuditRecord(started_at=utcnow(), caller=caller, source=source, session=session, tool=tool,
                             risk=risk, arguments=arguments_json(arguments), context=context)
        with self.transaction("recording a call") as db:
            db.add(record)
            db.flush()
            call_id = record.id
        assert call_id is not None
        return call_id

    def decide(self, call_id: int, *, decision: str, reason: str | None = None, preview: str | None = None,
               command: str | None = None) -> None:
        """Record the guard's decision on a call."""
        if decision not in DECISIONS:
            raise InvalidInput(f"decision must be one of {', '.join(sorted(DECISIONS))}, not {decision!r}")
        self._update(call_id, "recording a decision", decision=decision, reason=clip(reason, ERROR_LIMIT),
                     preview=clip(preview, PREVIEW_LIMIT), command=command)

    def approved(self, call_id: int, *, approver: str | None, approval_id: str | None) -> None:
        """Record who approved a call, and by which approval."""
        self._update(call_id, "recording an approval", approver=approver, approval_id=approval_id)

    def finish(self, call_id: int, *, outcome: str, result: str | None = None, error: str | None = None,
               duration_ms: float) -> None:
        """Record how a call ended."""
        if outcome not in OUTCOMES:
            raise InvalidInput(f"outcome must be one of {', '.join(sorted(OUTCOMES))}, not {outcome!r}")
        self._update(call_id, "recording an outcome", outcome=outcome, result=clip(result, RESULT_LIMIT),
                     error=clip(error, ERROR_LIMIT), duration_ms=duration_ms, finished_at=utcnow())

    def records(self, *, since: datetime | None = None, caller: str | None = None, tool: str | None = None,
                decision: str | None = None, session: str | None = None, limit: int = 100) -> list[AuditRecord]:
        """Records matching every filter given, newest first."""
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, not {limit}")
        query = select(AuditRecord)
        if since is not None:
            query = query.where(col(AuditRecord.started_at) >= aware(since, "since"))
        if caller is not None:
            query = query.where(col(AuditRecord.caller) == caller)
        if tool is not None:
            query = query.where(col(AuditRecord.tool) == tool)
        if decision is not None:
            query = query.where(col(AuditRecord.decision) == decision)
        if session is not None:
            query = query.where(col(AuditRecord.session) == session)
        query = query.order_by(col(AuditRecord.started_at).desc(), col(AuditRecord.id).desc()).limit(limit)
        with self.reading("listing audit records") as db:
            return list(db.exec(query).all())

    def get(self, call_id: int) -> AuditRecord:
        with self.reading("reading an audit record") as db:
            found = db.get(AuditRecord, call_id)
        if found is None:
            raise NotFound(f"no audit record {call_id}")
        return found

    def _update(self, call_id: int, doing: str, **values: Any) -> None:
        with self.transaction(doing) as db:
            done = db.exec(update(AuditRecord).where(col(AuditRecord.id) == call_id).values(**values))
        if done.rowcount != 1:
            raise NotFound(f"no audit record {call_id}")

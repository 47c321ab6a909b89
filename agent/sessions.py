"""Conversations kept in kai's database, beside the audit trail: start one, add its turns as
they happen, resume it (by id or ``latest``), list and delete them.

:class:`SessionStore` is the :class:`~tools.audit.AuditStore` with two more tables, so the
REPL, the one-shot CLI and the executor share one engine (SQLite file or PostgreSQL).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import delete, func, update
from sqlalchemy.types import Text
from sqlmodel import Field, SQLModel, col, select

from tools.audit import AuditStore
from tools.errors import InvalidInput, NotFound, StoreError
from tools.store import UTCDateTime, utcnow

from .messages import Message

LATEST = "latest"
TITLE_LIMIT = 80


class ChatSession(SQLModel, table=True):
    """One conversation: where it ran and with which model."""

    __tablename__ = "chat_sessions"

    id: str = Field(primary_key=True, max_length=32)
    title: str = ""
    provider: str
    model: str
    context: str = ""
    namespace: str = ""
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ChatMessage(SQLModel, table=True):
    """One message of a conversation, as JSON, in order."""

    __tablename__ = "chat_messages"

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(foreign_key="chat_sessions.id", index=True, max_length=32)
    seq: int
    body: str = Field(sa_type=Text)


@dataclass(frozen=True)
class SessionInfo:
    id: str
    title: str
    provider: str
    model: str
    context: str
    namespace: str
    created_at: datetime
    updated_at: datetime
    messages: int


class SessionStore(AuditStore):
    """Audit records, approvals and conversations on one database URL."""

    def new_session(self, *, provider: str, model: str, context: str = "", namespace: str = "",
                    title: str = "") -> str:
        now = utcnow()
        session = ChatSession(id=secrets.token_hex(6), title=title[:TITLE_LIMIT], provider=provider, model=model,
                              context=context, namespace=namespace, created_at=now, updated_at=now)
        with self.transaction("starting a session") as db:
            db.add(session)
        return session.id

    def resolve(self, session_id: str) -> str:
        """``session_id`` itself, or the most recently used session's id for ``latest``."""
        if session_id != LATEST:
            with self.reading("reading a session") as db:
                if db.get(ChatSession, session_id) is None:
                    raise NotFound(f"no session {session_id!r} (kai --list-sessions shows them)")
            return session_id
        query = select(ChatSession.id).order_by(col(ChatSession.updated_at).desc()).limit(1)
        with self.reading("finding the latest session") as db:
            found = db.exec(query).first()
        if found is None:
            raise NotFound("there is no session to resume yet")
        return found

    def append(self, session_id: str, messages: list[Message], *, start: int) -> None:
        """Store ``messages`` as the session's messages ``start``, ``start+1``…; a message
        already stored at a position is kept (appending is idempotent)."""
        with self.transaction("saving the conversation") as db:
            have = db.exec(select(func.count()).select_from(ChatMessage)
                           .where(col(ChatMessage.session_id) == session_id)).one()
            for seq, message in enumerate(messages, start):
                if seq >= have:
                    db.add(ChatMessage(session_id=session_id, seq=seq, body=message.model_dump_json()))
            db.exec(update(ChatSession).where(col(ChatSession.id) == session_id).values(updated_at=utcnow()))

    def title(self, session_id: str, title: str) -> None:
        if not title.strip():
            raise InvalidInput("a session title cannot be empty")
        with self.transaction("naming a session") as db:
            done = db.exec(update(ChatSession).where(col(ChatSession.id) == session_id)
                           .values(title=title.strip()[:TITLE_LIMIT], updated_at=utcnow()))
        if done.rowcount != 1:
            raise NotFound(f"no session {session_id!r}")

    def messages(self, session_id: str) -> list[Message]:
        query = select(ChatMessage).where(col(ChatMessage.session_id) == session_id).order_by(col(ChatMessage.seq))
        with self.reading("reading a conversation") as db:
            rows = db.exec(query).all()
        try:
            return [Message.model_validate_json(row.body) for row in rows]
        except ValidationError as exc:
            raise StoreError(f"session {session_id} has a message kai cannot read ({exc.error_count()} "
                             "problems): delete it with --delete-session") from exc

    def session(self, session_id: str) -> SessionInfo:
        for info in self.sessions(only=session_id):
            return info
        raise NotFound(f"no session {session_id!r}")

    def sessions(self, limit: int = 50, only: str | None = None) -> list[SessionInfo]:
        """Sessions, most recently used first, with their message counts."""
        counts = (select(ChatMessage.session_id, func.count().label("n"))
                  .group_by(col(ChatMessage.session_id)).subquery())
        query = (select(ChatSession, counts.c.n).join(counts, counts.c.session_id == ChatSession.id, isouter=True)
                 .order_by(col(ChatSession.updated_at).desc()).limit(limit))
        if only is not None:
            query = query.where(col(ChatSession.id) == only)
        with self.reading("listing sessions") as db:
            rows = db.exec(query).all()
        return [SessionInfo(s.id, s.title, s.provider, s.model, s.context, s.namespace, s.created_at, s.updated_at,
                            n or 0) for s, n in rows]

    def delete_session(self, session_id: str) -> None:
        with self.transaction("deleting a session") as db:
            db.exec(delete(ChatMessage).where(col(ChatMessage.session_id) == session_id))
            done = db.exec(delete(ChatSession).where(col(ChatSession.id) == session_id))
        if done.rowcount != 1:
            raise NotFound(f"no session {session_id!r}")

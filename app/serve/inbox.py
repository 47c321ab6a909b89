"""Accepted requests, kept in kai's database until they have run: a Slack command or a button
click is stored before it is acknowledged, so nothing accepted is lost and nothing runs twice.

    accept ──► queued ──claim──► running ──complete──► done | failed

``accept`` refuses a key it has seen (Slack's retries, a replayed request); ``claim`` is one
conditional ``UPDATE``, so of several kai processes on the database exactly one runs a request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.types import Text
from sqlmodel import Field, Session, SQLModel, col, select

from agent.sessions import SessionStore
from tools.errors import NotFound
from tools.store import UTCDateTime, store_error, utcnow

Kind = Literal["command", "answer"]
State = Literal["queued", "running", "done", "failed"]


class InboxRequest(SQLModel, table=True):
    """One accepted request: who sent it, what it says, where the reply goes."""

    __tablename__ = "inbox"

    id: str = Field(primary_key=True, max_length=200)  # the front end's key: unique per request
    kind: str  # command | answer
    identity: str = Field(index=True)
    channel: str = ""
    body: str = Field(sa_type=Text)  # a command's text, or an answer's JSON
    reply_to: str | None = Field(default=None, sa_type=Text)  # Slack's response_url
    state: str = Field(default="queued", index=True)
    owner: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reply: str | None = Field(default=None, sa_type=Text)  # what was said back


class ServeStore(SessionStore):
    """Audit, approvals, sessions and the inbox on one database URL."""

    def accept(self, key: str, *, kind: Kind, identity: str, body: str, channel: str = "",
               reply_to: str | None = None) -> bool:
        """Store a request; False when ``key`` was accepted before (it must not run again)."""
        row = InboxRequest(id=key, kind=kind, identity=identity, channel=channel, body=body, reply_to=reply_to,
                           created_at=utcnow())
        try:
            with self.writing, Session(self.engine) as db:
                db.add(row)
                db.commit()
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise store_error(exc, "accepting a request") from exc
        return True

    def claim(self, key: str, owner: str) -> InboxRequest | None:
        """Take a queued request to run it; None when another process took it first."""
        with self.transaction("claiming a request") as db:
            done = db.exec(update(InboxRequest)
                           .where(col(InboxRequest.id) == key, col(InboxRequest.state) == "queued")
                           .values(state="running", owner=owner, started_at=utcnow()))
        return self.request(key) if done.rowcount == 1 else None

    def complete(self, key: str, *, ok: bool, reply: str, only_running: bool = False) -> bool:
        """End a request ``done`` or ``failed``; with ``only_running``, only one still running
        (so of several processes ending an abandoned request, one does). True when it changed."""
        query = update(InboxRequest).where(col(InboxRequest.id) == key)
        if only_running:
            query = query.where(col(InboxRequest.state) == "running")
        with self.transaction("completing a request") as db:
            done = db.exec(query.values(state="done" if ok else "failed", reply=reply, finished_at=utcnow()))
        return bool(done.rowcount == 1)

    def request(self, key: str) -> InboxRequest:
        with self.reading("reading a request") as db:
            found = db.get(InboxRequest, key)
        if found is None:
            raise NotFound(f"no request {key!r}")
        return found

    def queued(self, *, older_than: timedelta = timedelta(0), limit: int = 100) -> list[InboxRequest]:
        """Requests accepted and not yet taken (left by a process that stopped), oldest first."""
        with self.reading("listing queued requests") as db:
            return list(db.exec(select(InboxRequest)
                                .where(col(InboxRequest.state) == "queued",
                                       col(InboxRequest.created_at) <= utcnow() - older_than)
                                .order_by(col(InboxRequest.created_at)).limit(limit)).all())

    def stale(self, *, older_than: timedelta) -> list[InboxRequest]:
        """Requests running for longer than ``older_than``: their process has gone."""
        with self.reading("listing stale requests") as db:
            return list(db.exec(select(InboxRequest)
                                .where(col(InboxRequest.state) == "running",
                                       col(InboxRequest.started_at) <= utcnow() - older_than)
                                .order_by(col(InboxRequest.started_at)).limit(100)).all())

    def requests(self, *, state: State | None = None, limit: int = 1000) -> list[InboxRequest]:
        query = select(InboxRequest)
        if state is not None:
            query = query.where(col(InboxRequest.state) == state)
        with self.reading("listing requests") as db:
            return list(db.exec(query.order_by(col(InboxRequest.created_at)).limit(limit)).all())

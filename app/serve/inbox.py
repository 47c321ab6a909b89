"""Accepted requests, kept in kai's database until they have run: a Slack command or a button
click is stored before it is acknowledged, so nothing accepted is lost and nothing runs twice.

    accept ──► queued ──claim──► running ──complete──► done | failed

``accept_many`` refuses a key it has seen (Slack's retries, a replayed request); ``claim`` is one
conditional ``UPDATE``, so of several kai processes on the database exactly one runs a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Table, func, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import Text
from sqlmodel import Field, SQLModel, col, select

from agent.sessions import LATEST, ChatSession, SessionStore
from tools.errors import NotFound
from tools.store import UTCDateTime, store_error, utcnow

Kind = Literal["command", "answer"]
CHUNK = 500  # rows a statement
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
    beat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # its process still at work
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reply: str | None = Field(default=None, sa_type=Text)  # what was said back


class ServeSession(SQLModel, table=True):
    """Whose conversation a session of kai serve is: only its owner may continue or read it."""

    __tablename__ = "serve_sessions"

    session_id: str = Field(foreign_key="chat_sessions.id", primary_key=True, max_length=32)
    owner: str = Field(index=True)


class ServeStore(SessionStore):
    """Audit, approvals, sessions and the inbox on one database URL."""

    def new_owned_session(self, owner: str, **details: str) -> str:
        """A new conversation (see :meth:`new_session`) that only ``owner`` may continue."""
        session_id = self.new_session(**details)
        with self.transaction("recording who a session belongs to") as db:
            db.add(ServeSession(session_id=session_id, owner=owner))
        return session_id

    def resolve_owned(self, session_id: str, owner: str) -> str:
        """``owner``'s session ``session_id`` (or their latest): another's is not found."""
        query = select(ServeSession.session_id).where(col(ServeSession.owner) == owner)
        if session_id == LATEST:
            query = query.join(ChatSession, col(ChatSession.id) == col(ServeSession.session_id)).order_by(
                col(ChatSession.updated_at).desc())
        else:
            query = query.where(col(ServeSession.session_id) == session_id)
        with self.reading("finding a session") as db:
            found = db.exec(query.limit(1)).first()
        if found is None:
            raise NotFound(f"no session {session_id!r} of {owner}" if session_id != LATEST
                           else f"{owner} has no session to continue yet")
        return found

    def accept_many(self, rows: list[dict[str, Any]]) -> list[bool]:
        """Store requests in one transaction (one disk sync for all); for each, False when its
        key was accepted before."""
        from sqlalchemy.dialects import postgresql, sqlite

        insert = sqlite.insert if self.engine.dialect.name == "sqlite" else postgresql.insert
        table: Table = InboxRequest.__table__  # type: ignore[attr-defined]
        now = utcnow()
        first: dict[str, dict[str, Any]] = {}
        for row in rows:  # a key twice in one group: the first is the one accepted
            first.setdefault(row["id"], {**row, "state": "queued", "created_at": now})
        try:
            new: set[str] = set()
            values = list(first.values())
            with self.writing(urgent=True), self.engine.begin() as db:  # one statement a chunk: one round trip
                for at in range(0, len(values), CHUNK):  # SQLite takes at most 32,766 parameters a statement
                    done = db.execute(insert(table).values(values[at:at + CHUNK])
                                      .on_conflict_do_nothing().returning(table.c.id))
                    new.update(str(key) for key, in done)
        except SQLAlchemyError as exc:
            raise store_error(exc, "accepting a request") from exc
        stored = []
        for row in rows:
            stored.append(row["id"] in new)
            new.discard(row["id"])  # the same key again later in the group was not stored
        return stored

    def claim(self, key: str, owner: str) -> InboxRequest | None:
        """Take a queued request to run it; None when another process took it first."""
        with self.transaction("claiming a request") as db:
            done = db.exec(update(InboxRequest)
                           .where(col(InboxRequest.id) == key, col(InboxRequest.state) == "queued")
                           .values(state="running", owner=owner, started_at=utcnow()))
        return self.request(key) if done.rowcount == 1 else None

    def complete(self, key: str, *, ok: bool, reply: str, owner: str | None = None) -> bool:
        """End a running request ``done`` or ``failed``: ``owner``'s own, or (None) whoever's, as
        when one left by a stopped process is ended. False when it was not running (any more)."""
        query = update(InboxRequest).where(col(InboxRequest.id) == key, col(InboxRequest.state) == "running")
        if owner is not None:
            query = query.where(col(InboxRequest.owner) == owner)
        with self.transaction("completing a request") as db:
            done = db.exec(query.values(state="done" if ok else "failed", reply=reply, finished_at=utcnow()))
        return bool(done.rowcount == 1)

    def beat(self, keys: list[str], owner: str) -> None:
        """``owner`` is still running these requests."""
        with self.transaction("marking requests alive") as db:
            db.exec(update(InboxRequest).where(col(InboxRequest.id).in_(keys), col(InboxRequest.owner) == owner,
                                               col(InboxRequest.state) == "running").values(beat_at=utcnow()))

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
        """Requests running whose process has said nothing for ``older_than``: it has gone."""
        alive = func.coalesce(col(InboxRequest.beat_at), col(InboxRequest.started_at))
        with self.reading("listing stale requests") as db:
            return list(db.exec(select(InboxRequest)
                                .where(col(InboxRequest.state) == "running", alive <= utcnow() - older_than)
                                .order_by(col(InboxRequest.started_at)).limit(100)).all())

    def requests(self, *, state: State | None = None, limit: int = 1000) -> list[InboxRequest]:
        query = select(InboxRequest)
        if state is not None:
            query = query.where(col(InboxRequest.state) == state)
        with self.reading("listing requests") as db:
            return list(db.exec(query.order_by(col(InboxRequest.created_at)).limit(limit)).all())


class Acceptor:
    """Accepts written in groups: the requests that arrive while one commit is on its way go
    together in the next, one transaction and one disk sync for all, on a thread of its own, so
    an acknowledgement waits for at most two commits whatever the rate."""

    def __init__(self, store: ServeStore, accepted: Callable[[str], None]) -> None:
        self.store = store
        self.accepted = accepted  # called with each new key, in order
        self._pending: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kai-accept")

    async def accept(self, row: dict[str, Any]) -> bool:
        """Store ``row`` (an :class:`InboxRequest`'s fields); False when its key was seen before."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        self._pending.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write())
        return await done

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            group, self._pending = self._pending, []
            try:
                stored = await loop.run_in_executor(self._thread, self.store.accept_many, [r for r, _ in group])
            except Exception as exc:  # StoreError: none of the group was accepted
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (row, done), new in zip(group, stored, strict=True):
                if new:
                    self.accepted(row["id"])  # queued even if the one waiting has gone
                if not done.done():
                    done.set_result(new)

    def close(self) -> None:
        self._thread.shutdown(wait=True)

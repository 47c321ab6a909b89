"""Accepted requests, kept in kai's database until they have run: a Slack command or a button
click is stored before it is acknowledged, so nothing accepted is lost and nothing runs twice.

    accept ──► queued ──claim──► running ──complete──► done | failed

``accept`` refuses a key it has seen (Slack's retries, a replayed request); ``claim`` is one
conditional ``UPDATE``, so of several kai processes on the database exactly one runs a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Table, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import Text
from sqlmodel import Field, SQLModel, col, select

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
        return self.accept_many([dict(id=key, kind=kind, identity=identity, body=body, channel=channel,
                                      reply_to=reply_to)])[0]

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
            with self.writing(urgent=True), self.engine.begin() as db:  # one statement: one round trip
                done = db.execute(insert(table).values(list(first.values()))
                                  .on_conflict_do_nothing().returning(table.c.id))
                new = {str(key) for key, in done}
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

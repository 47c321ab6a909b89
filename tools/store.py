"""kai's database: SQLite in the state folder by default, PostgreSQL (psycopg 3) by URL.

Two tables: ``audit_records`` (:class:`AuditRecord`, one row per tool call, written before
the call runs and completed after) and ``approvals`` (:class:`Approval`, a single-use,
expiring approval of one previewed call, shared by every kai process on the database).
:class:`Store` owns the engine and gives each write a transaction of its own
(:meth:`Store.transaction`); errors of the database underneath become
:class:`~tools.errors.StoreError` here and nowhere else. Timestamps are timezone-aware UTC
in Python, stored as UTC in both databases (:class:`UTCDateTime`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import URL, Dialect, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import DateTime, Text, TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine

from .errors import InvalidInput, KaiError, StoreError, trim

ENV_URL = "KAI_DATABASE_URL"
ENV_STATE = "KAI_STATE_DIR"
DEFAULT_STATE = ".kai"
SQLITE_BUSY_SECONDS = 30
SCHEMA_LOCK = 0x6B6169  # "kai": the advisory lock held while PostgreSQL tables are created


def database_url(url: str | None = None) -> str:
    """``url``, else ``$KAI_DATABASE_URL``, else ``sqlite:///<state>/kai.db`` where the state
    folder is ``$KAI_STATE_DIR`` or ``./.kai`` (created if missing)."""
    chosen = url or os.environ.get(ENV_URL)
    if chosen:
        return chosen
    state = Path(os.environ.get(ENV_STATE) or DEFAULT_STATE).expanduser().resolve()
    state.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{state / 'kai.db'}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime, what: str = "time") -> datetime:
    """``value`` in UTC; a naive datetime is refused (whose clock would it be?)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} must carry a timezone: {value.isoformat()}")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime: ``timestamptz`` in PostgreSQL, naive UTC text in SQLite (which
    keeps no zone), aware UTC again when read back from either."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = aware(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Decision = Literal["pending", "allow", "confirm", "deny"]
Outcome = Literal["unknown", "ok", "error", "denied", "rejected", "expired", "awaiting"]
ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]


class AuditRecord(SQLModel, table=True):
    """One tool call: its intent (written before it runs), the guard's decision, the approval,
    and its outcome. A call that never finished keeps the outcome ``unknown``."""

    __tablename__ = "audit_records"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime, index=True)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    caller: str = Field(index=True)
    source: str
    session: str | None = None
    tool: str = Field(index=True)
    risk: str
    arguments: str = Field(sa_type=Text)  # JSON, secrets redacted
    decision: str = Field(default="pending", index=True)
    reason: str | None = Field(default=None, sa_type=Text)
    approver: str | None = None
    approval_id: str | None = None
    preview: str | None = Field(default=None, sa_type=Text)
    command: str | None = Field(default=None, sa_type=Text)
    outcome: str = Field(default="unknown")
    result: str | None = Field(default=None, sa_type=Text)
    error: str | None = Field(default=None, sa_type=Text)
    duration_ms: float | None = None
    context: str = ""


class Approval(SQLModel, table=True):
    """A human's yes or no to one previewed call: bound to the call's fingerprint (its exact
    arguments and the resourceVersions it saw), single-use, expiring."""

    __tablename__ = "approvals"

    id: str = Field(primary_key=True, max_length=64)
    call_id: int = Field(foreign_key="audit_records.id", index=True)
    tool: str
    fingerprint: str = Field(sa_type=Text)
    summary: str = Field(sa_type=Text)
    preview: str = Field(sa_type=Text)
    command: str = Field(sa_type=Text)
    requested_by: str
    status: str = Field(default="pending", index=True)
    approver: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    meta: str | None = Field(default=None, sa_type=Text)  # JSON the front end keeps (a message to update)


def _url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {trim(url.split('@')[-1], 80)}") from exc
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
        cursor.execute("PRAGMA synchronous=FULL")  # a committed row survives a power cut too
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    finally:
        cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite with WAL and a busy timeout (several kai processes may
    share the file), PostgreSQL through psycopg 3 with connections checked before use."""
    parsed = _url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            memory = parsed.database in (None, "", ":memory:")
            if not memory and parsed.database:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                parsed, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS},
                poolclass=StaticPool if memory else None)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(trim(f"cannot open the database {parsed.render_as_string()}: {exc}")) from exc


def store_error(exc: BaseException, doing: str) -> StoreError:
    """A short message for a database error: the driver's own words, no SQL, no parameters."""
    orig = getattr(exc, "orig", None)
    words = str(orig) if orig is not None else str(exc).split("\n", 1)[0]
    name = type(orig if orig is not None else exc).__name__
    return StoreError(trim(f"audit database: {doing} failed: {name}: {words}"))


class Turns:
    """The writers of one process take turns on a SQLite database, urgent ones first.

    SQLite lets one writer in at a time and makes the others sleep and retry (1, 2, 5 … 100 ms);
    waiting here instead, each wakes as soon as the one before is done. Urgent writers (accepting
    a request someone is waiting to see acknowledged) go before the background's. Reentrant.
    """

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._holder: int | None = None
        self._depth = 0
        self._urgent = 0

    @contextmanager
    def take(self, urgent: bool = False) -> Iterator[None]:
        me = threading.get_ident()
        with self._turn:
            if self._holder != me:
                self._urgent += urgent
                while self._holder is not None or (not urgent and self._urgent):
                    self._turn.wait()
                self._urgent -= urgent
                self._holder = me
            self._depth += 1
        try:
            yield
        finally:
            with self._turn:
                self._depth -= 1
                if self._depth == 0:
                    self._holder = None
                    self._turn.notify_all()


class Store:
    """The engine of one database URL and its tables (created on first use)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        self.turns = Turns() if self.engine.dialect.name == "sqlite" else None
        try:
            self._create_tables()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise store_error(exc, "creating the tables") from exc

    def _create_tables(self) -> None:
        """Create what is missing; safe when several kai processes start at once on a new database."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as connection:  # DDL is transactional here: one creator at a time
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
                SQLModel.metadata.create_all(connection)
            return
        for attempt in range(3):  # SQLite: another process may create a table between check and create
            try:
                SQLModel.metadata.create_all(self.engine)
                return
            except OperationalError:
                if attempt == 2:
                    raise

    def writing(self, urgent: bool = False) -> AbstractContextManager[object]:
        """This process's turn to write (SQLite; PostgreSQL needs none)."""
        return self.turns.take(urgent) if self.turns is not None else nullcontext()

    @contextmanager
    def transaction(self, doing: str) -> Iterator[Session]:
        """A session whose work is committed on leaving (rolled back on an error)."""
        try:
            with self.writing(), Session(self.engine, expire_on_commit=False) as session:
                yield session
                session.commit()
        except KaiError:
            raise
        except SQLAlchemyError as exc:
            raise store_error(exc, doing) from exc

    @contextmanager
    def reading(self, doing: str) -> Iterator[Session]:
        """A session for reads; what it returns stays usable after it closes."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
                session.expunge_all()
        except KaiError:
            raise
        except SQLAlchemyError as exc:
            raise store_error(exc, doing) from exc

    def ping(self) -> None:
        """Raise :class:`StoreError` unless the database answers (for readiness probes)."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1").one()
        except SQLAlchemyError as exc:
            raise store_error(exc, "checking the connection") from exc

    def close(self) -> None:
        self.engine.dispose()

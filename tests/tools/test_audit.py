"""The audit store and the approvals table, against a real SQLite file and a real PostgreSQL
server (started from the Debian binaries; skipped with the reason where there are none)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.tools import postgres
from tools.audit import RESULT_LIMIT, AuditStore, database_url
from tools.errors import ApprovalExpired, Conflict, InvalidInput, NotFound, StoreError

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Pl4nted-Value"
_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kai.db'}"
    server: postgres.PostgresServer = request.getfixturevalue("pg")
    return server.create_database(f"audit_{next(_names)}")


@pytest.fixture
def store(url: str) -> Iterator[AuditStore]:
    opened = AuditStore(url)
    yield opened
    opened.close()


def begin(store: AuditStore, **given: Any) -> int:
    call: dict[str, Any] = {"caller": "repl:local", "source": "repl", "session": "s1", "tool": "scale",
                            "risk": "write", "arguments": {"name": "backend", "replicas": 3}, "context": "sandbox"}
    return store.begin(**(call | given))


def approval_for(store: AuditStore, call_id: int | None = None, *, minutes: float = 10,
                 fingerprint: str = "fp-1") -> str:
    call_id = call_id if call_id is not None else begin(store)
    return store.create_approval(
        call_id=call_id, tool="scale", fingerprint=fingerprint, summary="scale todo-backend to 3",
        preview="-replicas: 1\n+replicas: 3", command="kubectl scale deployment/todo-backend --replicas=3",
        requested_by="slack:T1/U1", expires_at=datetime.now(UTC) + timedelta(minutes=minutes)).id


def python(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# --- where the database is -------------------------------------------------------------------

def test_database_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAI_DATABASE_URL", raising=False)
    monkeypatch.delenv("KAI_STATE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert database_url() == f"sqlite:///{tmp_path / '.kai' / 'kai.db'}"
    assert (tmp_path / ".kai").is_dir()
    monkeypatch.setenv("KAI_STATE_DIR", str(tmp_path / "state"))
    assert database_url() == f"sqlite:///{tmp_path / 'state' / 'kai.db'}"
    assert (tmp_path / "state").is_dir()
    monkeypatch.setenv("KAI_DATABASE_URL", "postgresql://kai@db/kai")
    assert database_url() == "postgresql://kai@db/kai"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_default_store_is_a_sqlite_file_in_the_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAI_DATABASE_URL", raising=False)
    monkeypatch.setenv("KAI_STATE_DIR", str(tmp_path / "state"))
    store = AuditStore()
    try:
        begin(store)
    finally:
        store.close()
    assert (tmp_path / "state" / "kai.db").stat().st_size > 0


def test_in_memory_sqlite_keeps_one_database() -> None:
    store = AuditStore("sqlite://")
    try:
        call_id = begin(store)
        assert store.get(call_id).tool == "scale"
    finally:
        store.close()


@pytest.mark.parametrize("bad", ["mysql://kai@db/kai", "not a url", "sqlite+nodriver:///x.db"])
def test_unusable_urls_are_store_errors(bad: str) -> None:
    with pytest.raises(StoreError):
        AuditStore(bad)


def test_unreachable_postgres_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        AuditStore(f"postgresql://kai:{SECRET}@127.0.0.1:{postgres.free_port()}/kai")
    assert "audit database" in caught.value.message and SECRET not in caught.value.message


# --- audit records ------------------------------------------------------------------------------

def test_begin_writes_the_intent_before_anything_runs(store: AuditStore) -> None:
    before = datetime.now(UTC)
    call_id = begin(store)
    after = datetime.now(UTC)
    record = store.get(call_id)
    assert (record.decision, record.outcome, record.finished_at, record.duration_ms) == ("pending", "unknown",
                                                                                      None, None)
    assert (record.caller, record.source, record.session, record.tool, record.risk, record.context) == (
        "repl:local", "repl", "s1", "scale", "write", "sandbox")
    assert json.loads(record.arguments) == {"name": "backend", "replicas": 3}
    assert record.started_at.tzinfo is not None and record.started_at.utcoffset() == timedelta(0)
    assert before <= record.started_at <= after  # the same instant, whatever the server's zone


def test_a_call_from_intent_to_outcome(store: AuditStore) -> None:
    call_id = begin(store)
    store.decide(call_id, decision="confirm", reason="a write in confirm mode", preview="-1\n+3",
                 command="kubectl scale deployment/todo-backend -n todo-app --replicas=3")
    store.approved(call_id, approver="slack:T1/U2", approval_id="abc")
    store.finish(call_id, outcome="ok", result="replicas: 3", duration_ms=12.5)
    record = store.get(call_id)
    assert (record.decision, record.reason, record.preview) == ("confirm", "a write in confirm mode", "-1\n+3")
    assert record.command == "kubectl scale deployment/todo-backend -n todo-app --replicas=3"
    assert (record.approver, record.approval_id) == ("slack:T1/U2", "abc")
    assert (record.outcome, record.result, record.error, record.duration_ms) == ("ok", "replicas: 3", None, 12.5)
    assert record.finished_at is not None and record.finished_at >= record.started_at
    assert record.finished_at.utcoffset() == timedelta(0)


def test_a_denied_and_a_failed_call(store: AuditStore) -> None:
    denied = begin(store, tool="delete_namespace", risk="destructive", arguments={"name": "kube-system"})
    store.decide(denied, decision="deny", reason="writes to kube-system are denied")
    store.finish(denied, outcome="denied", duration_ms=0.4)
    failed = begin(store)
    store.decide(failed, decision="allow")
    store.finish(failed, outcome="error", error="Conflict: the object changed", duration_ms=3)
    assert (store.get(denied).decision, store.get(denied).outcome) == ("deny", "denied")
    assert store.get(denied).reason == "writes to kube-system are denied"
    assert (store.get(failed).outcome, store.get(failed).error) == ("error", "Conflict: the object changed")


def test_arguments_are_redacted_again_before_writing(store: AuditStore, url: str) -> None:
    manifest = ("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n"
                f"stringData: {{password: {SECRET}}}\n")
    call_id = begin(store, tool="apply_manifest", arguments={
        "manifest": manifest, "values": {"db": {"password": SECRET}}, "api_token": SECRET, "name": "db"})
    arguments = json.loads(store.get(call_id).arguments)
    assert arguments["name"] == "db"
    assert arguments["api_token"] == f"<redacted: {len(SECRET)} bytes>"
    assert arguments["values"]["db"]["password"] == f"<redacted: {len(SECRET)} bytes>"
    assert "kind: Secret" in arguments["manifest"]
    with store.engine.connect() as conn:  # nowhere in the database, whatever the column
        rows = conn.exec_driver_sql("SELECT * FROM audit_records").all()
    assert rows and SECRET not in repr(rows)


def test_long_results_are_cut_with_a_note(store: AuditStore) -> None:
    call_id = begin(store)
    store.finish(call_id, outcome="ok", result="x" * 100_000, duration_ms=1)
    result = store.get(call_id).result
    assert result is not None and len(result) <= RESULT_LIMIT
    assert result.endswith("more characters") and result.startswith("xxxx")


def test_bad_values_and_unknown_records(store: AuditStore) -> None:
    call_id = begin(store)
    with pytest.raises(InvalidInput, match="decision must be one of"):
        store.decide(call_id, decision="maybe")
    with pytest.raises(InvalidInput, match="outcome must be one of"):
        store.finish(call_id, outcome="fine", duration_ms=1)
    with pytest.raises(NotFound):
        store.get(call_id + 1000)
    with pytest.raises(NotFound):
        store.finish(call_id + 1000, outcome="ok", duration_ms=1)
    with pytest.raises(InvalidInput, match="timezone"):
        store.records(since=datetime(2030, 1, 1))
    assert store.get(call_id).decision == "pending"


def test_records_filters_newest_first(store: AuditStore) -> None:
    first = begin(store, caller="repl:local", tool="scale")
    store.decide(first, decision="allow")
    second = begin(store, caller="slack:T1/U1", tool="get_logs", risk="read")
    store.decide(second, decision="allow")
    third = begin(store, caller="slack:T1/U1", tool="scale")
    store.decide(third, decision="deny", reason="bounds")
    assert [r.id for r in store.records()] == [third, second, first]
    assert [r.id for r in store.records(caller="slack:T1/U1")] == [third, second]
    assert [r.id for r in store.records(tool="scale")] == [third, first]
    assert [r.id for r in store.records(decision="allow")] == [second, first]
    assert [r.id for r in store.records(caller="slack:T1/U1", decision="allow")] == [second]
    assert [r.id for r in store.records(since=store.get(second).started_at)] == [third, second]
    assert [r.id for r in store.records(since=datetime.now(UTC) + timedelta(hours=1))] == []
    assert [r.id for r in store.records(limit=2)] == [third, second]
    assert [r.id for r in store.records(session="s1")] == [third, second, first]
    assert [r.id for r in store.records(session="another")] == []
    with pytest.raises(InvalidInput):
        store.records(limit=0)


CRASH = """
import os, sys
from tools.audit import AuditStore
store = AuditStore(sys.argv[1] if len(sys.argv) > 1 else {url!r})
call_id = store.begin(caller="repl:local", source="repl", session=None, tool="scale", risk="write",
                      arguments={{"replicas": 3}}, context="sandbox")
if {decide}:
    store.decide(call_id, decision="allow")
print(call_id, flush=True)
sys.stdin.readline()  # killed here, before finish
"""


@pytest.mark.parametrize("decide", [False, True], ids=["after-begin", "after-decide"])
def test_a_crash_before_finish_leaves_an_unknown_outcome(store: AuditStore, url: str, decide: bool) -> None:
    child = python(CRASH.format(url=url, decide=decide))
    assert child.stdout is not None
    line = child.stdout.readline()
    child.kill()
    _, err = child.communicate()
    assert line.strip().isdigit(), err
    record = store.get(int(line))
    assert record.outcome == "unknown" and record.finished_at is None
    assert record.decision == ("allow" if decide else "pending")
    assert json.loads(record.arguments) == {"replicas": 3}


def test_concurrent_writers_lose_nothing(store: AuditStore, url: str) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def write() -> None:
        mine = AuditStore(url)
        try:
            for _ in range(20):
                call_id = begin(mine)
                mine.decide(call_id, decision="allow")
                mine.finish(call_id, outcome="ok", duration_ms=1)
                with lock:
                    ids.append(call_id)
        finally:
            mine.close()

    run_threads(write, 4)
    assert len(set(ids)) == 80
    records = store.records(limit=1000)
    assert sorted(r.id for r in records if r.id is not None) == sorted(ids)
    assert {r.outcome for r in records} == {"ok"}


def run_threads(work: Callable[[], None], n: int) -> None:
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# --- approvals ----------------------------------------------------------------------------------

def test_an_approval_is_pending_then_approved_then_used_once(store: AuditStore) -> None:
    call_id = begin(store)
    approval_id = approval_for(store, call_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{24,}", approval_id)
    pending = store.approval(approval_id)
    assert (pending.status, pending.call_id, pending.approver, pending.used_at) == ("pending", call_id, None, None)
    assert pending.expires_at.utcoffset() == timedelta(0) and pending.created_at < pending.expires_at
    assert [a.id for a in store.pending_approvals()] == [approval_id]
    assert not store.consume_approval(approval_id, "fp-1")  # not approved yet
    approved = store.decide_approval(approval_id, approve=True, approver="slack:T1/U2")
    assert (approved.status, approved.approver) == ("approved", "slack:T1/U2")
    assert approved.decided_at is not None
    assert store.pending_approvals() == []
    assert not store.consume_approval(approval_id, "fp-other")  # another call, or the object changed
    assert store.consume_approval(approval_id, "fp-1")
    assert not store.consume_approval(approval_id, "fp-1")  # single use
    assert store.approval(approval_id).used_at is not None
    with pytest.raises(Conflict, match="already approved by slack:T1/U2"):
        store.decide_approval(approval_id, approve=False, approver="slack:T1/U3")


def test_a_rejected_approval_cannot_be_used(store: AuditStore) -> None:
    approval_id = approval_for(store)
    rejected = store.decide_approval(approval_id, approve=False, approver="repl:local")
    assert (rejected.status, rejected.approver) == ("rejected", "repl:local")
    assert not store.consume_approval(approval_id, "fp-1")
    with pytest.raises(Conflict, match="already rejected"):
        store.decide_approval(approval_id, approve=True, approver="repl:local")


def test_an_answer_after_expiry_expires_the_approval(store: AuditStore) -> None:
    approval_id = approval_for(store, minutes=10)
    late = datetime.now(UTC) + timedelta(minutes=11)
    assert [a.id for a in store.pending_approvals(now=late - timedelta(minutes=2))] == [approval_id]
    assert store.pending_approvals(now=late) == []
    with pytest.raises(ApprovalExpired, match="expired"):
        store.decide_approval(approval_id, approve=True, approver="repl:local", now=late)
    assert store.approval(approval_id).status == "expired"
    with pytest.raises(ApprovalExpired):  # and stays so
        store.decide_approval(approval_id, approve=True, approver="repl:local")


def test_an_approved_approval_expires_unused(store: AuditStore) -> None:
    approval_id = approval_for(store, minutes=10)
    store.decide_approval(approval_id, approve=True, approver="repl:local")
    assert not store.consume_approval(approval_id, "fp-1", now=datetime.now(UTC) + timedelta(minutes=11))
    assert store.consume_approval(approval_id, "fp-1")  # still in time


def test_expire_approvals_hands_each_one_out_once(store: AuditStore) -> None:
    late_one = approval_for(store, minutes=1)
    approval_for(store, minutes=30)
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert [a.id for a in store.expire_approvals(now=later)] == [late_one]
    assert store.expire_approvals(now=later) == []
    assert store.approval(late_one).status == "expired"


def test_approval_errors(store: AuditStore) -> None:
    with pytest.raises(NotFound):
        store.approval("nope")
    with pytest.raises(NotFound):
        store.decide_approval("nope", approve=True, approver="repl:local")
    assert not store.consume_approval("nope", "fp-1")
    call_id = begin(store)
    with pytest.raises(InvalidInput, match="timezone"):
        store.create_approval(call_id=call_id, tool="scale", fingerprint="fp", summary="", preview="", command="",
                              requested_by="repl:local", expires_at=datetime(2030, 1, 1))
    with pytest.raises(StoreError):  # an approval belongs to an audited call
        approval_for(store, call_id + 1000)


def test_front_end_data_is_kept(store: AuditStore) -> None:
    call_id = begin(store)
    approval = store.create_approval(
        call_id=call_id, tool="scale", fingerprint="fp", summary="s", preview="p", command="c",
        requested_by="slack:T1/U1", expires_at=datetime.now(UTC) + timedelta(minutes=10),
        meta={"response_url": "http://127.0.0.1/r", "channel": "C1"})
    assert json.loads(store.approval(approval.id).meta or "") == {"channel": "C1", "response_url": "http://127.0.0.1/r"}


def test_approvals_survive_a_restart(url: str) -> None:
    first = AuditStore(url)
    approval_id = approval_for(first)
    first.close()
    second = AuditStore(url)  # a restarted kai serve, or another replica
    try:
        assert [a.id for a in second.pending_approvals()] == [approval_id]
        second.decide_approval(approval_id, approve=True, approver="slack:T1/U2")
    finally:
        second.close()
    third = AuditStore(url)
    try:
        assert third.consume_approval(approval_id, "fp-1")
        assert not third.consume_approval(approval_id, "fp-1")
    finally:
        third.close()


def race(stores: list[AuditStore], work: Callable[[int, AuditStore], str | bool]) -> list[str | bool]:
    """``work(i, stores[i])`` in one thread per store, all released at once; their answers."""
    barrier = threading.Barrier(len(stores))
    answers: list[str | bool] = []
    lock = threading.Lock()
    slots = iter(enumerate(stores))

    def one() -> None:
        with lock:
            i, own = next(slots)
        barrier.wait()
        answer = work(i, own)
        with lock:
            answers.append(answer)

    run_threads(one, len(stores))
    return answers


def consume(approval_id: str) -> Callable[[int, AuditStore], bool]:
    return lambda _i, own: own.consume_approval(approval_id, "fp-1")


def test_threads_racing_for_one_approval_one_wins(store: AuditStore, url: str) -> None:
    stores = [AuditStore(url) for _ in range(6)]  # each its own engine and connections
    try:
        for _round in range(5):
            approval_id = approval_for(store)
            store.decide_approval(approval_id, approve=True, approver="repl:local")
            wins = race(stores, consume(approval_id))
            assert sorted(wins) == [False] * (len(stores) - 1) + [True]
    finally:
        for opened in stores:
            opened.close()


def test_approve_and_reject_at_once_one_answer_counts(store: AuditStore, url: str) -> None:
    stores = [AuditStore(url) for _ in range(2)]
    try:
        approval_id = approval_for(store)

        def answer(i: int, own: AuditStore) -> str:
            try:
                return own.decide_approval(approval_id, approve=i == 0, approver=f"u{i}").status
            except Conflict:
                return "conflict"

        outcomes = race(stores, answer)
        final = store.approval(approval_id)
        assert final.status in ("approved", "rejected")
        assert sorted(map(str, outcomes)) == sorted([final.status, "conflict"])
        assert final.approver == ("u0" if final.status == "approved" else "u1")
    finally:
        for opened in stores:
            opened.close()


RACER = """
import sys
from tools.audit import AuditStore
store = AuditStore({url!r})
store.ping()
print("ready", flush=True)
sys.stdin.readline()
print(store.consume_approval({approval_id!r}, "fp-1"), flush=True)
store.close()
"""


def test_processes_racing_for_one_approval_one_wins(store: AuditStore, url: str) -> None:
    approval_id = approval_for(store)
    store.decide_approval(approval_id, approve=True, approver="repl:local")
    racers = [python(RACER.format(url=url, approval_id=approval_id)) for _ in range(4)]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline().strip() == "ready"
    for racer in racers:  # let them all go at once
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    answers = []
    for racer in racers:
        out, err = racer.communicate()
        assert racer.returncode == 0, err
        answers.append(out.strip())
    assert sorted(answers) == ["False", "False", "False", "True"]
    assert store.approval(approval_id).used_at is not None


STARTER = """
import sys
sys.stdin.readline()
from tools.audit import AuditStore
store = AuditStore({url!r})
print(store.begin(caller="repl:local", source="repl", session=None, tool="scale", risk="write", arguments={{}},
                  context="sandbox"), flush=True)
store.close()
"""


def test_processes_starting_at_once_on_a_new_database(url: str) -> None:
    starters = [python(STARTER.format(url=url)) for _ in range(4)]
    for starter in starters:  # all at once: each finds the tables missing, one creates them
        assert starter.stdin is not None
        starter.stdin.write("go\n")
        starter.stdin.flush()
    ids = []
    for starter in starters:
        out, err = starter.communicate()
        assert starter.returncode == 0, err
        ids.append(int(out))
    store = AuditStore(url)
    try:
        assert sorted(r.id or 0 for r in store.records()) == sorted(ids) and len(set(ids)) == 4
    finally:
        store.close()


def test_a_stopped_postgres_is_a_store_error() -> None:
    reason = postgres.unavailable()
    if reason:
        pytest.skip(reason)
    server = postgres.PostgresServer().start()
    store = AuditStore(server.create_database("gone"))
    try:
        store.ping()
        call_id = begin(store)
        server.stop()
        with pytest.raises(StoreError, match="audit database"):
            store.ping()
        with pytest.raises(StoreError, match="audit database: recording an outcome failed"):
            store.finish(call_id, outcome="ok", duration_ms=1)
    finally:
        store.close()
        server.stop()

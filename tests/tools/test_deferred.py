"""Deferred approvals (``approve=Defer(...)``): the call waits in the database, and a human's
answer later — in another executor, as after a restart or on another replica — runs it, once,
only if it is still the change that was previewed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import tools.workloads  # noqa: F401  (registration)
from sandbox.control import Sandbox
from tests.conftest import wait_for
from tests.tools.conftest import Kubectl
from tests.tools.received import Received
from tools import policy as policies
from tools.audit import AuditStore
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.errors import Conflict, Denied, InvalidInput, NotFound
from tools.executor import Defer, Executor, Outcome, front_meta
from tools.guard import Caller

POLICY = ("approval: {self_approve: false, approver_roles: [admin]}\n"
          "bindings: {operator: ['slack:T1/*'], admin: ['slack:T1/BOSS']}\n")
REQUESTER = Caller("slack:T1/U1", session="s9")
BOSS = "slack:T1/BOSS"


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def received(cluster: Sandbox) -> Received:
    return Received(cluster.state)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kai.db'}"


@pytest.fixture
def executors(cluster: Sandbox, db: str) -> Iterator[list[Executor]]:
    made: list[Executor] = []
    yield made
    for executor in made:
        executor.close()
        executor.ctx.cluster.close()
        executor.store.close()


def process(cluster: Sandbox, db: str, made: list[Executor], clock: Clock | None = None) -> Executor:
    """An executor of its own (its own store and connection), as another kai process has."""
    executor = Executor(ToolContext(Cluster(kubeconfig=cluster.kubeconfig)), policies.parse(POLICY),
                        AuditStore(db), now=clock)
    made.append(executor)
    return executor


def ask(executor: Executor, namespace: str, replicas: str = "3", **meta: Any) -> Outcome:
    return asyncio.run(executor.call("scale", {"name": "backend", "replicas": replicas, "namespace": namespace},
                                     REQUESTER, Defer(meta)))


def count(kc: Kubectl, namespace: str) -> int:
    return int(kc("get", "deploy", "todo-backend", "-n", namespace, "-o", "jsonpath={.spec.replicas}"))


def test_a_deferred_call_waits_then_runs_in_another_process(cluster: Sandbox, db: str, kc: Kubectl,
                                                            fresh_todo: str, received: Received,
                                                            executors: list[Executor]) -> None:
    received.mark()
    waiting = ask(process(cluster, db, executors), fresh_todo, reply_to="https://hooks.slack.com/x")
    assert waiting.status == "approval_pending" and waiting.approval_id and waiting.decision == "confirm"
    assert "waits for approval" in waiting.text and received.writes() == [] and count(kc, fresh_todo) == 2
    store = AuditStore(db)
    assert (store.get(waiting.audit_id).decision, store.get(waiting.audit_id).outcome) == ("confirm", "awaiting")
    approval = store.approval(waiting.approval_id)
    assert front_meta(approval) == {"reply_to": "https://hooks.slack.com/x"}
    other = process(cluster, db, executors)
    done = asyncio.run(other.answer(waiting.approval_id, BOSS, True))
    assert done.ok and done.approver == BOSS and done.audit_id == waiting.audit_id, done.text
    assert count(kc, fresh_todo) == 3 and len(received.writes()) == 1
    row = store.get(waiting.audit_id)
    assert (row.outcome, row.approver, row.approval_id, row.session) == ("ok", BOSS, waiting.approval_id, "s9")
    assert json.loads(store.approval(waiting.approval_id).meta or "{}")["call"]["arguments"] is None  # forgotten
    with pytest.raises(Conflict, match="already approved"):
        asyncio.run(other.answer(waiting.approval_id, BOSS, True))
    assert len(received.writes()) == 1
    store.close()


def test_who_may_answer(cluster: Sandbox, db: str, kc: Kubectl, fresh_todo: str,
                        executors: list[Executor]) -> None:
    executor = process(cluster, db, executors)
    waiting = ask(executor, fresh_todo)
    assert waiting.approval_id is not None
    for someone in ("slack:T1/U1", "slack:T1/U2", "slack:T9/BOSS"):  # the requester, a peer, a stranger
        with pytest.raises(Denied, match="may not approve"):
            asyncio.run(executor.answer(waiting.approval_id, someone, True))
    assert count(kc, fresh_todo) == 2
    rejected = asyncio.run(executor.answer(waiting.approval_id, BOSS, False, "not now"))
    assert rejected.status == "rejected" and "not now" in rejected.text and count(kc, fresh_todo) == 2
    assert executor.store.get(waiting.audit_id).outcome == "rejected"


def test_a_changed_object_voids_the_approval(cluster: Sandbox, db: str, kc: Kubectl, fresh_todo: str,
                                             received: Received, executors: list[Executor]) -> None:
    executor = process(cluster, db, executors)
    waiting = ask(executor, fresh_todo, replicas="+1")
    kc("scale", "deploy/todo-backend", "-n", fresh_todo, "--replicas=4")
    received.mark()
    assert waiting.approval_id is not None
    late = asyncio.run(executor.answer(waiting.approval_id, BOSS, True))
    assert late.status == "expired" and "changed since the preview" in late.text
    assert count(kc, fresh_todo) == 4 and received.writes() == []


def test_late_approvals_expire_and_end_their_calls(cluster: Sandbox, db: str, kc: Kubectl, fresh_todo: str,
                                                  executors: list[Executor]) -> None:
    clock = Clock()
    executor = process(cluster, db, executors, clock)
    waiting = ask(executor, fresh_todo)
    assert asyncio.run(executor.expire()) == []
    clock.at += timedelta(minutes=11)
    [expired] = asyncio.run(executor.expire())
    assert expired.id == waiting.approval_id and asyncio.run(executor.expire()) == []
    assert executor.store.get(waiting.audit_id).outcome == "expired"
    assert waiting.approval_id is not None
    again = asyncio.run(executor.answer(waiting.approval_id, BOSS, True))
    assert again.status == "expired" and count(kc, fresh_todo) == 2


def test_only_deferred_approvals_are_answered_this_way(cluster: Sandbox, db: str, fresh_todo: str,
                                                       executors: list[Executor]) -> None:
    executor = process(cluster, db, executors)
    interactive = asyncio.run(executor.call("scale", {"name": "backend", "replicas": "3", "namespace": fresh_todo},
                                            REQUESTER, None))
    assert interactive.status == "approval_required" and interactive.approval_id is not None
    with pytest.raises(InvalidInput, match="interactive"):
        asyncio.run(executor.answer(interactive.approval_id, BOSS, True))
    with pytest.raises(NotFound):
        asyncio.run(executor.answer("no-such-approval", BOSS, True))


def test_a_status_update_while_waiting_does_not_void_it(cluster: Sandbox, db: str, kc: Kubectl, fresh_todo: str,
                                                        executors: list[Executor]) -> None:
    executor = process(cluster, db, executors)
    waiting = ask(executor, fresh_todo)
    version = kc.json("get", "deploy", "todo-backend", "-n", fresh_todo)["metadata"]["resourceVersion"]
    pod = kc("get", "pods", "-n", fresh_todo, "-l", "app.kubernetes.io/component=backend", "-o",
             "jsonpath={.items[0].metadata.name}")
    kc("delete", "pod", pod, "-n", fresh_todo, "--wait=false")  # the controllers update the status meanwhile
    wait_for(lambda: kc.json("get", "deploy", "todo-backend", "-n", fresh_todo)["metadata"]["resourceVersion"]
             != version, timeout=30)
    assert waiting.approval_id is not None
    done = asyncio.run(executor.answer(waiting.approval_id, BOSS, True))
    assert done.ok, done.text
    assert count(kc, fresh_todo) == 3

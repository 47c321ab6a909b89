"""Every guard path end to end: the executor, the real audit store (a SQLite file), the
sandbox with the todo stack, and what the sandbox actually received (its audit log)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import tools.objects
import tools.workloads  # noqa: F401  (registration)
from sandbox.control import Sandbox
from tests.tools.conftest import Kubectl
from tests.tools.received import Received
from tools import policy as policies
from tools.audit import AuditStore
from tools.context import ToolContext
from tools.executor import ApprovalAnswer, ApprovalRequest, ApproveFn, Executor, Outcome
from tools.guard import Caller

ADMIN = Caller("repl:local", session="s1")
VIEWER = Caller("slack:T1/U1")


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    audit = AuditStore(f"sqlite:///{tmp_path / 'kai.db'}")
    yield audit
    audit.close()


@pytest.fixture
def received(cluster: Sandbox) -> Received:
    return Received(cluster.state)


Make = Callable[..., Executor]


@pytest.fixture
def make(ctx: ToolContext, store: AuditStore) -> Iterator[Make]:
    made: list[Executor] = []

    def build(policy: str = "", clock: Clock | None = None) -> Executor:
        executor = Executor(ctx, policies.parse(policy), store, now=clock)
        made.append(executor)
        return executor

    yield build
    for executor in made:
        executor.close()


def call(executor: Executor, tool: str, /, caller: Caller = ADMIN, approve: ApproveFn | None = None,
         **arguments: Any) -> Outcome:
    return asyncio.run(executor.call(tool, arguments, caller, approve))


def answering(approved: bool, approver: str = "repl:local", seen: list[ApprovalRequest] | None = None,
              before: Callable[[ApprovalRequest], None] | None = None) -> ApproveFn:
    async def approve(request: ApprovalRequest) -> ApprovalAnswer:
        if seen is not None:
            seen.append(request)
        if before is not None:
            before(request)
        return ApprovalAnswer(approved, approver)

    return approve


def replicas(kc: Kubectl, ns: str) -> int:
    return int(kc("get", "deploy", "todo-backend", "-n", ns, "-o", "jsonpath={.spec.replicas}"))


def test_a_read_is_allowed_and_audited(make: Make, store: AuditStore, todo: str) -> None:
    outcome = call(make(), "list_resources", kind="deploy", namespace=todo)
    assert outcome.ok and outcome.decision == "allow"
    assert "todo-backend" in outcome.text
    row = store.get(outcome.audit_id)
    assert (row.tool, row.decision, row.outcome, row.caller, row.session) == (
        "list_resources", "allow", "ok", "repl:local", "s1")
    assert row.context == "kai-sandbox" and row.finished_at is not None


def test_auto_mode_allows_a_write(make: Make, store: AuditStore, kc: Kubectl, fresh_todo: str,
                                  received: Received) -> None:
    received.mark()
    outcome = call(make("mode: auto\n"), "scale", name="backend", replicas="3", namespace=fresh_todo)
    assert outcome.ok and outcome.decision == "allow", outcome.text
    assert replicas(kc, fresh_todo) == 3
    assert outcome.preview is not None
    assert outcome.preview["command"] == f"kubectl scale deployment/todo-backend -n {fresh_todo} --replicas=3"
    assert "-  replicas: 2" in outcome.preview["diff"] and "+  replicas: 3" in outcome.preview["diff"]
    assert [w["objectRef"]["subresource"] for w in received.writes()] == ["scale"]
    row = store.get(outcome.audit_id)
    assert (row.decision, row.outcome) == ("allow", "ok") and "+  replicas: 3" in (row.preview or "")


def test_confirm_approved(make: Make, store: AuditStore, kc: Kubectl, fresh_todo: str) -> None:
    seen: list[ApprovalRequest] = []
    outcome = call(make(), "scale", approve=answering(True, seen=seen), name="backend", replicas="x3",
                   namespace=fresh_todo)
    assert outcome.ok and outcome.approver == "repl:local", outcome.text
    assert replicas(kc, fresh_todo) == 6
    [request] = seen
    assert request.tool == "scale" and "from 2 to 6" in request.preview.summary
    assert request.expires_at == store.approval(request.approval_id).expires_at
    approval = store.approval(request.approval_id)
    assert approval.status == "approved" and approval.used_at is not None
    row = store.get(outcome.audit_id)
    assert (row.decision, row.outcome, row.approver, row.approval_id) == (
        "confirm", "ok", "repl:local", request.approval_id)


def test_confirm_rejected_changes_nothing(make: Make, store: AuditStore, kc: Kubectl, fresh_todo: str,
                                          received: Received) -> None:
    received.mark()
    outcome = call(make(), "scale", approve=answering(False), name="backend", replicas="3", namespace=fresh_todo)
    assert outcome.status == "rejected" and "rejected" in outcome.text
    assert replicas(kc, fresh_todo) == 2
    assert received.writes() == []
    assert store.get(outcome.audit_id).outcome == "rejected"


def test_no_approver_fails_closed(make: Make, store: AuditStore, kc: Kubectl, fresh_todo: str,
                                  received: Received) -> None:
    received.mark()
    outcome = call(make(), "scale", name="backend", replicas="3", namespace=fresh_todo)
    assert outcome.status == "approval_required"
    assert outcome.text.startswith("approval_required: approval required: scale Deployment todo-backend")
    assert received.writes() == [] and replicas(kc, fresh_todo) == 2
    assert outcome.approval_id is not None and store.approval(outcome.approval_id).status == "pending"
    row = store.get(outcome.audit_id)
    assert (row.decision, row.outcome) == ("confirm", "denied")


def test_an_approval_that_comes_too_late_expires(make: Make, store: AuditStore, kc: Kubectl,
                                                 fresh_todo: str, received: Received) -> None:
    received.mark()
    clock = Clock()

    def wait_eleven_minutes(_: ApprovalRequest) -> None:
        clock.at += timedelta(minutes=11)

    outcome = call(make(clock=clock), "scale", approve=answering(True, before=wait_eleven_minutes),
                   name="backend", replicas="3", namespace=fresh_todo)
    assert outcome.status == "expired", outcome.text
    assert received.writes() == [] and replicas(kc, fresh_todo) == 2
    assert outcome.approval_id is None or store.approval(outcome.approval_id).status == "expired"
    assert store.get(outcome.audit_id).outcome == "expired"


def test_a_change_to_the_object_while_waiting_means_a_new_preview(make: Make, kc: Kubectl, fresh_todo: str,
                                                                  store: AuditStore) -> None:
    seen: list[ApprovalRequest] = []

    def someone_else_scales(request: ApprovalRequest) -> None:
        if len(seen) == 1:
            kc("scale", "deploy/todo-backend", "-n", fresh_todo, "--replicas=4")
            # and the new pods come up: the controllers' status updates, which move the object's
            # resourceVersion too, are over before kai previews again (else a third preview)
            kc("rollout", "status", "deploy/todo-backend", "-n", fresh_todo, "--timeout=60s")

    outcome = call(make(), "scale", approve=answering(True, seen=seen, before=someone_else_scales),
                   name="backend", replicas="+1", namespace=fresh_todo)
    assert outcome.ok, outcome.text
    assert len(seen) == 2
    assert "from 2 to 3" in seen[0].preview.summary and "from 4 to 5" in seen[1].preview.summary
    assert replicas(kc, fresh_todo) == 5
    first, second = (store.approval(r.approval_id) for r in seen)
    assert first.used_at is None and second.used_at is not None  # the stale approval was never used


def test_an_approver_the_policy_does_not_allow(make: Make, kc: Kubectl, fresh_todo: str,
                                              received: Received) -> None:
    received.mark()
    executor = make("approval: {self_approve: false, approver_roles: [admin]}\n"
                    "bindings: {operator: ['slack:T1/*'], admin: ['slack:T1/BOSS']}\n")
    requester = Caller("slack:T1/U1")
    denied = call(executor, "scale", requester, answering(True, approver="slack:T1/U1"), name="backend",
                  replicas="3", namespace=fresh_todo)
    assert denied.status == "denied" and "may not approve" in denied.text
    assert received.writes() == [] and replicas(kc, fresh_todo) == 2
    allowed = call(executor, "scale", requester, answering(True, approver="slack:T1/BOSS"), name="backend",
                   replicas="3", namespace=fresh_todo)
    assert allowed.ok and replicas(kc, fresh_todo) == 3


@pytest.mark.parametrize(("policy", "caller", "arguments", "rule"), [
    ("", VIEWER, {"replicas": "3"}, "roles"),
    ("mode: read-only\n", ADMIN, {"replicas": "3"}, "mode"),
    ("", ADMIN, {"replicas": "25"}, "bounds.replicas"),
    ("bounds:\n  namespaces:\n    NS: {replicas: {max: 2}}\n", ADMIN, {"replicas": "x3"}, "bounds.replicas"),
    ("protected: {objects: [{kind: Deployment, name: todo-backend}]}\n", ADMIN, {"replicas": "3"}, "protected"),
    ("namespaces: {deny: [NS]}\n", ADMIN, {"replicas": "3"}, "namespaces"),
    ("namespaces: {allow: [somewhere-else]}\n", ADMIN, {"replicas": "3"}, "namespaces"),
    ("rate_limits: {writes_per_minute: 0}\n", ADMIN, {"replicas": "3"}, "rate_limits"),
    ("impersonate: {'repl:local': nobody}\n", ADMIN, {"replicas": "3"}, "rbac"),
])
def test_each_deny_rule(make: Make, store: AuditStore, kc: Kubectl, fresh_todo: str, received: Received,
                        policy: str, caller: Caller, arguments: dict[str, str], rule: str) -> None:
    received.mark()
    executor = make(policy.replace("NS", fresh_todo))
    outcome = call(executor, "scale", caller, answering(True), name="backend", namespace=fresh_todo, **arguments)
    assert outcome.status == "denied" and outcome.details.get("rule") == rule, outcome.text
    assert received.writes() == [] and replicas(kc, fresh_todo) == 2
    row = store.get(outcome.audit_id)
    assert (row.decision, row.outcome) == ("deny", "denied") and row.reason


def test_rbac_allows_what_the_mapped_user_may_do(make: Make, kc: Kubectl, fresh_todo: str) -> None:
    kc("create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice", "-n", fresh_todo)
    executor = make("impersonate: {'repl:local': alice}\n")
    outcome = call(executor, "scale", approve=answering(True), name="backend", replicas="3", namespace=fresh_todo)
    assert outcome.ok, outcome.text
    denied = call(executor, "scale", approve=answering(True), name="backend", replicas="2", namespace="todo-app")
    assert denied.status == "denied" and "alice cannot patch deployments" in denied.text


@pytest.mark.parametrize(("arguments", "message"), [
    ({"name": "backend", "replicas": -1}, "invalid arguments for scale: replicas"),
    ({"name": "backend", "replicas": 10**9}, "replicas"),
    ({"name": "backend", "replicas": "three"}, "replicas"),
    ({"name": "backend; rm -rf /", "replicas": "2"}, "name"),
    ({"name": "../../etc/passwd", "replicas": "2"}, "name"),
    ({"name": "backend", "replicas": "2", "kind": "wombat"}, "kind"),
    ({"name": "backend", "replicas": "2", "namespace": "no/where"}, "namespace"),
    ({"name": "backend", "replicas": "2", "colour": "red"}, "colour: Extra inputs are not permitted"),
])
def test_bad_input_is_a_clear_error_and_sends_nothing(make: Make, store: AuditStore, fresh_todo: str,
                                                      received: Received, arguments: dict[str, Any],
                                                      message: str) -> None:
    received.mark()
    outcome = call(make("mode: auto\n"), "scale", **arguments)
    assert outcome.status == "error" and outcome.error_code == "invalid_input", outcome.text
    assert message in outcome.text
    assert received.since() == []  # not even a read
    assert store.get(outcome.audit_id).outcome == "error"


def test_a_missing_namespace_or_object_is_not_found_with_nothing_written(make: Make, received: Received,
                                                                          fresh_todo: str) -> None:
    received.mark()
    executor = make("mode: auto\n")
    missing_ns = call(executor, "scale", name="backend", replicas="2", namespace="no-such-namespace")
    assert missing_ns.error_code == "not_found" and "no-such-namespace" in missing_ns.text
    missing = call(executor, "scale", name="todo-backen", replicas="2", namespace=fresh_todo)
    assert missing.error_code == "not_found" and f"{fresh_todo}/todo-backend" in missing.text  # closest names
    assert received.writes() == []


def test_unknown_tool(make: Make, store: AuditStore) -> None:
    outcome = call(make(), "scael", name="x")
    assert outcome.error_code == "unknown_tool" and "did you mean scale" in outcome.text
    assert store.get(outcome.audit_id).outcome == "error"


def test_ambiguous_name_is_a_typed_result(make: Make, fresh_todo: str, received: Received) -> None:
    received.mark()
    outcome = call(make("mode: auto\n"), "scale", name="todo", replicas="2", namespace=fresh_todo)
    assert outcome.error_code == "ambiguous"
    assert sorted(outcome.details["candidates"]) == [f"{fresh_todo}/todo-backend", f"{fresh_todo}/todo-frontend"]
    assert received.writes() == []


def test_schemas_follow_the_policy(make: Make) -> None:
    everything = {s["name"] for s in make().schemas()}
    assert {"scale", "list_resources"} <= everything
    read_only = {s["name"] for s in make("mode: read-only\n").schemas()}
    assert "list_resources" in read_only and "scale" not in read_only

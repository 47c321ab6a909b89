"""Property-based: across thousands of generated calls (tools, arguments, identities, modes,
approvers), nothing the policy denies reaches the cluster and no write runs in confirm mode
without a consumed approval — checked against what the sandbox actually received (its audit
log), not against what kai believes it did."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tools.rollouts
import tools.workloads  # noqa: F401  (registration)
from sandbox import control
from sandbox.controllers.manager import ClusterOptions
from tests.tools.received import Received
from tools import policy as policies
from tools.audit import AuditStore
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.executor import ApprovalAnswer, ApprovalRequest, ApproveFn, Executor
from tools.guard import Caller

NAMESPACES = ["shop", "kube-system", "default"]
MODES = ["read-only", "confirm", "auto"]
IDENTITIES = {"repl:local": "admin", "eval:runner": "operator", "slack:T1/U1": "viewer"}
DEPLOYMENTS = ["web", "api"]


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels}, "spec": {"containers": [{"name": name, "image": f"{name}:1.0"}]}}}}


@dataclass
class World:
    state: Path
    ctx: ToolContext
    executors: dict[str, Executor]
    store: AuditStore
    received: Received


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """An API server alone (objects stay as calls leave them) with its audit log on."""
    state = tmp_path_factory.mktemp("guarded")
    running = control.up(state, options=ClusterOptions(controllers=False, audit_log=True))
    ctx = ToolContext(Cluster(kubeconfig=running.kubeconfig))

    async def seed() -> None:
        for ns in NAMESPACES:
            if ns not in ("default", "kube-system"):
                await ctx.cluster.request("POST", "/api/v1/namespaces", body={"metadata": {"name": ns}})
            for name in DEPLOYMENTS:
                await ctx.cluster.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments",
                                          body=deployment(name))

    asyncio.run(seed())
    store = AuditStore(f"sqlite:///{state / 'kai.db'}")
    executors = {mode: Executor(ctx, policies.parse(f"mode: {mode}\nrate_limits: {{writes_per_minute: 100000}}\n"),
                                store) for mode in MODES}
    yield World(state, ctx, executors, store, Received(state))
    for executor in executors.values():
        executor.close()
    store.close()
    ctx.cluster.close()
    control.down(state)


@st.composite
def calls(draw: st.DrawFn) -> dict[str, Any]:
    tool = draw(st.sampled_from(["scale", "set_image", "rollout_restart"]))
    args: dict[str, Any] = {"name": draw(st.sampled_from([*DEPLOYMENTS, *DEPLOYMENTS, "nope", "we", "a;b"]))}
    namespace = draw(st.sampled_from(["shop", *NAMESPACES, None, "absent"]))
    if namespace is not None:
        args["namespace"] = namespace
    if tool == "scale":
        args["replicas"] = draw(st.one_of(st.integers(-3, 40).map(str), st.integers(-3, 40),
                                          st.sampled_from(["+1", "-1", "x2", "50%", "three", ""])))
    elif tool == "set_image":
        args["image"] = draw(st.sampled_from(["1.1", ":2.0", "nginx:1.25", "evil.io/miner:1", "bad image"]))
    return {"tool": tool, "arguments": args, "mode": draw(st.sampled_from(MODES)),
            "identity": draw(st.sampled_from(list(IDENTITIES))),
            "approval": draw(st.sampled_from(["none", "approve", "reject"]))}


def approver(kind: str, seen: list[ApprovalRequest]) -> ApproveFn | None:
    if kind == "none":
        return None

    async def answer(request: ApprovalRequest) -> ApprovalAnswer:
        seen.append(request)
        return ApprovalAnswer(kind == "approve", request.caller.identity)

    return answer


def policy_denies(call: dict[str, Any]) -> bool:
    """The policy's refusals, computed independently of the guard."""
    role = IDENTITIES[call["identity"]]
    args = call["arguments"]
    if call["mode"] == "read-only" or role == "viewer" or args.get("namespace") == "kube-system":
        return True
    replicas = args.get("replicas")
    return call["tool"] == "scale" and isinstance(replicas, int) and replicas > 20


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(calls(), min_size=1, max_size=6))
def check_calls(world: World, tally: Counter[str], batch: list[dict[str, Any]]) -> None:
    for call in batch:
        seen: list[ApprovalRequest] = []
        world.received.mark()
        outcome = asyncio.run(world.executors[call["mode"]].call(
            call["tool"], call["arguments"], Caller(call["identity"]), approver(call["approval"], seen)))
        writes = world.received.writes()
        row = world.store.get(outcome.audit_id)
        assert row.outcome != "unknown"
        if writes:  # whatever reached the cluster was an allowed, finished call ...
            assert outcome.ok, (call, outcome.text, writes)
            assert len(writes) == 1 and writes[0]["user"]["username"] == "kai-admin"
        if policy_denies(call):  # ... and nothing the policy denies ever did
            assert not outcome.ok and not writes, (call, outcome.text)
        if outcome.ok:
            assert writes, (call, "an ok write the sandbox never received")
            if call["mode"] == "confirm":  # no write in confirm mode without a consumed approval
                assert row.approval_id and row.approver, call
                approval = world.store.approval(row.approval_id)
                assert approval.status == "approved" and approval.used_at is not None
                assert [r.approval_id for r in seen] == [row.approval_id]
            else:
                assert row.decision == "allow" and not seen
        if call["mode"] == "confirm" and call["approval"] != "approve":
            assert not outcome.ok and not writes
        tally["calls"] += 1
        tally[f"{call['mode']}:{outcome.status}"] += 1


PATHS = ("confirm:ok", "auto:ok", "read-only:denied", "confirm:denied", "auto:denied",
         "confirm:approval_required", "confirm:rejected", "confirm:error", "auto:error")


def test_nothing_denied_reaches_the_cluster(world: World) -> None:
    tally: Counter[str] = Counter()
    # the draws are random: now and then a rare path (confirm:approval_required needs three draws
    # to agree) falls short in one round of examples; another round, more calls checked, makes it up
    for _ in range(3):
        check_calls(world, tally)
        if all(tally[path] >= 10 for path in PATHS):
            break
    # thousands of calls, and every path taken many times
    assert tally["calls"] >= 1000, tally
    for path in PATHS:
        assert tally[path] >= 10, (path, tally)

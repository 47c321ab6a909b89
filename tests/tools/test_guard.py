"""The guard's rules, decided on planned changes (no cluster needed for these: a Change is
data). The end-to-end paths through the executor and the sandbox are in test_executor.py."""

from __future__ import annotations

import pytest

from tools import policy as policies
from tools.guard import Caller, Guard
from tools.registry import Change, Risk, Target, Tool, ToolInput, ToolResult


class Args(ToolInput):
    name: str = "x"
    namespace: str | None = None


async def _nothing(ctx: object, args: object) -> ToolResult:
    return ToolResult()


def make_tool(risk: Risk, name: str = "t") -> Tool:
    return Tool(name=name, risk=risk, summary="", args_doc={}, input_model=Args, result_model=ToolResult,
                fn=_nothing)


def change(namespace: str = "todo-app", replicas: int | None = None, images: list[str] | None = None,
           chart: str | None = None, labels: dict[str, str] | None = None, kind: str = "Deployment") -> Change:
    async def apply() -> ToolResult:
        raise AssertionError("the guard never applies")

    return Change(summary="s", command="kubectl x", apply=apply, replicas=replicas, images=images or [],
                  chart=chart, targets=[Target(kind, "todo-backend", namespace, "1", labels or {})])


ADMIN = Caller("repl:local")
VIEWER = Caller("slack:T1/U1")


def guard(text: str = "") -> Guard:
    return Guard(policies.parse(text))


def test_reads_are_allowed_for_viewers_writes_are_not() -> None:
    g = guard()
    assert g.before(make_tool("read"), Args(), VIEWER).decision == "allow"
    denied = g.before(make_tool("write", "scale"), Args(), VIEWER)
    assert denied.decision == "deny" and denied.rule == "roles"
    assert "may not run write tools such as scale" in denied.reason


def test_no_role_at_all_is_refused() -> None:
    g = guard("default_role: null\n")
    verdict = g.before(make_tool("read"), Args(), VIEWER)
    assert verdict.decision == "deny" and verdict.rule == "bindings"


def test_read_only_mode_denies_every_write() -> None:
    verdict = guard("mode: read-only\n").before(make_tool("write"), Args(), ADMIN)
    assert (verdict.decision, verdict.rule) == ("deny", "mode")


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease"])
def test_system_namespaces_are_denied_before_and_after_planning(namespace: str) -> None:
    g = guard()
    assert g.before(make_tool("write"), Args(namespace=namespace), ADMIN).rule == "namespaces"
    assert g.after(make_tool("write"), change(namespace)).rule == "namespaces"


def test_allow_list_of_namespaces() -> None:
    g = guard("namespaces: {allow: [todo-*]}\n")
    assert g.after(make_tool("write"), change("todo-app")).decision == "confirm"
    assert g.after(make_tool("write"), change("default")).decision == "deny"


def test_confirm_mode_confirms_auto_mode_allows_writes_but_not_destruction() -> None:
    assert guard().after(make_tool("write"), change()).decision == "confirm"
    auto = guard("mode: auto\n")
    assert auto.after(make_tool("write"), change()).decision == "allow"
    assert auto.after(make_tool("destructive"), change()).decision == "confirm"


@pytest.mark.parametrize(("replicas", "decision"), [(0, "confirm"), (20, "confirm"), (21, "deny"), (1000, "deny")])
def test_replica_bounds(replicas: int, decision: str) -> None:
    verdict = guard().after(make_tool("write"), change(replicas=replicas))
    assert verdict.decision == decision
    if decision == "deny":
        assert verdict.rule == "bounds.replicas" and "0–20" in verdict.reason


def test_per_namespace_replica_bounds() -> None:
    g = guard("bounds:\n  namespaces:\n    todo-app: {replicas: {min: 1, max: 3}}\n")
    assert g.after(make_tool("write"), change("todo-app", replicas=0)).decision == "deny"
    assert g.after(make_tool("write"), change("todo-app", replicas=4)).decision == "deny"
    assert g.after(make_tool("write"), change("other", replicas=4)).decision == "confirm"


def test_image_registry_and_chart_source_bounds() -> None:
    g = guard("bounds: {image_registries: [ghcr.io/acme], chart_sources: [./helm]}\n")
    assert g.after(make_tool("write"), change(images=["ghcr.io/acme/api:2"])).decision == "confirm"
    assert g.after(make_tool("write"), change(images=["evil.io/miner:1"])).rule == "bounds.image_registries"
    assert g.after(make_tool("write"), change(chart="./helm/todo-app")).decision == "confirm"
    assert g.after(make_tool("write"), change(chart="oci://x/y")).rule == "bounds.chart_sources"


def test_protected_objects() -> None:
    g = guard("protected:\n  objects: [{kind: Deployment, name: todo-backend}]\n")
    assert g.after(make_tool("write"), change()).rule == "protected"
    assert guard().after(make_tool("write"), change(labels={"kai.dev/protected": "true"})).rule == "protected"


def test_write_rate_limit_per_identity() -> None:
    now = [1000.0]
    g = Guard(policies.parse("rate_limits: {writes_per_minute: 2}\n"), clock=lambda: now[0])
    tool = make_tool("write")
    for _ in range(2):
        assert g.before(tool, Args(), ADMIN).decision == "allow"
        g.record_write(ADMIN)
    limited = g.before(tool, Args(), ADMIN)
    assert limited.rule == "rate_limits"
    assert g.before(tool, Args(), Caller("cli:local")).decision == "allow"  # per identity
    now[0] += 61
    assert g.before(tool, Args(), ADMIN).decision == "allow"


def test_who_may_approve() -> None:
    p = policies.parse("approval: {self_approve: false, approver_roles: [admin]}\n"
                       "bindings: {admin: ['slack:T1/BOSS'], operator: ['slack:T1/*']}\n")
    assert not p.may_approve("slack:T1/U1", "slack:T1/U1")
    assert p.may_approve("slack:T1/BOSS", "slack:T1/U1")
    assert not p.may_approve("slack:T1/U2", "slack:T1/U1")

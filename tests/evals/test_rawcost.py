"""evals.rawcost on the sandbox's todo stack: what kai's calls would have cost as raw kubectl
output, rendered in-process as the real kubectl prints it, ``describe`` from the real kubectl,
whole logs; writes and refused calls count kai's own output. Run with -s to see the figures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import yaml

from evals.rawcost import RawCall, RawCost, as_list, kubectl_yaml, printed, raw_tokens
from sandbox import control
from sandbox.control import Sandbox
from tests.conftest import Kubectl, wait_for
from tools.budget import count_tokens, render, truncate
from tools.catalog import REGISTRY
from tools.context import ToolContext
from tools.resolve import resolve_kind


def kai(ctx: ToolContext, name: str, /, **arguments: Any) -> RawCall:
    """Run tool ``name`` as the executor does (a write: plan, then apply) and keep what the model read."""
    item = REGISTRY.get(name)

    async def go() -> str:
        if item.risk == "read":
            result = await item.run(ctx, item.validate(arguments))
        else:
            result = await (await item.plan(ctx, item.validate(arguments))).apply()
        return truncate(render(result), ctx.budget)

    return RawCall(name, arguments, "ok", asyncio.run(go()))


def raw(ctx: ToolContext, calls: list[RawCall], namespace: str) -> RawCost:
    return asyncio.run(raw_tokens(ctx.cluster, calls, namespace))


def show(what: str, calls: list[RawCall], cost: RawCost) -> None:
    mine = sum(count_tokens(c.output) for c in calls)
    print(f"\n{what}: kai {mine} tokens, raw kubectl {cost.tokens} tokens ({cost.tokens / max(mine, 1):.1f}x)")
    for command in cost.commands:
        print(f"    {command}")


def within(mine: int, real: int, share: float = 0.02) -> bool:
    return abs(mine - real) <= share * real


def deployments_yaml(ctx: ToolContext, namespace: str) -> str:
    async def go() -> str:
        res = await resolve_kind(ctx.cluster, "deployments")
        doc = await ctx.cluster.get(res.path(namespace))
        return as_list([printed(i, res) for i in doc["items"]])

    return asyncio.run(go())


def test_a_list_costs_the_yaml_rendered_as_kubectl_prints_it(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    call = kai(ctx, "list_resources", kind="deploy", namespace=todo)
    for _ in range(3):  # the stack is settled; should a controller write meanwhile, read again
        before = deployments_yaml(ctx, todo)
        cost = raw(ctx, [call], todo)
        if deployments_yaml(ctx, todo) == before:
            break
    assert cost.commands == [f"kubectl get deployments -n {todo} -o yaml"]
    assert cost.tokens == count_tokens(before)
    assert within(cost.tokens, count_tokens(kc("get", "deployments", "-n", todo, "-o", "yaml")))

    one = asyncio.run(ctx.cluster.get(f"/apis/apps/v1/namespaces/{todo}/deployments/todo-backend"))
    mine = kubectl_yaml(printed(one))
    real = kc("get", "deploy", "todo-backend", "-n", todo, "-o", "yaml")
    print(f"\nkubectl get deploy todo-backend -o yaml: rendered here {count_tokens(mine)} tokens, "
          f"kubectl {count_tokens(real)} tokens")
    assert within(count_tokens(mine), count_tokens(real))
    assert "managedFields" not in mine
    assert yaml.safe_load(mine)["metadata"]["name"] == "todo-backend"
    show("list_resources deploy", [call], cost)


def test_a_typical_read_costs_its_yaml_and_kubectls_describe_more_than_kai(
        ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    call = kai(ctx, "get_resource", kind="deploy", name="backend", namespace=todo)
    cost = raw(ctx, [call], todo)
    assert cost.commands == [f"kubectl get deployment todo-backend -n {todo} -o yaml",
                             f"kubectl describe deployment todo-backend -n {todo}"]
    real = (count_tokens(kc("get", "deployment", "todo-backend", "-n", todo, "-o", "yaml"))
            + count_tokens(kc("describe", "deployment", "todo-backend", "-n", todo)))
    assert within(cost.tokens, real)
    assert cost.tokens > count_tokens(call.output)
    show("get_resource todo-backend", [call], cost)

    twice = raw(ctx, [call, kai(ctx, "describe_resource", kind="deployment", name="todo-backend",
                                         namespace=todo)], todo)
    assert twice.commands == cost.commands * 2  # a shell agent pays both times
    assert within(twice.tokens, 2 * cost.tokens)


def test_logs_count_the_whole_log_of_every_pod_kai_read(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    call = kai(ctx, "get_logs", name="backend", namespace=todo, tail=5)
    shown = yaml.safe_load(call.output)
    cost = raw(ctx, [call], todo)
    assert cost.commands == [f"kubectl logs {log['pod']} -n {todo} -c todo-backend" for log in shown["logs"]]
    assert len(cost.commands) == len(kc.json("get", "pods", "-n", todo, "-l", "app=todo-backend")["items"])
    kept = "\n".join(line for log in shown["logs"] for line in log["lines"])
    assert cost.tokens >= count_tokens(kept) > 0
    show("get_logs backend tail=5", [call], cost)


def test_a_write_counts_kais_own_output(ctx: ToolContext, fresh_todo: str) -> None:
    call = kai(ctx, "scale", name="backend", replicas="3", namespace=fresh_todo)
    assert "3" in call.output
    cost = raw(ctx, [call], fresh_todo)
    assert cost.tokens == count_tokens(call.output)
    assert cost.commands == ["scale: kai's output (kubectl or helm prints as much)"]


def test_a_call_that_did_not_run_counts_kais_own_output(ctx: ToolContext, todo: str) -> None:
    calls = [RawCall("delete_namespace", {"name": todo}, "denied", "denied: the policy denies delete_namespace"),
             RawCall("get_resource", {"kind": "secret", "name": "todo-app-secrets", "namespace": todo}, "denied",
                     "denied: eval:runner may not read secrets in todo-app"),
             RawCall("scale", {"name": "backend", "replicas": "3"}, "rejected", "rejected: nobody approved it")]
    cost = raw(ctx, calls, todo)
    assert cost.tokens == sum(count_tokens(c.output) for c in calls)
    assert cost.commands == ["delete_namespace: kai's output (status denied)",
                             "get_resource: kai's output (status denied)", "scale: kai's output (status rejected)"]


def test_without_kubectl_describe_counts_the_yaml_and_says_so(ctx: ToolContext, todo: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAI_TEST_KUBECTL", "/nonexistent/kubectl")
    call = kai(ctx, "describe_resource", kind="svc", name="todo-backend", namespace=todo)
    cost = raw(ctx, [call], todo)
    assert cost.commands[0] == f"kubectl get service todo-backend -n {todo} -o yaml"
    assert cost.commands[1] == (f"kubectl describe service todo-backend -n {todo} "
                                "(kubectl did not run: counted as its get -o yaml)")
    service = asyncio.run(ctx.cluster.get(f"/api/v1/namespaces/{todo}/services/todo-backend"))
    assert cost.tokens == 2 * count_tokens(kubectl_yaml(printed(service)))


def test_a_failing_namespace_is_described_and_its_crashed_logs_read(ctx: ToolContext, cluster: Sandbox,
                                                                     kc: Kubectl, fresh_todo: str) -> None:
    ns = fresh_todo
    control.inject_fault(cluster.state, "crashloop", "deployment/todo-frontend", ns)

    def restarted() -> bool:
        pods = kc.json("get", "pods", "-n", ns, "-l", "app=todo-frontend")["items"]
        return len(pods) == 2 and all(s.get("restartCount", 0) >= 1 for p in pods
                                      for s in p["status"].get("containerStatuses", []))

    wait_for(restarted, 30)
    ctx.namespace = ns
    calls = [kai(ctx, "check_health"), kai(ctx, "diagnose"), kai(ctx, "diagnose", name="frontend"),
             kai(ctx, "get_events", warnings_only=True), kai(ctx, "list_resources", kind="pods"),
             kai(ctx, "rollout_history", name="frontend"), kai(ctx, "list_namespaces")]
    started = time.perf_counter()
    cost = raw(ctx, calls, ns)
    took = time.perf_counter() - started
    crashed = [p["metadata"]["name"] for p in kc.json("get", "pods", "-n", ns, "-l", "app=todo-frontend")["items"]]
    for pod in crashed:
        assert f"kubectl describe pod {pod} -n {ns}" in cost.commands
        assert f"kubectl logs {pod} -n {ns} --all-containers --previous" in cost.commands
    assert f"kubectl get deploy,sts,ds,pods -n {ns} -o yaml" in cost.commands
    assert f"kubectl rollout history deployment todo-frontend -n {ns}" in cost.commands
    assert not any("counted as its get -o yaml" in c for c in cost.commands)
    assert cost.tokens > sum(count_tokens(c.output) for c in calls)
    show(f"a crash-looping frontend, {len(calls)} calls ({took * 1000:.0f} ms)", calls, cost)

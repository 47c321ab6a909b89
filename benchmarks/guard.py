"""Guard + audit overhead: a call through kai's executor against the same operation made with
the bare ``kubernetes`` client, for get, list and scale, interleaved in one run so the ratio
is fair on a noisy machine.

    python -m benchmarks.guard --out benchmarks/results/guard.json

The guarded call does everything the agent's call does: validation, the policy, name
resolution, for scale a server-side dry run for the preview, the result rendered and
bounded to the token budget, and three audit transactions (intent, decision, outcome) in a
SQLite file. The cluster is an API-only sandbox (no controllers, so objects stay put).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tools.objects
import tools.workloads  # noqa: F401  (registration)
from benchmarks.report import write_report
from sandbox import control
from sandbox.controllers.manager import ClusterOptions
from tools import policy as policies
from tools.audit import AuditStore
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.executor import Executor
from tools.guard import Caller

NS = "bench"
PODS = 50


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[round(0.99 * (len(ordered) - 1))] * 1000, 2)}


def _seed(api: Any) -> None:
    from kubernetes import client

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace({"metadata": {"name": NS}})
    labels = {"app": "web"}
    apps.create_namespaced_deployment(NS, {"metadata": {"name": "web"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    for i in range(PODS):
        core.create_namespaced_pod(NS, {"metadata": {"name": f"web-{i}", "labels": labels},
                                        "spec": {"containers": [{"name": "web", "image": "nginx"}]}})


def run(rounds: int) -> dict[str, Any]:
    from kubernetes import client, config

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        sandbox = control.up(state / "sandbox", options=ClusterOptions(controllers=False))
        api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))  # type: ignore[no-untyped-call]
        ctx = ToolContext(Cluster(kubeconfig=sandbox.kubeconfig))
        store = AuditStore(f"sqlite:///{state / 'kai.db'}")
        executor = Executor(ctx, policies.parse("mode: auto\nrate_limits: {writes_per_minute: 1000000}\n"), store)
        caller = Caller("eval:runner")  # the operator role of the default policy
        try:
            _seed(api)
            core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
            bare: dict[str, Callable[[int], Any]] = {
                "get": lambda i: apps.read_namespaced_deployment("web", NS),
                "list": lambda i: core.list_namespaced_pod(NS),
                "scale": lambda i: apps.patch_namespaced_deployment_scale(
                    "web", NS, {"spec": {"replicas": 1 + i % 5}}, _content_type="application/merge-patch+json"),
            }
            guarded: dict[str, tuple[str, Callable[[int], dict[str, Any]]]] = {
                "get": ("get_resource", lambda i: {"kind": "deployment", "name": "web", "namespace": NS}),
                "list": ("list_resources", lambda i: {"kind": "pods", "namespace": NS}),
                "scale": ("scale", lambda i: {"name": "web", "namespace": NS, "replicas": str(1 + (i + 1) % 5)}),
            }

            async def through_kai(op: str, i: int) -> None:
                name, args = guarded[op]
                outcome = await executor.call(name, args(i), caller)
                assert outcome.ok, outcome.text

            loop = asyncio.new_event_loop()
            results: dict[str, Any] = {}
            for op in bare:
                for i in range(5):  # warm both paths (discovery, connections)
                    bare[op](i)
                    loop.run_until_complete(through_kai(op, i))
                plain: list[float] = []
                kai: list[float] = []
                for i in range(rounds):
                    t0 = time.perf_counter()
                    bare[op](i)
                    plain.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    loop.run_until_complete(through_kai(op, i))
                    kai.append(time.perf_counter() - t0)
                results[op] = {"bare": _stats(plain), "guarded": _stats(kai),
                               "ratio_p50": round(statistics.median(kai) / statistics.median(plain), 2)}
            loop.close()
            rows = len(store.records(limit=100000))
            results["audit_rows"] = rows
        finally:
            executor.close()
            store.close()
            ctx.cluster.close()
            api.close()
            control.down(state / "sandbox")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/guard.json"))
    args = parser.parse_args()
    write_report("guard", args.rounds, run(args.rounds), args.out, list_pods=PODS)


if __name__ == "__main__":
    main()

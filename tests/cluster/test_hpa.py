"""The HorizontalPodAutoscaler: through kubectl with the programs' own load, and in
process with a load factor (the ``high-cpu`` fault's hook)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sandbox.controllers.kinds import DEPLOYMENTS
from sandbox.controllers.manager import ClusterOptions
from sandbox.registry import WriteOptions
from sandbox.resources import lookup
from sandbox.server import SandboxServer
from tests.conftest import Kubectl, wait_for


def deployment(name: str, cpu: str) -> dict[str, object]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx",
                                         "resources": {"requests": {"cpu": cpu}}}]}}}}


def hpa(name: str, high: int) -> dict[str, object]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": 1, "maxReplicas": high, "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}}


def test_hpa_scales_up_and_shows_targets(kc: Kubectl, ns: str) -> None:
    kc("apply", "-n", ns, "-f", "-", stdin=json.dumps(deployment("hot", "2m")))  # nginx uses ~2m
    kc("apply", "-n", ns, "-f", "-", stdin=json.dumps(hpa("hot", 4)))
    wait_for(lambda: kc.json("get", "deploy", "hot", "-n", ns)["spec"]["replicas"] == 4, timeout=30)
    wait_for(lambda: kc.json("get", "hpa", "hot", "-n", ns).get("status", {}).get("currentReplicas") == 4,
             timeout=30)
    row = kc("get", "hpa", "hot", "-n", ns).splitlines()[1].split()
    assert row[0] == "hot" and row[1] == "Deployment/hot"
    assert row[2] == "cpu:" and row[3].endswith("%/50%") and int(row[3].split("%")[0]) > 55
    assert row[4:7] == ["1", "4", "4"]
    status = kc.json("get", "hpa", "hot", "-n", ns)["status"]
    assert status["desiredReplicas"] == 4 and status["lastScaleTime"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["ScalingActive"]["reason"] == "ValidMetricFound"
    assert conditions["ScalingLimited"]["status"] == "True"
    assert conditions["ScalingLimited"]["reason"] == "TooManyReplicas"
    events = kc("get", "events", "-n", ns, "--field-selector", "reason=SuccessfulRescale")
    assert "reason: cpu resource utilization (percentage of request) above target" in events


def test_load_factor_drives_scaling(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        server = SandboxServer(tmp_path / "s", "token", options=ClusterOptions(speed=40))
        await server.registry.collector.resume()
        await server.controllers.start()
        metrics = server.controllers.metrics
        assert metrics is not None
        hpas = lookup("autoscaling", "v2", "horizontalpodautoscalers")
        assert hpas is not None
        try:
            server.registry.create(DEPLOYMENTS, "default", deployment("calm", "10m"), WriteOptions())
            server.registry.create(hpas, "default", hpa("calm", 5), WriteOptions())
            seen = []
            for step in range(120):
                await asyncio.sleep(0.1)
                if step == 30:
                    metrics.set_load("default", {"app": "calm"}, 10.0)  # ~20m on a 10m request
                deploy = server.store.get("deployments.apps", "default", "calm") or {}
                seen.append(int(deploy["spec"]["replicas"]))
                if seen[-1] == 5:
                    break
            return seen
        finally:
            await server.controllers.stop()
            await server.registry.collector.stop()

    seen = asyncio.run(scenario())
    assert seen[29] == 1  # about 20% of the request: no scaling without load
    assert seen[-1] == 5

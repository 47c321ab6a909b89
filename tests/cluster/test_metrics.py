"""``kubectl top`` against the simulated metrics pipeline."""

from __future__ import annotations

import json

from tests.conftest import Kubectl, wait_for


def _running(kc: Kubectl, ns: str, name: str) -> bool:
    return bool(kc.json("get", "pod", name, "-n", ns).get("status", {}).get("phase") == "Running")


def test_top_pods_and_nodes(kc: Kubectl, ns: str) -> None:
    kc("apply", "-n", ns, "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db", "labels": {"app": "db"}},
        "spec": {"containers": [{"name": "postgres", "image": "postgres:16",
                                 "env": [{"name": "POSTGRES_PASSWORD", "value": "x"}]},
                                {"name": "cache", "image": "redis:7"}]}}))
    wait_for(lambda: _running(kc, ns, "db"), timeout=20)
    wait_for(lambda: "db" in kc("top", "pods", "-n", ns), timeout=10)
    rows = kc("top", "pods", "-n", ns).splitlines()
    assert rows[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    name, cpu, memory = rows[1].split()
    assert name == "db" and cpu.endswith("m") and memory.endswith("Mi")
    assert 60 <= int(memory[:-2]) <= 80  # postgres 60Mi + redis 10Mi, with jitter
    containers = kc("top", "pods", "-n", ns, "--containers").splitlines()
    assert containers[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert {tuple(line.split()[:2]) for line in containers[1:]} == {("db", "postgres"), ("db", "cache")}
    assert "db" in kc("top", "pods", "-n", ns, "-l", "app=db")
    nodes = kc("top", "nodes").splitlines()
    assert nodes[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert nodes[1].split()[0] == "minikube"
    metrics = json.loads(kc("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods/db"))
    assert metrics["kind"] == "PodMetrics" and metrics["window"] == "15s" and metrics["timestamp"]
    assert {c["name"] for c in metrics["containers"]} == {"postgres", "cache"}

"""DaemonSets through the real kubectl: a pod per node, bound by node affinity, taints
and node selectors, the counts of ``kubectl get ds``, rolling updates."""

from __future__ import annotations

from typing import Any

from sandbox.controllers.manager import ClusterOptions
from tests.conftest import Kubectl, wait_for

OPTIONS = ClusterOptions(nodes=3)

DS = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "nginx:1.27"}]
"""


def agents(kube: Kubectl, label: str = "app=agent") -> list[dict[str, Any]]:
    return [p for p in kube.json("get", "pods", "-l", label)["items"] if not p["metadata"].get("deletionTimestamp")]


def test_a_pod_per_node(kube: Kubectl) -> None:
    kube("apply", "-f", "-", stdin=DS)
    kube.run("rollout", "status", "ds/agent", "--timeout=60s")
    found = agents(kube)
    assert sorted(p["spec"]["nodeName"] for p in found) == ["minikube", "minikube-m02", "minikube-m03"]
    for pod in found:
        terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"] == [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [pod["spec"]["nodeName"]]}]}]
        keys = {t["key"] for t in pod["spec"]["tolerations"]}
        assert {"node.kubernetes.io/not-ready", "node.kubernetes.io/unschedulable"} <= keys
        assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
        assert pod["metadata"]["labels"]["controller-revision-hash"]
    row = kube("get", "ds", "agent", "--no-headers").split()
    assert row[:6] == ["agent", "3", "3", "3", "3", "3"]
    status = kube.json("get", "ds", "agent")["status"]
    assert status["numberMisscheduled"] == 0 and status["updatedNumberScheduled"] == 3


def test_taints_and_selectors(kube: Kubectl) -> None:
    kube("taint", "nodes", "minikube-m03", "dedicated=db:NoSchedule")
    kube("apply", "-f", "-", stdin=DS.replace("agent", "picky"))
    kube.run("rollout", "status", "ds/picky", "--timeout=60s")
    assert sorted(p["spec"]["nodeName"] for p in agents(kube, "app=picky")) == ["minikube", "minikube-m02"]
    assert kube.json("get", "ds", "picky")["status"]["desiredNumberScheduled"] == 2
    # the pod that ran there before the NoSchedule taint stays, misscheduled
    wait_for(lambda: kube.json("get", "ds", "agent")["status"].get("numberMisscheduled") == 1)
    assert len(agents(kube)) == 3
    kube("taint", "nodes", "minikube-m03", "dedicated-")
    kube("label", "nodes", "minikube-m02", "disk=ssd")
    kube("patch", "ds", "picky", "--type=merge", "-p", '{"spec":{"template":{"spec":{"nodeSelector":{"disk":"ssd"}}}}}')
    kube.run("rollout", "status", "ds/picky", "--timeout=60s")
    wait_for(lambda: [p["spec"]["nodeName"] for p in agents(kube, "app=picky")] == ["minikube-m02"], timeout=30)
    row = kube("get", "ds", "picky", "--no-headers").split()
    assert row[:6] == ["picky", "1", "1", "1", "1", "1"]
    assert "disk=ssd" in row


def test_rolling_update(kube: Kubectl) -> None:
    before = {p["metadata"]["name"] for p in agents(kube)}
    kube("set", "image", "ds/agent", "agent=nginx:1.27.1")
    kube.run("rollout", "status", "ds/agent", "--timeout=90s")
    wait_for(lambda: len(agents(kube)) == 3, timeout=30)
    found = agents(kube)
    assert not before & {p["metadata"]["name"] for p in found}
    assert {p["spec"]["containers"][0]["image"] for p in found} == {"nginx:1.27.1"}
    assert {p["metadata"]["labels"]["pod-template-generation"] for p in found} == {"2"}

"""StatefulSets through the real kubectl: ordinal pods in order, claims per ordinal,
rollout status, scaling down from the highest ordinal, rolling updates."""

from __future__ import annotations

import json
import subprocess
import time

from tests.conftest import Kubectl, wait_for

SET = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: None, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""


def pods(kube: Kubectl) -> dict[str, dict]:  # type: ignore[type-arg]
    return {p["metadata"]["name"]: p for p in kube.json("get", "pods", "-l", "app=web")["items"]}


def test_ordered_creation_and_rollout(kube: Kubectl) -> None:
    kube("apply", "-f", "-", stdin=SET)
    kube.run("rollout", "status", "sts/web", "--timeout=60s")
    found = pods(kube)
    assert sorted(found) == ["web-0", "web-1", "web-2"]
    web1 = found["web-1"]
    labels = web1["metadata"]["labels"]
    assert labels["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert labels["apps.kubernetes.io/pod-index"] == "1"
    assert labels["controller-revision-hash"].startswith("web-")
    assert web1["spec"]["hostname"] == "web-1" and web1["spec"]["subdomain"] == "web"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}} in web1["spec"]["volumes"]
    created = sorted(found.values(), key=lambda p: p["metadata"]["creationTimestamp"])
    assert [p["metadata"]["name"] for p in created] == ["web-0", "web-1", "web-2"]
    claims = kube.json("get", "pvc")["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-web-0", "data-web-1", "data-web-2"]
    sts = kube.json("get", "sts", "web")
    status = sts["status"]
    assert status["replicas"] == status["readyReplicas"] == status["availableReplicas"] == 3
    assert status["currentRevision"] == status["updateRevision"] == labels["controller-revision-hash"]
    assert status["observedGeneration"] == sts["metadata"]["generation"]
    row = kube("get", "sts", "web", "--no-headers").split()
    assert row[:2] == ["web", "3/3"]
    events = kube("get", "events", "--field-selector", "involvedObject.kind=StatefulSet")
    assert "create Pod web-0 in StatefulSet web successful" in events
    assert "create Claim data-web-0 Pod web-0 in StatefulSet web success" in events


def test_scale_down_from_the_highest_ordinal(kube: Kubectl) -> None:
    kube("scale", "sts/web", "--replicas=1")
    seen: list[set[str]] = []

    def shrunk() -> bool:
        names = {n for n, p in pods(kube).items() if not p["metadata"].get("deletionTimestamp")}
        if not seen or seen[-1] != names:
            seen.append(names)
        return names == {"web-0"}

    wait_for(shrunk, timeout=60)
    assert {"web-0", "web-1"} in seen or seen[0] == {"web-0", "web-1"}  # web-2 went first
    kube.run("rollout", "status", "sts/web", "--timeout=60s")
    # the claims stay (whenScaled: Retain)
    assert len(kube.json("get", "pvc")["items"]) == 3


def test_rolling_update_goes_down_from_the_top(kube: Kubectl) -> None:
    kube("scale", "sts/web", "--replicas=3")
    kube.run("rollout", "status", "sts/web", "--timeout=60s")
    before = kube.json("get", "sts", "web")["status"]["updateRevision"]
    watch = subprocess.Popen(  # the order in which pods appear at the new revision, as a watch sees it
        [kube.binary, "get", "pods", "-l", "app=web", "-w", "--no-headers",
         "-o", "custom-columns=NAME:.metadata.name,REV:.metadata.labels.controller-revision-hash"],
        env=kube.env, stdout=subprocess.PIPE, text=True)
    kube("set", "image", "sts/web", "nginx=nginx:1.27.1")

    def updated() -> bool:
        status = kube.json("get", "sts", "web")["status"]
        return bool(status.get("currentRevision") == status["updateRevision"] != before)

    try:
        wait_for(updated, timeout=90)
    finally:
        watch.terminate()
    lines, _ = watch.communicate(timeout=10)
    revision = kube.json("get", "sts", "web")["status"]["updateRevision"]
    order: list[str] = []
    for line in lines.splitlines():
        name, _, rev = line.partition(" ")
        if rev.strip() == revision and name not in order:
            order.append(name)
    kube.run("rollout", "status", "sts/web", "--timeout=60s")
    assert order == ["web-2", "web-1", "web-0"]
    status = kube.json("get", "sts", "web")["status"]
    assert status["currentReplicas"] == status["updatedReplicas"] == 3
    revisions = {p["metadata"]["labels"]["controller-revision-hash"] for p in pods(kube).values()}
    assert revisions == {status["updateRevision"]}


def test_parallel_and_retention_delete(kube: Kubectl) -> None:
    manifest = json.loads(json.dumps({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "fast"},
        "spec": {"replicas": 3, "podManagementPolicy": "Parallel", "serviceName": "fast",
                 "selector": {"matchLabels": {"app": "fast"}},
                 "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"},
                 "template": {"metadata": {"labels": {"app": "fast"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {
                     "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}))
    kube("apply", "-f", "-", stdin=json.dumps(manifest))
    kube.run("rollout", "status", "sts/fast", "--timeout=60s")
    kube("scale", "sts/fast", "--replicas=1")

    def claims() -> set[str]:
        return {c["metadata"]["name"] for c in kube.json("get", "pvc", "-l", "app=fast")["items"]}

    wait_for(lambda: claims() == {"d-fast-0"}, timeout=60)
    kube("delete", "sts", "fast")
    deadline = time.monotonic() + 60
    while claims() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not claims()

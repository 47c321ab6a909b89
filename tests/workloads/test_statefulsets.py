"""StatefulSets through the real kubectl: ordinal pods in order, claims per ordinal,
rollout status, scaling down from the highest ordinal, rolling updates."""

from __future__ import annotations

import json
import subprocess
import threading
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


class PodWatch:
    """``kubectl get pods -w`` on the pods of ``selector``: every event as the watch sees it, as
    (type, name, controller-revision-hash, deleting). It returns once the watch has listed the
    ``listed`` pods there are, so that a change made afterwards is seen from its first step however
    long kubectl takes to start (polling instead can miss a step on a busy machine)."""

    FORMAT = ("jsonpath={.type}|{.object.metadata.name}|{.object.metadata.labels.controller-revision-hash}|"
              "{.object.metadata.deletionTimestamp}{\"\\n\"}")

    def __init__(self, kube: Kubectl, selector: str, listed: int) -> None:
        self.events: list[tuple[str, str, str, bool]] = []
        self.proc = subprocess.Popen([kube.binary, "get", "pods", "-l", selector, "-w", "--output-watch-events",
                                      "-o", self.FORMAT], env=kube.env, stdout=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        try:
            wait_for(lambda: len(self.events) >= listed, timeout=60)
        except AssertionError:
            self.stop()
            raise

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, name, revision, deleting = line.rstrip("\n").split("|")
            self.events.append((kind, name, revision, kind == "DELETED" or bool(deleting)))

    def order(self, revision: str | None = None) -> list[str]:
        """The pods in the order they started going (``revision`` None), or appeared at ``revision``."""
        names: list[str] = []
        for _, name, rev, deleting in list(self.events):
            if (deleting if revision is None else rev == revision) and name not in names:
                names.append(name)
        return names

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


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
    watch = PodWatch(kube, "app=web", listed=3)
    try:
        kube("scale", "sts/web", "--replicas=1")
        wait_for(lambda: len(watch.order()) >= 2, timeout=60)
    finally:
        watch.stop()
    assert watch.order() == ["web-2", "web-1"]  # web-2 went first
    wait_for(lambda: {n for n, p in pods(kube).items() if not p["metadata"].get("deletionTimestamp")} == {"web-0"},
             timeout=60)
    kube.run("rollout", "status", "sts/web", "--timeout=60s")
    # the claims stay (whenScaled: Retain)
    assert len(kube.json("get", "pvc")["items"]) == 3


def test_rolling_update_goes_down_from_the_top(kube: Kubectl) -> None:
    kube("scale", "sts/web", "--replicas=3")
    kube.run("rollout", "status", "sts/web", "--timeout=60s")
    before = kube.json("get", "sts", "web")["status"]["updateRevision"]
    watch = PodWatch(kube, "app=web", listed=3)  # the order in which pods appear at the new revision
    try:
        kube("set", "image", "sts/web", "nginx=nginx:1.27.1")

        def updated() -> bool:
            status = kube.json("get", "sts", "web")["status"]
            return bool(status.get("currentRevision") == status["updateRevision"] != before)

        wait_for(updated, timeout=90)
        revision = kube.json("get", "sts", "web")["status"]["updateRevision"]
        wait_for(lambda: len(watch.order(revision)) == 3)
    finally:
        watch.stop()
    kube.run("rollout", "status", "sts/web", "--timeout=60s")
    assert watch.order(revision) == ["web-2", "web-1", "web-0"]
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

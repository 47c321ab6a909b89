"""cordon, uncordon and drain on a two-node sandbox of this module's own (so no other suite's
pods are moved), with the API server's audit log on: planning must leave no write in it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tools.nodes  # noqa: F401  (registers the tools)
from sandbox import audit, control
from sandbox.controllers.manager import ClusterOptions
from tests.conftest import Kubectl, kubectl_for, wait_for
from tests.tools.recording import applied, plan_only, recording_context, refused
from tools.context import ToolContext
from tools.errors import InvalidInput, NotFound

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
NODE = "minikube-m02"


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.Sandbox]:
    state = tmp_path_factory.mktemp("nodes")
    running = control.up(state, options=ClusterOptions(nodes=2, audit_log=True))
    yield running
    control.down(state)


@pytest.fixture(scope="module")
def kc2(two_nodes: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(two_nodes.kubeconfig, tmp_path_factory.mktemp("kubecache"))


@pytest.fixture
def nctx(two_nodes: control.Sandbox) -> Iterator[ToolContext]:
    ctx, recorder = recording_context(two_nodes.kubeconfig)
    yield ctx
    recorder.close()


class Received:
    """What the sandbox's audit log holds from a point on."""

    def __init__(self, sandbox: control.Sandbox) -> None:
        self.path = sandbox.state / "audit.log"
        self.start = len(audit.read(self.path))

    def writes(self) -> list[str]:
        events = audit.read(self.path)[self.start:]
        return [f"{e['verb']} {e['requestURI']}" for e in events
                if e["verb"] in WRITE_VERBS and "sandbox.kai.dev/dry-run" not in (e.get("annotations") or {})]

    def dry_runs(self) -> list[str]:
        events = audit.read(self.path)[self.start:]
        return [f"{e['verb']} {e['requestURI']}" for e in events if (e.get("annotations") or {})]


def unschedulable(kc: Kubectl, node: str = NODE) -> bool:
    return bool(kc.json("get", "node", node)["spec"].get("unschedulable"))


def pods_on(kc: Kubectl, namespace: str, node: str) -> list[str]:
    pods = kc.json("get", "pods", "-n", namespace, "--field-selector", f"spec.nodeName={node}")["items"]
    return sorted(p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp"))


def test_the_nodes_are_named(kc2: Kubectl) -> None:
    assert kc2("get", "nodes", "-o", "name").split() == ["node/minikube", f"node/{NODE}"]


def test_cordon_and_uncordon(two_nodes: control.Sandbox, kc2: Kubectl, nctx: ToolContext) -> None:
    received = Received(two_nodes)
    change = plan_only(nctx, "cordon", name="m02")
    assert change.command == f"kubectl cordon {NODE}"
    assert [t.ref() for t in change.targets] == [f"Node/{NODE}"]
    assert "+  unschedulable: true\n" in change.diff
    assert received.writes() == [] and len(received.dry_runs()) == 1
    assert not unschedulable(kc2)
    try:
        assert applied(change).model_dump() == {"name": NODE, "unschedulable": True, "changed": True}
        assert unschedulable(kc2)
        assert "already cordoned" in plan_only(nctx, "cordon", name=NODE).summary
        back = plan_only(nctx, "uncordon", name=NODE)
        assert back.command == f"kubectl uncordon {NODE}" and "-  unschedulable: true\n" in back.diff
        assert applied(back).changed
        assert not unschedulable(kc2)
    finally:
        kc2("uncordon", NODE)


@pytest.mark.parametrize(("arguments", "error"), [
    ({"name": "a;reboot"}, InvalidInput), ({"name": "../minikube"}, InvalidInput), ({"name": "worker-9"}, NotFound),
])
def test_bad_node_names(nctx: ToolContext, arguments: dict[str, Any], error: type[Exception]) -> None:
    assert isinstance(refused(nctx, "cordon", **arguments), error)
    assert isinstance(refused(nctx, "drain", **arguments), error)


WORKLOADS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: scratch}
spec:
  replicas: 1
  selector: {matchLabels: {app: scratch}}
  template:
    metadata: {labels: {app: scratch}}
    spec:
      containers: [{name: web, image: "nginx:1.27", volumeMounts: [{name: tmp, mountPath: /tmp}]}]
      volumes: [{name: tmp, emptyDir: {}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "nginx:1.27"}]
---
apiVersion: v1
kind: Pod
metadata: {name: lonely}
spec:
  nodeName: minikube-m02
  containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: v1
kind: Pod
metadata:
  name: static-web-minikube-m02
  annotations: {kubernetes.io/config.mirror: "0123456789abcdef"}
spec:
  nodeName: minikube-m02
  containers: [{name: web, image: "nginx:1.27"}]
"""


@pytest.fixture(scope="module")
def drain_ns(kc2: Kubectl) -> str:
    """Workloads of every sort on minikube-m02 (the other node cordoned while they start)."""
    kc2("create", "namespace", "drain")
    kc2("cordon", "minikube")
    try:
        kc2("apply", "-n", "drain", "-f", "-", stdin=WORKLOADS)
        wait_for(lambda: len(pods_on(kc2, "drain", NODE)) == 6, timeout=60)
    finally:
        kc2("uncordon", "minikube")
    return "drain"


def test_drain_refuses_pods_it_would_lose_without_the_flags(two_nodes: control.Sandbox, kc2: Kubectl,
                                                            nctx: ToolContext, drain_ns: str) -> None:
    received = Received(two_nodes)
    error = refused(nctx, "drain", name=NODE)
    assert isinstance(error, InvalidInput)
    message = str(error)
    assert message.startswith(f"cannot drain node {NODE}: ")
    assert "DaemonSet-managed pods (set ignore_daemonsets): drain/agent-" in message
    assert "pods with local storage (set delete_emptydir_data): drain/scratch-" in message
    assert "pods that declare no controller (set force): drain/lonely" in message
    assert received.writes() == [] and received.dry_runs() == []
    partly = refused(nctx, "drain", name=NODE, ignore_daemonsets=True, delete_emptydir_data=True)
    assert "DaemonSet" not in str(partly) and "drain/lonely" in str(partly)
    assert not unschedulable(kc2)


def test_drain_previews_then_evicts_and_the_pods_move(two_nodes: control.Sandbox, kc2: Kubectl, nctx: ToolContext,
                                                      drain_ns: str) -> None:
    ns = drain_ns
    before = pods_on(kc2, ns, NODE)
    web = [p for p in before if p.startswith("web-")]
    assert len(web) == 2
    received = Received(two_nodes)
    change = plan_only(nctx, "drain", name="m02", ignore_daemonsets=True, delete_emptydir_data=True, force=True)
    assert change.command == f"kubectl drain {NODE} --ignore-daemonsets --delete-emptydir-data --force"
    assert change.summary.startswith(f"drain node {NODE}: cordon it and evict 4 pods (")
    assert "(DaemonSet)" in change.summary and "static-web-minikube-m02 (mirror pod)" in change.summary
    assert "+  unschedulable: true\n" in change.diff
    assert f"\n-- {ns}/lonely\n" in change.diff and f"\n-- {ns}/{web[0]}\n" in change.diff
    assert f"\n - {ns}/static-web-minikube-m02\n" in change.diff
    assert sorted(t.ref() for t in change.targets if t.kind == "Pod") == sorted(
        f"Pod/{p} in {ns}" for p in before if not p.startswith(("agent-", "static-")))
    assert received.writes() == []
    assert len([e for e in received.dry_runs() if e.endswith("/eviction?dryRun=All")]) == 4
    assert not unschedulable(kc2) and pods_on(kc2, ns, NODE) == before

    try:
        result = applied(change)
        assert unschedulable(kc2)
        assert sorted(result.evicted) == sorted(f"{ns}/{p}" for p in before if p.startswith(("web-", "scratch-",
                                                                                              "lonely")))
        assert result.failed == [] and result.still_terminating == []
        assert sorted(result.skipped) == sorted([f"{ns}/{p} (DaemonSet)" for p in before if p.startswith("agent-")]
                                                + [f"{ns}/static-web-minikube-m02 (mirror pod)"])
        left = pods_on(kc2, ns, NODE)
        assert [p for p in left if not p.startswith("agent-")] == ["static-web-minikube-m02"]
        assert kc2.run("get", "pod", "lonely", "-n", ns, check=False).returncode != 0
        wait_for(lambda: len([p for p in pods_on(kc2, ns, "minikube") if p.startswith("web-")]) == 2, timeout=60)
        assert received.writes()[0] == f"patch /api/v1/nodes/{NODE}"
    finally:
        applied(plan_only(nctx, "uncordon", name=NODE))
    assert not unschedulable(kc2)

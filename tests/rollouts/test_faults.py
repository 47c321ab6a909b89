"""Faults through `kai sandbox fault` and the Python API: each incident shows through the
Kubernetes API only (statuses, events, logs, specs), and `clear` ends it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import control
from sandbox.controllers.manager import ClusterOptions
from tests.conftest import Kubectl, kubectl_for, wait_for

NS = "incidents"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Kubectl]]:
    state = tmp_path_factory.mktemp("faults")
    running = control.up(state, options=ClusterOptions(speed=20))
    kube = kubectl_for(running.kubeconfig, tmp_path_factory.mktemp("kubecache"))
    kube("create", "namespace", NS)
    yield state, kube
    control.down(state)


def deploy(kube: Kubectl, name: str, image: str = "nginx:1.25", replicas: int = 2, **extra: object) -> None:
    container = {"name": "app", "image": image, "ports": [{"containerPort": 80}],
                 "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m", "memory": "64Mi"}}, **extra}
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}}
    kube("apply", "-f", "-", stdin=json.dumps(body))
    kube("rollout", "status", f"deploy/{name}", "-n", NS, "--timeout=60s")


def statuses(kube: Kubectl, app: str) -> list[dict[str, object]]:
    pods = kube.json("get", "pods", "-l", f"app={app}", "-n", NS)["items"]
    return [s for p in pods if not p["metadata"].get("deletionTimestamp")
            for s in p["status"].get("containerStatuses", [])]


def fault_cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", "sandbox", "fault", "--state", str(state), *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_crashloop_and_clear(world: tuple[Path, Kubectl]) -> None:
    state, kube = world
    deploy(kube, "api")
    made = fault_cli(state, "crashloop", "deployment/api", "-n", NS)
    assert made.returncode == 0 and made.stdout.strip() == f"crashloop on deployment/api in namespace {NS}"
    # the running containers are killed; from their next start on they crash
    wait_for(lambda: any(s["restartCount"] >= 2 and "waiting" in s["state"]  # type: ignore[operator]
                         for s in statuses(kube, "api")), 30)
    assert "CrashLoopBackOff" in kube("get", "pods", "-l", "app=api", "-n", NS)
    pod = next(p["metadata"]["name"] for p in kube.json("get", "pods", "-l", "app=api", "-n", NS)["items"]
               if p["status"]["containerStatuses"][0]["restartCount"] >= 2)
    assert "panic: runtime error" not in kube("logs", pod, "-n", NS, "--previous")  # nginx has its own words
    assert "host not found in upstream" in kube("logs", pod, "-n", NS, "--previous")
    listed = fault_cli(state, "list")
    assert re.match(rf"crashloop deployment/api -n {NS} \(since ", listed.stdout)
    cleared = fault_cli(state, "clear", "api", "-n", NS)
    assert cleared.stdout.strip() == "cleared 1 fault(s): crashloop deployment/api"
    wait_for(lambda: all(s["ready"] for s in statuses(kube, "api")), 60)


def test_image_pull_changes_the_template_and_clear_restores_it(world: tuple[Path, Kubectl]) -> None:
    state, kube = world
    deploy(kube, "web", replicas=2)
    control.inject_fault(state, "image-pull", "web", NS)
    image = kube("get", "deploy", "web", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image == "nginx:does-not-exist"
    wait_for(lambda: any("ImagePull" in json.dumps(s) for s in statuses(kube, "web")), 30)
    control.clear_faults(state, "deployment/web", NS)
    kube("rollout", "status", "deploy/web", "-n", NS, "--timeout=60s")
    assert kube("get", "deploy", "web", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}") \
        == "nginx:1.25"


def test_oom_probe_fail_and_pending(world: tuple[Path, Kubectl]) -> None:
    state, kube = world
    deploy(kube, "mem", replicas=1)
    deploy(kube, "probed", replicas=1, readinessProbe={"httpGet": {"path": "/", "port": 80}, "periodSeconds": 2})
    deploy(kube, "big", replicas=1)
    control.inject_fault(state, "oom", "mem", NS)
    control.inject_fault(state, "probe-fail", "probed", NS)
    control.inject_fault(state, "pending", "big", NS)
    wait_for(lambda: any(((s.get("lastState") or {}).get("terminated") or {}).get("reason") == "OOMKilled"  # type: ignore[union-attr]
                         for s in statuses(kube, "mem")), 30)
    wait_for(lambda: "statuscode: 503" in kube("get", "events", "-n", NS, "--field-selector", "reason=Unhealthy"), 30)
    wait_for(lambda: not any(s["ready"] for s in statuses(kube, "probed")), 30)
    wait_for(lambda: "Insufficient cpu" in kube("get", "events", "-n", NS, "--field-selector",
                                                 "reason=FailedScheduling"), 30)
    assert kube("get", "pods", "-l", "app=big", "-n", NS, "--field-selector=status.phase=Pending", "-o", "name")
    assert len(control.list_faults(state)) == 3
    control.clear_faults(state, "all", NS)
    assert control.list_faults(state) == []
    wait_for(lambda: all(s["ready"] for s in statuses(kube, "probed")), 60)
    kube("rollout", "status", "deploy/big", "-n", NS, "--timeout=60s")


def test_high_cpu_shows_in_top(world: tuple[Path, Kubectl]) -> None:
    state, kube = world
    deploy(kube, "busy", replicas=1)

    def millicores() -> int:
        row = kube("top", "pods", "-l", "app=busy", "-n", NS, "--no-headers").split()
        return int(row[1].rstrip("m")) if row else 0
    wait_for(lambda: millicores() > 0, 30)
    calm = millicores()
    control.inject_fault(state, "high-cpu", "busy", NS)
    wait_for(lambda: millicores() >= 150, 30)  # 95% of its 200m limit
    assert calm < 50
    control.clear_faults(state, "busy", NS)


def test_node_down_evicts_and_comes_back(world: tuple[Path, Kubectl]) -> None:
    state, kube = world
    deploy(kube, "pinned", replicas=1)
    control.inject_fault(state, "node-down", "node/minikube", NS)
    wait_for(lambda: "NotReady" in kube("get", "node", "minikube"), 30)
    node = kube.json("get", "node", "minikube")
    assert {t["key"] for t in node["spec"]["taints"]} == {"node.kubernetes.io/unreachable"}
    ready = {c["type"]: c for c in node["status"]["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusUnknown")
    # after the 300 s toleration (15 wall seconds at speed 20) the pod is evicted and its
    # replacement waits for a node
    wait_for(lambda: "untolerated taint {node.kubernetes.io/unreachable}" in
             kube("get", "events", "-n", NS, "--field-selector", "reason=FailedScheduling"), 40)
    control.clear_faults(state, "node/minikube", NS)
    wait_for(lambda: re.search(r"minikube\s+Ready", kube("get", "node", "minikube")) is not None, 30)
    kube("rollout", "status", "deploy/pinned", "-n", NS, "--timeout=60s")


def test_bad_fault_requests(world: tuple[Path, Kubectl]) -> None:
    state, _ = world
    missing = fault_cli(state, "crashloop", "deployment/nope", "-n", NS)
    assert missing.returncode == 1 and 'deployments.apps "nope" not found' in missing.stderr
    wrong = fault_cli(state, "pending", "pod/whatever", "-n", NS)
    assert wrong.returncode == 1
    with pytest.raises(control.SandboxError, match="unknown fault"):
        control.inject_fault(state, "meteor", "web", NS)


def test_lifecycle_hooks(world: tuple[Path, Kubectl]) -> None:
    _, kube = world
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hooked", "namespace": NS},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
                                    "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "exit 3"]}}}}]}}
    kube("apply", "-f", "-", stdin=json.dumps(pod))
    wait_for(lambda: "PostStartHook failed" in kube("get", "events", "-n", NS, "--field-selector",
                                                     "reason=FailedPostStartHook"), 30)
    wait_for(lambda: any(s["restartCount"] >= 1 for s in
                         kube.json("get", "pod", "hooked", "-n", NS)["status"]["containerStatuses"]), 30)

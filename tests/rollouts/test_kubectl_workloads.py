"""kubectl against workloads that really roll out: controllers, scheduler and the
simulated kubelet at work. Each command's output is checked."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.conftest import Kubectl, wait_for

NS = "wl"


@pytest.fixture(scope="module", autouse=True)
def namespace(kube: Kubectl) -> None:
    kube("create", "namespace", NS)


def pods(kube: Kubectl, selector: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = kube.json("get", "pods", "-l", selector, "-n", NS)["items"]
    return items


def ready_count(kube: Kubectl, selector: str) -> int:
    return sum(1 for p in pods(kube, selector) if any(
        c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])))  # type: ignore[index,union-attr]


def test_rollout_status_and_waits(kube: Kubectl) -> None:
    kube("create", "deployment", "web", "--image=nginx:1.25", "--replicas=2", "-n", NS)
    out = kube("rollout", "status", "deploy/web", "-n", NS, "--timeout=60s")
    assert 'deployment "web" successfully rolled out' in out
    out = kube("wait", "--for=condition=Available", "deployment/web", "-n", NS, "--timeout=30s")
    assert out.strip() == "deployment.apps/web condition met"
    name = pods(kube, "app=web")[0]["metadata"]["name"]  # type: ignore[index]
    out = kube("wait", "--for=condition=Ready", f"pod/{name}", "-n", NS, "--timeout=30s")
    assert out.strip() == f"pod/{name} condition met"
    table = kube("get", "pods", "-l", "app=web", "-n", NS, "-o", "wide")
    assert len(re.findall(r"1/1\s+Running\s+0\s+\S+\s+10\.244\.0\.\d+\s+minikube", table)) == 2
    running = kube("get", "pods", "--field-selector=status.phase=Running", "-n", NS, "-o", "name").split()
    assert len(running) == 2
    deploy = kube.json("get", "deploy", "web", "-n", NS)
    status = deploy["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"], status["updatedReplicas"]) \
        == (2, 2, 2, 2)
    assert status["observedGeneration"] == deploy["metadata"]["generation"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    rs = kube.json("get", "rs", "-l", "app=web", "-n", NS)["items"][0]
    assert rs["metadata"]["name"] == f"web-{rs['metadata']['labels']['pod-template-hash']}"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    events = kube("get", "events", "-n", NS, "--field-selector", "involvedObject.kind=Deployment")
    assert f"Scaled up replica set {rs['metadata']['name']} from 0 to 2" in events


def test_scale_gives_ready_pods(kube: Kubectl) -> None:
    assert kube("scale", "deploy/web", "--replicas=4", "-n", NS).strip() == "deployment.apps/web scaled"
    kube("rollout", "status", "deploy/web", "-n", NS, "--timeout=60s")
    wait_for(lambda: ready_count(kube, "app=web") == 4, 30)
    kube("scale", "deploy/web", "--replicas=2", "-n", NS)
    wait_for(lambda: len(pods(kube, "app=web")) == 2 and ready_count(kube, "app=web") == 2, 30)


def test_history_undo_and_restart(kube: Kubectl) -> None:
    kube("set", "image", "deploy/web", "nginx=nginx:1.26", "-n", NS)
    kube("rollout", "status", "deploy/web", "-n", NS, "--timeout=60s")
    kube("annotate", "deploy/web", "kubernetes.io/change-cause=upgrade to 1.27", "-n", NS)
    kube("set", "image", "deploy/web", "nginx=nginx:1.27", "-n", NS)
    kube("rollout", "status", "deploy/web", "-n", NS, "--timeout=60s")
    history = kube("rollout", "history", "deploy/web", "-n", NS)
    assert re.search(r"1\s+<none>", history) and re.search(r"3\s+upgrade to 1\.27", history)
    detail = kube("rollout", "history", "deploy/web", "--revision=2", "-n", NS)
    assert "nginx:1.26" in detail
    assert kube("rollout", "undo", "deploy/web", "-n", NS).strip() == "deployment.apps/web rolled back"
    kube("rollout", "status", "deploy/web", "-n", NS, "--timeout=60s")
    image = kube("get", "deploy/web", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image == "nginx:1.26"
    history = kube("rollout", "history", "deploy/web", "-n", NS)
    revisions = [int(r) for r in re.findall(r"^(\d+)\s", history, re.M)]
    assert revisions == [1, 3, 4]  # revision 2 came back as 4
    kube("rollout", "undo", "deploy/web", "--to-revision=1", "-n", NS)
    kube("rollout", "status", "deploy/web", "-n", NS, "--timeout=60s")
    assert kube("get", "deploy/web", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}") == \
        "nginx:1.25"
    before = {p["metadata"]["name"] for p in pods(kube, "app=web")}  # type: ignore[index]
    assert kube("rollout", "restart", "deploy/web", "-n", NS).strip() == "deployment.apps/web restarted"
    kube("rollout", "status", "deploy/web", "-n", NS, "--timeout=60s")
    wait_for(lambda: not before & {p["metadata"]["name"] for p in pods(kube, "app=web")}, 30)  # type: ignore[index]


def test_missing_image_sticks_at_max_unavailable(kube: Kubectl) -> None:
    kube("create", "deployment", "broken", "--image=nginx:1.25", "--replicas=4", "-n", NS)
    kube("rollout", "status", "deploy/broken", "-n", NS, "--timeout=60s")
    kube("set", "image", "deploy/broken", "nginx=nginx:invalid-tag", "-n", NS)

    def stuck() -> bool:
        table = kube("get", "pods", "-l", "app=broken", "-n", NS)
        return len(re.findall(r"ImagePullBackOff|ErrImagePull", table)) == 2
    wait_for(stuck, 30)
    stalled = kube.run("rollout", "status", "deploy/broken", "-n", NS, "--timeout=3s", check=False)
    assert stalled.returncode != 0
    assert "2 out of 4 new replicas have been updated" in stalled.stdout
    deploy = kube.json("get", "deploy", "broken", "-n", NS)
    assert deploy["status"]["availableReplicas"] == 3  # maxUnavailable 25% of 4
    waiting = [p["metadata"]["name"] for p in pods(kube, "app=broken")  # type: ignore[index]
               if "ImagePull" in json.dumps(p["status"])]
    described = kube("describe", "pod", waiting[0], "-n", NS)
    assert 'Failed to pull image "nginx:invalid-tag"' in described
    assert "docker.io/library/nginx:invalid-tag: not found" in described


def test_logs(kube: Kubectl) -> None:
    kube("create", "deployment", "talk", "--image=nginx:1.25", "-n", NS)
    kube("rollout", "status", "deploy/talk", "-n", NS, "--timeout=60s")
    out = kube("logs", "deploy/talk", "-n", NS)
    assert "Configuration complete; ready for start up" in out
    crasher = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crasher", "namespace": NS},
        "spec": {"containers": [
            {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", "echo starting; echo boom; exit 3"]},
            {"name": "side", "image": "busybox:1.36",
             "command": ["sh", "-c", "while true; do echo tick; sleep 1; done"]},
        ]},
    }
    kube("create", "-f", "-", stdin=json.dumps(crasher))

    def restarted() -> bool:
        statuses = kube.json("get", "pod", "crasher", "-n", NS)["status"].get("containerStatuses", [])
        return any(s["name"] == "main" and s["restartCount"] >= 1 for s in statuses)
    wait_for(restarted, 30)
    assert kube("logs", "crasher", "-c", "main", "--previous", "-n", NS).splitlines() == ["starting", "boom"]
    assert kube("logs", "crasher", "-c", "main", "--tail=1", "-n", NS).splitlines() in (["boom"], [])
    terminated = kube.json("get", "pod", "crasher", "-n", NS)["status"]["containerStatuses"][0]["lastState"]
    assert terminated["terminated"]["exitCode"] == 3 and terminated["terminated"]["reason"] == "Error"
    wait_for(lambda: "CrashLoopBackOff" in kube("get", "pod", "crasher", "-n", NS), 30)
    before = kube("logs", "crasher", "-c", "side", "-n", NS).count("tick")
    follow = _follow_for(kube, 2.0)  # -f streams new lines until the client goes
    assert follow.count("tick") >= before + 5


def _follow_for(kube: Kubectl, seconds: float) -> str:
    proc = subprocess.Popen([kube.binary, "logs", "-f", "crasher", "-c", "side", "-n", NS], env=kube.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def test_delete_deployment_removes_replicasets_and_pods(kube: Kubectl) -> None:
    kube("delete", "deploy", "broken", "-n", NS)
    wait_for(lambda: not kube("get", "rs,pods", "-l", "app=broken", "-n", NS, "-o", "name").strip(), 30)


def test_service_endpoints_and_slices(kube: Kubectl) -> None:
    kube("create", "deployment", "echo", "--image=httpd:2.4", "--replicas=2", "-n", NS)
    kube("expose", "deployment", "echo", "--port=80", "-n", NS)
    kube("rollout", "status", "deploy/echo", "-n", NS, "--timeout=60s")

    def addresses() -> list[str]:
        return kube("get", "endpoints", "echo", "-n", NS, "-o", "jsonpath={.subsets[*].addresses[*].ip}").split()

    def sliced() -> list[str]:
        return kube("get", "endpointslices", "-l", "kubernetes.io/service-name=echo", "-n", NS, "-o",
                    "jsonpath={.items[*].endpoints[*].addresses[*]}").split()

    # the Endpoints and the EndpointSlice controllers each follow the pods on their own: wait for both
    wait_for(lambda: len(addresses()) == 2 and len(sliced()) == 2, 30)
    slices = kube.json("get", "endpointslices", "-l", "kubernetes.io/service-name=echo", "-n", NS)["items"]
    assert len(slices) == 1
    assert sorted(a for e in slices[0]["endpoints"] for a in e["addresses"]) == sorted(addresses())
    assert slices[0]["ports"][0]["port"] == 80
    table = kube("get", "endpointslices", "-n", NS)
    assert re.search(r"echo-\w{5}\s+IPv4\s+80\s+10\.244", table)
    kube("delete", "service", "echo", "-n", NS)
    wait_for(lambda: not kube("get", "endpoints,endpointslices", "-n", NS, "-o", "name",
                              "--field-selector", "metadata.name=echo").strip() and
             not kube("get", "endpointslices", "-l", "kubernetes.io/service-name=echo", "-n", NS,
                      "-o", "name").strip(), 30)


def test_logs_follow_ends_with_the_container(kube: Kubectl) -> None:
    job = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "counter", "namespace": NS},
           "spec": {"restartPolicy": "Never", "containers": [
               {"name": "c", "image": "busybox:1.36",
                "command": ["sh", "-c", "echo one; sleep 2; echo two; sleep 2; echo three"]}]}}
    kube("create", "-f", "-", stdin=json.dumps(job))
    kube("wait", "--for=condition=Ready", "pod/counter", "-n", NS, "--timeout=30s")
    followed = subprocess.run([kube.binary, "logs", "-f", "counter", "--tail=1", "-n", NS], env=kube.env,
                              capture_output=True, text=True, timeout=30, check=False)
    assert followed.returncode == 0  # it ended by itself when the container did
    assert followed.stdout.splitlines()[-1] == "three"
    assert "one" not in followed.stdout.splitlines()[1:]  # --tail=1 then only the new lines

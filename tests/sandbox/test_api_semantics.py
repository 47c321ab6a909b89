"""API semantics beyond plain CRUD, over real HTTP: pod logs and eviction, paging,
generateName, dryRun, watch-lists and bookmarks, and deletion propagation."""

from __future__ import annotations

import json
import sqlite3
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import control
from sandbox.podlogs import PodLogs
from tests.conftest import Kubectl, wait_for

NS = "sem"


@pytest.fixture(scope="module")
def http(sandbox: control.Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=20,
                      verify=ssl.create_default_context(cafile=str(sandbox.state / "ca.crt")),
                      headers={"Authorization": f"Bearer {control.token_of(sandbox.state)}"}) as client:
        assert client.post("/api/v1/namespaces", json={"metadata": {"name": NS}}).status_code == 201
        yield client


PODS = f"/api/v1/namespaces/{NS}/pods"
CMS = f"/api/v1/namespaces/{NS}/configmaps"


def running_pod(http: httpx.Client, name: str, containers: list[str]) -> None:
    """A pod as a kubelet reports it: containers running, one restarted once."""
    spec = {"containers": [{"name": c, "image": "busybox:1.36"} for c in containers]}
    assert http.post(PODS, json={"metadata": {"name": name}, "spec": spec}).status_code == 201
    pod = http.get(f"{PODS}/{name}").json()
    pod["status"] = {"phase": "Running", "containerStatuses": [
        {"name": c, "ready": True, "restartCount": 1, "image": "busybox:1.36", "imageID": "",
         "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
         "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                      "finishedAt": "2026-01-01T00:00:00Z"}}} for c in containers]}
    assert http.put(f"{PODS}/{name}/status", json=pod).status_code == 200


def test_pod_status_subresource_keeps_spec(http: httpx.Client) -> None:
    running_pod(http, "status-only", ["app"])
    pod = http.get(f"{PODS}/status-only").json()
    assert pod["status"]["phase"] == "Running"
    pod["spec"]["containers"][0]["image"] = "changed:1"
    pod["status"]["phase"] = "Succeeded"
    http.put(f"{PODS}/status-only/status", json=pod).raise_for_status()
    after = http.get(f"{PODS}/status-only").json()
    assert after["status"]["phase"] == "Succeeded"
    assert after["spec"]["containers"][0]["image"] == "busybox:1.36"
    # and a main-resource update does not change the status
    after["status"]["phase"] = "Failed"
    after["metadata"]["labels"] = {"x": "y"}
    http.put(f"{PODS}/status-only", json=after).raise_for_status()
    assert http.get(f"{PODS}/status-only").json()["status"]["phase"] == "Succeeded"


def test_logs_with_kubectl(http: httpx.Client, kubectl: Kubectl, sandbox: control.Sandbox) -> None:
    running_pod(http, "talker", ["app", "sidecar"])
    db = sqlite3.connect(str(sandbox.state / "sandbox.db"), isolation_level=None)
    logs = PodLogs(db)  # the pod simulator's side of the log store
    logs.append(NS, "talker", "app", ["old 1", "old 2"])
    logs.restart(NS, "talker", "app")
    logs.append(NS, "talker", "app", [f"line {i}" for i in range(1, 11)])
    logs.append(NS, "talker", "sidecar", ["proxy up"])
    db.close()
    assert kubectl("logs", "talker", "-c", "app", "-n", NS).splitlines() == [f"line {i}" for i in range(1, 11)]
    assert kubectl("logs", "talker", "-c", "app", "--tail=2", "-n", NS).splitlines() == ["line 9", "line 10"]
    assert kubectl("logs", "talker", "-c", "app", "--previous", "-n", NS).splitlines() == ["old 1", "old 2"]
    assert kubectl("logs", "talker", "-c", "sidecar", "-n", NS).strip() == "proxy up"
    stamped = kubectl("logs", "talker", "-c", "sidecar", "--timestamps", "-n", NS).strip()
    assert stamped.endswith(" proxy up") and stamped[:4].isdigit()
    defaulted = kubectl.run("logs", "talker", "-n", NS)
    assert 'Defaulted container "app" out of: app, sidecar' in defaulted.stderr
    both = http.get(f"{PODS}/talker/log")
    assert both.status_code == 400
    assert both.json()["message"] == "a container name must be specified for pod talker, choose one of: [app sidecar]"
    wrong = kubectl.run("logs", "talker", "-c", "nope", "-n", NS, check=False)
    assert "container nope is not valid for pod talker" in wrong.stderr
    assert http.post(PODS, json={"metadata": {"name": "pending"}, "spec": {"containers": [
        {"name": "c", "image": "x:1"}]}}).status_code == 201
    waiting = kubectl.run("logs", "pending", "-n", NS, check=False)
    assert 'container "c" in pod "pending" is waiting to start: ContainerCreating' in waiting.stderr


def test_eviction_deletes_the_pod(http: httpx.Client) -> None:
    running_pod(http, "evictee", ["app"])
    reply = http.post(f"{PODS}/evictee/eviction", json={
        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "evictee", "namespace": NS}})
    assert reply.status_code == 201
    assert http.get(f"{PODS}/evictee").status_code == 404


def test_paging_and_generate_name(http: httpx.Client, kubectl: Kubectl) -> None:
    for _ in range(7):
        reply = http.post(CMS, json={"metadata": {"generateName": "page-", "labels": {"paged": "yes"}}})
        assert reply.status_code == 201
        name = reply.json()["metadata"]["name"]
        assert name.startswith("page-") and len(name) == len("page-") + 5
    first = http.get(f"{CMS}?labelSelector=paged%3Dyes&limit=3").json()
    assert len(first["items"]) == 3 and first["metadata"]["remainingItemCount"] == 4
    names = [o["metadata"]["name"] for o in first["items"]]
    token = first["metadata"]["continue"]
    while token:
        page = http.get(f"{CMS}?labelSelector=paged%3Dyes&limit=3&continue={token}").json()
        names += [o["metadata"]["name"] for o in page["items"]]
        token = page["metadata"].get("continue", "")
    assert len(names) == 7 and names == sorted(names)
    chunked = kubectl("get", "cm", "-l", "paged=yes", "--chunk-size=2", "-n", NS, "-o", "name").split()
    assert [n.split("/")[1] for n in chunked] == names


def test_dry_run_changes_nothing(http: httpx.Client) -> None:
    http.post(CMS, json={"metadata": {"name": "dry"}, "data": {"a": "1"}}).raise_for_status()
    before = http.get(f"{CMS}/dry").json()
    patched = http.patch(f"{CMS}/dry?dryRun=All", content=json.dumps({"data": {"a": "2"}}),
                         headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200 and patched.json()["data"] == {"a": "2"}
    assert http.delete(f"{CMS}/dry?dryRun=All").status_code == 200
    assert http.get(f"{CMS}/dry").json() == before


def test_watch_list_initial_events_and_bookmark(http: httpx.Client) -> None:
    http.post(CMS, json={"metadata": {"name": "wl-a", "labels": {"wl": "1"}}}).raise_for_status()
    http.post(CMS, json={"metadata": {"name": "wl-b", "labels": {"wl": "1"}}}).raise_for_status()
    events: list[dict[str, Any]] = []
    url = (f"{CMS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
           f"&allowWatchBookmarks=true&labelSelector=wl%3D1&timeoutSeconds=5")

    def read() -> None:
        with http.stream("GET", url) as reply:
            assert reply.status_code == 200
            for line in reply.iter_lines():
                if line:
                    events.append(json.loads(line))
                if events and events[-1]["type"] == "DELETED":
                    return

    reader = threading.Thread(target=read)
    reader.start()
    wait_for(lambda: any(e["type"] == "BOOKMARK" for e in events))
    http.patch(f"{CMS}/wl-a", content=json.dumps({"metadata": {"labels": {"wl": "2"}}}),
               headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()
    reader.join(10)
    kinds = [(e["type"], e["object"]["metadata"].get("name")) for e in events]
    assert kinds[:2] == [("ADDED", "wl-a"), ("ADDED", "wl-b")]
    bookmark = events[2]
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert bookmark["object"]["kind"] == "ConfigMap"
    # leaving the selection is a DELETED event for this watcher
    assert kinds[3] == ("DELETED", "wl-a")


def test_watch_times_out(http: httpx.Client) -> None:
    rv = http.get(CMS).json()["metadata"]["resourceVersion"]
    start = time.monotonic()
    reply = http.get(f"{CMS}?watch=true&resourceVersion={rv}&timeoutSeconds=1")
    elapsed = time.monotonic() - start
    assert reply.status_code == 200 and reply.text == ""
    assert 0.9 <= elapsed < 5


def owned(name: str, owner: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}]}}


@pytest.mark.parametrize("policy", ["Background", "Foreground", "Orphan"])
def test_deletion_propagation(http: httpx.Client, policy: str) -> None:
    owner = http.post(CMS, json={"metadata": {"name": f"owner-{policy.lower()}"}}).json()
    child = f"child-{policy.lower()}"
    http.post(CMS, json=owned(child, owner)).raise_for_status()
    reply = http.request("DELETE", f"{CMS}/{owner['metadata']['name']}",
                         json={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy})
    assert reply.status_code == 200
    wait_for(lambda: http.get(f"{CMS}/{owner['metadata']['name']}").status_code == 404)
    if policy == "Orphan":
        kept = http.get(f"{CMS}/{child}").json()
        assert "ownerReferences" not in kept["metadata"]
    else:
        wait_for(lambda: http.get(f"{CMS}/{child}").status_code == 404)


def test_delete_precondition(http: httpx.Client) -> None:
    created = http.post(CMS, json={"metadata": {"name": "pre"}}).json()
    reply = http.request("DELETE", f"{CMS}/pre", json={"preconditions": {"uid": "not-the-uid"}})
    assert reply.status_code == 409 and "Precondition failed" in reply.json()["message"]
    reply = http.request("DELETE", f"{CMS}/pre", json={"preconditions": {"uid": created["metadata"]["uid"]}})
    assert reply.status_code == 200


def test_finalizers_hold_deletion(http: httpx.Client) -> None:
    http.post(CMS, json={"metadata": {"name": "held", "finalizers": ["kai.dev/hold"]}}).raise_for_status()
    reply = http.delete(f"{CMS}/held")
    assert reply.status_code == 200 and reply.json()["metadata"]["deletionTimestamp"]
    held = http.get(f"{CMS}/held").json()
    assert held["metadata"]["deletionTimestamp"]
    http.patch(f"{CMS}/held", content=json.dumps({"metadata": {"finalizers": None}}),
               headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()
    assert http.get(f"{CMS}/held").status_code == 404


def test_versions_of_one_resource_share_storage(http: httpx.Client) -> None:
    hpa = {"metadata": {"name": "h"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 60}}
    reply = http.post(f"/apis/autoscaling/v1/namespaces/{NS}/horizontalpodautoscalers", json=hpa)
    assert reply.status_code == 201
    v2 = http.get(f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/h").json()
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 60}
    event = {"metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": NS},
             "reason": "Started", "message": "Started container app", "type": "Normal",
             "source": {"component": "kubelet"}}
    http.post(f"/api/v1/namespaces/{NS}/events", json=event).raise_for_status()
    new = http.get(f"/apis/events.k8s.io/v1/namespaces/{NS}/events/e1").json()
    assert new["note"] == "Started container app" and new["regarding"]["name"] == "p"
    assert new["reportingController"] == "kubelet"
    listed = http.get(f"/apis/events.k8s.io/v1/namespaces/{NS}/events?fieldSelector=regarding.name%3Dp").json()
    assert [e["metadata"]["name"] for e in listed["items"]] == ["e1"]
    assert listed["items"][0]["apiVersion"] == "events.k8s.io/v1"


def test_events_of_both_groups_print_alike(http: httpx.Client, kubectl: Kubectl) -> None:
    core = kubectl("get", "events", "-n", NS, "--field-selector", "involvedObject.name=p")
    grouped = kubectl("get", "events.events.k8s.io", "-n", NS, "--field-selector", "regarding.name=p")
    for out in (core, grouped):
        assert "pod/p" in out and "Started container app" in out

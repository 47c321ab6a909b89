"""Snapshots of the sandbox's whole state and their restore, against a sandbox process of
this module's own (controllers, scheduler, one node), driven by the real kubectl and plain
HTTP: after a restore the objects, the pods (same names, running), their logs, the faults and
the namespaces are the snapshot's; resourceVersions keep rising; open watches end; the
controllers go on working."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sandbox import control
from sandbox.controllers.manager import ClusterOptions
from tests.conftest import Kubectl, install_todo, kubectl_for, wait_for

BASE = "base"
SHOP = "shop"
SHOP_APPS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: talker}
spec:
  replicas: 1
  selector: {matchLabels: {app: talker}}
  template:
    metadata: {labels: {app: talker}}
    spec:
      containers:
      - name: talker
        image: busybox:1.36
        command: ["sh", "-c", "echo one; echo two; sleep 3600"]
"""


@dataclass
class Saved:
    """The sandbox, and what it showed when the snapshot BASE was taken."""

    sandbox: control.Sandbox
    kc: Kubectl
    deployments: dict[str, Any]
    pods: dict[str, str]  # name -> namespace
    logs: dict[str, str]  # pod name -> its log (pods whose programs print nothing more)
    backend_logs: dict[str, str]  # todo-backend pods -> their log just before (probes add lines)
    faults: list[dict[str, Any]]
    namespaces: set[str]
    events: set[str]


def http(sandbox: control.Sandbox, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=sandbox.url, timeout=30,
                        verify=ssl.create_default_context(cafile=str(sandbox.state / "ca.crt")),
                        headers={"Authorization": f"Bearer {control.token_of(sandbox.state)}", **headers})


def deployments(kc: Kubectl) -> dict[str, Any]:
    return {f"{d['metadata']['namespace']}/{d['metadata']['name']}": (d["spec"]["replicas"],
                                                                      d["spec"]["template"])
            for d in kc.json("get", "deployments", "-A")["items"]}


def pods(kc: Kubectl) -> list[dict[str, Any]]:
    return [p for p in kc.json("get", "pods", "-A")["items"] if not p["metadata"].get("deletionTimestamp")]


def all_ready(kc: Kubectl) -> bool:
    return all(p["status"].get("phase") == "Running"
               and all(c.get("ready") for c in p["status"].get("containerStatuses") or [{}]) for p in pods(kc))


def events(kc: Kubectl) -> set[str]:
    return {e["metadata"]["name"] for e in kc.json("get", "events", "-A")["items"]}


def namespaces(kc: Kubectl) -> set[str]:
    return {n["metadata"]["name"] for n in kc.json("get", "namespaces")["items"]}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Saved]:
    state = tmp_path_factory.mktemp("snapshots")
    sandbox = control.up(state, options=ClusterOptions())
    try:
        kc = kubectl_for(sandbox.kubeconfig, tmp_path_factory.mktemp("kubecache"))
        install_todo(sandbox, "todo-app")
        kc("create", "namespace", SHOP)
        kc("apply", "-n", SHOP, "-f", "-", stdin=SHOP_APPS)
        wait_for(lambda: len(pods(kc)) == 7 and all_ready(kc), timeout=60)
        control.inject_fault(state, "high-cpu", "deployment/todo-backend", "todo-app")
        listed = pods(kc)
        shop = [p["metadata"]["name"] for p in listed if p["metadata"]["namespace"] == SHOP]
        backend = [p["metadata"]["name"] for p in listed if p["metadata"]["name"].startswith("todo-backend")]
        wait_for(lambda: all(kc("logs", "-n", SHOP, name).strip() for name in shop))
        backend_logs = {name: kc("logs", "-n", "todo-app", name) for name in backend}  # before: probes add lines
        made = control.snapshot(state, BASE)
        assert made["name"] == BASE and made["objects"] > 50
        yield Saved(sandbox, kc, deployments(kc),
                    {p["metadata"]["name"]: p["metadata"]["namespace"] for p in listed},
                    {name: kc("logs", "-n", SHOP, name) for name in shop}, backend_logs,
                    control.list_faults(state), namespaces(kc), events(kc))
    finally:
        control.down(state)


def list_rv(sandbox: control.Sandbox) -> int:
    with http(sandbox) as client:
        return int(client.get("/api/v1/configmaps").json()["metadata"]["resourceVersion"])


def test_restore_brings_back_the_state_at_snapshot_time(saved: Saved) -> None:
    kc, state = saved.kc, saved.sandbox.state
    control.restore(state, BASE)
    assert deployments(kc) == saved.deployments
    web = sorted(n for n in saved.logs if n.startswith("web-"))
    # change everything a task might change
    kc("delete", "deployment", "todo-frontend", "-n", "todo-app")
    kc("scale", "deployment", "todo-backend", "-n", "todo-app", "--replicas=4")
    kc("scale", "deployment", "talker", "-n", SHOP, "--replicas=0")
    control.inject_fault(state, "crashloop", "deployment/web", SHOP)
    control.clear_faults(state, "todo-backend", "todo-app")
    kc("create", "namespace", "later")
    kc("create", "configmap", "note", "-n", "later", "--from-literal=a=b")
    wait_for(lambda: kc("logs", "-n", SHOP, web[0]) != saved.logs[web[0]], timeout=30)  # crashed, restarted
    wait_for(lambda: len([p for p in pods(kc) if p["metadata"]["name"].startswith("todo-backend")]) == 4)
    before = list_rv(saved.sandbox)

    restored = control.restore(state, BASE)

    assert int(restored["resourceVersion"]) > before
    assert list_rv(saved.sandbox) > before
    assert deployments(kc) == saved.deployments
    after = pods(kc)
    assert {p["metadata"]["name"]: p["metadata"]["namespace"] for p in after} == saved.pods
    for pod in after:  # taken back running, as the kubelet left them: no restart, still ready
        assert pod["status"]["phase"] == "Running"
        assert all(c["ready"] and c["restartCount"] == 0 and "running" in c["state"]
                   for c in pod["status"]["containerStatuses"])
    for name, log in saved.logs.items():
        assert kc("logs", "-n", SHOP, name) == log
    for name, log in saved.backend_logs.items():  # its probes go on adding access lines
        now = kc("logs", "-n", "todo-app", name)
        assert now.startswith(log) and now.count("Application startup complete") == 1
    assert control.list_faults(state) == saved.faults
    assert namespaces(kc) == saved.namespaces and "later" not in namespaces(kc)
    assert events(kc) == saved.events  # nothing pulled, created or started again
    with http(saved.sandbox) as client:
        created = client.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "after"}})
        assert created.status_code == 201
        assert int(created.json()["metadata"]["resourceVersion"]) > before
        assert client.get("/api/v1/namespaces/later/configmaps/note").status_code == 404


def test_open_watches_and_log_streams_end_at_a_restore(saved: Saved) -> None:
    state = saved.sandbox.state
    control.restore(state, BASE)
    before = list_rv(saved.sandbox)
    web = next(n for n in saved.logs if n.startswith("web-"))
    ended: dict[str, list[str]] = {}
    opened = threading.Barrier(3)

    def follow(key: str, path: str) -> None:
        lines: list[str] = []
        with http(saved.sandbox) as client, client.stream("GET", path, timeout=60) as reply:
            opened.wait()
            for line in reply.iter_lines():
                lines.append(line)
        ended[key] = lines

    readers = [threading.Thread(target=follow, args=("watch", "/api/v1/pods?watch=true")),
               threading.Thread(target=follow, args=("logs", f"/api/v1/namespaces/{SHOP}/pods/{web}/log?follow=true"))]
    for reader in readers:
        reader.start()
    opened.wait(timeout=30)
    time.sleep(0.3)
    control.restore(state, BASE)
    for reader in readers:
        reader.join(timeout=30)
    assert set(ended) == {"watch", "logs"}  # both streams were closed by the server
    assert all(json.loads(line)["type"] != "ERROR" for line in ended["watch"])
    with http(saved.sandbox) as client:  # a watch from a version seen before the restore is too old: relist
        reply = client.get(f"/api/v1/pods?watch=true&resourceVersion={before}&timeoutSeconds=2")
        event = json.loads(reply.text.splitlines()[0])
        assert event["type"] == "ERROR" and event["object"]["code"] == 410


def test_controllers_work_after_restoring_twice(saved: Saved) -> None:
    kc, state = saved.kc, saved.sandbox.state
    control.restore(state, BASE)
    second = control.restore(state, BASE)
    assert second["name"] == BASE
    kc("scale", "deployment", "web", "-n", SHOP, "--replicas=4")

    def web_pods() -> list[dict[str, Any]]:
        return [p for p in pods(kc) if p["metadata"]["namespace"] == SHOP and p["metadata"]["name"].startswith("web")]

    wait_for(lambda: len(web_pods()) == 4 and all(p["status"].get("phase") == "Running" for p in web_pods()),
             timeout=30)
    new = {p["metadata"]["name"] for p in web_pods()} - set(saved.pods)
    assert len(new) == 2
    one = sorted(new)[0]
    wait_for(lambda: "start worker processes" in kc("logs", "-n", SHOP, one))
    kc("delete", "pod", sorted(set(saved.pods) & {p["metadata"]["name"] for p in web_pods()})[0], "-n", SHOP)
    wait_for(lambda: len(web_pods()) == 4, timeout=30)
    control.restore(state, BASE)
    assert {p["metadata"]["name"] for p in pods(kc)} == set(saved.pods)


def test_snapshot_api_is_for_admins_and_names_known_snapshots(saved: Saved) -> None:
    state = saved.sandbox.state
    with http(saved.sandbox, **{"Impersonate-User": "jane"}) as jane:
        for method, path in (("GET", "/sandbox/v1/snapshots"), ("POST", f"/sandbox/v1/snapshots/{BASE}/restore"),
                             ("DELETE", f"/sandbox/v1/snapshots/{BASE}")):
            reply = jane.request(method, path)
            assert reply.status_code == 403 and reply.json()["reason"] == "Forbidden"
        assert jane.post("/sandbox/v1/snapshots", json={"name": "mine"}).status_code == 403
    with http(saved.sandbox) as admin:
        missing = admin.post("/sandbox/v1/snapshots/nope/restore")
        assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
        assert admin.delete("/sandbox/v1/snapshots/nope").status_code == 404
        assert admin.post("/sandbox/v1/snapshots", json={"name": "../escape"}).status_code == 400
        assert admin.post("/sandbox/v1/snapshots", json={}).status_code == 400
        made = admin.post("/sandbox/v1/snapshots", json={"name": "extra"})
        assert made.status_code == 201
        assert set(made.json()) == {"name", "objects", "resourceVersion"}
        assert admin.get("/sandbox/v1/snapshots/extra").json()["name"] == "extra"
    assert {s["name"] for s in control.list_snapshots(state)} >= {BASE, "extra"}
    assert (state / "snapshots" / "extra.db").is_file()
    with http(saved.sandbox) as admin:
        assert admin.delete("/sandbox/v1/snapshots/extra").json()["name"] == "extra"
    assert "extra" not in {s["name"] for s in control.list_snapshots(state)}
    with pytest.raises(control.SandboxError, match='snapshot "nope" not found'):
        control.restore(state, "nope")


def test_command_line_and_snapshots_outlive_the_server(saved: Saved) -> None:
    state, kc = saved.sandbox.state, saved.kc

    def sandbox_cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "sandbox", *args, "--state", str(state)],
                              capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    assert sandbox_cli("restore", BASE).startswith(f"restored {BASE}:")
    kc("create", "namespace", "cli")
    assert sandbox_cli("snapshot", "cli").startswith("saved cli:")
    assert "cli:" in sandbox_cli("snapshot")
    control.down(state)
    control.up(state, options=ClusterOptions())
    assert {s["name"] for s in control.list_snapshots(state)} >= {BASE, "cli"}
    assert "cli" in namespaces(kc)
    assert sandbox_cli("restore", BASE).startswith(f"restored {BASE}:")
    assert "cli" not in namespaces(kc)
    wait_for(lambda: {p["metadata"]["name"] for p in pods(kc)} == set(saved.pods) and all_ready(kc))
    assert sandbox_cli("snapshot", "cli", "--delete").strip() == "deleted snapshot cli"

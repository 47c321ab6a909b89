"""LimitRange and ResourceQuota admission as kubectl meets it."""

from __future__ import annotations

import json

from tests.conftest import Kubectl, wait_for


def pod(name: str, limits: dict[str, str] | None = None, requests: dict[str, str] | None = None) -> str:
    resources: dict[str, object] = {}
    if limits:
        resources["limits"] = limits
    if requests:
        resources["requests"] = requests
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [{"name": "app", "image": "nginx", "resources": resources}]}})


LIMITS = json.dumps({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"}, "spec": {"limits": [
    {"type": "Container", "max": {"cpu": "1"}, "default": {"cpu": "500m", "memory": "256Mi"},
     "defaultRequest": {"cpu": "100m", "memory": "128Mi"}, "maxLimitRequestRatio": {"memory": "4"}}]}})


def test_limitrange_fills_defaults(kc: Kubectl, ns: str) -> None:
    kc("apply", "-n", ns, "-f", "-", stdin=LIMITS)
    kc("apply", "-n", ns, "-f", "-", stdin=pod("plain"))
    created = kc.json("get", "pod", "plain", "-n", ns)
    assert created["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app")
    assert created["status"]["qosClass"] == "Burstable"
    described = kc("describe", "limitrange", "limits", "-n", ns)
    assert "Container   cpu" in described and "500m" in described


def test_limitrange_refuses_too_much(kc: Kubectl, ns: str) -> None:
    kc("apply", "-n", ns, "-f", "-", stdin=LIMITS)
    proc = kc.run("apply", "-n", ns, "-f", "-", stdin=pod("big", limits={"cpu": "2"}), check=False)
    assert proc.returncode != 0
    assert 'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2' in proc.stderr
    proc = kc.run("apply", "-n", ns, "-f", "-",
                  stdin=pod("ratio", limits={"memory": "1Gi"}, requests={"memory": "128Mi"}), check=False)
    assert "memory max limit to request ratio per Container is 4, but provided ratio is 8.000000" in proc.stderr


def test_quota_counts_and_refuses(kc: Kubectl, ns: str) -> None:
    kc("create", "quota", "compute", "-n", ns, "--hard=limits.memory=1Gi,limits.cpu=2,pods=3,configmaps=5")
    wait_for(lambda: kc.json("get", "quota", "compute", "-n", ns).get("status", {}).get("used"))
    proc = kc.run("apply", "-n", ns, "-f", "-", stdin=pod("bare"), check=False)
    assert proc.returncode != 0
    assert ('pods "bare" is forbidden: failed quota: compute: must specify limits.cpu for: app; '
            "limits.memory for: app") in proc.stderr
    kc("apply", "-n", ns, "-f", "-", stdin=pod("first", limits={"cpu": "1", "memory": "1Gi"}))
    proc = kc.run("apply", "-n", ns, "-f", "-", stdin=pod("second", limits={"cpu": "1", "memory": "1Gi"}),
                  check=False)
    assert proc.returncode != 0
    assert ('pods "second" is forbidden: exceeded quota: compute, requested: limits.memory=1Gi, '
            "used: limits.memory=1Gi, limited: limits.memory=1Gi") in proc.stderr
    assert "(Forbidden)" in proc.stderr
    kc("create", "configmap", "one", "-n", ns)
    wait_for(lambda: kc.json("get", "quota", "compute", "-n", ns)["status"]["used"].get("configmaps") == "1")
    used = kc.json("get", "quota", "compute", "-n", ns)["status"]["used"]
    assert used == {"limits.cpu": "1", "limits.memory": "1Gi", "pods": "1", "configmaps": "1"}
    described = kc("describe", "quota", "compute", "-n", ns)
    lines = {" ".join(line.split()) for line in described.splitlines()}
    assert {"limits.cpu 1 2", "limits.memory 1Gi 1Gi", "pods 1 3", "configmaps 1 5"} <= lines


def test_quota_object_counts(kc: Kubectl, ns: str) -> None:
    kc("create", "quota", "objects", "-n", ns, "--hard=count/secrets=1")
    wait_for(lambda: kc.json("get", "quota", "objects", "-n", ns).get("status", {}).get("used"))
    kc("create", "secret", "generic", "one", "-n", ns, "--from-literal=a=b")
    proc = kc.run("create", "secret", "generic", "two", "-n", ns, "--from-literal=a=b", check=False)
    assert ('secrets "two" is forbidden: exceeded quota: objects, requested: count/secrets=1, '
            "used: count/secrets=1, limited: count/secrets=1") in proc.stderr

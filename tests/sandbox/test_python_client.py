"""Conformance with the official Python client (the ``kubernetes`` package)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from sandbox.control import Sandbox

NS = "py"


@pytest.fixture(scope="module")
def api(sandbox: Sandbox) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    yield api_client
    api_client.close()


def deployment(name: str, replicas: int = 1, image: str = "nginx:1.25") -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name=name, image=image)]),
            ),
        ),
    )


def status_of(exc: ApiException) -> tuple[int, str]:
    import json

    body = json.loads(exc.body)
    return int(exc.status), str(body["reason"])


# Each resource, with an object to create and a change to make.
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("CoreV1Api", "config_map", {"data": {"a": "1"}}, {"data": {"a": "2"}}),
    ("CoreV1Api", "secret", {"stringData": {"k": "v"}, "type": "Opaque"}, {"metadata": {"labels": {"x": "y"}}}),
    ("CoreV1Api", "service", {"spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}},
     {"spec": {"selector": {"app": "b"}}}),
    ("CoreV1Api", "service_account", {}, {"metadata": {"labels": {"x": "y"}}}),
    ("CoreV1Api", "endpoints", {"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]},
     {"metadata": {"labels": {"x": "y"}}}),
    ("CoreV1Api", "event", {"involvedObject": {"kind": "Pod", "name": "p", "namespace": NS},
                            "reason": "Test", "message": "hello", "type": "Normal"},
     {"message": "changed"}),
    ("CoreV1Api", "persistent_volume_claim",
     {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
     {"metadata": {"labels": {"x": "y"}}}),
    ("CoreV1Api", "resource_quota", {"spec": {"hard": {"pods": "10"}}}, {"spec": {"hard": {"pods": "20"}}}),
    ("CoreV1Api", "limit_range", {"spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}},
     {"metadata": {"labels": {"x": "y"}}}),
    ("CoreV1Api", "pod", {"spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}},
     {"metadata": {"labels": {"x": "y"}}}),
    ("AppsV1Api", "replica_set", {"spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}},
     {"spec": {"replicas": 2}}),
    ("AppsV1Api", "stateful_set", {"spec": {"serviceName": "s", "selector": {"matchLabels": {"a": "s"}},
                                            "template": {"metadata": {"labels": {"a": "s"}}, "spec": {
                                                "containers": [{"name": "c", "image": "x:1"}]}}}},
     {"spec": {"replicas": 2}}),
    ("AppsV1Api", "daemon_set", {"spec": {"selector": {"matchLabels": {"a": "d"}}, "template": {
        "metadata": {"labels": {"a": "d"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}},
     {"metadata": {"labels": {"x": "y"}}}),
    ("BatchV1Api", "job", {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "c", "image": "x:1"}]}}}}, {"metadata": {"labels": {"x": "y"}}}),
    ("BatchV1Api", "cron_job", {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {
        "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "x:1"}]}}}}}},
     {"spec": {"suspend": True}}),
    ("AutoscalingV2Api", "horizontal_pod_autoscaler",
     {"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
               "minReplicas": 1, "maxReplicas": 5, "metrics": [{"type": "Resource", "resource": {
                   "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}},
     {"spec": {"maxReplicas": 8}}),
    ("NetworkingV1Api", "ingress", {"spec": {"rules": [{"host": "a.example.com"}]}},
     {"metadata": {"labels": {"x": "y"}}}),
    ("NetworkingV1Api", "network_policy", {"spec": {"podSelector": {}}}, {"metadata": {"labels": {"x": "y"}}}),
    ("RbacAuthorizationV1Api", "role", {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
     {"metadata": {"labels": {"x": "y"}}}),
    ("RbacAuthorizationV1Api", "role_binding", {"roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                            "kind": "Role", "name": "r"},
                                                "subjects": [{"kind": "User", "name": "u"}]},
     {"metadata": {"labels": {"x": "y"}}}),
    ("PolicyV1Api", "pod_disruption_budget", {"spec": {"minAvailable": 1, "selector": {"matchLabels": {"a": "b"}}}},
     {"spec": {"minAvailable": 2}}),
    ("EventsV1Api", "event", {"eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "kai/test",
                              "reportingInstance": "i", "action": "Test", "reason": "Test",
                              "regarding": {"kind": "Pod", "name": "p", "namespace": NS}, "type": "Normal",
                              "note": "hi"},
     {"note": "changed"}),
]

CLUSTER_CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("CoreV1Api", "persistent_volume", {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                                  "hostPath": {"path": "/data"}}},
     {"metadata": {"labels": {"x": "y"}}}),
    ("CoreV1Api", "node", {}, {"metadata": {"labels": {"x": "y"}}}),
    ("RbacAuthorizationV1Api", "cluster_role", {"rules": []}, {"metadata": {"labels": {"x": "y"}}}),
    ("RbacAuthorizationV1Api", "cluster_role_binding",
     {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
      "subjects": [{"kind": "Group", "name": "g", "apiGroup": "rbac.authorization.k8s.io"}]},
     {"metadata": {"labels": {"x": "y"}}}),
    ("StorageV1Api", "storage_class", {"provisioner": "kai.dev/hostpath"}, {"metadata": {"labels": {"x": "y"}}}),
]


def _crud(api: client.ApiClient, group_api: str, kind: str, body: dict[str, Any], change: dict[str, Any],
          namespaced: bool) -> None:
    target = getattr(client, group_api)(api)
    scope = "namespaced_" if namespaced else ""
    args: tuple[str, ...] = (NS,) if namespaced else ()
    name = f"t-{kind.replace('_', '-')}"
    obj = {"metadata": {"name": name}, **body}
    created = getattr(target, f"create_{scope}{kind}")(*args, obj)
    assert created.metadata.name == name and created.metadata.uid
    read = getattr(target, f"read_{scope}{kind}")(name, *args)
    assert read.metadata.resource_version == created.metadata.resource_version
    listed = getattr(target, f"list_{scope}{kind}")(*args)
    assert name in [i.metadata.name for i in listed.items]
    patched = getattr(target, f"patch_{scope}{kind}")(name, *args, change)
    assert int(patched.metadata.resource_version) > int(read.metadata.resource_version)
    replaced_body = api.sanitize_for_serialization(patched)
    replaced_body["metadata"].setdefault("annotations", {})["replaced"] = "yes"
    replaced = getattr(target, f"replace_{scope}{kind}")(name, *args, replaced_body)
    assert replaced.metadata.annotations["replaced"] == "yes"
    with pytest.raises(ApiException) as stale:
        getattr(target, f"replace_{scope}{kind}")(name, *args, replaced_body)
    assert status_of(stale.value) == (409, "Conflict")
    with pytest.raises(ApiException) as dup:
        getattr(target, f"create_{scope}{kind}")(*args, obj)
    assert status_of(dup.value) == (409, "AlreadyExists")
    getattr(target, f"delete_{scope}{kind}")(name, *args)
    with pytest.raises(ApiException) as gone:
        getattr(target, f"read_{scope}{kind}")(name, *args)
    assert status_of(gone.value) == (404, "NotFound")


@pytest.mark.parametrize(("group_api", "kind", "body", "change"), CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES])
def test_namespaced_crud(api: client.ApiClient, group_api: str, kind: str, body: dict[str, Any],
                         change: dict[str, Any]) -> None:
    _crud(api, group_api, kind, body, change, namespaced=True)


@pytest.mark.parametrize(("group_api", "kind", "body", "change"), CLUSTER_CASES,
                         ids=[f"{c[0]}.{c[1]}" for c in CLUSTER_CASES])
def test_cluster_crud(api: client.ApiClient, group_api: str, kind: str, body: dict[str, Any],
                      change: dict[str, Any]) -> None:
    _crud(api, group_api, kind, body, change, namespaced=False)


def test_deployment_crud_scale_and_errors(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment(NS, deployment("web", 2))
    assert created.spec.replicas == 2 and created.metadata.generation == 1
    scale = apps.read_namespaced_deployment_scale("web", NS)
    assert scale.kind == "Scale" and scale.spec.replicas == 2 and scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("web", NS).spec.replicas == 4
    scale = apps.read_namespaced_deployment_scale("web", NS)
    scale.spec.replicas = 6
    apps.replace_namespaced_deployment_scale("web", NS, scale)
    assert apps.read_namespaced_deployment("web", NS).spec.replicas == 6
    # patch types
    apps.patch_namespaced_deployment("web", NS, [{"op": "add", "path": "/metadata/labels/j", "value": "1"}])
    merged = apps.patch_namespaced_deployment("web", NS, {"metadata": {"labels": {"m": "1"}}},
                                              _content_type="application/merge-patch+json")
    assert merged.metadata.labels == {"app": "web", "j": "1", "m": "1"}
    strategic = apps.patch_namespaced_deployment(
        "web", NS, {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "E",
                                                                                        "value": "1"}]}]}}}},
        _content_type="application/strategic-merge-patch+json")
    container = strategic.spec.template.spec.containers[0]
    assert container.image == "nginx:1.25" and container.env[0].name == "E"
    applied = apps.patch_namespaced_deployment(
        "web", NS, api.sanitize_for_serialization(deployment("web", 3, "nginx:1.27")),
        field_manager="test", force=True, _content_type="application/apply-patch+yaml")
    assert applied.spec.replicas == 3
    assert applied.spec.template.spec.containers[0].image == "nginx:1.27"
    # errors
    with pytest.raises(ApiException) as missing:
        apps.read_namespaced_deployment("nope", NS)
    assert status_of(missing.value) == (404, "NotFound")
    bad = deployment("bad")
    bad.spec.selector = client.V1LabelSelector(match_labels={"app": "other"})
    with pytest.raises(ApiException) as invalid:
        apps.create_namespaced_deployment(NS, bad)
    assert status_of(invalid.value) == (422, "Invalid")
    assert "selector" in invalid.value.body
    with pytest.raises(ApiException) as immutable:
        apps.patch_namespaced_deployment("web", NS, {"spec": {"selector": {"matchLabels": {"app": "x"}},
                                                              "template": {"metadata": {"labels": {"app": "x"}}}}})
    assert status_of(immutable.value) == (422, "Invalid")
    assert "field is immutable" in immutable.value.body
    with pytest.raises(ApiException) as no_ns:
        apps.create_namespaced_deployment("no-such-namespace", deployment("web"))
    assert status_of(no_ns.value) == (404, "NotFound")
    assert 'namespaces \\"no-such-namespace\\" not found' in no_ns.value.body
    dry = apps.create_namespaced_deployment(NS, deployment("dry"), dry_run="All")
    assert dry.metadata.name == "dry"
    with pytest.raises(ApiException):
        apps.read_namespaced_deployment("dry", NS)


def test_watch_sees_changes_in_order(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    start = core.list_namespaced_config_map(NS).metadata.resource_version
    seen: list[tuple[str, str]] = []

    def produce() -> None:
        time.sleep(0.3)
        core.create_namespaced_config_map(NS, {"metadata": {"name": "w1"}, "data": {"v": "1"}})
        core.patch_namespaced_config_map("w1", NS, {"data": {"v": "2"}})
        core.delete_namespaced_config_map("w1", NS)

    thread = threading.Thread(target=produce)
    thread.start()
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, NS, resource_version=start, timeout_seconds=10):
        obj = event["object"]
        if obj.metadata.name == "w1":
            seen.append((event["type"], obj.data["v"] if obj.data else ""))
        if event["type"] == "DELETED":
            w.stop()
    thread.join()
    assert seen == [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]


def test_namespace_lifecycle_and_access_review(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespace({"metadata": {"name": "py-ns"}})
    assert created.status.phase == "Active"
    assert created.metadata.labels["kubernetes.io/metadata.name"] == "py-ns"
    assert "default" in [sa.metadata.name for sa in core.list_namespaced_service_account("py-ns").items]
    patched = core.patch_namespace("py-ns", {"metadata": {"labels": {"team": "a"}}})
    assert patched.metadata.labels["team"] == "a"
    core.create_namespaced_config_map("py-ns", {"metadata": {"name": "inside"}})
    terminating = core.delete_namespace("py-ns")
    assert terminating is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            core.read_namespace("py-ns")
        except ApiException as exc:
            assert status_of(exc) == (404, "NotFound")
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the namespace was not deleted")
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"verb": "delete", "resource": "pods", "namespace": NS}}})
    assert review.status.allowed is True


def test_secret_string_data_is_stored_as_data(api: client.ApiClient) -> None:
    import base64

    core = client.CoreV1Api(api)
    core.create_namespaced_secret(NS, {"metadata": {"name": "plain"}, "data": {"a": base64.b64encode(b"1").decode()},
                                       "stringData": {"b": "two", "a": "one"}})
    secret = core.read_namespaced_secret("plain", NS)
    assert secret.string_data is None
    assert {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()} == {"a": "one", "b": "two"}


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_system_namespaces_may_not_be_deleted(api: client.ApiClient, name: str) -> None:
    core = client.CoreV1Api(api)
    for dry_run in ("All", None):
        with pytest.raises(ApiException) as err:
            core.delete_namespace(name, dry_run=dry_run)
        assert status_of(err.value) == (403, "Forbidden")
        assert "this namespace may not be deleted" in json.loads(err.value.body)["message"]

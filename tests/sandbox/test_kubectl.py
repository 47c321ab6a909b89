"""Conformance with the real kubectl: each command's output is checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import Kubectl, wait_for

NS = "kc"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels: {app: shop, tier: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
      - name: shop
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - {name: MODE, value: blue}
---
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports:
  - port: 80
    targetPort: 80
"""


@pytest.fixture(scope="module", autouse=True)
def namespace(kubectl: Kubectl) -> None:
    out = kubectl("create", "namespace", NS)
    assert out.strip() == f"namespace/{NS} created"


def test_version_and_api_resources(kubectl: Kubectl) -> None:
    out = kubectl("version", "-o", "json")
    assert json.loads(out)["serverVersion"]["minor"] == "32"
    table = kubectl("api-resources")
    lines = {re.split(r"\s+", line)[0]: line for line in table.splitlines()[1:]}
    assert re.search(r"deploy\s+apps/v1\s+true\s+Deployment", lines["deployments"])
    assert re.search(r"hpa\s+autoscaling/v2\s+true\s+HorizontalPodAutoscaler",
                     lines["horizontalpodautoscalers"])
    assert re.search(r"ns\s+v1\s+false\s+Namespace", lines["namespaces"])
    wide = kubectl("api-resources", "--api-group=apps", "-o", "wide")
    assert "create,delete,deletecollection,get,list,patch,update,watch" in wide
    assert "all" in wide.splitlines()[1]  # categories


def test_create_deployment_and_get_columns(kubectl: Kubectl) -> None:
    out = kubectl("create", "deployment", "api", "--image=ghcr.io/acme/api:2.1", "--replicas=3",
                  "-n", NS)
    assert out.strip() == "deployment.apps/api created"
    table = kubectl("get", "deployments", "-n", NS)
    header, *rows = table.splitlines()
    assert re.split(r"\s{2,}", header) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert any(re.match(r"api\s+0/3\s+0\s+0\s+\d+s", r) for r in rows)
    wide = kubectl("get", "deploy", "api", "-n", NS, "-o", "wide")
    assert re.split(r"\s{2,}", wide.splitlines()[0])[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert "ghcr.io/acme/api:2.1" in wide and "app=api" in wide
    obj = kubectl.json("get", "deploy", "api", "-n", NS)
    spec = obj["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    container = spec["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert obj["metadata"]["generation"] == 1 and obj["metadata"]["uid"]


def test_configmaps_and_secrets(kubectl: Kubectl, tmp_path: Path) -> None:
    conf = tmp_path / "app.properties"
    conf.write_text("color=blue\nsize=3\n")
    out = kubectl("create", "configmap", "settings", f"--from-file={conf}",
                  "--from-literal=mode=fast", "-n", NS)
    assert out.strip() == "configmap/settings created"
    cm = kubectl.json("get", "configmap", "settings", "-n", NS)
    assert cm["data"] == {"app.properties": "color=blue\nsize=3\n", "mode": "fast"}
    assert re.search(r"settings\s+2\s+", kubectl("get", "cm", "-n", NS))
    out = kubectl("create", "secret", "generic", "creds", "--from-literal=user=admin",
                  "--from-literal=password=s3cr3t", "-n", NS)
    assert out.strip() == "secret/creds created"
    table = kubectl("get", "secret", "creds", "-n", NS)
    assert re.search(r"creds\s+Opaque\s+2\s+", table)
    value = kubectl("get", "secret", "creds", "-n", NS, "-o", "jsonpath={.data.password}")
    assert value == "czNjcjN0"


def test_output_formats(kubectl: Kubectl) -> None:
    kubectl("apply", "-n", NS, "-f", "-", stdin=DEPLOYMENT)
    doc = yaml.safe_load(kubectl("get", "deploy", "shop", "-n", NS, "-o", "yaml"))
    assert doc["kind"] == "Deployment" and doc["apiVersion"] == "apps/v1"
    assert doc["metadata"]["namespace"] == NS
    names = kubectl("get", "deploy", "-n", NS, "-o",
                    "jsonpath={.items[?(@.spec.replicas>2)].metadata.name}")
    assert names.split() == ["api"]
    names = kubectl("get", "deploy", "-n", NS, "-o", "jsonpath={.items[*].metadata.name}")
    assert names.split() == ["api", "shop"]
    labels = kubectl("get", "deploy", "-l", "tier=web", "-n", NS, "--show-labels")
    assert "app=shop,tier=web" in labels and "api" not in labels
    sorted_names = kubectl("get", "deploy", "-n", NS, "--sort-by=.spec.replicas", "-o", "name")
    assert sorted_names.split() == ["deployment.apps/shop", "deployment.apps/api"]
    svc = kubectl("get", "svc", "shop", "-n", NS)
    assert re.split(r"\s{2,}", svc.splitlines()[0]) == \
        ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert re.search(r"shop\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80/TCP", svc)


def test_all_namespaces_and_field_selector(kubectl: Kubectl) -> None:
    out = kubectl("get", "deploy", "-A")
    assert out.splitlines()[0].split()[0] == "NAMESPACE"
    assert re.search(rf"{NS}\s+api\s+0/3", out)
    out = kubectl("get", "deploy", "-A", "--field-selector", f"metadata.namespace={NS},metadata.name=shop",
                  "-o", "name")
    assert out.split() == ["deployment.apps/shop"]
    ns = kubectl("get", "ns", "--field-selector", "status.phase=Active", "-o", "name")
    assert f"namespace/{NS}" in ns.split()
    bad = kubectl.run("get", "pods", "--field-selector", "spec.color=red", "-n", NS, check=False)
    assert bad.returncode != 0 and "field label not supported: spec.color" in bad.stderr


def test_get_all(kubectl: Kubectl) -> None:
    out = kubectl("get", "all", "-n", NS)
    assert "service/shop" in out
    assert "deployment.apps/api" in out and "deployment.apps/shop" in out


def test_apply_create_configure_unchanged(kubectl: Kubectl) -> None:
    manifest = DEPLOYMENT.replace("name: shop\n  labels", "name: cart\n  labels").replace(
        "app: shop", "app: cart").replace("name: shop\nspec:\n  selector", "name: cart\nspec:\n  selector")
    out = kubectl("apply", "-n", NS, "-f", "-", stdin=manifest)
    assert "deployment.apps/cart created" in out
    out = kubectl("apply", "-n", NS, "-f", "-", stdin=manifest)
    assert "deployment.apps/cart unchanged" in out
    changed = manifest.replace("replicas: 2", "replicas: 4").replace("value: blue", "value: green")
    out = kubectl("apply", "-n", NS, "-f", "-", stdin=changed)
    assert "deployment.apps/cart configured" in out
    obj = kubectl.json("get", "deploy", "cart", "-n", NS)
    assert obj["spec"]["replicas"] == 4
    assert obj["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "green"}]
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]
    assert obj["metadata"]["generation"] == 2


def test_apply_server_side(kubectl: Kubectl) -> None:
    manifest = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
  labels: {owner: kai}
data:
  a: "1"
"""
    out = kubectl("apply", "--server-side", "-n", NS, "-f", "-", stdin=manifest)
    assert out.strip() == "configmap/ssa serverside-applied"
    out = kubectl("apply", "--server-side", "-n", NS, "-f", "-", stdin=manifest.replace('"1"', '"2"'))
    assert out.strip() == "configmap/ssa serverside-applied"
    assert kubectl.json("get", "cm", "ssa", "-n", NS)["data"] == {"a": "2"}


def test_label_annotate_patch(kubectl: Kubectl) -> None:
    assert kubectl("label", "deploy", "api", "team=core", "-n", NS).strip() == "deployment.apps/api labeled"
    assert kubectl("annotate", "deploy", "api", "owner=ops", "-n", NS).strip() == \
        "deployment.apps/api annotated"
    meta = kubectl.json("get", "deploy", "api", "-n", NS)["metadata"]
    assert meta["labels"]["team"] == "core" and meta["annotations"]["owner"] == "ops"
    kubectl("label", "deploy", "api", "team-", "-n", NS)
    assert "team" not in kubectl.json("get", "deploy", "api", "-n", NS)["metadata"]["labels"]
    out = kubectl("patch", "deploy", "api", "-n", NS, "-p",
                  '{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"A","value":"1"}]}]}}}}')
    assert out.strip() == "deployment.apps/api patched"
    container = kubectl.json("get", "deploy", "api", "-n", NS)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/api:2.1" and container["env"] == [{"name": "A", "value": "1"}]
    kubectl("patch", "deploy", "api", "-n", NS, "--type=merge", "-p", '{"metadata":{"labels":{"m":"x"}}}')
    kubectl("patch", "deploy", "api", "-n", NS, "--type=json", "-p",
            '[{"op":"replace","path":"/spec/replicas","value":1}]')
    obj = kubectl.json("get", "deploy", "api", "-n", NS)
    assert obj["metadata"]["labels"]["m"] == "x" and obj["spec"]["replicas"] == 1
    out = kubectl("patch", "deploy", "api", "-n", NS, "--type=merge", "-p", '{"metadata":{"labels":{"m":"x"}}}')
    assert "no change" in out


def test_scale_and_set_image(kubectl: Kubectl) -> None:
    before = kubectl.json("get", "deploy", "shop", "-n", NS)
    assert kubectl("scale", "deploy", "shop", "--replicas=5", "-n", NS).strip() == "deployment.apps/shop scaled"
    after = kubectl.json("get", "deploy", "shop", "-n", NS)
    assert after["spec"]["replicas"] == 5
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    out = kubectl("set", "image", "deploy/shop", "shop=nginx:1.27", "-n", NS)
    assert out.strip() == "deployment.apps/shop image updated"
    final = kubectl.json("get", "deploy", "shop", "-n", NS)
    assert final["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert final["metadata"]["generation"] == after["metadata"]["generation"] + 1
    bad = kubectl.run("scale", "deploy", "shop", "--replicas=-1", "-n", NS, check=False)
    assert bad.returncode != 0
    missing = kubectl.run("scale", "deploy", "nope", "--replicas=2", "-n", NS, check=False)
    assert 'deployments.apps "nope" not found' in missing.stderr


def test_describe_shows_events(kubectl: Kubectl) -> None:
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "shop.1", "namespace": NS},
        "involvedObject": {"kind": "Deployment", "name": "shop", "namespace": NS,
                           "apiVersion": "apps/v1",
                           "uid": kubectl.json("get", "deploy", "shop", "-n", NS)["metadata"]["uid"]},
        "reason": "ScalingReplicaSet", "message": "Scaled up replica set shop-abc to 5",
        "type": "Normal", "source": {"component": "deployment-controller"}, "count": 1,
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
    }
    kubectl("create", "-f", "-", stdin=json.dumps(event))
    out = kubectl("describe", "deploy", "shop", "-n", NS)
    assert re.search(r"Name:\s+shop", out) and re.search(r"Replicas:\s+5 desired", out)
    assert "ScalingReplicaSet" in out and "Scaled up replica set shop-abc to 5" in out
    events = kubectl("get", "events", "-n", NS)
    assert re.split(r"\s{2,}", events.splitlines()[0]) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert "deployment/shop" in events


def test_auth_can_i(kubectl: Kubectl) -> None:
    assert kubectl("auth", "can-i", "create", "deployments", "-n", NS).strip() == "yes"
    role = f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: pod-reader, namespace: {NS}}}
rules:
- apiGroups: [""]
  resources: ["pods", "pods/log"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: jane-reads, namespace: {NS}}}
subjects:
- {{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}}
roleRef: {{kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}}
"""
    kubectl("apply", "-f", "-", stdin=role)
    assert kubectl.run("auth", "can-i", "list", "pods", "-n", NS, "--as=jane").stdout.strip() == "yes"
    no = kubectl.run("auth", "can-i", "delete", "pods", "-n", NS, "--as=jane", check=False)
    assert no.stdout.strip() == "no" and no.returncode == 1
    other = kubectl.run("auth", "can-i", "list", "pods", "-n", "default", "--as=jane", check=False)
    assert other.stdout.strip() == "no"
    denied = kubectl.run("get", "deploy", "-n", NS, "--as=jane", check=False)
    assert 'User "jane" cannot list resource "deployments" in API group "apps"' in denied.stderr


def test_delete_cascades(kubectl: Kubectl) -> None:
    owner = kubectl.json("get", "deploy", "api", "-n", NS)
    rs = {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "api-abc", "namespace": NS, "labels": {"app": "api"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api",
                                          "uid": owner["metadata"]["uid"], "controller": True,
                                          "blockOwnerDeletion": True}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": {"containers": [{"name": "api", "image": "x:1"}]}}},
    }
    kubectl("create", "-f", "-", stdin=json.dumps(rs))
    assert kubectl("get", "rs", "-n", NS, "-o", "name").split() == ["replicaset.apps/api-abc"]
    out = kubectl("delete", "deploy", "api", "-n", NS)
    assert re.fullmatch(rf'deployment.apps "api" deleted( from {NS} namespace)?', out.strip())
    wait_for(lambda: kubectl("get", "rs", "-n", NS, "-o", "name").strip() == "")


def test_delete_namespace(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "doomed")
    kubectl("create", "configmap", "x", "--from-literal=a=b", "-n", "doomed")
    out = kubectl("delete", "namespace", "doomed")
    assert out.strip() == 'namespace "doomed" deleted'
    gone = kubectl.run("get", "namespace", "doomed", check=False)
    assert 'namespaces "doomed" not found' in gone.stderr
    missing = kubectl.run("create", "configmap", "y", "--from-literal=a=b", "-n", "doomed", check=False)
    assert 'namespaces "doomed" not found' in missing.stderr

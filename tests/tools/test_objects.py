"""The generic read tools (list_namespaces, list_resources, get_resource, describe_resource)
against the sandbox with the todo stack, each result checked against what kubectl shows;
the budget on 1,000 pods; Secret values never shown; bad input refused before any request."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import tools.objects  # registers the tools
from sandbox.control import Sandbox
from tests.conftest import Kubectl, kubectl_for
from tests.tools.conftest import read, wait_for
from tests.tools.recording import RecordingCluster
from tools.budget import count_tokens, more_note, render
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.errors import Ambiguous, InvalidInput, NotFound
from tools.registry import REGISTRY

NS = "rd-objects"
PLANTED = "kai-planted-Zq81-secret-value"
PLANTED_TOO = "kai-second-Wx42-token-value"
ENCODED = base64.b64encode(PLANTED.encode()).decode()
TOOLS = ("list_namespaces", "list_resources", "get_resource", "describe_resource")

MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: planted, namespace: {NS}}}
data: {{password: {ENCODED}}}
stringData: {{token: {PLANTED_TOO}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {NS}, labels: {{tier: config}}}}
data: {{mode: fast, level: "3"}}
---
apiVersion: v1
kind: Pod
metadata: {{name: crasher, namespace: {NS}, labels: {{app: crasher}}}}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo starting; echo about to fail; exit 3"]
---
apiVersion: v1
kind: Pod
metadata: {{name: puller, namespace: {NS}}}
spec:
  containers:
  - name: web
    image: nginx:no-such-tag
"""




@pytest.fixture(scope="module")
def mine(cluster: Sandbox, kc: Kubectl) -> Iterator[str]:
    """A namespace of this module's own: a planted Secret, a ConfigMap, a crashing pod and
    a pod whose image cannot be pulled."""
    kc("apply", "-f", "-", stdin=MANIFEST)

    def crashed() -> bool:
        pod = kc.json("get", "pod", "crasher", "-n", NS)
        statuses = pod.get("status", {}).get("containerStatuses") or [{}]
        return bool(statuses[0].get("restartCount")) and "terminated" in statuses[0].get("lastState", {})

    wait_for(crashed, 60)
    wait_for(lambda: "ImagePull" in kc("get", "pod", "puller", "-n", NS, "--no-headers"), 60)
    yield NS
    kc("delete", "namespace", NS, "--wait=false")


@pytest.fixture
def spy(cluster: Sandbox) -> Iterator[ToolContext]:
    context = ToolContext(RecordingCluster(kubeconfig=cluster.kubeconfig))
    yield context
    context.cluster.close()


def kubectl_rows(kc: Kubectl, *args: str) -> dict[str, list[str]]:
    """``kubectl get … --no-headers`` as {name: columns}."""
    out = {}
    for line in kc("get", *args, "--no-headers").splitlines():
        cols = line.split()
        out[cols[0]] = cols
    return out


def shown(result: Any) -> str:
    """Everything a model or a front end could see of a result."""
    return render(result) + repr(result.model_dump())


# --- the docstrings the model reads ---------------------------------------------------------

def test_each_tool_documents_every_argument() -> None:
    for name in TOOLS:
        item = REGISTRY.get(name)
        assert item.risk == "read" and item.summary
        assert set(item.input_model.model_fields) == set(item.args_doc), name
        assert all(item.args_doc.values()), name


# --- list_namespaces ------------------------------------------------------------------------

def test_list_namespaces_matches_kubectl(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    before = kubectl_rows(kc, "namespaces")
    result = read(ctx, "list_namespaces")
    after = kubectl_rows(kc, "namespaces")  # other suites' namespaces may go away meanwhile, none come
    names = {r.name for r in result.namespaces}
    assert names <= set(before) and (todo in names or result.more)
    if result.more is None:  # nothing cut: every namespace still there is listed
        assert set(after) <= names
    assert len(after) <= result.total <= len(before)
    assert result.more == more_note(result.total - len(result.namespaces), "namespaces")
    assert {r.name: r.status for r in result.namespaces if r.name in after} == {
        n: c[1] for n, c in after.items() if n in names}
    assert all(r.age for r in result.namespaces)
    labelled = read(ctx, "list_namespaces", label_selector=f"kubernetes.io/metadata.name={todo}")
    assert [r.name for r in labelled.namespaces] == [todo] and labelled.total == 1 and labelled.more is None


# --- list_resources -------------------------------------------------------------------------

def test_list_pods_matches_kubectl(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    result = read(ctx, "list_resources", kind="po", namespace=todo)
    expected = kubectl_rows(kc, "pods", "-n", todo, "-o", "wide")
    assert result.kind == "Pod" and result.scope == f"namespace {todo}"
    assert result.total == len(expected) == 4 and result.more is None
    for row in result.items:
        cols = expected[row.name]
        assert (row.ready, row.status, str(row.restarts), row.node) == (cols[1], cols[2], cols[3], cols[6])
        assert row.namespace is None  # one namespace: not repeated on each row
    assert result.by_status == {"Running": 4}


def test_list_deployments_matches_kubectl(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    result = read(ctx, "list_resources", kind="deploy", namespace=todo)
    expected = kubectl_rows(kc, "deployments", "-n", todo, "-o", "wide")
    assert sorted(r.name for r in result.items) == sorted(expected) == ["todo-backend", "todo-frontend"]
    for row in result.items:
        _name, ready, up_to_date, available, _age, _containers, images = expected[row.name][:7]
        assert (row.ready, str(row.up_to_date), str(row.available), row.images) == (ready, up_to_date, available,
                                                                                    images)


def test_list_services_matches_kubectl(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    result = read(ctx, "list_resources", kind="svc", namespace=todo)
    expected = kubectl_rows(kc, "services", "-n", todo)
    assert {r.name for r in result.items} == set(expected)
    for row in result.items:
        _name, kind, cluster_ip, _external, ports = expected[row.name][:5]
        assert (row.type, row.cluster_ip, row.ports) == (kind, cluster_ip, ports)


def test_list_with_a_label_selector(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    selector = "app.kubernetes.io/component=backend"
    result = read(ctx, "list_resources", kind="pods", namespace=todo, label_selector=selector)
    assert {r.name for r in result.items} == set(kubectl_rows(kc, "pods", "-n", todo, "-l", selector)) != set()
    assert all(r.name.startswith("todo-backend-") for r in result.items)
    assert result.scope.endswith(f"labels {selector}")
    none = read(ctx, "list_resources", kind="pods", namespace=todo, label_selector="app notin (todo-backend),nope")
    assert none.items == [] and none.total == 0


def test_list_across_namespaces_and_cluster_kinds(ctx: ToolContext, kc: Kubectl, todo: str, mine: str) -> None:
    labelled = read(ctx, "list_resources", kind="configmaps", all_namespaces=True, label_selector="tier=config")
    expected = [line.split()[:2] for line in kc("get", "cm", "-A", "-l", "tier=config", "--no-headers").splitlines()]
    assert [[r.namespace, r.name] for r in labelled.items] == expected == [[mine, "settings"]]
    assert labelled.scope == "all namespaces, labels tier=config"
    everything = read(ctx, "list_resources", kind="cm", all_namespaces=True)
    assert everything.scope == "all namespaces" and all(r.namespace for r in everything.items)
    assert everything.total >= 2 and count_tokens(render(everything)) <= ctx.budget
    nodes = read(ctx, "list_resources", kind="no", namespace=todo)  # a namespace means nothing to nodes
    expected_nodes = kubectl_rows(kc, "nodes")
    assert nodes.scope == "cluster" and {r.name: r.status for r in nodes.items} == {
        n: c[1] for n, c in expected_nodes.items()}


def test_list_shows_problem_pods_as_kubectl(ctx: ToolContext, kc: Kubectl, mine: str) -> None:
    result = read(ctx, "list_resources", kind="pods", namespace=mine)
    rows = {r.name: r for r in result.items}
    assert rows["puller"].status in ("ErrImagePull", "ImagePullBackOff")
    assert kubectl_rows(kc, "pods", "-n", mine)["puller"][2] in ("ErrImagePull", "ImagePullBackOff")
    assert rows["crasher"].status in ("CrashLoopBackOff", "Error", "Running", "Completed")
    assert rows["crasher"].restarts is not None and rows["crasher"].restarts >= 1
    assert sum((result.by_status or {}).values()) == 2


def test_secrets_list_shows_key_counts_only(ctx: ToolContext, mine: str) -> None:
    result = read(ctx, "list_resources", kind="secret", namespace=mine)
    row = next(r for r in result.items if r.name == "planted")
    assert (row.type, row.info) == ("Opaque", "2 keys")
    assert PLANTED not in shown(result)


# --- get_resource ---------------------------------------------------------------------------

def test_get_summary_resolves_a_short_name(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    result = read(ctx, "get_resource", kind="deployment", name="backend", namespace=todo)
    live = kc.json("get", "deployment", "todo-backend", "-n", todo)
    assert (result.kind, result.name, result.namespace) == ("Deployment", "todo-backend", todo)
    assert result.yaml is None and result.facts is not None
    spec, status = live["spec"], live["status"]
    assert result.facts["replicas"] == (f"desired {spec['replicas']}, updated {status['updatedReplicas']}, "
                                        f"ready {status['readyReplicas']}, available {status['availableReplicas']}")
    selector = ",".join(f"{k}={v}" for k, v in sorted(spec["selector"]["matchLabels"].items()))
    assert result.facts["selector"] == selector
    assert result.facts["containers"] == {c["name"]: c["image"] for c in spec["template"]["spec"]["containers"]}
    assert result.facts["strategy"].startswith(spec["strategy"]["type"])
    assert result.row.ready == f"{status['readyReplicas']}/{spec['replicas']}"
    assert count_tokens(render(result)) <= ctx.budget


def test_get_summary_of_a_service(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    result = read(ctx, "get_resource", kind="svc", name="frontend", namespace=todo)
    live = kc.json("get", "service", "todo-frontend", "-n", todo)
    assert result.facts is not None and result.facts["type"] == live["spec"]["type"] == "NodePort"
    port = live["spec"]["ports"][0]
    assert str(port["nodePort"]) in result.facts["ports"][0] and str(port["port"]) in result.facts["ports"][0]


def test_get_yaml_is_the_object_without_managed_fields(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    result = read(ctx, "get_resource", kind="cm", name="todo-app-config", namespace=todo, output="yaml")
    doc = yaml.safe_load(result.yaml)
    live = kc.json("get", "configmap", "todo-app-config", "-n", todo)
    assert (doc["kind"], doc["apiVersion"]) == ("ConfigMap", "v1")
    assert doc["metadata"]["uid"] == live["metadata"]["uid"] and doc["data"] == live["data"]
    assert "managedFields" not in doc["metadata"] and result.facts is None and result.more is None


def test_get_yaml_is_cut_to_the_budget(cluster: Sandbox, todo: str) -> None:
    small = ToolContext(Cluster(kubeconfig=cluster.kubeconfig), budget=250)
    try:
        result = read(small, "get_resource", kind="deploy", name="todo-backend", namespace=todo, output="yaml")
        full = read(small, "get_resource", kind="deploy", name="todo-backend", namespace=todo, output="summary")
    finally:
        small.cluster.close()
    assert count_tokens(render(result)) <= 250 and "more tokens cut" in str(result.yaml)
    assert result.more == "the YAML was cut to fit the budget"
    assert str(result.yaml).startswith("apiVersion: apps/v1\nkind: Deployment\n")
    assert count_tokens(render(full)) <= 250


def test_resolution_errors(ctx: ToolContext, todo: str) -> None:
    with pytest.raises(NotFound) as missing:
        read(ctx, "get_resource", kind="deploy", name="todo-backnd", namespace=todo)
    assert f"{todo}/todo-backend" in missing.value.suggestions
    with pytest.raises(Ambiguous) as two:
        read(ctx, "get_resource", kind="deploy", name="todo", namespace=todo)
    assert sorted(two.value.candidates) == [f"{todo}/todo-backend", f"{todo}/todo-frontend"]
    with pytest.raises(NotFound, match="namespace 'no-such-ns' not found"):
        read(ctx, "get_resource", kind="deploy", name="backend", namespace="no-such-ns")
    with pytest.raises(NotFound, match="namespace 'no-such-ns' not found"):
        read(ctx, "list_resources", kind="pods", namespace="no-such-ns")


# --- describe_resource ----------------------------------------------------------------------

def test_describe_a_crashing_pod(ctx: ToolContext, kc: Kubectl, mine: str) -> None:
    result = read(ctx, "describe_resource", kind="pod", name="crasher", namespace=mine)
    live = kc.json("get", "pod", "crasher", "-n", mine)
    [container] = result.containers
    status = live["status"]["containerStatuses"][0]
    assert (container.name, container.image) == ("main", "busybox:1.36")
    assert container.restarts is not None and container.restarts >= 1
    assert container.last_termination is not None and "exit code 3" in container.last_termination
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert {c.type for c in result.conditions or []} == {c["type"] for c in live["status"]["conditions"]}
    events = kc.json("get", "events", "-n", mine, "--field-selector", "involvedObject.name=crasher")["items"]
    assert {e.reason for e in result.events} <= {e["reason"] for e in events}
    assert "BackOff" in {e.reason for e in result.events} or "Started" in {e.reason for e in result.events}
    assert all(e.object is None for e in result.events)  # all about the object described
    assert count_tokens(render(result)) <= ctx.budget


def test_describe_a_workload(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    result = read(ctx, "describe_resource", kind="deploy", name="frontend", namespace=todo)
    live = kc.json("get", "deployment", "todo-frontend", "-n", todo)
    assert result.facts["strategy"].startswith("RollingUpdate")
    assert result.facts["selector"].count("=") == len(live["spec"]["selector"]["matchLabels"])
    [container] = result.containers or []
    assert container.image == live["spec"]["template"]["spec"]["containers"][0]["image"]
    assert container.state is None  # a template has no state
    assert {c.type: c.status for c in result.conditions or []} == {
        c["type"]: c["status"] for c in live["status"]["conditions"]}
    assert [e.reason for e in result.events] == ["ScalingReplicaSet"]
    assert "ScalingReplicaSet" in kc("describe", "deployment", "todo-frontend", "-n", todo)


@pytest.mark.parametrize("budget", [200, 400])
def test_describe_fits_small_budgets(cluster: Sandbox, mine: str, todo: str, budget: int) -> None:
    small = ToolContext(Cluster(kubeconfig=cluster.kubeconfig), budget=budget)
    try:
        results = [read(small, "describe_resource", kind="pod", name="crasher", namespace=mine),
                   read(small, "describe_resource", kind="deploy", name="backend", namespace=todo),
                   read(small, "get_resource", kind="pod", name="crasher", namespace=mine)]
    finally:
        small.cluster.close()
    for result in results:
        assert count_tokens(render(result)) <= budget
        assert result.row.name in ("crasher", "todo-backend")
    assert "cut to fit the budget" in str(results[0].more)


def test_describe_an_owned_pod_names_its_owner(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    pods = kc.json("get", "pods", "-n", todo, "-l", "app.kubernetes.io/component=backend")["items"]
    pod = pods[0]["metadata"]
    result = read(ctx, "describe_resource", kind="po", name=pod["name"], namespace=todo)
    owner = pod["ownerReferences"][0]
    assert result.facts["owners"] == [f"{owner['kind']}/{owner['name']}"]
    assert result.containers and result.containers[0].state and result.containers[0].state.startswith("Running")


# --- Secrets --------------------------------------------------------------------------------

def test_a_secret_value_never_appears(ctx: ToolContext, kc: Kubectl, mine: str) -> None:
    live = kc.json("get", "secret", "planted", "-n", mine)
    assert live["data"]["password"] == ENCODED  # the values are really there, in the object
    assert PLANTED_TOO in json.dumps(live) and ENCODED in json.dumps(live["metadata"]["annotations"])
    results = [read(ctx, "get_resource", kind="secret", name="planted", namespace=mine),
               read(ctx, "get_resource", kind="secret", name="planted", namespace=mine, output="yaml"),
               read(ctx, "describe_resource", kind="secret", name="planted", namespace=mine),
               read(ctx, "list_resources", kind="secrets", namespace=mine)]
    for result in results:
        text = shown(result)
        for value in (PLANTED, ENCODED, PLANTED_TOO, base64.b64encode(PLANTED_TOO.encode()).decode()):
            assert value not in text
    summary, as_yaml = results[0], results[1]
    assert summary.facts["keys"] == {"password": f"<redacted: {len(PLANTED)} bytes>",
                                     "token": f"<redacted: {len(PLANTED_TOO)} bytes>"}
    doc = yaml.safe_load(as_yaml.yaml)
    assert doc["data"]["password"] == f"<redacted: {len(PLANTED)} bytes>"
    assert doc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == "<redacted>"


# --- 1,000 pods -----------------------------------------------------------------------------

MANY = "rd-many-pods"


@pytest.fixture(scope="module")
def many_pods(sandbox: Sandbox) -> Iterator[Cluster]:
    """1,000 bare pods in a namespace of the API-only sandbox (no kubelet runs them),
    removed at the end."""
    cluster = Cluster(kubeconfig=sandbox.kubeconfig)

    async def create() -> None:
        await cluster.request("POST", "/api/v1/namespaces", body={"metadata": {"name": MANY}})
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            pod = {"metadata": {"name": f"worker-{i:04d}", "labels": {"app": "worker", "shard": str(i % 4)}},
                   "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}}
            async with gate:
                await cluster.request("POST", f"/api/v1/namespaces/{MANY}/pods", body=pod)

        await asyncio.gather(*(one(i) for i in range(1000)))

    async def remove() -> None:
        await cluster.request("DELETE", f"/api/v1/namespaces/{MANY}/pods")
        await cluster.request("DELETE", f"/api/v1/namespaces/{MANY}")
        body = await cluster.get(f"/api/v1/namespaces/{MANY}")
        body["spec"]["finalizers"] = []  # no namespace controller here: finish the deletion ourselves
        await cluster.request("PUT", f"/api/v1/namespaces/{MANY}/finalize", body=body)

    asyncio.run(create())
    yield cluster
    asyncio.run(remove())
    cluster.close()


@pytest.mark.parametrize("budget", [2000, 600])
def test_a_thousand_pods_fit_the_budget(many_pods: Cluster, sandbox: Sandbox, tmp_path: Path, budget: int) -> None:
    context = ToolContext(many_pods, budget=budget)
    result = read(context, "list_resources", kind="pods", namespace=MANY)
    kubectl = kubectl_for(sandbox.kubeconfig, tmp_path)
    listed = kubectl("get", "pods", "-n", MANY, "--no-headers").splitlines()
    assert result.total == len(listed) == 1000
    assert count_tokens(render(result)) <= budget
    assert 0 < len(result.items) < 1000
    assert result.more == f"… {1000 - len(result.items)} more pods"
    assert [r.name for r in result.items] == [line.split()[0] for line in listed[: len(result.items)]]
    assert result.by_status == {"Pending": 1000}
    shard = read(context, "list_resources", kind="pods", namespace=MANY, label_selector="shard=1")
    assert shard.total == 250 and count_tokens(render(shard)) <= budget
    everywhere = read(context, "list_resources", kind="pods", all_namespaces=True)
    assert everywhere.total >= 1000 and count_tokens(render(everywhere)) <= budget
    assert everywhere.more == f"… {everywhere.total - len(everywhere.items)} more pods"


class Uncounted(Cluster):
    """A server that does not say how many objects remain beyond a page."""

    async def get(self, path: str, **query: Any) -> Any:
        doc = await super().get(path, **query)
        doc.get("metadata", {}).pop("remainingItemCount", None)
        return doc


def test_lists_longer_than_one_page(many_pods: Cluster, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools.objects, "LIST_LIMIT", 100)
    counted = read(ToolContext(many_pods), "list_resources", kind="pods", namespace=MANY)
    assert counted.total == 1000 and counted.more == f"… {1000 - len(counted.items)} more pods"
    uncounted = ToolContext(Uncounted(kubeconfig=sandbox.kubeconfig))
    try:
        result = read(uncounted, "list_resources", kind="pods", namespace=MANY, label_selector="app=worker")
    finally:
        uncounted.cluster.close()
    assert result.total == 100
    assert result.more == f"… {100 - len(result.items)} more pods (and more beyond the first 100)"


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("tool", "arguments"), [
    ("get_resource", {"kind": "deploy", "name": "a;rm -rf /"}),
    ("get_resource", {"kind": "deploy", "name": "../x"}),
    ("get_resource", {"kind": "deploy", "name": "$(reboot)"}),
    ("get_resource", {"kind": "deploy", "name": "backend", "namespace": "../kube-system"}),
    ("get_resource", {"kind": "deploy", "name": "backend", "output": "json"}),
    ("get_resource", {"kind": "deploy; ls", "name": "backend"}),
    ("get_resource", {"kind": "deploy", "name": ""}),
    ("describe_resource", {"kind": "pod", "name": "x/../../secrets"}),
    ("list_resources", {"kind": "pods", "namespace": "Todo_App"}),
    ("list_resources", {"kind": "pods", "label_selector": "app=x;rm -rf"}),
    ("list_resources", {"kind": "pods", "replicas": 3}),
    ("list_namespaces", {"label_selector": "a`b`"}),
])
def test_bad_input_is_refused_before_any_request(spy: ToolContext, tool: str, arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match=f"invalid arguments for {tool}"):
        read(spy, tool, **arguments)
    assert isinstance(spy.cluster, RecordingCluster) and spy.cluster.sent == []


def test_a_kind_that_cannot_be_listed(ctx: ToolContext) -> None:
    with pytest.raises(InvalidInput, match="selfsubjectaccessreviews cannot be listed"):
        read(ctx, "list_resources", kind="selfsubjectaccessreview")


def test_an_unknown_kind_is_a_clear_error(spy: ToolContext) -> None:
    with pytest.raises(InvalidInput, match="unknown kind 'deploymnt'; closest: deployments"):
        read(spy, "list_resources", kind="deploymnt")
    assert isinstance(spy.cluster, RecordingCluster)
    assert all(method == "GET" and path.startswith(("/api", "/apis")) and "namespaces" not in path
               for method, path, _ in spy.cluster.sent)  # discovery only

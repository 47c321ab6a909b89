"""create_namespace, apply_manifest, delete_resource and delete_namespace against the sandbox:
their previews (dry runs, Secrets redacted), that planning writes nothing, their effect as
kubectl sees it, and malformed manifests refused naming the document."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

import tools.manifests  # noqa: F401  (registers the tools)
from sandbox.control import Sandbox
from tests.tools.conftest import Kubectl, wait_for
from tests.tools.recording import RecordingCluster, applied, plan_only, recording_context, refused
from tools.context import ToolContext
from tools.errors import Conflict, InvalidInput, NotFound

PASSWORD = "planted-Secret-value-4711"
_names = itertools.count()


@pytest.fixture
def rec(cluster: Sandbox) -> Iterator[tuple[ToolContext, RecordingCluster]]:
    ctx, recorder = recording_context(cluster.kubeconfig)
    yield ctx, recorder
    recorder.close()


@pytest.fixture
def spare(kc: Kubectl) -> Iterator[str]:
    """A name for a namespace the test makes (deleted afterwards if it exists)."""
    name = f"kai-m{next(_names)}"
    yield name
    kc.run("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def exists(kc: Kubectl, *args: str) -> bool:
    return kc.run("get", *args, check=False).returncode == 0


def assert_no_password(*texts: str) -> None:
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    for text in texts:
        assert PASSWORD not in text and encoded not in text


# --- create_namespace ---------------------------------------------------------------------------


def test_create_namespace_plans_then_creates(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                             spare: str) -> None:
    ctx, recorder = rec
    change = plan_only(ctx, "create_namespace", name=spare, labels={"team": "web"})
    assert change.command == f"kubectl create namespace {spare} && kubectl label namespace {spare} team=web"
    assert change.namespaces == [spare] and change.before == ""
    assert f"+  name: {spare}\n" in change.diff and "+    team: web\n" in change.diff
    assert recorder.writes() == [] and len(recorder.dry_runs()) == 1
    assert not exists(kc, "namespace", spare)
    result = applied(change)
    assert (result.name, result.phase, result.labels["team"]) == (spare, "Active", "web")
    assert kc.json("get", "namespace", spare)["metadata"]["labels"]["team"] == "web"
    recorder.sent.clear()
    again = refused(ctx, "create_namespace", name=spare)
    assert isinstance(again, Conflict) and "already exists" in str(again)
    assert recorder.writes() == []


@pytest.mark.parametrize("arguments", [{"name": "Bad_NS"}, {"name": "a;b"}, {"name": "../x"}, {"name": "x" * 64},
                                       {"name": "ok", "labels": {"bad key!": "v"}}])
def test_create_namespace_refuses_bad_names(rec: tuple[ToolContext, RecordingCluster],
                                            arguments: dict[str, Any]) -> None:
    ctx, recorder = rec
    assert isinstance(refused(ctx, "create_namespace", **arguments), InvalidInput)
    assert recorder.sent == []


# --- apply_manifest -----------------------------------------------------------------------------

MANIFEST = f"""
apiVersion: v1
kind: ConfigMap
metadata:
  name: extra
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: db
data:
  DATABASE_PASSWORD: {base64.b64encode(PASSWORD.encode()).decode()}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: todo-app-config
data:
  ENVIRONMENT: staging
"""


def test_apply_manifest_previews_then_creates_and_updates(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                                          fresh_todo: str) -> None:
    ctx, recorder = rec
    ns = fresh_todo
    old = kc.json("get", "configmap", "todo-app-config", "-n", ns)
    change = plan_only(ctx, "apply_manifest", manifest=MANIFEST, namespace=ns)
    assert change.command == f"kubectl apply --server-side --force-conflicts --field-manager=kai -n {ns} -f -"
    assert change.summary == (f"apply a manifest: create ConfigMap extra in namespace {ns}, Secret db in namespace "
                              f"{ns}; update ConfigMap todo-app-config in namespace {ns}")
    assert [(t.kind, t.name, t.namespace, t.resource_version) for t in change.targets] == [
        ("ConfigMap", "extra", ns, None), ("Secret", "db", ns, None),
        ("ConfigMap", "todo-app-config", ns, old["metadata"]["resourceVersion"])]
    assert "+  ENVIRONMENT: staging\n" in change.diff and "+  greeting: hello\n" in change.diff
    assert f"# ConfigMap extra in namespace {ns}: absent" in change.before
    assert f"DATABASE_PASSWORD: '<redacted: {len(PASSWORD)} bytes>'" in change.after
    assert_no_password(change.before, change.after, change.diff, change.summary, change.command)
    assert recorder.writes() == [] and len(recorder.dry_runs()) == 3
    assert not exists(kc, "configmap", "extra", "-n", ns) and not exists(kc, "secret", "db", "-n", ns)
    assert kc.json("get", "configmap", "todo-app-config", "-n", ns)["data"] == old["data"]

    result = applied(change)
    assert [(o.kind, o.name, o.action) for o in result.objects] == [
        ("ConfigMap", "extra", "created"), ("Secret", "db", "created"), ("ConfigMap", "todo-app-config", "configured")]
    assert_no_password(result.model_dump_json())
    assert kc.json("get", "configmap", "extra", "-n", ns)["data"] == {"greeting": "hello"}
    assert kc.json("get", "configmap", "todo-app-config", "-n", ns)["data"]["ENVIRONMENT"] == "staging"
    secret = kc.json("get", "secret", "db", "-n", ns)
    assert base64.b64decode(secret["data"]["DATABASE_PASSWORD"]).decode() == PASSWORD

    again = plan_only(ctx, "apply_manifest", manifest=MANIFEST, namespace=ns)
    assert again.summary.startswith("apply a manifest: update ConfigMap extra")
    assert_no_password(again.before, again.after, again.diff)
    assert [o.action for o in applied(again).objects] == ["unchanged", "unchanged", "unchanged"]


def test_apply_manifest_with_its_own_namespace(ctx: ToolContext, kc: Kubectl, spare: str) -> None:
    manifest = (f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {spare}\n---\n"
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {spare}\n"
                "spec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n  template:\n"
                "    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: 'nginx:1.27'}]\n")
    change = plan_only(ctx, "apply_manifest", manifest=manifest)
    assert change.namespaces == [spare]
    assert (change.replicas, change.images) == (3, ["nginx:1.27"])
    assert not exists(kc, "namespace", spare)
    assert [o.action for o in applied(change).objects] == ["created", "created"]
    assert kc.json("get", "deployment", "web", "-n", spare)["spec"]["replicas"] == 3


@pytest.mark.parametrize(("manifest", "message"), [
    ("kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n---\ndata: [unclosed\n", "document 2: malformed YAML"),
    ("apiVersion: v1\nmetadata: {name: a}\n", "document 1: no kind"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n", "document 1: ConfigMap without metadata.name"),
    ("---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'a;rm -rf'}\n", "document 3: invalid name"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ../etc}\n", "document 1: invalid namespace"),
    ("- just\n- a list\n", "document 1: not an object"),
    ("apiVersion: v1\nkind: List\nmetadata: {name: a}\nitems: []\n", "document 1: give the objects"),
    ("# only a comment\n", "holds no object"),
])
def test_malformed_manifests_name_the_document_and_send_nothing(rec: tuple[ToolContext, RecordingCluster],
                                                                manifest: str, message: str) -> None:
    ctx, recorder = rec
    error = refused(ctx, "apply_manifest", manifest=manifest)
    assert isinstance(error, InvalidInput)
    assert message in str(error)
    assert recorder.sent == []


def test_manifests_the_cluster_cannot_take_are_refused_before_any_write(rec: tuple[ToolContext, RecordingCluster],
                                                                        todo: str) -> None:
    ctx, recorder = rec
    unknown = refused(ctx, "apply_manifest", manifest="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    assert isinstance(unknown, InvalidInput) and "serves no Widget in example.com/v1" in str(unknown)
    elsewhere = refused(ctx, "apply_manifest", namespace=todo,
                        manifest="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: other}\n")
    assert isinstance(elsewhere, InvalidInput) and "not the namespace asked for" in str(elsewhere)
    missing = refused(ctx, "apply_manifest", manifest="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                      namespace="no-such-namespace")
    assert isinstance(missing, NotFound) and "no-such-namespace" in str(missing)
    invalid = refused(ctx, "apply_manifest", namespace=todo, manifest=(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken}\nspec: {replicas: -4}\n"))
    assert isinstance(invalid, InvalidInput) and str(invalid).startswith("document 1 (Deployment broken): ")
    assert recorder.writes() == []


# --- delete_resource -----------------------------------------------------------------------------


def test_delete_a_deployment_says_how_many_pods_go(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                                   fresh_todo: str) -> None:
    ctx, recorder = rec
    ns = fresh_todo
    change = plan_only(ctx, "delete_resource", kind="deploy", name="frontend", namespace=ns)
    assert change.summary == f"delete Deployment todo-frontend in namespace {ns} and its 2 pods"
    assert change.command == f"kubectl delete deployment/todo-frontend -n {ns}"
    assert change.after == "" and "kind: Deployment\n" in change.before
    assert all(line.startswith(("-", "@@", "---", "+++")) for line in change.diff.splitlines())
    assert recorder.writes() == []
    assert [(m, q) for m, _, q in recorder.dry_runs()] == [("DELETE", {"dryRun": "All"})]
    assert exists(kc, "deployment", "todo-frontend", "-n", ns)
    result = applied(change)
    assert (result.kind, result.name, result.namespace, result.pods) == ("Deployment", "todo-frontend", ns, 2)
    assert not exists(kc, "deployment", "todo-frontend", "-n", ns)
    wait_for(lambda: kc("get", "pods", "-n", ns, "-l", "app=todo-frontend", "-o", "name").strip() == "", timeout=60)


def test_delete_a_secret_never_shows_its_value(ctx: ToolContext, kc: Kubectl, fresh_todo: str) -> None:
    kc("create", "secret", "generic", "planted", "-n", fresh_todo, f"--from-literal=token={PASSWORD}")
    change = plan_only(ctx, "delete_resource", kind="secret", name="planted", namespace=fresh_todo)
    assert f"token: '<redacted: {len(PASSWORD)} bytes>'" in change.before
    assert_no_password(change.before, change.diff, change.summary)
    applied(change)
    assert not exists(kc, "secret", "planted", "-n", fresh_todo)


def test_delete_a_pod_says_its_controller_replaces_it(ctx: ToolContext, kc: Kubectl, fresh_todo: str) -> None:
    pod = kc("get", "pods", "-n", fresh_todo, "-l", "app=todo-backend", "-o", "name").split()[0].split("/")[1]
    change = plan_only(ctx, "delete_resource", kind="po", name=pod, namespace=fresh_todo)
    assert change.summary.startswith(f"delete Pod {pod} in namespace {fresh_todo} (ReplicaSet todo-backend-")
    assert change.summary.endswith("controls it and may replace it)")
    applied(change)
    wait_for(lambda: kc.run("get", "pod", pod, "-n", fresh_todo, check=False).returncode != 0, timeout=60)


@pytest.mark.parametrize(("arguments", "error"), [
    ({"kind": "deploy", "name": "../x"}, InvalidInput), ({"kind": "deploy;rm", "name": "x"}, InvalidInput),
    ({"kind": "widget", "name": "x"}, InvalidInput), ({"kind": "namespace", "name": "todo-app"}, InvalidInput),
    ({"kind": "deploy", "name": "backend", "namespace": "no-such-namespace"}, NotFound),
    ({"kind": "svc", "name": "nothing-like-it"}, NotFound),
])
def test_delete_resource_refuses_without_writing(rec: tuple[ToolContext, RecordingCluster], todo: str,
                                                 arguments: dict[str, Any], error: type[Exception]) -> None:
    ctx, recorder = rec
    assert isinstance(refused(ctx, "delete_resource", **arguments), error)
    assert recorder.writes() == [] and recorder.dry_runs() == []


# --- delete_namespace ------------------------------------------------------------------------------


def test_delete_namespace_counts_what_goes_with_it(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                                   spare: str) -> None:
    ctx, recorder = rec
    kc("create", "namespace", spare)
    kc("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "-n", spare)
    kc("create", "configmap", "settings", "--from-literal=a=b", "-n", spare)
    wait_for(lambda: len(kc.json("get", "pods", "-n", spare)["items"]) == 2, timeout=60)
    change = plan_only(ctx, "delete_namespace", name=spare)
    assert change.command == f"kubectl delete namespace {spare}"
    for part in ("1 Deployment", "2 Pods", "1 ReplicaSet", "1 ConfigMap"):
        assert part in change.summary
    assert change.before.startswith(f"# namespace {spare} holds: ") and change.after == ""
    assert change.namespaces == [spare]
    assert recorder.writes() == []
    assert kc.json("get", "namespace", spare)["status"]["phase"] == "Active"
    result = applied(change)
    assert result.name == spare and result.contents["Pod"] == 2
    def gone_or_going() -> bool:  # one read: the namespace may go between two
        got = kc.run("get", "namespace", spare, "-o", "jsonpath={.status.phase}", check=False)
        return got.returncode != 0 or got.stdout == "Terminating"

    wait_for(gone_or_going, timeout=30)


@pytest.mark.parametrize("name", ["default", "kube-system"])
def test_the_namespaces_kubernetes_keeps_are_refused(rec: tuple[ToolContext, RecordingCluster], name: str) -> None:
    ctx, recorder = rec
    error = refused(ctx, "delete_namespace", name=name)
    assert isinstance(error, InvalidInput) and "may not be deleted" in str(error)
    assert recorder.writes() == [] and recorder.dry_runs() == []

"""scale (tools.workloads) and set_image, set_env, set_resources (tools.containers) against
the sandbox: what each plans (the kubectl line, the dry-run diff, the bound facts), that
planning writes nothing, what applying changes as kubectl sees it, and bad input refused with
nothing sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tools.workloads  # noqa: F401  (registers the tools)
from sandbox.control import Sandbox
from tests.tools.conftest import Kubectl, wait_for
from tests.tools.recording import RecordingCluster, applied, plan_only, recording_context, refused
from tools.containers import new_image, repository
from tools.context import ToolContext
from tools.errors import Ambiguous, InvalidInput, NotFound
from tools.workloads import ScaleInput, target_replicas


@pytest.fixture
def rec(cluster: Sandbox) -> Iterator[tuple[ToolContext, RecordingCluster]]:
    ctx, recorder = recording_context(cluster.kubeconfig)
    yield ctx, recorder
    recorder.close()


def deployment(kc: Kubectl, ns: str, name: str = "todo-backend") -> Any:
    return kc.json("get", "deployment", name, "-n", ns)


def container(obj: Any) -> Any:
    return obj["spec"]["template"]["spec"]["containers"][0]


# --- replicas arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize(("wanted", "current", "new"), [
    ("3", 1, 3), ("0", 4, 0), ("+1", 2, 3), ("-2", 5, 3), ("x2", 3, 6), ("*2", 3, 6), ("X3", 1, 3),
    ("x0.5", 3, 2), ("50%", 3, 2), ("50%", 1, 1), ("10%", 2, 0), ("200%", 4, 8), ("1000", 0, 1000),
])
def test_replicas_forms(wanted: str, current: int, new: int) -> None:
    assert target_replicas(ScaleInput(name="x", replicas=wanted).replicas, current) == new


@pytest.mark.parametrize(("wanted", "current"), [("-3", 2), ("x2", 600), ("+1", 1000), ("2000%", 100)])
def test_replicas_out_of_bounds_after_arithmetic(wanted: str, current: int) -> None:
    with pytest.raises(InvalidInput, match="between 0 and 1000"):
        target_replicas(wanted, current)


def test_image_tags_keep_the_repository() -> None:
    assert repository("registry.local:5000/team/api:1.0@sha256:" + "a" * 64) == "registry.local:5000/team/api"
    assert repository("nginx") == "nginx"
    assert new_image("1.22", "nginx:1.21") == "nginx:1.22"
    assert new_image(":stable", "registry.local:5000/nginx:1.21") == "registry.local:5000/nginx:stable"
    assert new_image("v2", "todo-backend:v1.0") == "todo-backend:v2"
    assert new_image("redis:7", "nginx:1.21") == "redis:7"


# --- bad input: a clear error, nothing sent -------------------------------------------------


@pytest.mark.parametrize(("arguments", "message"), [
    ({"name": "backend", "replicas": -1}, "replicas"),
    ({"name": "backend", "replicas": 10**9}, "replicas"),
    ({"name": "backend", "replicas": "three"}, "replicas"),
    ({"name": "backend", "replicas": "1001"}, "replicas"),
    ({"name": "backend", "replicas": True}, "replicas"),
    ({"name": "backend", "replicas": 2.5}, "replicas"),
    ({"name": "a;rm -rf /", "replicas": 1}, "invalid name"),
    ({"name": "../x", "replicas": 1}, "invalid name"),
    ({"name": "$(reboot)", "replicas": 1}, "invalid name"),
    ({"name": "backend", "replicas": 1, "kind": "widget"}, "kind"),
    ({"name": "backend", "replicas": 1, "namespace": "../kube-system"}, "invalid namespace"),
    ({"name": "backend", "replicas": 1, "surprise": True}, "surprise"),
])
def test_scale_refuses_bad_input_before_sending_anything(rec: tuple[ToolContext, RecordingCluster],
                                                         arguments: dict[str, Any], message: str) -> None:
    ctx, recorder = rec
    error = refused(ctx, "scale", **arguments)
    assert isinstance(error, InvalidInput)
    assert message in str(error)
    assert recorder.sent == []


@pytest.mark.parametrize(("tool", "arguments"), [
    ("set_image", {"name": "backend", "image": "nginx; rm -rf /"}),
    ("set_image", {"name": "backend", "image": "Nginx Latest"}),
    ("set_image", {"name": "backend", "image": "../../etc/passwd"}),
    ("set_image", {"name": "backend", "image": "v1", "container": "a/b"}),
    ("set_env", {"name": "backend"}),
    ("set_env", {"name": "backend", "env": {"BAD NAME": "x"}}),
    ("set_env", {"name": "backend", "env": {"A": "1"}, "unset": ["A"]}),
    ("set_resources", {"name": "backend"}),
    ("set_resources", {"name": "backend", "cpu_limit": "lots"}),
    ("set_resources", {"name": "backend", "memory_request": "-1Gi"}),
    ("set_resources", {"name": "backend", "memory_request": "1 Gi"}),
    ("set_resources", {"name": "backend", "gpu_request": "1"}),
])
def test_set_tools_refuse_bad_input_before_sending_anything(rec: tuple[ToolContext, RecordingCluster], tool: str,
                                                            arguments: dict[str, Any]) -> None:
    ctx, recorder = rec
    assert isinstance(refused(ctx, tool, **arguments), InvalidInput)
    assert recorder.sent == []


def test_a_missing_namespace_is_not_found_and_nothing_is_written(rec: tuple[ToolContext, RecordingCluster],
                                                                 todo: str) -> None:
    ctx, recorder = rec
    error = refused(ctx, "scale", name="backend", replicas="3", namespace="no-such-namespace")
    assert isinstance(error, NotFound)
    assert "no-such-namespace" in str(error)
    assert recorder.sent and recorder.writes() == [] and recorder.dry_runs() == []


def test_names_resolve_to_one_workload_or_say_why_not(rec: tuple[ToolContext, RecordingCluster], todo: str) -> None:
    ctx, recorder = rec
    ambiguous = refused(ctx, "scale", name="todo", replicas="3", namespace=todo)
    assert isinstance(ambiguous, Ambiguous)
    assert sorted(ambiguous.candidates) == [f"{todo}/todo-backend", f"{todo}/todo-frontend"]
    missing = refused(ctx, "scale", name="bakend", replicas="3", namespace=todo)
    assert isinstance(missing, NotFound)
    assert f"{todo}/todo-backend" in missing.suggestions
    assert recorder.writes() == [] and recorder.dry_runs() == []


# --- scale -------------------------------------------------------------------------------------


def test_scale_plans_with_a_dry_run_and_writes_nothing(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                                       fresh_todo: str) -> None:
    ctx, recorder = rec
    ns = fresh_todo
    before = deployment(kc, ns)
    change = plan_only(ctx, "scale", name="backend", replicas="3", namespace=ns)
    assert change.command == f"kubectl scale deployment/todo-backend -n {ns} --replicas=3"
    assert change.replicas == 3
    assert "-  replicas: 2\n" in change.diff and "+  replicas: 3\n" in change.diff
    assert [t.ref() for t in change.targets] == [f"Deployment/todo-backend in {ns}"]
    assert change.targets[0].resource_version == before["metadata"]["resourceVersion"]
    assert "managedFields" not in change.before and "status:" not in change.after
    assert recorder.writes() == []
    assert [(m, p) for m, p, _ in recorder.dry_runs()] == [
        ("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/todo-backend")]
    now = deployment(kc, ns)
    assert now["spec"]["replicas"] == 2
    assert now["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_scale_applies_relative_and_percentage_counts(ctx: ToolContext, kc: Kubectl, fresh_todo: str) -> None:
    ns = fresh_todo
    change = plan_only(ctx, "scale", name="backend", replicas="+1", namespace=ns)
    result = applied(change)
    assert result.model_dump() == {"kind": "Deployment", "name": "todo-backend", "namespace": ns, "from": 2, "to": 3}
    assert deployment(kc, ns)["spec"]["replicas"] == 3
    wait_for(lambda: deployment(kc, ns).get("status", {}).get("readyReplicas") == 3, timeout=60)
    result = applied(plan_only(ctx, "scale", name="todo-backend", replicas="50%", namespace=ns))
    assert (result.model_dump()["from"], result.model_dump()["to"]) == (3, 2)
    assert deployment(kc, ns)["spec"]["replicas"] == 2
    error = refused(ctx, "scale", name="backend", replicas="-3", namespace=ns)
    assert isinstance(error, InvalidInput) and "gives -1" in str(error)
    assert deployment(kc, ns)["spec"]["replicas"] == 2


def test_scale_a_statefulset_through_its_alias(ctx: ToolContext, kc: Kubectl, fresh_todo: str) -> None:
    ns = fresh_todo
    kc("create", "-n", ns, "-f", "-", stdin=STATEFULSET)
    change = plan_only(ctx, "scale", name="cache", replicas="x3", kind="sts", namespace=ns)
    assert change.command == f"kubectl scale statefulset/cache -n {ns} --replicas=3"
    applied(change)
    assert kc.json("get", "sts", "cache", "-n", ns)["spec"]["replicas"] == 3


STATEFULSET = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cache}
spec:
  replicas: 1
  serviceName: cache
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers: [{name: redis, image: "redis:7"}]
"""

# --- set_image ------------------------------------------------------------------------------------


def test_set_image_with_a_tag_keeps_the_repository(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                                   fresh_todo: str) -> None:
    ctx, recorder = rec
    ns = fresh_todo
    change = plan_only(ctx, "set_image", name="backend", image="v1.1", namespace=ns)
    assert change.command == f"kubectl set image deployment/todo-backend todo-backend=todo-backend:v1.1 -n {ns}"
    assert change.images == ["todo-backend:v1.1"]
    assert "-        image: todo-backend:v1.0\n" in change.diff
    assert "+        image: todo-backend:v1.1\n" in change.diff
    assert recorder.writes() == []
    assert container(deployment(kc, ns))["image"] == "todo-backend:v1.0"
    result = applied(change)
    assert (result.previous_image, result.image, result.container) == ("todo-backend:v1.0", "todo-backend:v1.1",
                                                                       "todo-backend")
    assert container(deployment(kc, ns))["image"] == "todo-backend:v1.1"
    full = plan_only(ctx, "set_image", name="frontend", image="registry.example.com/web/front:2.0",
                     container="todo-frontend", namespace=ns)
    assert full.images == ["registry.example.com/web/front:2.0"]


def test_set_image_names_the_containers_it_could_mean(ctx: ToolContext, kc: Kubectl, fresh_todo: str) -> None:
    ns = fresh_todo
    kc("create", "-n", ns, "-f", "-", stdin=TWO_CONTAINERS)
    error = refused(ctx, "set_image", name="pair", image="1.27", namespace=ns)
    assert isinstance(error, Ambiguous) and error.candidates == ["web", "sidecar"]
    missing = refused(ctx, "set_image", name="pair", image="1.27", container="webb", namespace=ns)
    assert isinstance(missing, NotFound) and "web" in missing.suggestions
    applied(plan_only(ctx, "set_image", name="pair", image="1.27", container="web", namespace=ns))
    images = [c["image"] for c in deployment(kc, ns, "pair")["spec"]["template"]["spec"]["containers"]]
    assert images == ["nginx:1.27", "busybox:1.36"]


TWO_CONTAINERS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: pair}
spec:
  replicas: 1
  selector: {matchLabels: {app: pair}}
  template:
    metadata: {labels: {app: pair}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25"}
      - {name: sidecar, image: "busybox:1.36"}
"""

# --- set_env ------------------------------------------------------------------------------------

PASSWORD = "s3cr3t-hunter2-value"


def test_set_env_sets_and_removes_and_never_shows_a_password(rec: tuple[ToolContext, RecordingCluster],
                                                              kc: Kubectl, fresh_todo: str) -> None:
    ctx, recorder = rec
    ns = fresh_todo
    change = plan_only(ctx, "set_env", name="frontend", env={"LOG_LEVEL": "debug", "DB_PASSWORD": PASSWORD},
                       unset=["PORT", "NOT_THERE"], namespace=ns)
    assert change.command == (f"kubectl set env deployment/todo-frontend LOG_LEVEL=debug 'DB_PASSWORD=<redacted>' "
                              f"PORT- -n {ns} -c todo-frontend")
    assert "+        - name: LOG_LEVEL\n+          value: debug\n" in change.diff
    assert "-        - name: PORT\n" in change.diff
    assert "NOT_THERE not set there" in change.summary
    for text in (change.command, change.before, change.after, change.diff, change.summary):
        assert PASSWORD not in text
    assert recorder.writes() == []
    assert [v["name"] for v in container(deployment(kc, ns, "todo-frontend"))["env"]] == ["HOSTNAME", "PORT"]
    result = applied(change)
    assert PASSWORD not in result.model_dump_json()
    assert result.set == {"LOG_LEVEL": "debug", "DB_PASSWORD": f"<redacted: {len(PASSWORD)} bytes>"}
    assert (result.unset, result.not_present) == (["PORT"], ["NOT_THERE"])
    env = {v["name"]: v["value"] for v in container(deployment(kc, ns, "todo-frontend"))["env"]}
    assert env == {"HOSTNAME": "0.0.0.0", "LOG_LEVEL": "debug", "DB_PASSWORD": PASSWORD}
    again = plan_only(ctx, "set_env", name="frontend", env={"LOG_LEVEL": "info"}, namespace=ns)
    assert PASSWORD not in again.before and f"<redacted: {len(PASSWORD)} bytes>" in again.before


# --- set_resources -----------------------------------------------------------------------------


def test_set_resources_changes_only_what_is_given(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                                  fresh_todo: str) -> None:
    ctx, recorder = rec
    ns = fresh_todo
    old = container(deployment(kc, ns))["resources"]
    change = plan_only(ctx, "set_resources", name="backend", cpu_request="250m", memory_limit="2Gi",
                       namespace=ns)
    assert change.command == (f"kubectl set resources deployment/todo-backend -n {ns} -c todo-backend "
                              "--requests=cpu=250m --limits=memory=2Gi")
    assert f"-            memory: {old['limits']['memory']}\n+            memory: 2Gi\n" in change.diff
    assert f"-            cpu: {old['requests']['cpu']}\n+            cpu: 250m\n" in change.diff
    assert recorder.writes() == []
    assert container(deployment(kc, ns))["resources"] == old
    result = applied(change)
    wanted = {"requests": {**old["requests"], "cpu": "250m"}, "limits": {**old["limits"], "memory": "2Gi"}}
    assert {"requests": result.requests, "limits": result.limits} == wanted
    assert container(deployment(kc, ns))["resources"] == wanted


def test_set_resources_refuses_a_request_above_its_limit(rec: tuple[ToolContext, RecordingCluster],
                                                          fresh_todo: str) -> None:
    ctx, recorder = rec
    error = refused(ctx, "set_resources", name="backend", cpu_request="2", namespace=fresh_todo)
    assert isinstance(error, InvalidInput)
    assert "the cpu request 2 is more than its limit" in str(error)
    assert recorder.writes() == [] and recorder.dry_runs() == []

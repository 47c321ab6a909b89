"""rollout_restart, rollout_undo, rollout_status and rollout_history against the sandbox's
deployment controller: revisions as ReplicaSets, undo as kubectl does it, status as kubectl
rollout status words it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tools.workloads  # noqa: F401  (registers the workload and rollout tools)
from sandbox.control import Sandbox
from tests.tools.conftest import Kubectl, wait_for
from tests.tools.recording import RecordingCluster, applied, plan_only, recording_context, refused, run_read
from tools.context import ToolContext
from tools.errors import InvalidInput, NotFound
from tools.rollouts import RESTARTED_AT, progress


@pytest.fixture
def rec(cluster: Sandbox) -> Iterator[tuple[ToolContext, RecordingCluster]]:
    ctx, recorder = recording_context(cluster.kubeconfig)
    yield ctx, recorder
    recorder.close()


def image(kc: Kubectl, ns: str, name: str = "todo-backend") -> str:
    return str(kc.json("get", "deployment", name, "-n", ns)["spec"]["template"]["spec"]["containers"][0]["image"])


def rolled_out(ctx: ToolContext, ns: str, name: str = "backend") -> bool:
    return bool(run_read(ctx, "rollout_status", name=name, namespace=ns).complete)


def test_status_of_the_seed_deployment(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    wait_for(lambda: rolled_out(ctx, todo), timeout=60)
    status = run_read(ctx, "rollout_status", name="backend", namespace=todo)
    assert (status.kind, status.name, status.namespace) == ("Deployment", "todo-backend", todo)
    assert (status.desired, status.updated, status.ready, status.available) == (2, 2, 2, 2)
    assert status.message == 'deployment "todo-backend" successfully rolled out'
    assert {c.type for c in status.conditions} == {"Available", "Progressing"}
    kubectl_says = kc("rollout", "status", "deployment/todo-backend", "-n", todo, "--timeout=5s").strip()
    assert kubectl_says.endswith(status.message)


def test_status_words_an_unfinished_rollout_as_kubectl() -> None:
    deploy: dict[str, Any] = {"metadata": {"name": "web", "generation": 3},
                              "spec": {"replicas": 3},
                              "status": {"observedGeneration": 3, "replicas": 4, "updatedReplicas": 1,
                                         "readyReplicas": 3, "availableReplicas": 3}}
    assert progress("Deployment", deploy) == (
        False, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
        (3, 1, 3, 3))
    deploy["status"].update(updatedReplicas=3)
    assert progress("Deployment", deploy)[1].endswith("1 old replicas are pending termination...")
    deploy["metadata"]["generation"] = 4
    assert progress("Deployment", deploy)[:2] == (False, "Waiting for deployment spec update to be observed...")
    daemons = {"metadata": {"name": "agent", "generation": 1},
               "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "updatedNumberScheduled": 2,
                          "numberReady": 1, "numberAvailable": 1}}
    assert progress("DaemonSet", daemons)[:2] == (
        False, 'Waiting for daemon set "agent" rollout to finish: 1 of 2 updated pods are available...')


def test_restart_stamps_the_template_and_rolls_the_pods(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                                        fresh_todo: str) -> None:
    ctx, recorder = rec
    ns = fresh_todo
    pods = set(kc("get", "pods", "-n", ns, "-l", "app=todo-backend", "-o", "name").split())
    change = plan_only(ctx, "rollout_restart", name="backend", namespace=ns)
    assert change.command == f"kubectl rollout restart deployment/todo-backend -n {ns}"
    assert f"+        {RESTARTED_AT}: " in change.diff
    assert recorder.writes() == []
    assert RESTARTED_AT not in str(kc.json("get", "deployment", "todo-backend", "-n", ns)["spec"]["template"])
    result = applied(change)
    annotations = kc.json("get", "deployment", "todo-backend", "-n", ns)["spec"]["template"]["metadata"]["annotations"]
    assert annotations[RESTARTED_AT] == result.restarted_at
    status = run_read(ctx, "rollout_status", name="backend", namespace=ns, wait_seconds=60)
    assert status.complete, status.message
    now = set(kc("get", "pods", "-n", ns, "-l", "app=todo-backend", "-o", "name").split())
    assert now and not now & pods


def test_history_and_undo_to_the_previous_revision(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                                   fresh_todo: str) -> None:
    ctx, recorder = rec
    ns = fresh_todo
    first = run_read(ctx, "rollout_history", name="backend", namespace=ns)
    assert first.current_revision == 1
    assert [(r.revision, r.images) for r in first.revisions] == [(1, ["todo-backend:v1.0"])]
    none_before = refused(ctx, "rollout_undo", name="backend", namespace=ns)
    assert isinstance(none_before, NotFound) and "no rollout history" in str(none_before)

    applied(plan_only(ctx, "set_image", name="backend", image="v1.1", namespace=ns))
    kc("annotate", "deployment/todo-backend", "-n", ns, "kubernetes.io/change-cause=ship v1.1")
    wait_for(lambda: rolled_out(ctx, ns), timeout=60)
    history = run_read(ctx, "rollout_history", name="backend", namespace=ns)
    assert history.current_revision == 2
    assert [(r.revision, r.images) for r in history.revisions] == [(1, ["todo-backend:v1.0"]),
                                                                  (2, ["todo-backend:v1.1"])]
    assert history.revisions[1].change_cause == "ship v1.1"
    kubectl_history = kc("rollout", "history", "deployment/todo-backend", "-n", ns)
    assert "ship v1.1" in kubectl_history

    recorder.sent.clear()
    change = plan_only(ctx, "rollout_undo", name="backend", namespace=ns)
    assert change.command == f"kubectl rollout undo deployment/todo-backend -n {ns}"
    assert change.images == ["todo-backend:v1.0"]
    assert "-        image: todo-backend:v1.1\n+        image: todo-backend:v1.0\n" in change.diff
    assert "-    kubernetes.io/change-cause: ship v1.1\n" in change.diff
    assert recorder.writes() == []
    assert image(kc, ns) == "todo-backend:v1.1"
    result = applied(change)
    assert (result.from_revision, result.to_revision, result.images) == (2, 1, ["todo-backend:v1.0"])
    assert image(kc, ns) == "todo-backend:v1.0"
    wait_for(lambda: rolled_out(ctx, ns), timeout=60)
    after = run_read(ctx, "rollout_history", name="backend", namespace=ns)
    assert after.current_revision == 3 and [r.revision for r in after.revisions] == [2, 3]


def test_undo_to_a_given_revision_or_a_clear_error(ctx: ToolContext, kc: Kubectl, fresh_todo: str) -> None:
    ns = fresh_todo
    for tag in ("v1.1", "v1.2"):
        applied(plan_only(ctx, "set_image", name="frontend", image=tag, namespace=ns))
        wait_for(lambda: rolled_out(ctx, ns, "frontend"), timeout=60)
    missing = refused(ctx, "rollout_undo", name="frontend", revision=7, namespace=ns)
    assert isinstance(missing, NotFound)
    assert str(missing) == f"no revision 7 of Deployment todo-frontend in namespace {ns} (revisions: 1, 2, 3)"
    current = refused(ctx, "rollout_undo", name="frontend", revision=3, namespace=ns)
    assert isinstance(current, InvalidInput) and "nothing to undo" in str(current)
    change = plan_only(ctx, "rollout_undo", name="frontend", revision=1, namespace=ns)
    assert change.command.endswith("--to-revision=1")
    applied(change)
    assert image(kc, ns, "todo-frontend") == "todo-frontend:v1.0"
    bad = refused(ctx, "rollout_undo", name="frontend", revision=0, namespace=ns)
    assert isinstance(bad, InvalidInput)


def test_restart_refuses_a_paused_deployment(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                             fresh_todo: str) -> None:
    ctx, recorder = rec
    kc("rollout", "pause", "deployment/todo-frontend", "-n", fresh_todo)
    error = refused(ctx, "rollout_restart", name="frontend", namespace=fresh_todo)
    assert isinstance(error, InvalidInput) and "paused" in str(error)
    assert recorder.writes() == [] and recorder.dry_runs() == []


def test_status_of_a_daemonset_waits_for_its_rollout(ctx: ToolContext, kc: Kubectl, fresh_todo: str) -> None:
    kc("create", "-n", fresh_todo, "-f", "-", stdin=DAEMONSET)
    status = run_read(ctx, "rollout_status", name="agent", kind="ds", namespace=fresh_todo, wait_seconds=60)
    assert status.complete, status.message
    assert (status.kind, status.desired, status.available) == ("DaemonSet", 1, 1)
    assert status.message == 'daemon set "agent" successfully rolled out'


DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "nginx:1.27"}]
"""

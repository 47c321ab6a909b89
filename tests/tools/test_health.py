"""check_health on the sandbox: the healthy todo stack (a namespace, its Helm release, one
workload), a copy broken by the sandbox's faults, the bounds of the result, and bad input.

The release path runs through the real Helm engine (``ctx.helm``: tools/helm_engine.py
select_engine) in the tests marked REAL ENGINE, and through :class:`ReleaseDouble`, a small
engine of our own, where a test needs a release state the chart cannot produce on demand
(a failed release) or a manifest that differs from the labels.
"""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

import tools.health  # noqa: F401  (registers the tool)
from sandbox import control
from sandbox.control import Sandbox
from tests.tools.conftest import Kubectl, read, wait_for
from tests.tools.recording import recording_context
from tools import helm
from tools.budget import count_tokens, render
from tools.context import ToolContext
from tools.errors import Ambiguous, InvalidInput, NotFound
from tools.health import SECTIONS, CheckHealthResult, Scope, _assess
from tools.helm_engine import HelmEngine, ReleaseInfo
from tools.registry import REGISTRY
from tools.snapshot import Snapshot, fit_result


class ReleaseDouble:
    """A Helm engine of our own for check_health's release path: the status comes from Helm's
    own SDK (tools.helm.status) unless ``status`` overrides it, the manifest is the release's
    Deployments and Services as the cluster holds them (or ``manifest`` when given)."""

    name = "double"

    def __init__(self, kubeconfig: Path, kc: Kubectl, status: str | None = None, manifest: str | None = None) -> None:
        self.kubeconfig, self.kc, self.forced, self.text = kubeconfig, kc, status, manifest
        self.calls: list[str] = []

    async def status(self, release: str, namespace: str, revision: int | None = None) -> ReleaseInfo:
        self.calls.append(f"status {namespace}/{release}")
        found = await asyncio.to_thread(helm.status, self.kubeconfig, release, namespace)
        if found is None:
            raise NotFound(f"no Helm release {release!r} in namespace {namespace}")
        return ReleaseInfo(name=found.name, namespace=found.namespace, revision=found.revision,
                           status=self.forced or found.status, chart=found.chart, app_version=found.app_version)

    async def releases(self, namespace: str | None) -> list[ReleaseInfo]:
        self.calls.append(f"releases {namespace}")
        where = ["-n", namespace] if namespace else ["-A"]
        stored = self.kc.json("get", "secrets", *where, "-l", "owner=helm,status=deployed")["items"]
        return [await self.status(s["metadata"]["labels"]["name"], s["metadata"]["namespace"]) for s in stored]

    async def manifest(self, release: str, namespace: str, revision: int | None = None) -> str:
        self.calls.append(f"manifest {namespace}/{release}")
        if self.text is not None:
            return self.text
        items = self.kc.json("get", "deployments,services", "-n", namespace, "-l",
                             f"app.kubernetes.io/instance={release}")["items"]
        return yaml.safe_dump_all(items)


def use(ctx: ToolContext, double: ReleaseDouble) -> ReleaseDouble:
    """Run ``ctx``'s Helm calls through ``double`` (it has only the reads check_health makes)."""
    ctx._helm = cast(HelmEngine, double)
    return double


def statuses(kc: Kubectl, namespace: str, app: str) -> list[dict[str, Any]]:
    pods = kc.json("get", "pods", "-n", namespace, "-l", f"app={app}")["items"]
    return [s for p in pods if not p["metadata"].get("deletionTimestamp")
            for s in p["status"].get("containerStatuses", [])]


def waiting(kc: Kubectl, namespace: str, app: str, reason: str) -> bool:
    return any((s.get("state") or {}).get("waiting", {}).get("reason") == reason for s in statuses(kc, namespace, app))


# --- the healthy stack ---------------------------------------------------------------------------

def test_the_healthy_namespace_and_workload(ctx: ToolContext, todo: str) -> None:
    whole = read(ctx, "check_health", namespace=todo)
    assert (whole.target, whole.verdict) == (f"namespace {todo}", "healthy")
    assert whole.summary == "healthy: 2/2 workloads ready, 4 pods ready, 2 services with endpoints"
    assert [(w.name, w.ready, w.healthy) for w in whole.workloads] == [("todo-backend", "2/2", True),
                                                                        ("todo-frontend", "2/2", True)]
    assert (whole.pods_not_ready, whole.restarts, whole.services_without_endpoints) == ([], [], [])
    assert whole.release is None
    one = read(ctx, "check_health", name="backend", namespace=todo)
    assert (one.target, one.verdict) == (f"Deployment todo-backend in namespace {todo}", "healthy")
    assert [w.name for w in one.workloads] == ["todo-backend"]
    assert one.summary == "healthy: 1/1 workloads ready, 2 pods ready, 1 services with endpoints"


def test_the_healthy_release_through_the_real_engine(ctx: ToolContext, todo: str) -> None:
    result = read(ctx, "check_health", release="todo-app", namespace=todo)
    assert (result.target, result.verdict) == (f"Helm release todo-app in namespace {todo}", "healthy")
    assert result.release is not None
    assert (result.release.status, result.release.revision, result.release.chart) == ("deployed", 1,
                                                                                       "todo-app-0.1.0")
    assert result.summary.startswith("healthy: release todo-app revision 1 deployed, 2/2 workloads ready")
    assert {w.name for w in result.workloads} == {"todo-backend", "todo-frontend"}


def test_a_missing_release_through_the_real_engine(ctx: ToolContext, todo: str) -> None:
    with pytest.raises(NotFound, match=f"no Helm release 'todo-ap' in namespace {todo}"):
        read(ctx, "check_health", release="todo-ap", namespace=todo)


def test_a_release_whose_status_is_failed_is_failing(ctx: ToolContext, cluster: Sandbox, kc: Kubectl,
                                                     todo: str) -> None:
    double = use(ctx, ReleaseDouble(cluster.kubeconfig, kc, status="failed"))
    result = read(ctx, "check_health", release="todo-app", namespace=todo)
    assert result.verdict == "failing" and result.release is not None and result.release.status == "failed"
    assert result.summary == "failing: release todo-app revision 1 failed"
    assert double.calls == [f"status {todo}/todo-app", f"manifest {todo}/todo-app"]


def test_the_release_is_found_by_its_manifest(ctx: ToolContext, cluster: Sandbox, kc: Kubectl, todo: str) -> None:
    only_backend = yaml.safe_dump_all([{"apiVersion": "apps/v1", "kind": "Deployment",
                                        "metadata": {"name": "todo-backend", "namespace": todo}},
                                       {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "todo-backend"}}])
    use(ctx, ReleaseDouble(cluster.kubeconfig, kc, manifest=only_backend))
    result = read(ctx, "check_health", release="todo-app", namespace=todo)
    assert [w.name for w in result.workloads] == ["todo-backend"]
    assert result.summary == ("healthy: release todo-app revision 1 deployed, 1/1 workloads ready, 2 pods ready, "
                              "1 services with endpoints")
    use(ctx, ReleaseDouble(cluster.kubeconfig, kc, manifest=""))  # nothing to read: the chart's labels
    labelled = read(ctx, "check_health", release="todo-app", namespace=todo)
    assert {w.name for w in labelled.workloads} == {"todo-backend", "todo-frontend"}


# --- a broken copy -------------------------------------------------------------------------------

def test_a_broken_copy(ctx: ToolContext, cluster: Sandbox, kc: Kubectl, fresh_todo: str, todo: str) -> None:
    ns = fresh_todo
    control.inject_fault(cluster.state, "image-pull", "deployment/todo-backend", ns)
    control.inject_fault(cluster.state, "crashloop", "deployment/todo-frontend", ns)
    kc("create", "deployment", "other", "--image=nginx:1.25", "-n", ns)  # not the release's
    wait_for(lambda: waiting(kc, ns, "todo-backend", "ImagePullBackOff"), 30)
    wait_for(lambda: len(statuses(kc, ns, "todo-frontend")) == 2 and all(
        s["restartCount"] >= 1 and not s["ready"] for s in statuses(kc, ns, "todo-frontend")), 30)
    wait_for(lambda: "1/1" in kc("get", "deploy", "other", "-n", ns), 30)

    # the kubelet alternates ErrImagePull (a pull) and ImagePullBackOff (the wait before the next),
    # and Error (an exit) and CrashLoopBackOff (the wait before the next start): read the health
    # while all three pods wait, as the checks below describe
    reads: list[CheckHealthResult] = []

    def backing_off() -> bool:
        reads.append(read(ctx, "check_health", namespace=ns))
        return "3 pods not ready (CrashLoopBackOff ×2, ImagePullBackOff ×1)" in reads[-1].summary

    wait_for(backing_off, 30)
    whole = reads[-1]
    assert whole.verdict == "failing"
    assert whole.summary.startswith("failing: todo-frontend 0/2 ready; 3 pods not ready (CrashLoopBackOff ×2, "
                                    "ImagePullBackOff ×1); 2 pods restarted in the last 10 minutes; "
                                    "no endpoints: todo-frontend")
    rows = {w.name: (w.ready, w.healthy) for w in whole.workloads}
    assert rows == {"todo-frontend": ("0/2", False), "todo-backend": ("2/2", True), "other": ("1/1", True)}
    assert whole.workloads[0].name == "todo-frontend"  # the unhealthy first
    backend = next(p for p in whole.pods_not_ready if p.name.startswith("todo-backend-"))
    assert (backend.status, backend.ready) == ("ImagePullBackOff", "0/1")
    assert backend.reasons == ['todo-backend: ImagePullBackOff: Back-off pulling image "todo-backend:does-not-exist"']
    frontend = next(p for p in whole.pods_not_ready if p.name.startswith("todo-frontend-"))
    assert frontend.status == "CrashLoopBackOff" and frontend.restarts >= 1
    assert "todo-frontend: last terminated Error (exit 1)" in frontend.reasons
    assert {r.name for r in whole.restarts} == {p.name for p in whole.pods_not_ready if p.name.startswith("todo-f")}
    assert all(r.last and r.last.startswith("todo-frontend: Error (exit 1) ") for r in whole.restarts)
    assert [(g.name, g.matching_pods) for g in whole.services_without_endpoints] == [("todo-frontend", 2)]
    reasons = {(e.object.split("-")[1], e.reason) for e in whole.warning_events}
    assert {("backend", "Failed"), ("frontend", "BackOff")} <= reasons
    back_off = next(e for e in whole.warning_events if e.reason == "BackOff")
    assert back_off.other_objects == 1 and back_off.count >= 2  # the two replicas' events, shown once

    # the release: its own objects only (not "other"), through the real engine or the double
    if importlib.util.find_spec("tools.helm_sdk") is None:
        use(ctx, ReleaseDouble(cluster.kubeconfig, kc))
    release = read(ctx, "check_health", release="todo-app", namespace=ns)
    assert release.verdict == "failing" and release.release is not None and release.release.status == "deployed"
    assert {w.name for w in release.workloads} == {"todo-backend", "todo-frontend"}
    assert release.summary.startswith("failing: todo-frontend 0/2 ready; 3 pods not ready")
    with pytest.raises(Ambiguous) as twice:  # no namespace: the release is in the seed's and in this one
        read(ctx, "check_health", release="todo-app")
    assert {f"{todo}/todo-app", f"{ns}/todo-app"} <= set(twice.value.candidates)

    # one workload: its pods, its Service, its events
    one = read(ctx, "check_health", name="backend", namespace=ns)
    assert one.verdict == "degraded"  # still serving on the old pods; the new one cannot pull
    # the kubelet retries the pull: between back-offs the pod is ErrImagePull again, as in a real cluster
    assert one.summary in ("degraded: 1 pod not ready (ImagePullBackOff ×1)",
                           "degraded: 1 pod not ready (ErrImagePull ×1)")
    assert [p.name for p in one.pods_not_ready] == [backend.name]
    assert {e.object for e in one.warning_events} == {f"Pod/{backend.name}"}

    # a tight budget: every list cut, with a note of what was left out
    ctx.budget = 300
    small = read(ctx, "check_health", namespace=ns)
    assert count_tokens(render(small)) <= 300
    cut = [n for n in (small.more_workloads, small.more_pods_not_ready, small.more_restarts,
                       small.more_warning_events, small.more_services) if n]
    assert cut and all(n.startswith("… ") for n in cut)


def test_a_thousand_unready_pods_fit_the_budget() -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pods = [{"kind": "Pod", "metadata": {"name": f"web-{i:04d}", "labels": {"app": "web"}},
             "spec": {"containers": [{"name": "web"}]},
             "status": {"phase": "Running", "containerStatuses": [{
                 "name": "web", "ready": False, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"reason": "Error", "exitCode": 2, "finishedAt": now}}}]}}
            for i in range(1000)]
    events = [{"kind": "Event", "type": "Warning", "reason": "BackOff", "message": f"Back-off restarting web-{i:04d}",
               "count": 1, "lastTimestamp": now, "involvedObject": {"kind": "Pod", "name": f"web-{i:04d}"}}
              for i in range(1000)]
    snap = Snapshot("big", pods=pods, warnings=events)
    result = _assess(snap, Scope(), "namespace big", None)
    assert result.verdict == "failing" and len(result.pods_not_ready) == 1000
    fit_result(result, 2000, SECTIONS)
    assert count_tokens(render(result)) <= 2000
    shown = len(result.pods_not_ready)
    assert 0 < shown < 1000 and result.more_pods_not_ready == f"… {1000 - shown} more pods not ready"
    assert result.more_restarts and result.more_warning_events
    assert isinstance(result, CheckHealthResult)


# --- bad input -----------------------------------------------------------------------------------

def test_bad_input_is_refused_before_anything_is_sent(ctx: ToolContext, todo: str) -> None:
    assert ctx.cluster.kubeconfig is not None
    ctx, spy = recording_context(ctx.cluster.kubeconfig)
    tool = REGISTRY.get("check_health")
    for bad, words in (({"release": "todo-app", "name": "backend"}, "either a release or a workload"),
                       ({"kind": "deployment"}, "a kind needs a name"),
                       ({"release": "Todo App"}, "release"), ({"name": "a/b"}, "name"),
                       ({"namespace": "x" * 64}, "namespace"), ({"selector": "app=x"}, "selector")):
        with pytest.raises(InvalidInput, match=words):
            tool.validate(bad)
    assert spy.sent == []
    with pytest.raises(InvalidInput, match="not Service; use diagnose"):
        read(ctx, "check_health", kind="svc", name="todo-backend", namespace=todo)
    with pytest.raises(NotFound, match="namespace 'nowhere' not found"):
        read(ctx, "check_health", namespace="nowhere")
    with pytest.raises(NotFound) as missing:
        read(ctx, "check_health", name="todo-backnd", namespace=todo)
    assert f"{todo}/todo-backend" in missing.value.suggestions

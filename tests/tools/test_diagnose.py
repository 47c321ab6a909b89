"""diagnose on the sandbox: nothing found on the healthy todo stack, and each analyzer's finding,
with its evidence and fix, on a copy of the stack broken by the sandbox's faults or kubectl."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yaml

import tools.diagnose  # noqa: F401  (registers the tool)
from sandbox import control
from sandbox.control import Sandbox
from tests.tools.conftest import Kubectl, read, wait_for
from tests.tools.recording import recording_context
from tools.analyzers import Finding, PodAnalysis
from tools.context import ToolContext
from tools.diagnose import DiagnoseResult
from tools.errors import InvalidInput, KaiError, NotFound
from tools.registry import REGISTRY
from tools.snapshot import read_snapshot

PULL_REASONS = ("ImagePullBackOff", "ErrImagePull")


def pods(kc: Kubectl, namespace: str, app: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kc.json("get", "pods", "-n", namespace, "-l", f"app={app}")["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def statuses(kc: Kubectl, namespace: str, app: str) -> list[dict[str, Any]]:
    return [s for p in pods(kc, namespace, app) for s in p["status"].get("containerStatuses", [])]


def waiting(kc: Kubectl, namespace: str, app: str, reason: str) -> bool:
    return any((s.get("state") or {}).get("waiting", {}).get("reason") == reason for s in statuses(kc, namespace, app))


def events(kc: Kubectl, namespace: str, reason: str) -> str:
    return kc("get", "events", "-n", namespace, "--field-selector", f"reason={reason}")


def find(findings: list[Finding], kind: str, words: str) -> Finding:
    hits = [f for f in findings if f.kind == kind and words in f.problem]
    assert hits, f"no {kind} finding about {words!r} in {[f.problem for f in findings]}"
    return hits[0]


def text(finding: Finding) -> str:
    return "\n".join(finding.evidence)


# --- the healthy stack ---------------------------------------------------------------------------

def test_the_healthy_stack_has_no_findings(ctx: ToolContext, todo: str) -> None:
    whole = read(ctx, "diagnose", namespace=todo)
    assert whole.findings == [] and whole.summary == "no problems found"
    assert whole.target == f"namespace {todo}"
    assert whole.checked.startswith("4 pods, 2 workloads, 2 services, 0 HPAs for image pulls, crash loops")
    backend = read(ctx, "diagnose", name="backend", namespace=todo)
    assert (backend.target, backend.findings) == (f"Deployment todo-backend in namespace {todo}", [])
    assert backend.checked.startswith("2 pods, 1 workloads, 1 services")
    service = read(ctx, "diagnose", kind="svc", name="todo-frontend", namespace=todo)
    assert service.target == f"Service todo-frontend in namespace {todo}" and service.findings == []


def test_previous_logs_of_a_container_that_never_restarted_are_none(ctx: ToolContext, todo: str,
                                                                     kc: Kubectl) -> None:
    pod = pods(kc, todo, "todo-backend")[0]
    snap = asyncio.run(read_snapshot(ctx.cluster, todo))
    analysis = PodAnalysis(ctx.cluster, snap)
    assert asyncio.run(analysis.logs(pod, "todo-backend", previous=True)) == []  # the API says 400: no instance
    current = asyncio.run(analysis.logs(pod, "todo-backend", previous=False))
    assert current and all(line.startswith("INFO:") for line in current)  # the running instance's last lines


def test_bad_input_is_refused_before_anything_is_sent(ctx: ToolContext, todo: str) -> None:
    assert ctx.cluster.kubeconfig is not None
    ctx, spy = recording_context(ctx.cluster.kubeconfig)
    tool = REGISTRY.get("diagnose")
    for bad in ({"name": "x; rm -rf /"}, {"name": "../etc"}, {"namespace": "Todo App"}, {"kind": "deploy/x"},
                {"replicas": 3}):
        with pytest.raises(InvalidInput):
            tool.validate(bad)
    with pytest.raises(InvalidInput, match="give a name with the kind"):
        read(ctx, "diagnose", kind="deployment")
    assert spy.sent == []
    with pytest.raises(InvalidInput, match="not ConfigMap"):
        read(ctx, "diagnose", kind="configmap", name="todo-app-config", namespace=todo)
    with pytest.raises(NotFound, match="namespace 'nowhere' not found"):
        read(ctx, "diagnose", namespace="nowhere")
    with pytest.raises(NotFound) as missing:
        read(ctx, "diagnose", name="todo-backnd", namespace=todo)
    assert f"{todo}/todo-backend" in missing.value.suggestions
    assert isinstance(missing.value, KaiError)


# --- broken copies of the stack ------------------------------------------------------------------

def test_image_pull_crash_loop_and_stuck_rollout(ctx: ToolContext, cluster: Sandbox, kc: Kubectl,
                                                 fresh_todo: str) -> None:
    ns = fresh_todo
    kc("patch", "deployment", "todo-backend", "-n", ns, "-p", '{"spec":{"progressDeadlineSeconds":20}}')
    kc("set", "image", "deployment/todo-backend", "todo-backend=todo-backend:v9.9", "-n", ns)
    control.inject_fault(cluster.state, "crashloop", "deployment/todo-frontend", ns)
    wait_for(lambda: waiting(kc, ns, "todo-backend", "ImagePullBackOff"), 30)
    wait_for(lambda: "ProgressDeadlineExceeded" in kc("get", "deploy", "todo-backend", "-n", ns, "-o", "yaml"), 30)
    wait_for(lambda: len(statuses(kc, ns, "todo-frontend")) == 2 and all(
        s["restartCount"] >= 1 and s["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
        for s in statuses(kc, ns, "todo-frontend")), 30)

    # the kubelet keeps restarting the crashing containers (each shows Error for a moment, then
    # CrashLoopBackOff until its next start): read while both wait, as the checks below describe
    reads: list[DiagnoseResult] = []

    def both_waiting() -> bool:
        reads.append(read(ctx, "diagnose", namespace=ns))
        return any(f.kind == "Deployment" and f.name == "todo-frontend" and
                   "unready pods: 2 CrashLoopBackOff" in f.evidence for f in reads[-1].findings)

    wait_for(both_waiting, 30)
    result = reads[-1]
    assert result.summary.startswith(f"{len(result.findings)} problems found")
    pull = find(result.findings, "Pod", "cannot pull image todo-backend:v9.9")
    assert pull.name.startswith("todo-backend-")
    # the kubelet alternates the two reasons between pull attempts, as a real one does
    shown = [r for r in PULL_REASONS if f"container todo-backend image todo-backend:v9.9: {r}" in pull.evidence]
    assert shown
    # and the message of the reason shown: the back-off's, or the failed pull's
    assert ('Back-off pulling image "todo-backend:v9.9"' if shown[0] == "ImagePullBackOff" else
            'message: failed to pull and unpack image "docker.io/library/todo-backend:v9.9"') in text(pull)
    assert 'Failed to pull image "todo-backend:v9.9"' in text(pull)  # the kubelet's event, with the runtime's words
    assert "revision 1 of deployment/todo-backend ran todo-backend:v1.0" in pull.evidence
    assert f"kubectl set image deployment/todo-backend todo-backend=todo-backend:v1.0 -n {ns}" in pull.suggested_fix
    assert "rollout_undo" in pull.suggested_fix

    crash = find(result.findings, "Pod", "container todo-frontend keeps crashing (exit code 1)")
    assert crash.also_affected and len(crash.also_affected) == 1  # the other replica, in the same finding
    assert "last log lines of the previous instance:" in crash.evidence
    assert "| Error: listen EADDRINUSE: address already in use 0.0.0.0:3000" in crash.evidence
    assert "|  ⨯ Failed to start server" in crash.evidence  # log lines kept as written
    assert any(line.startswith("last exit: code 1, reason Error") for line in crash.evidence)
    assert f"get_logs {crash.name} container=todo-frontend previous=true" in crash.suggested_fix
    assert "port is already taken" in crash.suggested_fix  # read from the log lines

    stuck = find(result.findings, "Deployment", "rollout is stuck: progress deadline exceeded")
    assert stuck.name == "todo-backend" and stuck.severity == "error"
    assert 'Progressing=False (ProgressDeadlineExceeded): ReplicaSet "' in text(stuck)
    assert "runs todo-backend:v9.9" in text(stuck) and any(f"1 {r}" in text(stuck) for r in PULL_REASONS)
    assert f"kubectl rollout undo deployment/todo-backend -n {ns}" in stuck.suggested_fix
    down = find(result.findings, "Deployment", "2 of 2 replicas unavailable")
    assert down.name == "todo-frontend" and "unready pods: 2 CrashLoopBackOff" in down.evidence
    empty = find(result.findings, "Service", "no ready endpoints")
    assert empty.name == "todo-frontend" and "diagnose deployment/todo-frontend" in empty.suggested_fix

    # one workload: only its own findings; one pod: only that pod's
    backend = read(ctx, "diagnose", name="backend", namespace=ns)
    assert {(f.kind, f.name.split("-")[1]) for f in backend.findings} == {("Pod", "backend"),
                                                                          ("Deployment", "backend")}
    one = read(ctx, "diagnose", kind="pod", name=crash.name, namespace=ns)
    assert [f.problem for f in one.findings] == [crash.problem] and one.findings[0].also_affected is None


def test_oom_and_failing_probes(ctx: ToolContext, cluster: Sandbox, kc: Kubectl, fresh_todo: str) -> None:
    ns = fresh_todo
    # the backend program uses 120Mi: a 64Mi limit kills it
    kc("set", "resources", "deployment/todo-backend", "-c", "todo-backend", "--limits=memory=64Mi", "-n", ns)
    control.inject_fault(cluster.state, "probe-fail", "deployment/todo-frontend", ns)
    wait_for(lambda: any((s.get("lastState") or {}).get("terminated", {}).get("reason") == "OOMKilled"
                         for s in statuses(kc, ns, "todo-backend")), 30)
    wait_for(lambda: "Readiness probe failed: HTTP probe failed with statuscode: 503" in events(kc, ns, "Unhealthy")
             and not any(s["ready"] for s in statuses(kc, ns, "todo-frontend")), 30)

    result = read(ctx, "diagnose", namespace=ns)
    oom = find(result.findings, "Pod", "container todo-backend is killed for using more memory than its limit")
    assert oom.evidence[0].startswith("container todo-backend: OOMKilled (exit code 137)")
    assert any(e.startswith("memory limit 64Mi, request ") for e in oom.evidence)
    assert f"kubectl set resources deployment/todo-backend -c todo-backend --limits=memory=128Mi -n {ns}" \
        in oom.suggested_fix
    assert not [f for f in result.findings if "keeps crashing" in f.problem]  # an OOM kill is not a crash loop

    probe = find(result.findings, "Pod", "of container todo-frontend fail: the pod gets no Service traffic")
    assert probe.problem.startswith("readiness") and probe.name.startswith("todo-frontend-")
    assert probe.severity == "error"
    assert "readinessProbe: HTTP GET / on port http (3000), every 10s, failureThreshold 3" in probe.evidence
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in text(probe)
    assert "container todo-frontend ready: False" in text(probe) and "ports it declares: 3000 (http)" in text(probe)
    assert "The app answers / with an error" in probe.suggested_fix and "get_logs" in probe.suggested_fix


def test_pending_service_selector_target_port_config_error_and_hpa(ctx: ToolContext, kc: Kubectl,
                                                                   fresh_todo: str) -> None:
    ns = fresh_todo
    kc("set", "resources", "deployment/todo-frontend", "--requests=cpu=64", "--limits=cpu=64", "-n", ns)
    services = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                 "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": target}]}}
                for name, selector, target in (("todo-api", {"app": "todo-backend-v2"}, 8000),
                                               ("todo-backend-alt", {"app": "todo-backend"}, 8080))]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "configured", "namespace": ns},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
                                    "envFrom": [{"configMapRef": {"name": "no-such-config"}}]}]}}
    hpas = [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
             "metadata": {"name": name, "namespace": ns},
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                      "minReplicas": 1, "maxReplicas": 2,
                      "metrics": [{"type": "Resource", "resource": {
                          "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}}
            for name, target in (("todo-backend", "todo-backend"), ("ghost", "nope"))]
    kc("apply", "-f", "-", stdin=yaml.safe_dump_all([*services, pod, *hpas]))

    def limited() -> bool:
        status = kc.json("get", "hpa", "todo-backend", "-n", ns).get("status", {})
        return any(c["type"] == "ScalingLimited" and c["status"] == "True" for c in status.get("conditions", [])) \
            and status.get("currentReplicas") == 2
    wait_for(lambda: "Insufficient cpu" in events(kc, ns, "FailedScheduling"), 30)
    kc("rollout", "pause", "deployment/todo-frontend", "-n", ns)  # mid-rollout: one new pod, Pending
    wait_for(lambda: "CreateContainerConfigError" in kc("get", "pod", "configured", "-n", ns), 30)
    wait_for(limited, 30)
    wait_for(lambda: "FailedGetScale" in kc("get", "hpa", "ghost", "-n", ns, "-o", "yaml"), 30)

    result = read(ctx, "diagnose", namespace=ns)
    pending = find(result.findings, "Pod", "pod cannot be scheduled (Pending)")
    assert pending.name.startswith("todo-frontend-")
    assert "Insufficient cpu" in pending.evidence[0] and pending.evidence[0].startswith("PodScheduled=False")
    assert any(e.startswith("container todo-frontend requests cpu 64, memory ") for e in pending.evidence)
    assert f"kubectl set resources deployment/todo-frontend --requests=cpu=<less> -n {ns}" in pending.suggested_fix

    selector = find(result.findings, "Service", "selector matches no pod")
    assert selector.name == "todo-api"
    assert selector.evidence[0].startswith("selector app=todo-backend-v2 matches none of the")
    assert any("nearly matches: pod todo-backend-" in e and "(Deployment todo-backend) has app=todo-backend "
               "(selector wants app=todo-backend-v2)" in e for e in selector.evidence)
    assert f"kubectl set selector service/todo-api 'app=todo-backend' -n {ns}" in selector.suggested_fix

    port = find(result.findings, "Service", "targetPort 8080, which no selected pod declares")
    assert port.name == "todo-backend-alt" and port.severity == "warning"
    assert "the pods declare ports 8000 (http)" in port.evidence

    config = find(result.findings, "Pod", "container app cannot be created")
    assert config.name == "configured" and "no-such-config" in text(config)
    assert "Create the ConfigMap" in config.suggested_fix

    pinned = find(result.findings, "HorizontalPodAutoscaler", "pinned at its maximum of 2 replicas")
    assert pinned.name == "todo-backend" and pinned.severity == "error"
    assert "replicas: current 2, desired 2, min 1, max 2" in pinned.evidence
    assert any(e.startswith("ScalingLimited=True (TooManyReplicas)") for e in pinned.evidence)
    assert any(e.startswith("cpu utilization ") and e.endswith("% of requests (target 50%)") for e in pinned.evidence)
    assert f"kubectl patch hpa todo-backend -n {ns}" in pinned.suggested_fix and "maxReplicas\":4" in \
        pinned.suggested_fix

    paused = find(result.findings, "Deployment", "rollout is paused")
    assert paused.name == "todo-frontend" and paused.severity == "warning"
    assert paused.evidence == ["spec.paused=true; ready 2/2, up-to-date 1"]
    assert paused.suggested_fix == f"Resume it: kubectl rollout resume deployment/todo-frontend -n {ns}."

    stuck = find(result.findings, "HorizontalPodAutoscaler", "cannot scale deployment/nope (FailedGetScale)")
    assert stuck.name == "ghost"
    assert stuck.evidence == ["AbleToScale=False (FailedGetScale): the HPA controller was unable to get the target's "
                              'current scale: deployments.apps "nope" not found']

    # the HPA on its own, and a Service on its own
    alone = read(ctx, "diagnose", kind="hpa", name="todo-backend", namespace=ns)
    assert [f.kind for f in alone.findings] == ["HorizontalPodAutoscaler"]
    service = read(ctx, "diagnose", kind="service", name="todo-api", namespace=ns)
    assert [f.name for f in service.findings] == ["todo-api"]


def test_findings_fit_the_budget(ctx: ToolContext, cluster: Sandbox, kc: Kubectl, fresh_todo: str) -> None:
    from tools.budget import count_tokens, render

    ns = fresh_todo
    control.inject_fault(cluster.state, "image-pull", "deployment/todo-frontend", ns)
    control.inject_fault(cluster.state, "crashloop", "deployment/todo-backend", ns)
    wait_for(lambda: waiting(kc, ns, "todo-frontend", "ImagePullBackOff")
             and waiting(kc, ns, "todo-backend", "CrashLoopBackOff"), 30)
    full = read(ctx, "diagnose", namespace=ns)
    assert len(full.findings) >= 4 and full.more_findings is None
    ctx.budget = 400
    small = read(ctx, "diagnose", namespace=ns)
    assert count_tokens(render(small)) <= 400
    assert 0 < len(small.findings) < len(full.findings)
    assert small.more_findings == f"… {len(full.findings) - len(small.findings)} more findings"

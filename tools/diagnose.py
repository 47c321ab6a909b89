"""``diagnose``: what is wrong with a workload, pod, Service or a whole namespace, as findings
in the manner of k8sgpt's analyzers, each with its evidence and a concrete fix.

The pod analyzers (image pulls, crash loops, OOM kills, scheduling, probes) are in
tools/analyzers.py; the analyzers of Services (a selector matching no pod, no ready
endpoints, a targetPort no pod declares), HorizontalPodAutoscalers (pinned at the maximum,
unable to scale) and workloads (unavailable replicas, stuck rollouts) are here.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from pydantic import Field

from .analyzers import Finding, PodAnalysis, ref
from .budget import count_tokens, render
from .context import ToolContext
from .errors import InvalidInput, NotFound
from .inputs import KindName, NamespaceName, ObjectName
from .podstatus import is_ready
from .podstatus import reason as pod_reason
from .registry import ToolInput, ToolResult, tool
from .resolve import require_namespace, resolve, resolve_kind
from .snapshot import (
    Obj,
    Section,
    Snapshot,
    fit_result,
    labels_of,
    name_of,
    read_snapshot,
    replica_counts,
    selector_text,
    service_selects,
    short,
)

TARGET_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Service", "HorizontalPodAutoscaler")
GUESS_ORDER = ("deployments", "statefulsets", "daemonsets", "pods", "services")
STARTING = frozenset({"ContainerCreating", "PodInitializing", "Running"})  # pods not ready yet, not failing
NEAR = 0.5  # how alike a pod's labels must be to a Service selector to be shown as a near miss
CHECKS = ("image pulls, crash loops, OOM kills, container config, scheduling, probes, Service selectors and "
          "endpoints, HPA limits, rollouts")


class DiagnoseInput(ToolInput):
    namespace: NamespaceName | None = None
    kind: KindName | None = None
    name: ObjectName | None = None


class DiagnoseResult(ToolResult):
    target: str
    summary: str
    findings: list[Finding] = Field(default_factory=list)
    more_findings: str | None = None
    checked: str
    unreadable: list[str] | None = None


@dataclass
class Scope:
    """What a diagnosis looks at in the snapshot (None: everything)."""

    pods: set[str] | None = None
    services: set[str] | None = None
    hpas: set[str] | None = None
    workloads: set[tuple[str, str]] | None = None

    def pick(self, items: list[Obj], names: set[str] | None) -> list[Obj]:
        return items if names is None else [i for i in items if name_of(i) in names]


@tool(risk="read")
async def diagnose(ctx: ToolContext, args: DiagnoseInput) -> DiagnoseResult:
    """Find out why something is not working: runs analyzers over a workload, a pod, a Service
    or a whole namespace and returns findings, each with the object, the problem, the evidence
    (exact messages, exit codes, memory limits, the last log lines of a crashed container, the
    scheduler's reason, the probe's path and port, the labels a Service selector misses) and a
    suggested fix naming the kai tool or kubectl command. Covers image pull errors, crash loops,
    OOMKilled containers, Pending pods, failing probes, Services whose selector matches no pod
    or that have no ready endpoints, HPAs pinned at their maximum, and stuck or unavailable
    Deployments. Use it when the user asks why something fails, is slow, restarts or is
    unreachable; use check_health for a quick overall status.

    Args:
        namespace: The namespace to look in; the context's namespace when omitted. With no name,
            the whole namespace is diagnosed.
        kind: What the name is: deployment, statefulset, daemonset, replicaset, pod, service or hpa.
            When omitted with a name, the name is looked up as a deployment, statefulset,
            daemonset, pod, then service.
        name: The object to diagnose, as the user said it ("backend" finds todo-backend). Omit it to
            diagnose the whole namespace.
    """
    if args.kind and not args.name:
        raise InvalidInput("diagnose: give a name with the kind (or neither, for a whole namespace)")
    target = await _resolve_target(ctx, args) if args.name else None
    if target is not None:
        namespace = target.namespace or ctx.default_namespace
        where = f"{target.kind} {target.name} in namespace {namespace}"
    else:
        namespace = await require_namespace(ctx.cluster, args.namespace or ctx.default_namespace)
        where = f"namespace {namespace}"
    snap = await read_snapshot(ctx.cluster, namespace)
    scope = _scope(snap, target.kind, target.name) if target is not None else Scope()
    pods = scope.pick(snap.live_pods(), scope.pods)
    findings = await PodAnalysis(ctx.cluster, snap).run(pods)
    for service in scope.pick(snap.services, scope.services):
        findings += service_findings(snap, service)
    for hpa in scope.pick(snap.hpas, scope.hpas):
        findings += hpa_findings(snap, hpa)
    for workload in snap.workloads:
        if _in(scope, workload):
            findings += workload_findings(snap, workload)
    findings.sort(key=lambda f: f.severity != "error")  # stable: errors first, then analyzer order
    checked = (f"{len(pods)} pods, {sum(1 for w in snap.workloads if _in(scope, w))} workloads, "
               f"{len(scope.pick(snap.services, scope.services))} services, "
               f"{len(scope.pick(snap.hpas, scope.hpas))} HPAs" + ("" if findings else f" for {CHECKS}"))
    errors = sum(1 for f in findings if f.severity == "error")
    summary = (f"{len(findings)} problem{'s' if len(findings) != 1 else ''} found ({errors} "
               f"error{'s' if errors != 1 else ''}): " + "; ".join(f"{f.kind}/{f.name}: {f.problem}" for f in findings)
               ) if findings else "no problems found"
    result = DiagnoseResult(target=where, summary=short(summary, 250), findings=findings, checked=checked,
                            unreadable=snap.unreadable or None)
    return _fit(result, ctx.budget)


def _fit(result: DiagnoseResult, budget: int) -> DiagnoseResult:
    """``result`` within ``budget`` tokens: first with shorter evidence, then fewer findings."""
    for facts, log_lines in ((4, 3), (2, 1)):
        if count_tokens(render(result)) <= budget:
            return result
        for finding in result.findings:
            _compact(finding, facts, log_lines)
        attempt = result.model_copy(deep=True)
        fit_result(attempt, budget, [Section("findings", "more_findings", "findings")])
        if attempt.findings or not result.findings:
            return attempt
    fit_result(result, budget, [Section("findings", "more_findings", "findings")])
    return result


def _compact(finding: Finding, facts: int, log_lines: int) -> None:
    """Keep a finding's first facts and its last log lines, saying how many lines were cut."""
    evidence = [e for e in finding.evidence if not e.endswith(" more lines of evidence")]
    logs = [e for e in evidence if e.startswith("| ")]
    other = [e for e in evidence if not e.startswith("| ")]
    kept = other[:facts] + logs[-log_lines:]
    if len(kept) < len(evidence):
        finding.evidence = [*kept, f"… {len(evidence) - len(kept)} more lines of evidence"]
    if finding.also_affected and len(finding.also_affected) > 2:
        finding.also_affected = [*finding.also_affected[:1], f"… {len(finding.also_affected) - 1} more"]


def _in(scope: Scope, workload: Obj) -> bool:
    return scope.workloads is None or (workload.get("kind"), name_of(workload)) in scope.workloads


@dataclass(frozen=True)
class _Target:
    kind: str
    name: str
    namespace: str | None


async def _resolve_target(ctx: ToolContext, args: DiagnoseInput) -> _Target:
    assert args.name is not None
    if args.kind:
        resource = await resolve_kind(ctx.cluster, args.kind)
        if resource.kind not in TARGET_KINDS:
            raise InvalidInput(f"diagnose looks at {', '.join(k.lower() for k in TARGET_KINDS)} or a whole "
                               f"namespace, not {resource.kind}")
        found = await resolve(ctx.cluster, resource, args.name, args.namespace, ctx.default_namespace)
        return _Target(found.kind, found.name, found.namespace)
    missing: list[str] = []
    for plural in GUESS_ORDER:
        try:
            found = await resolve(ctx.cluster, plural, args.name, args.namespace, ctx.default_namespace)
        except NotFound as exc:
            missing += exc.suggestions
            continue
        return _Target(found.kind, found.name, found.namespace)
    where = f" in namespace {args.namespace}" if args.namespace else ""
    raise NotFound(f"no deployment, statefulset, daemonset, pod or service named {args.name!r}{where}",
                   sorted(set(missing))[:5])


def _scope(snap: Snapshot, kind: str, name: str) -> Scope:
    """The objects a diagnosis of ``kind/name`` reads: a workload with its pods, the Services
    selecting them and the HPAs scaling it; a Service with its pods; an HPA with its target."""
    if kind == "Pod":
        return Scope(pods={name}, services=set(), hpas=set(), workloads=set())
    if kind == "Service":
        service = next((s for s in snap.services if name_of(s) == name), {})
        return Scope(pods={name_of(p) for p in snap.selected_pods(service)}, services={name}, hpas=set(),
                     workloads=set())
    if kind == "HorizontalPodAutoscaler":
        hpa = next((h for h in snap.hpas if name_of(h) == name), {})
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        return Scope(pods=set(), services=set(), hpas={name},
                     workloads={(str(target.get("kind", "")), str(target.get("name", "")))})
    if kind == "ReplicaSet":
        rs = next((r for r in snap.replicasets if name_of(r) == name), {})
        owner = snap.owner(rs)
        kind, name = owner if owner else (kind, name)
        if owner is None:
            return Scope(pods={name_of(p) for p in snap.live_pods() if snap.owner(p) == ("ReplicaSet", name)},
                         services=set(), hpas=set(), workloads=set())
    workload = snap.workload(kind, name) or {}
    pods = snap.pods_of(workload) if workload else []
    names = {name_of(p) for p in pods}
    template = labels_of((workload.get("spec") or {}).get("template") or {})
    services = {name_of(s) for s in snap.services if any(name_of(p) in names for p in snap.selected_pods(s))
                or (template and service_selects(s, template))}
    hpas = {name_of(h) for h in snap.hpas if ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name
            and ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("kind") == kind}
    return Scope(pods=names, services=services, hpas=hpas, workloads={(kind, name)})


# --- Services ----------------------------------------------------------------------------

def service_findings(snap: Snapshot, service: Obj) -> list[Finding]:
    spec, name, ns = service.get("spec") or {}, name_of(service), snap.namespace
    selector: dict[str, str] = dict(spec.get("selector") or {})
    if not selector or spec.get("type") == "ExternalName":
        return []  # endpoints managed by hand, or a DNS name
    pods = snap.selected_pods(service)
    if not pods:
        evidence = [f"selector {selector_text(selector)} matches none of the {len(snap.live_pods())} pods "
                    f"in {ns}"]
        near = _near_misses(snap, selector)
        evidence += [line for line, _ in near]
        if near:
            fixed = near[0][1]
            fix = (f"Make the selector match the pods' labels: kubectl set selector service/{name} "
                   f"'{selector_text(fixed)}' -n {ns} (or apply_manifest with the corrected Service), or give the "
                   f"pods the labels the selector asks for in their workload's pod template.")
        else:
            fix = (f"No pod carries these labels: deploy the workload this Service is for, or point the selector "
                   f"at existing pods (kubectl set selector service/{name} <labels> -n {ns}).")
        return [Finding(kind="Service", name=name, problem="selector matches no pod: the Service has no endpoints",
                        evidence=evidence, suggested_fix=fix)]
    found: list[Finding] = []
    ready = snap.ready_endpoints(name)
    if ready == 0 and not any(is_ready(p) for p in pods):
        states = sorted({pod_reason(p) for p in pods})
        owners = sorted({ref(*o) for o in map(snap.owner, pods) if o} or {f"pod/{name_of(p)}" for p in pods})[:3]
        found.append(Finding(
            kind="Service", name=name, problem="no ready endpoints: every pod it selects is unready",
            evidence=[f"selector {selector_text(selector)} matches {len(pods)} pods, none ready "
                      f"(status: {', '.join(states)})", "0 ready addresses in its EndpointSlices"],
            suggested_fix=f"Fix the pods first (see the pod findings: diagnose {' '.join(owners)}); the Service "
                          f"gets endpoints once they are ready."))
    declared = {(p.get("containerPort"), p.get("name")) for pod in pods
                for c in (pod.get("spec") or {}).get("containers") or [] for p in c.get("ports") or []}
    if declared:
        numbers, names = {d[0] for d in declared}, {d[1] for d in declared if d[1]}
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            missing = target not in names if isinstance(target, str) and not target.isdigit() \
                else int(target) not in numbers
            if missing:
                shown = ", ".join(f"{n}" + (f" ({m})" if m else "") for n, m in sorted(declared, key=str))
                found.append(Finding(
                    kind="Service", name=name, severity="warning",
                    problem=f"port {port.get('port')} forwards to targetPort {target}, which no selected pod declares",
                    evidence=[f"port {port.get('port')} → targetPort {target}", f"the pods declare ports {shown}"],
                    suggested_fix=f"Point targetPort at the port the app listens on (one of {shown}): apply_manifest "
                                  f"with the corrected Service, or kubectl edit service/{name} -n {ns}."))
    return found


def _near_misses(snap: Snapshot, selector: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Pods whose labels come close to the selector (the same keys, like values): what they
    have instead, and the selector that would match them (at most three label sets)."""
    scored: dict[tuple[tuple[str, str], ...], tuple[float, str, dict[str, str]]] = {}
    for pod in snap.live_pods():
        labels = labels_of(pod)
        score = sum(1.0 if labels.get(k) == v else SequenceMatcher(None, labels[k], v).ratio() if k in labels
                    else 0.0 for k, v in selector.items())
        wanted = {k: labels[k] for k in selector if k in labels}
        key = tuple(sorted(wanted.items()))
        if score < NEAR * len(selector) or key in scored:
            continue
        owner = snap.owner(pod)
        who = f"pod {name_of(pod)}" + (f" ({owner[0]} {owner[1]})" if owner else "")
        diffs = [f"{k}={labels[k]} (selector wants {k}={v})" if k in labels else
                 f"no label {k} (selector wants {k}={v})" for k, v in sorted(selector.items()) if labels.get(k) != v]
        scored[key] = (score + (len(wanted) == len(selector)), f"nearly matches: {who} has " + "; ".join(diffs),
                       wanted)
    return [(line, wanted) for _, line, wanted in sorted(scored.values(), key=lambda s: -s[0])[:3]]


# --- HorizontalPodAutoscalers ------------------------------------------------------------

def hpa_findings(snap: Snapshot, hpa: Obj) -> list[Finding]:
    spec, status, name, ns = hpa.get("spec") or {}, hpa.get("status") or {}, name_of(hpa), snap.namespace
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    target = spec.get("scaleTargetRef") or {}
    target_ref = ref(str(target.get("kind", "")), str(target.get("name", "")))
    found: list[Finding] = []
    for kind in ("AbleToScale", "ScalingActive"):
        cond = conditions.get(kind) or {}
        if cond.get("status") == "False" and cond.get("reason") != "ScalingDisabled":
            found.append(Finding(
                kind="HorizontalPodAutoscaler", name=name, problem=f"cannot scale {target_ref} ({cond.get('reason')})",
                evidence=[f"{kind}=False ({cond.get('reason')}): {short(cond.get('message', ''))}"],
                suggested_fix=f"Fix what the condition names: the target {target_ref} must exist and its pods must "
                              f"request the resource the HPA measures (set_resources) and report metrics."))
    low, high = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1))
    current, desired = int(status.get("currentReplicas", 0)), int(status.get("desiredReplicas", 0))
    limited = conditions.get("ScalingLimited") or {}
    pinned = current >= high and desired >= high
    if pinned or (limited.get("status") == "True" and limited.get("reason") == "TooManyReplicas"):
        evidence = [f"replicas: current {current}, desired {desired}, min {low}, max {high}"]
        if limited.get("status") == "True":
            evidence.append(f"ScalingLimited=True ({limited.get('reason')}): {short(limited.get('message', ''))}")
        evidence += _metrics(spec, status)
        found.append(Finding(
            kind="HorizontalPodAutoscaler", name=name, severity="error" if limited.get("status") == "True" else
            "warning", problem=f"pinned at its maximum of {high} replicas: {target_ref} cannot scale out further",
            evidence=evidence,
            suggested_fix=f"If the load is real, raise the maximum: autoscale {target_ref} max={high * 2} (kubectl "
                          f"patch hpa {name} -n {ns} -p '{{\"spec\":{{\"maxReplicas\":{high * 2}}}}}'); otherwise "
                          f"find why each pod is so busy (get_logs, kubectl top pods -n {ns}) or give the pods larger "
                          f"requests (set_resources)."))
    return found


def _metrics(spec: Obj, status: Obj) -> list[str]:
    lines = []
    for goal, now in zip(spec.get("metrics") or [], status.get("currentMetrics") or [], strict=False):
        resource = (goal.get("resource") or {}).get("name", "?")
        want = (goal.get("resource") or {}).get("target") or {}
        have = (now.get("resource") or {}).get("current") or {}
        if "averageUtilization" in want:
            lines.append(f"{resource} utilization {have.get('averageUtilization', '?')}% of requests "
                         f"(target {want['averageUtilization']}%)")
        else:
            lines.append(f"{resource} average {have.get('averageValue', '?')} (target {want.get('averageValue')})")
    return lines


# --- workloads ---------------------------------------------------------------------------

def workload_findings(snap: Snapshot, workload: Obj) -> list[Finding]:
    kind, name, ns = str(workload.get("kind")), name_of(workload), snap.namespace
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    ready, desired = replica_counts(workload)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing") or {}
    stuck = progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded"
    updated = int(status.get("updatedReplicas", status.get("updatedNumberScheduled", desired)) or 0)
    available = int(status.get("availableReplicas", status.get("numberAvailable", ready)) or 0)
    pods = snap.pods_of(workload)
    failing = [p for p in pods if not is_ready(p) and pod_reason(p) not in STARTING]
    rolling = kind == "Deployment" and updated < desired and bool(failing)
    if not stuck and not rolling and available >= desired and ready >= desired:
        return []
    if spec.get("paused"):
        return [Finding(kind=kind, name=name, severity="warning", problem="rollout is paused",
                        evidence=[f"spec.paused=true; ready {ready}/{desired}, up-to-date {updated}"],
                        suggested_fix=f"Resume it: kubectl rollout resume {ref(kind, name)} -n {ns}.")]
    evidence = [f"replicas: desired {desired}, ready {ready}, available {available}, up-to-date {updated}"]
    for cond in conditions.values():
        if cond.get("status") == "False" or cond.get("type") == "ReplicaFailure":
            evidence.append(f"{cond.get('type')}={cond.get('status')} ({cond.get('reason')}): "
                            f"{short(cond.get('message', ''))}")
    states: dict[str, int] = {}
    for pod in pods:
        if not is_ready(pod):
            states[pod_reason(pod)] = states.get(pod_reason(pod), 0) + 1
    if states:
        evidence.append("unready pods: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    revisions = snap.replicasets_of(workload) if kind == "Deployment" else []
    for rs in revisions[:1]:
        images = [c.get("image") for c in (((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
            "containers") or []]
        evidence.append(f"newest ReplicaSet {name_of(rs)} runs {', '.join(map(str, images))}")
    for rs in revisions[:2]:
        for event in snap.events_for("ReplicaSet", name_of(rs))[:1]:
            evidence.append(f"ReplicaSet {name_of(rs)}: {event.get('reason')}: {short(event.get('message', ''))}")
    target = ref(kind, name)
    if stuck or rolling:
        problem = "rollout is stuck: progress deadline exceeded" if stuck else \
            f"rollout is not progressing: {updated} of {desired} replicas updated"
        back = (f" If the new revision is at fault, roll back: rollout_undo (kubectl rollout undo {target} -n {ns})."
                if len(revisions) > 1 else "")
        fix = f"The pod findings say why the new pods do not become ready; fix that.{back}"
    else:
        problem = f"{desired - available} of {desired} replicas unavailable"
        fix = (f"The pod findings say why the pods are not ready; fix that (diagnose {target}). "
               f"Check progress with rollout_status.")
    severity: Literal["error", "warning"] = "error" if stuck or ready < desired else "warning"
    return [Finding(kind=kind, name=name, problem=problem, evidence=evidence, suggested_fix=fix, severity=severity)]

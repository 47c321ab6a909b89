"""``check_health``: how a namespace, a Helm release or one workload is doing, at a glance.

Workloads ready against desired, pods not ready with their reasons, restarts, recent warning
events, Services without ready endpoints and, for a release, its Helm status; summed up as
healthy, degraded or failing in one line. ``diagnose`` explains the why.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import yaml
from pydantic import Field, model_validator

from .context import ToolContext
from .errors import Ambiguous, InvalidInput, NotFound
from .helm_engine import ReleaseInfo
from .helm_plan import ReleaseName
from .inputs import KindName, NamespaceName, ObjectName
from .podstatus import is_ready, ready, restarts
from .podstatus import reason as pod_reason
from .registry import ToolInput, ToolResult, tool
from .resolve import Resolved, require_namespace, resolve, resolve_kind
from .snapshot import (
    WORKLOAD_KINDS,
    Obj,
    Section,
    Snapshot,
    age,
    container_statuses,
    event_time,
    fit_result,
    labels_of,
    name_of,
    parse_time,
    read_snapshot,
    replica_counts,
    selector_text,
    service_selects,
    short,
)

RECENT_RESTART = timedelta(minutes=10)  # a restart this recent makes a workload degraded
EVENT_WINDOW = timedelta(hours=1)  # warning events older than this are history (as the API server's TTL)
UID = re.compile(r"\([0-9a-f]{8}-[0-9a-f-]{27}\)")
INSTANCE_LABEL = "app.kubernetes.io/instance"
Verdict = Literal["healthy", "degraded", "failing"]


class CheckHealthInput(ToolInput):
    namespace: NamespaceName | None = None
    release: ReleaseName | None = None
    kind: KindName | None = None
    name: ObjectName | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CheckHealthInput:
        if self.release and (self.name or self.kind):
            raise ValueError("give either a release or a workload (kind and name), not both")
        if self.kind and not self.name:
            raise ValueError("a kind needs a name")
        return self


class WorkloadHealth(ToolResult):
    kind: str
    name: str
    ready: str  # "1/2"
    healthy: bool
    note: str | None = None


class PodNotReady(ToolResult):
    name: str
    status: str  # kubectl's STATUS column
    ready: str
    restarts: int
    reasons: list[str] = Field(default_factory=list)


class PodRestarts(ToolResult):
    name: str
    restarts: int
    last: str | None = None  # "OOMKilled (exit 137) 2m ago"


class WarningEvent(ToolResult):
    object: str
    reason: str
    message: str
    count: int
    last_seen: str  # "3m ago"
    other_objects: int | None = None  # sibling pods with the same event (counted in count)


class ServiceGap(ToolResult):
    name: str
    selector: str
    matching_pods: int


class ReleaseState(ToolResult):
    name: str
    status: str
    revision: int
    chart: str
    app_version: str | None = None
    updated: str | None = None
    description: str | None = None


class CheckHealthResult(ToolResult):
    target: str
    verdict: Verdict
    summary: str
    release: ReleaseState | None = None
    workloads: list[WorkloadHealth] = Field(default_factory=list)
    more_workloads: str | None = None
    pods_not_ready: list[PodNotReady] = Field(default_factory=list)
    more_pods_not_ready: str | None = None
    restarts: list[PodRestarts] = Field(default_factory=list)
    more_restarts: str | None = None
    warning_events: list[WarningEvent] = Field(default_factory=list)
    more_warning_events: str | None = None
    services_without_endpoints: list[ServiceGap] = Field(default_factory=list)
    more_services: str | None = None
    unreadable: list[str] | None = None


SECTIONS = (Section("workloads", "more_workloads", "workloads", 1.0),
            Section("pods_not_ready", "more_pods_not_ready", "pods not ready", 1.5),
            Section("restarts", "more_restarts", "restarted pods", 0.5),
            Section("warning_events", "more_warning_events", "warning events", 1.5),
            Section("services_without_endpoints", "more_services", "services without endpoints", 0.5))


@dataclass
class Scope:
    """The part of a namespace a check covers (None: all of it)."""

    workloads: set[tuple[str, str]] | None = None
    services: set[str] | None = None
    extra_pods: set[str] = field(default_factory=set)


@tool(risk="read")
async def check_health(ctx: ToolContext, args: CheckHealthInput) -> CheckHealthResult:
    """Check how a namespace, a Helm release or one workload is doing: workloads ready against
    desired, pods that are not ready with their reasons, restarts, recent warning events,
    Services without ready endpoints and, for a release, its Helm status, revision and chart;
    with a verdict (healthy, degraded or failing) and a one-line summary. Use it for "is the
    app OK?", "how is the todo-app release doing?" or after a change; use diagnose to find out
    why something is failing.

    Args:
        namespace: The namespace to check; the context's namespace when omitted (for a release,
            the namespace it is installed in is found when omitted).
        release: A Helm release to check: its status and the objects it installed. Leave out
            kind and name with it.
        kind: The kind of one workload to check: deployment, statefulset or daemonset. When
            omitted with a name, the name is looked up among all three.
        name: The name of one workload to check, as the user said it ("backend" finds
            todo-backend). Omit it (and release) to check the whole namespace.
    """
    release: ReleaseInfo | None = None
    if args.release:
        release = await _find_release(ctx, args.release, args.namespace)
        namespace = release.namespace
        snap = await read_snapshot(ctx.cluster, namespace)
        scope = await _release_scope(ctx, snap, release)
        target = f"Helm release {release.name} in namespace {namespace}"
    elif args.name:
        found = await _find_workload(ctx, args.kind, args.name, args.namespace)
        namespace = found.namespace or ctx.default_namespace
        snap = await read_snapshot(ctx.cluster, namespace)
        scope = Scope(workloads={(found.kind, found.name)})
        target = f"{found.kind} {found.name} in namespace {namespace}"
    else:
        namespace = await require_namespace(ctx.cluster, args.namespace or ctx.default_namespace)
        snap = await read_snapshot(ctx.cluster, namespace)
        scope = Scope()
        target = f"namespace {namespace}"
    result = _assess(snap, scope, target, release)
    fit_result(result, ctx.budget, SECTIONS)
    return result


# --- what the check covers -----------------------------------------------------------------

async def _find_release(ctx: ToolContext, name: str, namespace: str | None) -> ReleaseInfo:
    """The release ``name``: in ``namespace`` when given, else in the context's namespace, else
    in the one namespace that has it."""
    if namespace is not None:
        return await ctx.helm.status(name, namespace)
    try:
        return await ctx.helm.status(name, ctx.default_namespace)
    except NotFound:
        pass
    every = await ctx.helm.releases(None)
    hits = [r for r in every if r.name == name]
    if len(hits) == 1:
        return await ctx.helm.status(name, hits[0].namespace)
    if hits:
        raise Ambiguous(f"release {name!r} is installed in {len(hits)} namespaces; say which",
                        [f"{r.namespace}/{r.name}" for r in hits][:20])
    close = difflib.get_close_matches(name, sorted({r.name for r in every}), n=3, cutoff=0.5)
    raise NotFound(f"no Helm release named {name!r}", [f"{r.namespace}/{r.name}" for r in every if r.name in close])


async def _find_workload(ctx: ToolContext, kind: str | None, name: str, namespace: str | None) -> Resolved:
    """The workload ``name`` means: of ``kind``, else the one Deployment, StatefulSet or DaemonSet."""
    kinds = [kind] if kind else ["deployments", "statefulsets", "daemonsets"]
    closest: list[str] = []
    for each in kinds:
        resource = await resolve_kind(ctx.cluster, each)
        if resource.kind not in WORKLOAD_KINDS:
            raise InvalidInput(f"check_health checks a deployment, statefulset or daemonset (or a namespace or a "
                               f"release), not {resource.kind}; use diagnose for other objects")
        try:
            return await resolve(ctx.cluster, resource, name, namespace, ctx.default_namespace)
        except NotFound as exc:
            if kind:
                raise
            closest += exc.suggestions
    where = f" in namespace {namespace}" if namespace else ""
    raise NotFound(f"no deployment, statefulset or daemonset named {name!r}{where}", closest[:5])


async def _release_scope(ctx: ToolContext, snap: Snapshot, release: ReleaseInfo) -> Scope:
    """The workloads, Services and pods the release installed: from its manifest, else by the
    ``app.kubernetes.io/instance`` label charts set."""
    objects: set[tuple[str, str]] = set()
    try:
        for doc in yaml.safe_load_all(await ctx.helm.manifest(release.name, release.namespace)):
            if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict) and doc["metadata"].get("name") and \
                    doc["metadata"].get("namespace", release.namespace) == release.namespace:
                objects.add((str(doc.get("kind", "")), str(doc["metadata"]["name"])))
    except (yaml.YAMLError, NotFound):
        objects = set()
    if not objects:
        labelled = [*snap.workloads, *snap.services, *snap.pods]
        objects = {(str(o.get("kind")), name_of(o)) for o in labelled
                   if labels_of(o).get(INSTANCE_LABEL) == release.name}
    return Scope(workloads={o for o in objects if o[0] in WORKLOAD_KINDS},
                 services={n for k, n in objects if k == "Service"},
                 extra_pods={n for k, n in objects if k == "Pod"})


def _covered(snap: Snapshot, scope: Scope) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """(workloads, pods, services) of the snapshot the scope covers."""
    if scope.workloads is None:
        pods = [p for p in snap.live_pods() if (p.get("status") or {}).get("phase") != "Succeeded"]
        return snap.workloads, pods, snap.services
    workloads = [w for w in snap.workloads if (w.get("kind"), name_of(w)) in scope.workloads]
    pods = [p for w in workloads for p in snap.pods_of(w)]
    pods += [p for p in snap.live_pods() if name_of(p) in scope.extra_pods and p not in pods]
    if scope.services is not None:
        services = [s for s in snap.services if name_of(s) in scope.services]
    else:  # one workload: the Services that select its pods or its pod template
        names = {name_of(p) for p in pods}
        templates = [labels_of((w.get("spec") or {}).get("template") or {}) for w in workloads]
        services = [s for s in snap.services if any(name_of(p) in names for p in snap.selected_pods(s))
                    or any(service_selects(s, t) for t in templates)]
    return workloads, pods, services


# --- the assessment ------------------------------------------------------------------------

def _assess(snap: Snapshot, scope: Scope, target: str, release: ReleaseInfo | None) -> CheckHealthResult:
    workloads, pods, services = _covered(snap, scope)
    failing: list[str] = []
    degraded: list[str] = []
    rows = []
    for workload in workloads:
        ready_count, desired = replica_counts(workload)
        note, serious = _workload_note(workload)
        healthy = ready_count >= desired and not serious
        rows.append(WorkloadHealth(kind=str(workload.get("kind")), name=name_of(workload),
                                   ready=f"{ready_count}/{desired}", healthy=healthy, note=note))
        if desired > 0 and ready_count == 0:
            failing.append(f"{name_of(workload)} {ready_count}/{desired} ready")
        elif not healthy:
            degraded.append(f"{name_of(workload)} {ready_count}/{desired} ready" + (f" ({note})" if note else ""))
    rows.sort(key=lambda r: r.healthy)
    unready = [p for p in pods if not is_ready(p)]
    if unready:
        states: dict[str, int] = {}
        for pod in unready:
            states[pod_reason(pod)] = states.get(pod_reason(pod), 0) + 1
        text = f"{len(unready)} pod{'s' if len(unready) > 1 else ''} not ready (" + ", ".join(
            f"{s} ×{n}" for s, n in sorted(states.items(), key=lambda x: -x[1])) + ")"
        (failing if not workloads and len(unready) == len(pods) else degraded).append(text)
    restarted = sorted((p for p in pods if restarts(p) > 0), key=lambda p: -restarts(p))
    epoch = datetime.min.replace(tzinfo=UTC)
    recent = [p for p in restarted if snap.now - (_last_restart(p) or epoch) < RECENT_RESTART]
    if recent:
        degraded.append(f"{len(recent)} pod{'s' if len(recent) > 1 else ''} restarted in the last 10 minutes")
    gaps = []
    for service in services:
        selector = (service.get("spec") or {}).get("selector") or {}
        if selector and (service.get("spec") or {}).get("type") != "ExternalName" and \
                snap.ready_endpoints(name_of(service)) == 0:
            gaps.append(ServiceGap(name=name_of(service), selector=selector_text(selector),
                                   matching_pods=len(snap.selected_pods(service))))
    if gaps:
        degraded.append("no endpoints: " + ", ".join(g.name for g in gaps))
    state = None
    if release is not None:
        state = ReleaseState(name=release.name, status=release.status, revision=release.revision,
                             chart=release.chart, app_version=release.app_version or None, updated=release.updated,
                             description=release.description)
        words = f"release {release.name} revision {release.revision} {release.status}"
        if release.status == "failed":
            failing.insert(0, words)
        elif release.status != "deployed":
            degraded.insert(0, words)
    events = _events(snap, workloads, pods, services, everything=scope.workloads is None)
    verdict: Verdict = "failing" if failing else "degraded" if degraded else "healthy"
    if verdict == "healthy":
        good = [f"{len(workloads)}/{len(workloads)} workloads ready", f"{len(pods)} pods ready",
                f"{len(services)} services with endpoints"]
        if release is not None:
            good.insert(0, f"release {release.name} revision {release.revision} deployed")
        if events:
            good.append(f"{len(events)} warning events in the last hour")
        summary = "healthy: " + ", ".join(good)
    else:
        summary = f"{verdict}: " + "; ".join([*failing, *degraded])
    return CheckHealthResult(
        target=target, verdict=verdict, summary=short(summary, 400), release=state, workloads=rows,
        pods_not_ready=[_pod_row(p) for p in unready],
        restarts=[PodRestarts(name=name_of(p), restarts=restarts(p), last=_last_exit(p, snap)) for p in restarted],
        warning_events=events, services_without_endpoints=gaps, unreadable=snap.unreadable or None)


def _workload_note(workload: Obj) -> tuple[str | None, bool]:
    """What a workload's status says beyond its counts, and whether that makes it unhealthy."""
    status = workload.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return "rollout stuck: progress deadline exceeded", True
        if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
            return f"replica failure: {short(cond.get('message', ''), 120)}", True
    if (workload.get("spec") or {}).get("paused"):
        return "rollout paused", False
    return None, False


def _pod_row(pod: Obj) -> PodNotReady:
    status = pod.get("status") or {}
    reasons = []
    if status.get("reason") or status.get("message"):
        reasons.append(short(f"{status.get('reason', '')}: {status.get('message', '')}".strip(": "), 200))
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            reasons.append(short(f"{cond.get('reason', 'Unschedulable')}: {cond.get('message', '')}", 200))
    for cs in container_statuses(pod):
        state, name = cs.get("state") or {}, cs.get("name")
        waiting, ended = state.get("waiting") or {}, state.get("terminated") or {}
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if waiting.get("reason"):
            said = waiting.get("message") if waiting["reason"] != "CrashLoopBackOff" else ""  # that one says nothing
            reasons.append(short(f"{name}: {waiting['reason']}" + (f": {said}" if said else ""), 200))
        elif ended:
            reasons.append(f"{name}: terminated {ended.get('reason', '')} (exit {ended.get('exitCode')})")
        elif state.get("running") and not cs.get("ready"):
            reasons.append(f"{name}: running, not ready")
        if last and not ended:
            reasons.append(f"{name}: last terminated {last.get('reason', '')} (exit {last.get('exitCode')})")
    done, total = ready(pod)
    return PodNotReady(name=name_of(pod), status=pod_reason(pod), ready=f"{done}/{total}", restarts=restarts(pod),
                       reasons=reasons[:6])


def _last_restart(pod: Obj) -> datetime | None:
    times = [parse_time(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
             for cs in container_statuses(pod)]
    return max((t for t in times if t), default=None)


def _last_exit(pod: Obj, snap: Snapshot) -> str | None:
    for cs in container_statuses(pod):
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if last:
            when = age(parse_time(last.get("finishedAt")), snap.now)
            return f"{cs.get('name')}: {last.get('reason', 'Error')} (exit {last.get('exitCode')}) {when} ago"
    return None


def _events(snap: Snapshot, workloads: list[Obj], pods: list[Obj], services: list[Obj],
            everything: bool) -> list[WarningEvent]:
    """Warning events of the last hour about objects in the check (``everything``: any object of
    the namespace) that still exist."""
    names: dict[str, set[str]] = {"Pod": {name_of(p) for p in pods}, "Service": {name_of(s) for s in services}}
    for workload in workloads:
        names.setdefault(str(workload.get("kind")), set()).add(name_of(workload))
    owners = {(str(w.get("kind")), name_of(w)) for w in workloads}
    names["ReplicaSet"] = {name_of(r) for r in snap.replicasets if snap.owner(r) in owners}
    names["HorizontalPodAutoscaler"] = {name_of(h) for h in snap.hpas if (
        str(((h.get("spec") or {}).get("scaleTargetRef") or {}).get("kind")),
        str(((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name"))) in owners}
    owners_of = {name_of(p): snap.owner(p) for p in pods}
    out: dict[tuple[str, ...], WarningEvent] = {}
    for event in snap.warnings:
        involved = event.get("involvedObject") or {}
        when = event_time(event)
        if when is None or snap.now - when > EVENT_WINDOW:
            continue
        kind, name = str(involved.get("kind")), str(involved.get("name"))
        if name not in names.get(kind, set()) and not (everything and kind not in names):
            continue
        # the same event of sibling pods (one workload's replicas) is shown once
        owner = owners_of.get(name) if kind == "Pod" else None
        message = str(event.get("message", ""))
        same = re.sub(UID, "", message.replace(name, "<pod>")) if owner else message
        key = (kind, "/".join(owner) if owner else name, str(event.get("reason", "")), same)
        count = int(event.get("count", 1) or 1)
        if key in out:
            seen = out[key]
            seen.count += count
            seen.other_objects = (seen.other_objects or 0) + 1
            continue
        out[key] = WarningEvent(object=f"{kind}/{name}", reason=str(event.get("reason", "")),
                                message=short(message, 300), count=count, last_seen=f"{age(when, snap.now)} ago")
    return list(out.values())

"""The generic read tools: namespaces, lists of any served kind, one object (a summary or
its YAML) and a describe with conditions, containers and recent events.

Every result fits the context's token budget: long lists keep their leading rows and say
how many were left out ("… 412 more pods"), big objects are cut with a note. A Secret's
values are replaced by their length before anything is summarised or rendered.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel

from .budget import count_tokens, fit_items, more_note, render, truncate
from .cluster import ApiResource
from .context import ToolContext
from .errors import InvalidInput
from .inputs import KindName, NamespaceName, ObjectName, Selector
from .redact import redact_object
from .registry import ToolInput, ToolResult, tool
from .resolve import Resolved, require_namespace, resolve, resolve_kind
from .rows import (
    WORKLOAD_KINDS,
    Condition,
    ContainerInfo,
    EventRow,
    Row,
    conditions,
    container_infos,
    event_row,
    job_status,
    meta,
    owners,
    row,
    selector_string,
    spec,
    status,
    status_counts,
)

Obj = dict[str, Any]
R = TypeVar("R", bound=BaseModel)
T = TypeVar("T", bound=ToolResult)
LIST_LIMIT = 5000  # objects fetched per list; the total still comes from the server's count


# --- bounding --------------------------------------------------------------------------

def row_cost(item: BaseModel) -> str:
    """What one row costs inside a rendered list."""
    return render([item.model_dump(mode="json", exclude_none=True)])


def fits(result: ToolResult, budget: int) -> bool:
    return count_tokens(render(result)) <= budget


def fit_rows(rows: list[R], budget: int, make: Callable[[list[R], int], T]) -> T:
    """``make(kept, left_out)`` with the most leading ``rows`` whose rendering fits ``budget``."""
    kept, _ = fit_items(rows, budget - count_tokens(render(make([], len(rows)))) - 8, row_cost)
    result = make(kept, len(rows) - len(kept))
    while kept and not fits(result, budget):
        kept = kept[: len(kept) - max(1, len(kept) // 10)]
        result = make(kept, len(rows) - len(kept))
    return result


def cap(value: Any, items: int, chars: int = 300) -> Any:
    """``value`` with every list and mapping in it cut to ``items`` entries, strings to ``chars``."""
    if isinstance(value, str):
        return value if len(value) <= chars else value[: chars - 1] + "…"
    if isinstance(value, list):
        out = [cap(v, items, chars) for v in value[:items]]
        return out + ([f"… {len(value) - items} more"] if len(value) > items else [])
    if isinstance(value, dict):
        kept = {k: cap(v, items, chars) for k, v in list(value.items())[:items]}
        if len(value) > items:
            kept["…"] = f"{len(value) - items} more"
        return kept
    return value


def first_fitting(candidates: Iterator[T], budget: int) -> T:
    """The first candidate (from the fullest to the most compact) that fits ``budget``."""
    last: T | None = None
    for last in candidates:
        if fits(last, budget):
            break
    assert last is not None, "no candidate"
    return last


# --- facts: the key spec/status of one object ------------------------------------------

def _replica_facts(obj: Obj) -> Obj:
    sp, st = spec(obj), status(obj)
    out: Obj = {"replicas": f"desired {sp.get('replicas', 1)}, updated {st.get('updatedReplicas', 0) or 0}, "
                            f"ready {st.get('readyReplicas', 0) or 0}, available {st.get('availableReplicas', 0) or 0}",
                "selector": selector_string(sp.get("selector"))}
    strategy = sp.get("strategy") or sp.get("updateStrategy") or {}
    if strategy:
        rolling = ", ".join(f"{k} {v}" for k, v in (strategy.get("rollingUpdate") or {}).items())
        out["strategy"] = str(strategy.get("type", "")) + (f" ({rolling})" if rolling else "")
    return out


def _service_port(p: Obj) -> str:
    text = f"{p.get('name', '')} {p.get('port')}→{p.get('targetPort', p.get('port'))}/{p.get('protocol', 'TCP')}"
    return text.strip() + (f" node {p['nodePort']}" if p.get("nodePort") else "")


def facts(kind: str, obj: Obj) -> Obj:
    """The key spec and status facts of ``obj``; a Secret's values appear only as their length."""
    values = [v for key in ("data", "stringData") for v in (obj.get(key) or {}).values()]
    if kind == "Secret" and not all(str(v).startswith("<redacted") for v in values):
        obj = redact_object({**obj, "kind": kind})
    md, sp, st = meta(obj), spec(obj), status(obj)
    out: Obj = {"labels": md.get("labels"), "owners": owners(obj)}
    if kind == "Pod":
        out |= {"ip": st.get("podIP"), "node": sp.get("nodeName"), "qos": st.get("qosClass"),
                "containers": {c.name: f"{c.image}, {c.state or 'no state yet'}, {c.restarts or 0} restarts"
                               for c in container_infos(obj)}}
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        out |= _replica_facts(obj)
    elif kind == "DaemonSet":
        out |= {"scheduled": f"desired {st.get('desiredNumberScheduled', 0)}, ready {st.get('numberReady', 0)}, "
                             f"available {st.get('numberAvailable', 0)}",
                "selector": selector_string(sp.get("selector"))}
    elif kind == "Job":
        out |= {"status": job_status(obj), "completions": sp.get("completions"), "parallelism": sp.get("parallelism"),
                "backoff_limit": sp.get("backoffLimit"), "active": st.get("active"),
                "succeeded": st.get("succeeded"), "failed": st.get("failed")}
    elif kind == "CronJob":
        out |= {"schedule": sp.get("schedule"), "suspend": bool(sp.get("suspend")),
                "last_schedule": st.get("lastScheduleTime"), "active": len(st.get("active") or [])}
    elif kind == "Service":
        out |= {"type": sp.get("type", "ClusterIP"), "cluster_ip": sp.get("clusterIP"),
                "selector": selector_string(sp.get("selector")) or "<none>",
                "ports": [_service_port(p) for p in sp.get("ports") or []]}
    elif kind in ("ConfigMap", "Secret"):
        out["type"] = obj.get("type")
        data = {**(obj.get("stringData") or {}), **(obj.get("data") or {})}  # redacted: lengths only
        out["keys"] = {k: v if kind == "Secret" else f"{len(str(v).encode())} bytes" for k, v in data.items()}
    elif kind == "Node":
        info = st.get("nodeInfo") or {}
        out |= {"addresses": {a.get("type"): a.get("address") for a in st.get("addresses") or []},
                "capacity": st.get("capacity"), "allocatable": st.get("allocatable"),
                "unschedulable": bool(sp.get("unschedulable")),
                "taints": [f"{t.get('key')}={t.get('value', '')}:{t.get('effect')}" for t in sp.get("taints") or []],
                "kubelet": info.get("kubeletVersion"), "os": info.get("osImage")}
    elif kind == "HorizontalPodAutoscaler":
        ref = sp.get("scaleTargetRef") or {}
        out |= {"target": f"{ref.get('kind')}/{ref.get('name')}", "min": sp.get("minReplicas", 1),
                "max": sp.get("maxReplicas"), "current": st.get("currentReplicas"),
                "desired": st.get("desiredReplicas")}
    elif kind in ("Namespace", "PersistentVolumeClaim", "PersistentVolume"):
        out |= {"phase": st.get("phase"), "capacity": (st.get("capacity") or sp.get("capacity") or {}).get("storage"),
                "access_modes": sp.get("accessModes"), "class": sp.get("storageClassName"),
                "volume": sp.get("volumeName")}
    else:  # any other kind: its scalar spec and status fields
        out |= {f"spec.{k}": v for k, v in sp.items() if isinstance(v, (str, int, float, bool))}
        out |= {f"status.{k}": v for k, v in st.items() if isinstance(v, (str, int, float, bool))}
    if kind in WORKLOAD_KINDS:
        out["containers"] = {c.name: c.image for c in container_infos(obj)}
    return {k: v for k, v in out.items() if v not in (None, "", [], {})}


# --- namespaces and lists --------------------------------------------------------------

async def list_objects(ctx: ToolContext, path: str, selector: str | None) -> tuple[list[Obj], int, str]:
    """Up to :data:`LIST_LIMIT` objects, how many there are in all, and a note when the
    server could not count those beyond the limit (it does not with a selector)."""
    doc = await ctx.cluster.get(path, labelSelector=selector, limit=LIST_LIMIT)
    items: list[Obj] = doc.get("items") or []
    listed = doc.get("metadata") or {}
    total = len(items) + int(listed.get("remainingItemCount") or 0)
    uncounted = bool(listed.get("continue")) and not listed.get("remainingItemCount")
    return items, total, f" (and more beyond the first {LIST_LIMIT})" if uncounted else ""


class NamespacesInput(ToolInput):
    label_selector: Selector | None = None


class NamespaceList(ToolResult):
    total: int
    namespaces: list[Row]
    more: str | None = None


@tool(risk="read")
async def list_namespaces(ctx: ToolContext, args: NamespacesInput) -> NamespaceList:
    """List the cluster's namespaces with their status (Active, Terminating) and age. Use it to
    see what namespaces exist before reading or changing anything in one.

    Args:
        label_selector: Only namespaces with these labels, e.g. "team=web" or "env in (prod,staging)".
    """
    items, total, beyond = await list_objects(ctx, "/api/v1/namespaces", args.label_selector)
    now = dt.datetime.now(dt.UTC)
    rows = [row("Namespace", i, now=now) for i in items]
    return fit_rows(rows, ctx.budget, lambda kept, left: NamespaceList(
        total=total, namespaces=kept, more=more_note(total - len(kept), "namespaces" + beyond)))


class ListInput(ToolInput):
    kind: KindName
    namespace: NamespaceName | None = None
    all_namespaces: bool = False
    label_selector: Selector | None = None


class ResourceList(ToolResult):
    kind: str
    scope: str
    total: int
    by_status: dict[str, int] | None = None
    items: list[Row]
    more: str | None = None


@tool(risk="read")
async def list_resources(ctx: ToolContext, args: ListInput) -> ResourceList:
    """List objects of any kind the cluster serves, one compact row each as kubectl get shows
    them: pods with ready containers, status, restarts and node; deployments with ready/desired,
    up-to-date, available and images; services with type, cluster IP and ports; every kind with
    its age. Long lists keep their first rows and say how many more there are.

    Args:
        kind: The kind as people write it: pods, po, deploy, svc, sts, ds, rs, job, cm, secret, hpa, ingress,
            nodes, ... (any kind the cluster serves, custom resources included).
        namespace: Namespace to list; defaults to the context's namespace (ignored with all_namespaces and for
            cluster-wide kinds like nodes).
        all_namespaces: List the kind across every namespace.
        label_selector: Only objects with these labels, e.g. "app=todo-backend" or "tier in (web,api),!canary".
    """
    res = await resolve_kind(ctx.cluster, args.kind)
    if "list" not in res.verbs:
        raise InvalidInput(f"{res.plural} cannot be listed")
    namespace: str | None = None
    if res.namespaced and not args.all_namespaces:
        namespace = await require_namespace(ctx.cluster, args.namespace or ctx.default_namespace)
    items, total, beyond = await list_objects(ctx, res.path(namespace), args.label_selector)
    now = dt.datetime.now(dt.UTC)
    rows = [row(res.kind, i, with_namespace=res.namespaced and namespace is None, now=now) for i in items]
    scope = f"namespace {namespace}" if namespace else ("all namespaces" if res.namespaced else "cluster")
    if args.label_selector:
        scope += f", labels {args.label_selector}"
    counts = status_counts(res.kind, items) if len(items) > 1 else None
    return fit_rows(rows, ctx.budget, lambda kept, left: ResourceList(
        kind=res.kind, scope=scope, total=total, by_status=counts, items=kept,
        more=more_note(total - len(kept), res.plural + beyond)))


# --- one object ------------------------------------------------------------------------

class GetInput(ToolInput):
    kind: KindName
    name: ObjectName
    namespace: NamespaceName | None = None
    output: Literal["summary", "yaml"] = "summary"


class ResourceView(ToolResult):
    kind: str
    name: str
    namespace: str | None = None
    row: Row
    facts: dict[str, Any] | None = None
    yaml: str | None = None
    more: str | None = None


async def _one(ctx: ToolContext, kind: str, name: str, namespace: str | None) -> tuple[Resolved, Obj]:
    """The object ``name`` means, whole (kind and apiVersion set, managedFields dropped)."""
    found = await resolve(ctx.cluster, kind, name, namespace, ctx.default_namespace)
    res: ApiResource = found.resource
    obj = {"apiVersion": res.api_version, "kind": res.kind, **found.obj}
    obj["metadata"] = {k: v for k, v in meta(obj).items() if k != "managedFields"}
    return found, redact_object(obj)


@tool(risk="read")
async def get_resource(ctx: ToolContext, args: GetInput) -> ResourceView:
    """Show one object: a summary (its row plus key spec and status facts: replicas, selector,
    images, ports, conditions that are not healthy…) or its full YAML. Names are resolved:
    "backend" finds Deployment todo-backend. A Secret's values are shown only as their length.

    Args:
        kind: The object's kind as people write it (deploy, pod, svc, cm, secret, node, ...).
        name: The object's name, or the distinctive part of it ("backend" for todo-backend).
        namespace: Namespace to look in; by default the context's namespace, else the one namespace holding the name.
        output: "summary" (compact facts, the default) or "yaml" (the whole object, cut to the budget).
    """
    found, obj = await _one(ctx, args.kind, args.name, args.namespace)
    kind = found.resource.kind

    def view(**extra: Any) -> ResourceView:
        return ResourceView(kind=kind, name=found.name, namespace=found.namespace, row=row(kind, obj), **extra)

    if args.output == "yaml":
        text = yaml.safe_dump(obj, sort_keys=False, width=200, allow_unicode=True)

        def cut(room: int) -> ResourceView:
            kept = truncate(text, room)
            return view(yaml=kept, more=None if kept == text else "the YAML was cut to fit the budget")

        room = ctx.budget - count_tokens(render(view(more="the YAML was cut to fit the budget"))) - 24
        result = cut(max(room, 0))
        while not fits(result, ctx.budget) and room > 0:
            room = max(room - (count_tokens(render(result)) - ctx.budget) - 8, 0)
            result = cut(room)
        return result
    full = facts(kind, obj)
    found_bad = [c.model_dump(exclude_none=True) for c in conditions(obj, only_bad=True)]
    if found_bad:
        full["conditions_not_healthy"] = found_bad

    def candidates() -> Iterator[ResourceView]:
        yield view(facts=full)
        for n in (20, 8, 3, 1):
            yield view(facts=cap(full, n, 160), more="some facts were cut to fit the budget")
        yield view(more="facts left out to fit the budget")

    return first_fitting(candidates(), ctx.budget)


# --- describe --------------------------------------------------------------------------

class DescribeInput(ToolInput):
    kind: KindName
    name: ObjectName
    namespace: NamespaceName | None = None


class Description(ToolResult):
    kind: str
    name: str
    namespace: str | None = None
    row: Row
    facts: dict[str, Any]
    conditions: list[Condition] | None = None
    containers: list[ContainerInfo] | None = None
    events: list[EventRow]
    more: str | None = None


@tool(risk="read")
async def describe_resource(ctx: ToolContext, args: DescribeInput) -> Description:
    """Describe one object in depth, as kubectl describe does: its status and conditions, who owns
    it, for a pod each container's state, restarts and last termination (exit code, OOMKilled),
    for a workload its replicas, selector, images and update strategy, and the recent events
    about it (newest first). Use it to find out why something is not working.

    Args:
        kind: The object's kind as people write it (deploy, pod, svc, sts, job, node, ...).
        name: The object's name, or the distinctive part of it ("backend" for todo-backend).
        namespace: Namespace to look in; by default the context's namespace, else the one namespace holding the name.
    """
    from .events import fetch_events

    found, obj = await _one(ctx, args.kind, args.name, args.namespace)
    kind = found.resource.kind
    now = dt.datetime.now(dt.UTC)
    events = [event_row(e, with_object=False, now=now) for e in await fetch_events(ctx, found.namespace, about=found)]
    full = facts(kind, obj)
    conds = conditions(obj) or None
    containers = container_infos(obj) if kind == "Pod" or kind in WORKLOAD_KINDS else None

    def make(kept: list[EventRow], left: int, level: int | None) -> Description:
        notes = [more_note(left, "events") or ""]
        if level is not None:
            notes.append("details were cut to fit the budget")
        return Description(
            kind=kind, name=found.name, namespace=found.namespace, row=row(kind, obj),
            facts=full if level is None else cap(full, level, 160) if level else {},
            conditions=conds if level is None else (conds or [])[:level] or None,
            containers=containers if level is None else (containers or [])[:level] or None,
            events=kept, more="; ".join(n for n in notes if n) or None)

    def candidates() -> Iterator[Description]:
        for level in (None, 10, 4, 1, 0):
            yield fit_rows(events, ctx.budget, functools.partial(make, level=level))

    return first_fitting(candidates(), ctx.budget)

"""What a namespace holds and how it is doing, read once (:class:`Snapshot`), and the helpers
the two analysis tools share: label selectors, owners, events, quantities, ages, and fitting
a result with several lists into the token budget.

``check_health`` (tools/health.py) summarises a snapshot; ``diagnose`` (tools/diagnose.py,
with the pod analyzers in tools/analyzers.py) explains what is wrong in it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from .budget import count_tokens, fit_items, more_note, render
from .cluster import Cluster
from .errors import Forbidden, NotFound
from .registry import ToolResult

Obj = dict[str, Any]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
_LISTS: dict[str, tuple[str, str]] = {  # what to read: kind -> (path under the namespace, kind of its items)
    "pods": ("/api/v1/namespaces/{ns}/pods", "Pod"),
    "deployments": ("/apis/apps/v1/namespaces/{ns}/deployments", "Deployment"),
    "statefulsets": ("/apis/apps/v1/namespaces/{ns}/statefulsets", "StatefulSet"),
    "daemonsets": ("/apis/apps/v1/namespaces/{ns}/daemonsets", "DaemonSet"),
    "replicasets": ("/apis/apps/v1/namespaces/{ns}/replicasets", "ReplicaSet"),
    "services": ("/api/v1/namespaces/{ns}/services", "Service"),
    "endpointslices": ("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices", "EndpointSlice"),
    "endpoints": ("/api/v1/namespaces/{ns}/endpoints", "Endpoints"),
    "hpas": ("/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", "HorizontalPodAutoscaler"),
    "warnings": ("/api/v1/namespaces/{ns}/events", "Event"),
}
MAX_EVENTS = 500


# --- small helpers -----------------------------------------------------------------------

def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(then: datetime | None, now: datetime) -> str:
    """``"3m"``, as kubectl's AGE column (``"?"`` when unknown)."""
    if then is None:
        return "?"
    seconds = max(int((now - then).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def short(text: Any, limit: int = 240) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def labels_of(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels, matchExpressions) against ``labels``; an empty or missing
    selector matches nothing (as a workload's or a Service's does)."""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values) or (
                op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def service_selects(service: Obj, labels: dict[str, str]) -> bool:
    """Whether Service ``service``'s selector picks pods labelled ``labels``."""
    selector = (service.get("spec") or {}).get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selector_text(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


_QUANTITY = re.compile(r"^([0-9.]+)([A-Za-z]*)$")
_FACTORS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
            "Ti": 2**40, "m": 10**-3}


def quantity_bytes(value: Any) -> float | None:
    match = _QUANTITY.match(str(value or "").strip())
    if not match or match.group(2) not in _FACTORS:
        return None
    return float(match.group(1)) * _FACTORS[match.group(2)]


def memory_text(size: float) -> str:
    """A byte count as a memory quantity: ``128Mi``."""
    for unit in ("Gi", "Mi", "Ki"):
        if size >= _FACTORS[unit] and size % _FACTORS[unit] == 0:
            return f"{int(size // _FACTORS[unit])}{unit}"
    return f"{int(size // _FACTORS['Mi']) + 1}Mi" if size > _FACTORS["Mi"] else f"{int(size)}"


def container_spec(pod: Obj, name: str) -> Obj:
    spec = pod.get("spec") or {}
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if c.get("name") == name:
                return dict(c)
    return {}


def container_statuses(pod: Obj) -> list[Obj]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


# --- the snapshot ------------------------------------------------------------------------

@dataclass
class Snapshot:
    """What one namespace holds now. Lists the reader may not read are empty, and named in
    ``unreadable``."""

    namespace: str
    pods: list[Obj] = field(default_factory=list)
    workloads: list[Obj] = field(default_factory=list)  # Deployments, StatefulSets, DaemonSets
    replicasets: list[Obj] = field(default_factory=list)
    services: list[Obj] = field(default_factory=list)
    endpointslices: list[Obj] = field(default_factory=list)
    endpoints: list[Obj] = field(default_factory=list)
    hpas: list[Obj] = field(default_factory=list)
    warnings: list[Obj] = field(default_factory=list)  # Warning events, newest first
    unreadable: list[str] = field(default_factory=list)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _rs_owners: dict[str, tuple[str, str]] | None = field(default=None, repr=False)
    _events: dict[tuple[str, str], list[Obj]] | None = field(default=None, repr=False)

    def live_pods(self) -> list[Obj]:
        return [p for p in self.pods if not (p.get("metadata") or {}).get("deletionTimestamp")]

    def workload(self, kind: str, name: str) -> Obj | None:
        return next((w for w in self.workloads if w.get("kind") == kind and name_of(w) == name), None)

    def owner(self, obj: Obj) -> tuple[str, str] | None:
        """The top controller of ``obj``: a pod's ReplicaSet's Deployment, else its controller."""
        refs = (obj.get("metadata") or {}).get("ownerReferences") or []
        ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if ref is None:
            return None
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        if kind == "ReplicaSet":
            if self._rs_owners is None:  # one pass over the ReplicaSets, not one per question
                self._rs_owners = {}
                for rs in self.replicasets:
                    up = self.owner(rs)
                    if up is not None:
                        self._rs_owners[name_of(rs)] = up
            return self._rs_owners.get(name, (kind, name))
        return kind, name

    def pods_of(self, workload: Obj) -> list[Obj]:
        """The pods ``workload`` controls (by owner, else by its selector)."""
        key = (workload.get("kind"), name_of(workload))
        selector = (workload.get("spec") or {}).get("selector")
        return [p for p in self.live_pods() if self.owner(p) == key
                or (self.owner(p) is None and selector_matches(selector, labels_of(p)))]

    def replicasets_of(self, deployment: Obj) -> list[Obj]:
        """The Deployment's ReplicaSets, newest revision first."""
        mine = [r for r in self.replicasets if self.owner(r) == ("Deployment", name_of(deployment))]
        return sorted(mine, key=lambda r: -int(((r.get("metadata") or {}).get("annotations") or {}).get(
            "deployment.kubernetes.io/revision", "0") or 0))

    def selected_pods(self, service: Obj) -> list[Obj]:
        selector = (service.get("spec") or {}).get("selector") or {}
        return [p for p in self.live_pods() if selector_matches({"matchLabels": selector}, labels_of(p))]

    def ready_endpoints(self, service: str) -> int:
        """Ready addresses behind Service ``service`` (EndpointSlices, else Endpoints)."""
        slices = [s for s in self.endpointslices
                  if labels_of(s).get("kubernetes.io/service-name") == service]
        if slices or not self.endpoints:
            return sum(len(e.get("addresses") or []) for s in slices for e in s.get("endpoints") or []
                       if (e.get("conditions") or {}).get("ready") is not False)
        doc = next((e for e in self.endpoints if name_of(e) == service), {})
        return sum(len(s.get("addresses") or []) for s in doc.get("subsets") or [])

    def events_for(self, kind: str, name: str, reason: str | None = None) -> list[Obj]:
        """Warning events about ``kind/name``, newest first."""
        if self._events is None:
            self._events = {}
            for event in self.warnings:
                involved = event.get("involvedObject") or {}
                self._events.setdefault((str(involved.get("kind")), str(involved.get("name"))), []).append(event)
        return [e for e in self._events.get((kind, name), []) if reason is None or e.get("reason") == reason]


def event_time(event: Obj) -> datetime | None:
    return parse_time(event.get("lastTimestamp") or event.get("eventTime") or
                      (event.get("metadata") or {}).get("creationTimestamp"))


async def _items(cluster: Cluster, what: str, namespace: str, unreadable: list[str]) -> list[Obj]:
    path, kind = _LISTS[what]
    query: dict[str, Any] = {"fieldSelector": "type=Warning", "limit": MAX_EVENTS} if what == "warnings" else {}
    try:
        doc = await cluster.get(path.format(ns=namespace), **query)
    except NotFound:
        return []  # not served by this cluster (an older API group)
    except Forbidden:
        unreadable.append(what)
        return []
    items = list(doc.get("items") or [])
    for item in items:
        item.setdefault("kind", kind)
    return items


async def read_snapshot(cluster: Cluster, namespace: str) -> Snapshot:
    """Everything the analysis tools look at in ``namespace``, read concurrently."""
    snap = Snapshot(namespace)
    names = list(_LISTS)
    found = await asyncio.gather(*(_items(cluster, what, namespace, snap.unreadable) for what in names))
    lists = dict(zip(names, found, strict=True))
    snap.pods = lists["pods"]
    snap.workloads = [*lists["deployments"], *lists["statefulsets"], *lists["daemonsets"]]
    snap.replicasets, snap.services, snap.hpas = lists["replicasets"], lists["services"], lists["hpas"]
    snap.endpointslices, snap.endpoints = lists["endpointslices"], lists["endpoints"]
    epoch = datetime.min.replace(tzinfo=UTC)
    snap.warnings = sorted(lists["warnings"], key=lambda e: event_time(e) or epoch, reverse=True)
    return snap


# --- workload status ---------------------------------------------------------------------

def replica_counts(workload: Obj) -> tuple[int, int]:
    """(ready, desired) of a Deployment, StatefulSet or DaemonSet, as kubectl shows them."""
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    if workload.get("kind") == "DaemonSet":
        return int(status.get("numberReady", 0)), int(status.get("desiredNumberScheduled", 0))
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    return int(status.get("readyReplicas", 0) or 0), desired


# --- bounded results ---------------------------------------------------------------------

@dataclass(frozen=True)
class Section:
    """A list field of a result, the field holding its "… N more" note, and its noun."""

    items: str
    note: str
    noun: str
    weight: float = 1.0


def fit_result(result: ToolResult, budget: int, sections: Sequence[Section]) -> None:
    """Cut the list fields of ``result`` (in place) so its rendering fits ``budget`` tokens,
    each list getting a share of what the rest leaves, and say what was left out."""
    full: dict[str, list[Any]] = {s.items: list(getattr(result, s.items)) for s in sections}
    for s in sections:
        setattr(result, s.items, [])
    base = count_tokens(render(result)) + 20 * len(sections)
    room = max(budget - base, 0)
    total = sum(s.weight for s in sections if full[s.items]) or 1.0
    spare = 0
    for s in sorted(sections, key=lambda s: len(full[s.items])):  # short lists first: they hand on their spare
        share = int(room * s.weight / total) + spare
        kept, left = fit_items(full[s.items], share, cost=_cost)
        used = sum(count_tokens(_cost(i)) + 1 for i in kept)
        spare = max(share - used, 0)
        setattr(result, s.items, kept)
        setattr(result, s.note, more_note(left, s.noun))
    while count_tokens(render(result)) > budget:  # what the shares could not foresee
        longest = max(sections, key=lambda s: len(getattr(result, s.items)))
        items = getattr(result, longest.items)
        if not items:
            break
        items.pop()
        setattr(result, longest.note, more_note(len(full[longest.items]) - len(items), longest.noun))


def _cost(item: Any) -> str:
    return render([item.model_dump(mode="json", exclude_none=True) if isinstance(item, BaseModel) else item])

"""The scheduler: binds each pending pod to a node that fits it, or says why none does,
as kube-scheduler words it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .. import objects, timefmt
from ..registry import WriteOptions
from ..store import Change
from ..validation_quantity import parse_quantity
from .base import Controller, Key
from .events import Recorder
from .kinds import PODS

Obj = dict[str, Any]
SCHEDULER = "default-scheduler"


def requests_of(pod: Obj) -> dict[str, Fraction]:
    """What a pod asks for: the larger of its containers' sum and any init container."""
    spec = pod.get("spec") or {}
    total: dict[str, Fraction] = {"cpu": Fraction(0), "memory": Fraction(0)}
    for c in spec.get("containers") or []:
        for name, value in ((c.get("resources") or {}).get("requests") or {}).items():
            total[name] = total.get(name, Fraction(0)) + (parse_quantity(value) or Fraction(0))
    for c in spec.get("initContainers") or []:
        for name, value in ((c.get("resources") or {}).get("requests") or {}).items():
            total[name] = max(total.get(name, Fraction(0)), parse_quantity(value) or Fraction(0))
    return total


def _tolerates(pod: Obj, taint: Obj) -> bool:
    for tol in (pod.get("spec") or {}).get("tolerations") or []:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol.get("key") == taint.get("key")):
            return True
        if tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _expression_matches(expr: Obj, labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _affinity_matches(pod: Obj, node: Obj) -> bool:
    required = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return True
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}

    def term_matches(term: Obj) -> bool:
        expressions, matched = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not expressions and not matched:
            return False  # an empty term matches no node
        return all(_expression_matches(e, labels) for e in expressions) and \
            all(_expression_matches(f, fields) for f in matched)

    return any(term_matches(t) for t in required.get("nodeSelectorTerms") or [])


@dataclass
class Usage:
    pods: int = 0
    requests: dict[str, Fraction] = field(default_factory=dict)


class Scheduler(Controller):
    watches = ("pods", "nodes")
    primary = "pods"
    resync = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = Recorder(self.registry)
        # What is placed where, kept up to date from pod changes: uid -> (node, requests).
        self._placed: dict[str, tuple[str, dict[str, Fraction]]] = {}
        self._usage: dict[str, Usage] = {}
        for pod in self.store.list("pods"):
            self._track(pod)

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == "nodes":  # a node appeared or changed: try the pending pods again
            return [(p["metadata"].get("namespace", ""), p["metadata"]["name"])
                    for p in self.store.list("pods") if not (p.get("spec") or {}).get("nodeName")]
        self._track(change.obj, gone=change.type == "DELETED")
        return list(super().keys_for(change))

    def _track(self, pod: Obj, *, gone: bool = False) -> None:
        """Account for a pod's place and requests (finished or deleted pods free theirs)."""
        uid = str(pod["metadata"].get("uid", ""))
        old = self._placed.pop(uid, None)
        if old is not None:
            entry = self._usage[old[0]]
            entry.pods -= 1
            for resource, amount in old[1].items():
                entry.requests[resource] -= amount
        node = (pod.get("spec") or {}).get("nodeName")
        if gone or not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return
        requests = old[1] if old is not None and old[0] == node else requests_of(pod)
        self._placed[uid] = (node, requests)
        entry = self._usage.setdefault(node, Usage())
        entry.pods += 1
        for resource, amount in requests.items():
            entry.requests[resource] = entry.requests.get(resource, Fraction(0)) + amount

    def reconcile(self, namespace: str, name: str) -> None:
        pod = self.store.get("pods", namespace, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        spec = pod.get("spec") or {}
        if spec.get("nodeName") or spec.get("schedulerName", SCHEDULER) != SCHEDULER:
            return
        if spec.get("schedulingGates"):
            return
        nodes = self.store.list("nodes")
        reasons: Counter[str] = Counter()
        for node in nodes:
            why = self._unfit(pod, node, self._usage.get(node["metadata"]["name"], Usage()))
            if why is None:
                self._bind(pod, node)
                return
            reasons[why] += 1
        self._unschedulable(pod, len(nodes), reasons)

    def _unfit(self, pod: Obj, node: Obj, usage: Usage) -> str | None:
        node_spec = node.get("spec") or {}
        labels = node["metadata"].get("labels") or {}
        if node_spec.get("unschedulable"):
            return "node(s) were unschedulable"
        for taint in node_spec.get("taints") or []:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(pod, taint):
                shown = f"{taint.get('key')}: {taint.get('value')}" if taint.get("value") else taint.get("key")
                return f"node(s) had untolerated taint {{{shown}}}"
        selector = (pod.get("spec") or {}).get("nodeSelector") or {}
        if any(labels.get(k) != v for k, v in selector.items()) or not _affinity_matches(pod, node):
            return "node(s) didn't match Pod's node affinity/selector"
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        if usage.pods + 1 > int(parse_quantity(allocatable.get("pods", "110")) or 110):
            return "Too many pods"
        wanted = requests_of(pod)
        for resource in ("cpu", "memory"):
            limit = parse_quantity(allocatable.get(resource, "0")) or Fraction(0)
            if usage.requests.get(resource, Fraction(0)) + wanted.get(resource, Fraction(0)) > limit:
                return f"Insufficient {resource}"
        return None

    def _bind(self, pod: Obj, node: Obj) -> None:
        node_name = node["metadata"]["name"]
        bound = self.registry.bind(pod["metadata"].get("namespace", ""), pod["metadata"]["name"], node_name)
        self._track(bound)  # before the next pod is placed, not when the change comes round
        self.events.record(bound, "Normal", "Scheduled",
                           f"Successfully assigned {pod['metadata'].get('namespace')}/{pod['metadata']['name']}"
                           f" to {node_name}", SCHEDULER)

    def _unschedulable(self, pod: Obj, total: int, reasons: Counter[str]) -> None:
        parts = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
        message = f"0/{total} nodes are available" + (f": {parts}." if parts else ".")
        if reasons:
            message += (f" preemption: 0/{total} nodes are available: "
                        f"{total} Preemption is not helpful for scheduling.")
        status = pod.get("status") or {}
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                     "message": message, "lastProbeTime": None,
                     "lastTransitionTime": timefmt.rfc3339()}
        old = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        if old and old.get("message") == message:
            return
        updated = objects.copy(pod)
        updated.setdefault("status", {})["conditions"] = [*conditions, condition]
        updated["status"]["phase"] = "Pending"
        result = self.registry.update(PODS, pod["metadata"].get("namespace", ""), pod["metadata"]["name"],
                                      updated, WriteOptions(), sub="status")
        self.events.record(result.obj, "Warning", "FailedScheduling", message, SCHEDULER)

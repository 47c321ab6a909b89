"""What the StatefulSet, DaemonSet, Job and CronJob controllers share: their resource
types, owner lookups, delayed re-queues in simulated time, readiness and availability
of pods, conditions, status writes, and how pods tolerate and fit nodes."""

from __future__ import annotations

import asyncio
from typing import Any

from .. import objects, timefmt
from ..registry import Registry, WriteOptions
from ..resources import ResourceType
from ..store import Change
from .base import Controller, Key
from .ownership import is_ready

Obj = dict[str, Any]


def owner_keys(change: Change, kind: str) -> list[Key]:
    """The (namespace, name) of the ``kind`` controlling the changed object, before and after."""
    keys: list[Key] = []
    for obj in (change.obj, change.prev):
        for ref in ((obj or {}).get("metadata") or {}).get("ownerReferences") or []:
            if ref.get("kind") == kind and ref.get("controller"):
                key = (change.namespace, str(ref.get("name")))
                if key not in keys:
                    keys.append(key)
    return keys


def controlled(candidates: list[Obj], owner: Obj) -> list[Obj]:
    """Those of ``candidates`` whose controller reference names ``owner``."""
    uid = owner["metadata"]["uid"]
    return [c for c in candidates
            if any(r.get("controller") and r.get("uid") == uid
                   for r in (c.get("metadata") or {}).get("ownerReferences") or [])]


_WAKEUPS: dict[tuple[int, Key], float] = {}  # (controller id, key) -> loop time of the wake-up


def later(controller: Controller, key: Key, seconds: float) -> None:
    """Re-queue ``key`` after ``seconds`` of simulated time (once, however often asked)."""
    loop = asyncio.get_running_loop()
    when = loop.time() + max(0.0, seconds) / controller.clock.speed + 0.01
    slot = (id(controller), key)
    pending = _WAKEUPS.get(slot)
    if pending is not None and loop.time() <= pending <= when + 0.005:
        return

    def wake() -> None:
        if _WAKEUPS.get(slot) == when:
            del _WAKEUPS[slot]
        controller.enqueue(key)

    _WAKEUPS[slot] = when
    loop.call_at(when, wake)


def elapsed(since: str | None, speed: float) -> float:
    """Simulated seconds since the wall-clock timestamp ``since`` (0 when absent)."""
    when = timefmt.parse(since)
    if when is None:
        return 0.0
    return (timefmt.now() - when).total_seconds() * speed


def ready_since(pod: Obj) -> str | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return str(c.get("lastTransitionTime") or "") or None
    return None


def is_terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def running_and_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_ready(pod)


def is_available(pod: Obj, min_ready: int, speed: float) -> bool:
    """Ready for at least ``min_ready`` simulated seconds."""
    if not running_and_ready(pod):
        return False
    return min_ready <= 0 or elapsed(ready_since(pod), speed) >= min_ready


def pod_revision(pod: Obj) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get("controller-revision-hash", ""))


def resolve(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent against ``total``, as intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, str) and value.endswith("%"):
        scaled = total * int(value[:-1]) / 100
        return int(-(-scaled // 1)) if round_up else int(scaled // 1)
    return int(value or 0)


def condition(kind: str, status: bool, reason: str, message: str, old: list[Obj],
              probe: bool = False) -> Obj:
    """A condition keeping the transition time of an unchanged prior one."""
    now = timefmt.rfc3339()
    text = "True" if status else "False"
    prior = next((c for c in old if c.get("type") == kind), None)
    same = prior is not None and prior.get("status") == text
    entry: Obj = {"type": kind, "status": text}
    if probe:
        entry["lastProbeTime"] = prior.get("lastProbeTime", now) if same and prior else now
    entry["lastTransitionTime"] = prior.get("lastTransitionTime", now) if same and prior else now
    if reason:
        entry["reason"] = reason
    if message:
        entry["message"] = message
    return entry


def has_condition(obj: Obj, kind: str) -> Obj | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c.get("type") == kind and c.get("status") == "True"), None)


def write_status(registry: Registry, res: ResourceType, obj: Obj, status: Obj) -> Obj:
    """Store ``status`` on the latest version of ``obj`` when it differs."""
    meta = obj["metadata"]
    current = registry.store.get(res.storage_key, meta.get("namespace", ""), meta["name"])
    if current is None or current["metadata"].get("uid") != meta.get("uid"):
        return obj
    if (current.get("status") or {}) == status:
        return current
    updated = objects.copy(current)
    updated["status"] = status
    return registry.update(res, meta.get("namespace", ""), meta["name"], updated, WriteOptions(),
                           sub="status").obj


# --- nodes ------------------------------------------------------------------------------


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    """Whether any toleration tolerates ``taint`` (ToleratesTaint)."""
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("key") and tol.get("key") != taint.get("key"):
            continue
        if tol.get("operator") == "Exists":
            return True
        if tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _requirement(expr: Obj, value: str | None) -> bool:
    op, values = expr.get("operator"), [str(v) for v in expr.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: Obj, node: Obj) -> bool:
    """A nodeSelectorTerm: its matchExpressions on labels and matchFields on metadata.name."""
    labels = node["metadata"].get("labels") or {}
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False
    if not all(_requirement(e, labels.get(e.get("key", ""))) for e in exprs):
        return False
    return all(_requirement(f, node["metadata"]["name"] if f.get("key") == "metadata.name" else None)
               for f in fields)


def node_fits(pod_spec: Obj, node: Obj) -> bool:
    """nodeSelector and required node affinity (predicates of the DaemonSet controller)."""
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return True
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])


def taints_tolerated(pod_spec: Obj, node: Obj, effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> bool:
    """Whether the pod tolerates the node's taints of ``effects`` (only NoExecute ones
    evict a pod already running)."""
    tolerations = pod_spec.get("tolerations") or []
    return all(tolerates(tolerations, t) for t in (node.get("spec") or {}).get("taints") or []
               if t.get("effect") in effects)

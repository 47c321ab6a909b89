"""The HorizontalPodAutoscaler controller (autoscaling/v2, as stored).

Every 15 simulated seconds each autoscaler reads its target's scale and the simulated
CPU or memory use of the target's pods (:class:`sandbox.metrics.Metrics`), and sets the
target's ``spec.replicas`` by the real algorithm: the usage ratio against the target
with a 10% tolerance, ``ceil(ratio * ready pods)``, missing and unready pods counted
conservatively, then the behavior: a scale-down stabilization window (300 s by default),
scale-up at most max(4 pods, 100%) and scale-down at most 100% per 15 s, clamped to
min/max. Status (currentReplicas, desiredReplicas, currentMetrics, lastScaleTime,
conditions AbleToScale/ScalingActive/ScalingLimited) and ``SuccessfulRescale`` events
are those of kube-controller-manager.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import objects, timefmt
from ..admission.quantity import container_resources
from ..errors import StatusError
from ..registry import WriteOptions
from ..resources import ResourceType, by_kind
from ..selectors import labels_match, selector_from_match_labels
from ..store import Change
from .base import Controller, Key
from .events import Recorder
from .ownership import is_ready

if TYPE_CHECKING:
    from ..metrics import Metrics

Obj = dict[str, Any]
HPAS = "horizontalpodautoscalers.autoscaling"
COMPONENT = "horizontal-pod-autoscaler"
TOLERANCE = 0.1
DEFAULT_METRIC: Obj = {"type": "Resource", "resource": {
    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
SCALE_UP: Obj = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
    {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}
SCALE_DOWN: Obj = {"stabilizationWindowSeconds": 300, "selectPolicy": "Max", "policies": [
    {"type": "Percent", "value": 100, "periodSeconds": 15}]}


class MetricError(Exception):
    """A metric could not be computed (the reason goes into ScalingActive)."""


@dataclass
class Proposal:
    replicas: int
    name: str  # "cpu resource utilization (percentage of request)"
    current: Obj  # a currentMetrics entry


class HPAController(Controller):
    watches = (HPAS,)
    primary = HPAS
    resync = 15.0

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics
        self.events = Recorder(self.registry)
        self.recommendations: dict[Key, list[tuple[float, int]]] = {}
        self.scale_events: dict[Key, list[tuple[float, int]]] = {}  # (time, replica change)

    def keys_for(self, change: Change) -> list[Key]:
        if change.prev is not None and change.prev.get("spec") == change.obj.get("spec"):
            return []  # our own status writes
        return list(super().keys_for(change))

    def reconcile(self, namespace: str, name: str) -> None:
        hpa = self.store.get(HPAS, namespace, name)
        if hpa is None or hpa["metadata"].get("deletionTimestamp"):
            self.recommendations.pop((namespace, name), None)
            self.scale_events.pop((namespace, name), None)
            return
        spec = hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        res = by_kind(str(ref.get("apiVersion") or "apps/v1"), str(ref.get("kind", "")))
        target = self.store.get(res.storage_key, namespace, str(ref.get("name", ""))) if res else None
        status = dict(hpa.get("status") or {})
        conditions = list(status.get("conditions") or [])
        if res is None or target is None or "scale" not in res.subresources:
            kind = res.qualified if res else str(ref.get("kind", "")).lower()
            message = (f"the HPA controller was unable to get the target's current scale: "
                       f'{kind} "{ref.get("name", "")}" not found')
            self.events.record(hpa, "Warning", "FailedGetScale", message, COMPONENT)
            status["conditions"] = _set(conditions, "AbleToScale", False, "FailedGetScale", message)
            self._write(hpa, status)
            return
        key = (namespace, name)
        current = int((target.get("spec") or {}).get("replicas", 1))
        low, high = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1))
        status["currentReplicas"] = int((target.get("status") or {}).get("replicas", 0))
        conditions = _set(conditions, "AbleToScale", True, "SucceededGetScale",
                          "the HPA controller was able to get the target's current scale")
        reason = ""
        if current == 0 and low != 0:
            desired = 0
            conditions = _set(conditions, "ScalingActive", False, "ScalingDisabled",
                              "scaling is disabled since the replica count of the target is zero")
        else:
            try:
                proposals = [self._propose(target, metric, current)
                             for metric in spec.get("metrics") or [DEFAULT_METRIC]]
            except MetricError as exc:
                kind, message = exc.args
                self.events.record(hpa, "Warning", kind, message, COMPONENT)
                status["conditions"] = _set(conditions, "ScalingActive", False, kind,
                                            f"the HPA was unable to compute the replica count: {message}")
                self._write(hpa, status)
                return
            best = max(proposals, key=lambda p: p.replicas)
            status["currentMetrics"] = [p.current for p in proposals]
            conditions = _set(conditions, "ScalingActive", True, "ValidMetricFound",
                              f"the HPA was able to successfully calculate a replica count from {best.name}")
            desired, able = self._stabilize(key, spec, current, best.replicas)
            conditions = _set(conditions, "AbleToScale", True, *able)
            desired, limited = self._limit(key, spec, current, desired, low, high)
            conditions = _set(conditions, "ScalingLimited", limited[0] != "DesiredWithinRange", *limited)
            reason = f"{best.name} above target" if desired > current else "All metrics below target"
        if desired != current:
            try:
                self.registry.update_scale(res, namespace, target["metadata"]["name"],
                                           {"spec": {"replicas": desired}}, WriteOptions())
            except StatusError as exc:
                message = f"the HPA controller was unable to update the target scale: {exc.message}"
                self.events.record(hpa, "Warning", "FailedRescale", message, COMPONENT)
                conditions = _set(conditions, "AbleToScale", False, "FailedUpdateScale", message)
            else:
                self.scale_events.setdefault(key, []).append((self.clock.monotonic(), desired - current))
                status["lastScaleTime"] = timefmt.rfc3339()
                if reason:
                    self.events.record(hpa, "Normal", "SuccessfulRescale",
                                       f"New size: {desired}; reason: {reason}", COMPONENT)
                conditions = _set(conditions, "AbleToScale", True, "SucceededRescale",
                                  f"the HPA controller was able to update the target scale to {desired}")
        status["desiredReplicas"] = desired
        status["conditions"] = conditions
        self._write(hpa, status)

    # --- metrics ------------------------------------------------------------------------

    def _propose(self, target: Obj, metric: Obj, current: int) -> Proposal:
        if metric.get("type") != "Resource":
            raise MetricError("FailedGetExternalMetric" if metric.get("type") == "External" else
                              "InvalidMetricSourceType",
                              f"the metric type {metric.get('type')} is not simulated in the sandbox")
        source = metric.get("resource") or {}
        resource = str(source.get("name", "cpu"))
        goal = source.get("target") or {}
        namespace = target["metadata"]["namespace"]
        reqs = selector_from_match_labels((target.get("spec") or {}).get("selector")) or []
        pods = [p for p in self.store.list("pods", namespace) if labels_match(reqs, p)
                and not p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("phase") != "Failed"]
        usage: dict[str, float] = {}
        requests: dict[str, float] = {}
        unready, missing = [], []
        for pod in pods:
            pod_name = pod["metadata"]["name"]
            requests[pod_name] = self._request(pod, resource)
            if (pod.get("status") or {}).get("phase") == "Pending":
                unready.append(pod_name)
                continue
            measured = self.metrics.pod_usage(namespace, pod_name)
            if measured is None:
                missing.append(pod_name)
            elif resource == "cpu" and not is_ready(pod):
                unready.append(pod_name)
            else:
                usage[pod_name] = sum(u.cpu_m if resource == "cpu" else u.memory for u in measured.values())
        if not usage:
            raise MetricError("FailedGetResourceMetric", f"failed to get {resource} utilization: did not "
                                                         f"receive metrics for targeted pods (pods might be unready)")
        utilization_target = goal.get("averageUtilization")
        if goal.get("type", "Utilization") == "Utilization" and utilization_target is not None:
            target_value, name = float(utilization_target), f"{resource} resource utilization (percentage of request)"
        else:
            target_value, name = _value(goal.get("averageValue", "0"), resource), f"{resource} resource"
        ratio, utilization, average = _ratio(usage, requests, target_value, utilization_target is not None)
        replicas = _replicas(ratio, usage, requests, unready, missing, current, target_value,
                             utilization_target is not None)
        shown: Obj = {"averageValue": f"{round(average)}m" if resource == "cpu" else str(int(average))}
        if utilization_target is not None:
            shown["averageUtilization"] = utilization
        return Proposal(replicas, name, {"type": "Resource", "resource": {"name": resource, "current": shown}})

    @staticmethod
    def _request(pod: Obj, resource: str) -> float:
        total = 0.0
        for container in (pod.get("spec") or {}).get("containers") or []:
            requests, _ = container_resources(container)
            if resource not in requests:
                raise MetricError("FailedGetResourceMetric",
                                  f"failed to get {resource} utilization: missing request for {resource} in "
                                  f"container {container.get('name')} of Pod {pod['metadata']['name']}")
            value = requests[resource].value
            total += float(value * 1000) if resource == "cpu" else float(value)
        return total

    # --- behavior -----------------------------------------------------------------------

    def _stabilize(self, key: Key, spec: Obj, current: int, proposed: int) -> tuple[int, tuple[str, str]]:
        behavior = spec.get("behavior") or {}
        now = self.clock.monotonic()
        up_window = float(_rules(behavior, "scaleUp").get("stabilizationWindowSeconds", 0))
        down_window = float(_rules(behavior, "scaleDown").get("stabilizationWindowSeconds", 300))
        history = [r for r in self.recommendations.get(key, []) if r[0] > now - max(up_window, down_window)]
        up = min([proposed, *(r for t, r in history if t > now - up_window)])
        down = max([proposed, *(r for t, r in history if t > now - down_window)])
        self.recommendations[key] = [*history, (now, proposed)]
        desired = min(max(current, up), down)
        if desired == proposed:
            return desired, ("ReadyForNewScale", "recommended size matches current size")
        if desired > proposed:
            return desired, ("ScaleDownStabilized", "recent recommendations were higher than current one, "
                                                    "applying the highest recent recommendation")
        return desired, ("ScaleUpStabilized", "recent recommendations were lower than current one, "
                                              "applying the lowest recent recommendation")

    def _limit(self, key: Key, spec: Obj, current: int, desired: int, low: int,
               high: int) -> tuple[int, tuple[str, str]]:
        behavior = spec.get("behavior") or {}
        now = self.clock.monotonic()
        events = self.scale_events.get(key, [])
        if desired > current:
            rules = _rules(behavior, "scaleUp")
            limit = max(_rate_limit(rules, current, events, now, up=True), current)
            if high > limit:
                allowed, why = limit, ("ScaleUpLimit", "the desired replica count is increasing faster than "
                                                       "the maximum scale rate")
            else:
                allowed, why = high, ("TooManyReplicas", "the desired replica count is more than the maximum "
                                                         "replica count")
            if desired > allowed:
                return allowed, why
        elif desired < current:
            rules = _rules(behavior, "scaleDown")
            limit = min(_rate_limit(rules, current, events, now, up=False), current)
            if low < limit:
                allowed, why = limit, ("ScaleDownLimit", "the desired replica count is decreasing faster than "
                                                         "the maximum scale rate")
            else:
                allowed, why = low, ("TooFewReplicas", "the desired replica count is less than the minimum "
                                                       "replica count")
            if desired < allowed:
                return allowed, why
        if desired > high:
            return high, ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
        if desired < low:
            return low, ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
        return desired, ("DesiredWithinRange", "the desired count is within the acceptable range")

    def _write(self, hpa: Obj, status: Obj) -> None:
        status["observedGeneration"] = hpa["metadata"].get("generation", 1)
        meta = hpa["metadata"]
        current = self.store.get(HPAS, meta["namespace"], meta["name"])
        if current is None or (current.get("status") or {}) == status:
            return
        updated = objects.copy(current)
        updated["status"] = status
        self.registry.update(_storage_res(), meta["namespace"], meta["name"], updated, WriteOptions(),
                             sub="status")


def _storage_res() -> ResourceType:
    res = by_kind("autoscaling/v2", "HorizontalPodAutoscaler")
    assert res is not None
    return res


def _rules(behavior: Obj, direction: str) -> Obj:
    given = behavior.get(direction) or {}
    default = SCALE_UP if direction == "scaleUp" else SCALE_DOWN
    return {**default, **given}


def _rate_limit(rules: Obj, current: int, events: list[tuple[float, int]], now: float, *, up: bool) -> int:
    """The most (scale up) or fewest (scale down) replicas the policies allow now."""
    policy = rules.get("selectPolicy", "Max")
    if policy == "Disabled":
        return current
    proposals = []
    for rule in rules.get("policies") or []:
        period = float(rule.get("periodSeconds", 15))
        added = sum(c for t, c in events if t > now - period and c > 0)
        removed = -sum(c for t, c in events if t > now - period and c < 0)
        start = current - added + removed if up else current + removed - added
        value = int(rule.get("value", 0))
        if rule.get("type") == "Pods":
            proposals.append(start + value if up else start - value)
        elif up:
            proposals.append(math.ceil(start * (1 + value / 100)))
        else:
            proposals.append(int(start * (1 - value / 100)))
    if not proposals:
        return current
    most_change = max if up else min
    return most_change(proposals) if policy == "Max" else (min if up else max)(proposals)


def _value(text: Any, resource: str) -> float:
    from ..admission.quantity import amount

    value = amount(text).value
    return float(value * 1000) if resource == "cpu" else float(value)


def _ratio(usage: dict[str, float], requests: dict[str, float], target: float,
           utilization: bool) -> tuple[float, int, float]:
    total = sum(usage.values())
    average = total / len(usage)
    if not utilization:
        return (average / target if target else 0.0), 0, average
    requested = sum(requests[p] for p in usage)
    percent = int(total * 100 / requested) if requested else 0
    return (percent / target if target else 0.0), percent, average


def _replicas(ratio: float, usage: dict[str, float], requests: dict[str, float], unready: list[str],
              missing: list[str], current: int, target: float, utilization: bool) -> int:
    """GetResourceReplicas: the plain answer, or one that assumes the worst for the pods
    without metrics (missing: 100% when scaling down, 0 when up; unready: 0)."""
    scale_up_unready = bool(unready) and ratio > 1.0
    if not scale_up_unready and not missing:
        return current if abs(1.0 - ratio) <= TOLERANCE else math.ceil(ratio * len(usage))
    adjusted = dict(usage)
    for pod in missing:
        if ratio < 1.0:
            adjusted[pod] = requests.get(pod, 0.0) * max(target, 100) / 100 if utilization else target
        elif ratio > 1.0:
            adjusted[pod] = 0.0
    if scale_up_unready:
        for pod in unready:
            adjusted[pod] = 0.0
    new_ratio = _ratio(adjusted, requests, target, utilization)[0]
    if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    replicas = math.ceil(new_ratio * len(adjusted))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def _set(conditions: list[Obj], kind: str, ok: bool, reason: str, message: str) -> list[Obj]:
    status = "True" if ok else "False"
    prior = next((c for c in conditions if c.get("type") == kind), None)
    since = prior["lastTransitionTime"] if prior and prior.get("status") == status else timefmt.rfc3339()
    entry = {"type": kind, "status": status, "lastTransitionTime": since, "reason": reason, "message": message}
    order = ["AbleToScale", "ScalingActive", "ScalingLimited"]
    kept = [c for c in conditions if c.get("type") != kind] + [entry]
    return sorted(kept, key=lambda c: order.index(c["type"]) if c.get("type") in order else 9)

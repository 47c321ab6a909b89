"""Conversion between the served versions of one stored resource.

HorizontalPodAutoscalers are stored as autoscaling/v2 and served as v1 too;
Events are stored as core/v1 and served as events.k8s.io/v1 too.
"""

from __future__ import annotations

import copy
from typing import Any

from .resources import ResourceType

Obj = dict[str, Any]

_HPA = "horizontalpodautoscalers.autoscaling"


def to_served(res: ResourceType, obj: Obj) -> Obj:
    """``obj`` (in storage version) as ``res`` serves it."""
    if res.storage_key == _HPA and res.version == "v1":
        return _hpa_v2_to_v1(obj)
    if res.storage_key == "events" and res.group == "events.k8s.io":
        return _event_core_to_events(obj)
    return obj


def to_storage(res: ResourceType, obj: Obj) -> Obj:
    """``obj`` sent to ``res`` in the storage version."""
    if res.storage_key == _HPA and res.version == "v1":
        return _hpa_v1_to_v2(obj)
    if res.storage_key == "events" and res.group == "events.k8s.io":
        return _event_events_to_core(obj)
    return obj


def _hpa_v2_to_v1(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v1"
    spec = out.get("spec") or {}
    metrics = spec.pop("metrics", None) or []
    spec.pop("behavior", None)
    for m in metrics:
        res = m.get("resource") or {}
        if m.get("type") == "Resource" and res.get("name") == "cpu" and \
                (res.get("target") or {}).get("type") == "Utilization":
            spec["targetCPUUtilizationPercentage"] = res["target"].get("averageUtilization")
    status = out.get("status") or {}
    for m in status.pop("currentMetrics", None) or []:
        res = m.get("resource") or {}
        if res.get("name") == "cpu":
            status["currentCPUUtilizationPercentage"] = (res.get("current") or {}).get("averageUtilization")
    status.pop("conditions", None)
    return out


def _hpa_v1_to_v2(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v2"
    spec = out.get("spec") or {}
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]
    status = out.get("status") or {}
    current = status.pop("currentCPUUtilizationPercentage", None)
    if current is not None:
        status["currentMetrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": current}}}]
    return out


def _event_core_to_events(obj: Obj) -> Obj:
    source = obj.get("source") or {}
    out: Obj = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": copy.deepcopy(obj.get("metadata") or {}),
        "eventTime": obj.get("eventTime"),
        "reportingController": obj.get("reportingComponent") or source.get("component", ""),
        "reportingInstance": obj.get("reportingInstance") or source.get("host", ""),
        "action": obj.get("action", ""),
        "reason": obj.get("reason", ""),
        "regarding": copy.deepcopy(obj.get("involvedObject") or {}),
        "note": obj.get("message", ""),
        "type": obj.get("type", ""),
        "deprecatedSource": copy.deepcopy(source),
        "deprecatedFirstTimestamp": obj.get("firstTimestamp"),
        "deprecatedLastTimestamp": obj.get("lastTimestamp"),
        "deprecatedCount": obj.get("count", 0),
    }
    if obj.get("related"):
        out["related"] = copy.deepcopy(obj["related"])
    if obj.get("series"):
        out["series"] = copy.deepcopy(obj["series"])
    return {k: v for k, v in out.items() if v not in (None, "", {}, 0) or k in ("metadata",)}


def _event_events_to_core(obj: Obj) -> Obj:
    out: Obj = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": copy.deepcopy(obj.get("metadata") or {}),
        "involvedObject": copy.deepcopy(obj.get("regarding") or {}),
        "reason": obj.get("reason", ""),
        "message": obj.get("note", ""),
        "type": obj.get("type", ""),
        "eventTime": obj.get("eventTime"),
        "action": obj.get("action", ""),
        "reportingComponent": obj.get("reportingController", ""),
        "reportingInstance": obj.get("reportingInstance", ""),
        "source": copy.deepcopy(obj.get("deprecatedSource") or {}),
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount"),
    }
    if obj.get("related"):
        out["related"] = copy.deepcopy(obj["related"])
    if obj.get("series"):
        out["series"] = copy.deepcopy(obj["series"])
    return {k: v for k, v in out.items() if v not in (None, "") or k in ("metadata",)}

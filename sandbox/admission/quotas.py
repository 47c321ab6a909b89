"""ResourceQuota: what objects use (the quota evaluators) and the admission plugin that
refuses a create or update taking a namespace past a quota's ``hard``::

    pods "x" is forbidden: exceeded quota: compute, requested: limits.memory=1Gi,
    used: limits.memory=1Gi, limited: limits.memory=1Gi

and pods that leave out a request or limit a quota tracks::

    pods "x" is forbidden: failed quota: compute: must specify limits.cpu for: app

Usage is counted from the store (the quota controller writes the same figures into
``status.used``), so a burst of creates cannot slip past a stale status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..resources import ResourceType
from .limitranges import forbidden
from .quantity import ZERO, Amount, amount, container_resources, count, pod_totals, pretty

if TYPE_CHECKING:
    from ..store import Store

Obj = dict[str, Any]
QUOTAS = "resourcequotas"
COMPUTE = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
LEGACY_COUNTS = ("configmaps", "secrets", "resourcequotas", "replicationcontrollers", "services",
                 "persistentvolumeclaims")
CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
POD_SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort")


# --- usage ------------------------------------------------------------------------------


def usage(storage: str, obj: Obj) -> dict[str, Amount]:
    """What one object counts against quotas (the evaluator's ``Usage``)."""
    one = count(1)
    result: dict[str, Amount] = {f"count/{storage}": one}
    if storage in LEGACY_COUNTS:
        result[storage] = one
    spec = obj.get("spec") or {}
    if storage == "pods":
        if _terminal(obj):
            return result
        result["pods"] = one
        requests, limits = pod_totals(spec)
        for name, value in requests.items():
            result[f"requests.{name}"] = value
            if name in ("cpu", "memory", "ephemeral-storage"):
                result[name] = value
        for name, value in limits.items():
            result[f"limits.{name}"] = value
    elif storage == "services":
        kind = spec.get("type", "ClusterIP")
        ports = [p for p in spec.get("ports") or [] if kind in ("NodePort", "LoadBalancer")]
        result["services.nodeports"] = count(len(ports))
        result["services.loadbalancers"] = count(int(kind == "LoadBalancer"))
    elif storage == "persistentvolumeclaims":
        storage_request = amount(((spec.get("resources") or {}).get("requests") or {}).get("storage", "0"))
        result["requests.storage"] = storage_request
        klass = spec.get("storageClassName")
        if klass:
            result[f"{klass}{CLASS_SUFFIX}requests.storage"] = storage_request
            result[f"{klass}{CLASS_SUFFIX}persistentvolumeclaims"] = one
    return result


def _terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _storages(hard: dict[str, Any]) -> set[str]:
    found = set()
    for key in hard:
        if key.startswith("count/"):
            found.add(key[len("count/"):])
        elif key in LEGACY_COUNTS:
            found.add(key)
        elif key.startswith("services."):
            found.add("services")
        elif key == "requests.storage" or CLASS_SUFFIX in key:
            found.add("persistentvolumeclaims")
        else:
            found.add("pods")
    return found


def matches(quota: Obj, storage: str, obj: Obj) -> bool:
    """Whether ``obj`` counts against ``quota`` (its scopes)."""
    spec = quota.get("spec") or {}
    scopes = list(spec.get("scopes") or [])
    for expression in (spec.get("scopeSelector") or {}).get("matchExpressions") or []:
        if expression.get("operator") == "Exists":
            scopes.append(expression.get("scopeName"))
        else:
            return False  # PriorityClass selectors: not simulated, nothing matches
    if not scopes:
        return True
    if storage != "pods":
        return False
    pod_spec = obj.get("spec") or {}
    best_effort = not any(pod_totals(pod_spec)[i] for i in (0, 1))
    terminating = pod_spec.get("activeDeadlineSeconds") is not None
    checks = {"Terminating": terminating, "NotTerminating": not terminating,
              "BestEffort": best_effort, "NotBestEffort": not best_effort}
    return all(checks.get(str(scope), False) for scope in scopes)


def used(store: Store, quota: Obj) -> dict[str, Amount]:
    """What the quota's namespace uses of each resource in ``spec.hard``."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    namespace = quota["metadata"].get("namespace", "")
    total: dict[str, Amount] = {key: Amount(binary=amount(value).binary) for key, value in hard.items()}
    for storage in _storages(hard):
        for obj in store.list(storage, namespace):
            if not matches(quota, storage, obj):
                continue
            for key, value in usage(storage, obj).items():
                if key in total:
                    total[key] = total[key] + value
    return total


# --- admission -------------------------------------------------------------------------


def admit(registry: Any, res: ResourceType, new: Obj, old: Obj | None) -> None:
    if not res.namespaced:
        return
    storage = res.storage_key
    if old is not None and storage not in ("services", "persistentvolumeclaims"):
        return  # only these change usage on update
    namespace = new["metadata"].get("namespace", "")
    quotas = registry.store.list(QUOTAS, namespace)
    if not quotas:
        return
    delta = usage(storage, new)
    if old is not None:
        before = usage(storage, old)
        delta = {k: v - before.get(k, ZERO) for k, v in delta.items()}
        if all(v.value == 0 for v in delta.values()):
            return
    for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
        if not matches(quota, storage, new):
            continue
        name = quota["metadata"]["name"]
        hard = {k: amount(v) for k, v in ((quota.get("spec") or {}).get("hard") or {}).items()}
        if storage == "pods" and old is None:
            missing = _missing(new, [k for k in hard if k in COMPUTE])
            if missing:
                raise forbidden(res, new, [f"failed quota: {name}: must specify {missing}"])
        requested = {k: v for k, v in delta.items() if k in hard}
        if not requested:
            continue
        now = used(registry.store, quota)
        exceeded = sorted(k for k, v in requested.items() if (now[k] + v).value > hard[k].value)
        if exceeded:
            raise forbidden(res, new, [
                f"exceeded quota: {name}, requested: {pretty({k: requested[k] for k in exceeded})}, "
                f"used: {pretty({k: now[k] for k in exceeded})}, "
                f"limited: {pretty({k: hard[k] for k in exceeded})}"])


def _missing(pod: Obj, required: list[str]) -> str:
    """``limits.cpu for: app; limits.memory for: app`` (the pod evaluator's Constraints)."""
    spec = pod.get("spec") or {}
    missing: dict[str, set[str]] = {}
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        requests, limits = container_resources(container)
        have = {f"requests.{n}" for n in requests} | set(requests) | {f"limits.{n}" for n in limits}
        for key in required:
            if key not in have:
                missing.setdefault(key, set()).add(str(container.get("name", "")))
    return "; ".join(f"{key} for: {','.join(sorted(missing[key]))}" for key in sorted(missing))

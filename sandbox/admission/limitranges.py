"""The LimitRanger admission plugin: a namespace's LimitRanges fill in container
requests and limits of new pods (``defaultRequest``/``default``) and refuse pods and
claims outside ``min``/``max``/``maxLimitRequestRatio``, with the API server's wording::

    pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2

LimitRange items get their API defaults here too (``default`` from ``max``,
``defaultRequest`` from ``default`` or ``min``), as ``SetDefaults_LimitRangeItem`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import defaults, objects
from ..errors import Forbidden
from ..resources import ResourceType
from .quantity import Amount, amount, container_resources, pod_totals, resource_list

if TYPE_CHECKING:
    from ..registry import Registry

Obj = dict[str, Any]
ANNOTATION = "kubernetes.io/limit-ranger"


def admit(registry: Registry, res: ResourceType, new: Obj, old: Obj | None) -> None:
    key = res.storage_key
    if key == "limitranges":
        for item in (new.get("spec") or {}).get("limits") or []:
            default_item(item)
        return
    if key not in ("pods", "persistentvolumeclaims"):
        return
    if key == "pods" and old is not None:
        return  # containers cannot change: LimitRanger skips pod updates
    if key == "persistentvolumeclaims" and old is not None and new.get("spec") == old.get("spec"):
        return  # a status write
    namespace = new["metadata"].get("namespace", "")
    ranges = sorted(registry.store.list("limitranges", namespace), key=lambda o: o["metadata"]["name"])
    errors: list[str] = []
    for limit_range in ranges:
        items = [default_item(objects.copy(i)) for i in (limit_range.get("spec") or {}).get("limits") or []]
        if key == "pods":
            mutate_pod(new, items)
            errors.extend(validate_pod(new, items))
        else:
            errors.extend(validate_claim(new, items))
    if errors:
        raise forbidden(res, new, errors)


def forbidden(res: ResourceType, obj: Obj, errors: list[str]) -> Forbidden:
    """``admission.NewForbidden`` over an aggregate of errors."""
    unique = list(dict.fromkeys(errors))
    text = unique[0] if len(unique) == 1 else f"[{', '.join(unique)}]"
    name = obj["metadata"].get("name", "")
    return Forbidden(f'{res.qualified} "{name}" is forbidden: {text}', name=name, kind=res.plural,
                     group=res.group)


def default_item(item: Obj) -> Obj:
    if item.get("type") != "Container":
        return item
    default = item.setdefault("default", {})
    request = item.setdefault("defaultRequest", {})
    for name, value in (item.get("max") or {}).items():
        default.setdefault(name, value)
    for name, value in default.items():
        request.setdefault(name, value)
    for name, value in (item.get("min") or {}).items():
        request.setdefault(name, value)
    return item


# --- defaults -------------------------------------------------------------------------


def mutate_pod(pod: Obj, items: list[Obj]) -> None:
    default_limits: Obj = {}
    default_requests: Obj = {}
    for item in items:
        if item.get("type") == "Container":
            default_requests.update(item.get("defaultRequest") or {})
            default_limits.update(item.get("default") or {})
    if not default_limits and not default_requests:
        return
    spec = pod.setdefault("spec", {})
    notes: list[str] = []
    for kind, label in (("containers", "container"), ("initContainers", "init container")):
        for container in spec.get(kind) or []:
            notes.extend(_merge(container, default_requests, default_limits, label))
    if notes:
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
        pod.setdefault("status", {})["qosClass"] = defaults._qos(spec)


def _merge(container: Obj, requests: Obj, limits: Obj, label: str) -> list[str]:
    resources = container.setdefault("resources", {})
    have_limits = resources.setdefault("limits", {})
    have_requests = resources.setdefault("requests", {})
    for name, value in have_limits.items():  # the API's pod defaulting: requests from limits
        have_requests.setdefault(name, value)
    set_limits = sorted(n for n in limits if n not in have_limits)
    set_requests = sorted(n for n in requests if n not in have_requests)
    for name in set_limits:
        have_limits[name] = limits[name]
    for name in set_requests:
        have_requests[name] = requests[name]
    for part in ("limits", "requests"):
        if not resources[part]:
            del resources[part]
    notes = []
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for {label} {container.get('name', '')}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for {label} {container.get('name', '')}")
    return notes


# --- constraints ----------------------------------------------------------------------


def validate_pod(pod: Obj, items: list[Obj]) -> list[str]:
    spec = pod.get("spec") or {}
    errors: list[str] = []
    for item in items:
        kind = str(item.get("type", ""))
        if kind == "Container":
            for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
                requests, limits = container_resources(container)
                errors.extend(_check(kind, item, requests, limits))
        elif kind == "Pod":
            requests, limits = pod_totals(spec)
            errors.extend(_check(kind, item, requests, limits))
    return errors


def validate_claim(claim: Obj, items: list[Obj]) -> list[str]:
    requests = resource_list(((claim.get("spec") or {}).get("resources") or {}).get("requests"))
    errors: list[str] = []
    for item in items:
        if item.get("type") != "PersistentVolumeClaim":
            continue
        for name, value in sorted((item.get("min") or {}).items()):
            error = min_constraint("PersistentVolumeClaim", name, amount(value), requests, {})
            errors.extend([error] if error else [])
        for name, value in sorted((item.get("max") or {}).items()):
            enforced = amount(value)
            req = requests.get(name)
            if req is None:
                errors.append(f"maximum {name} usage per PersistentVolumeClaim is {enforced}.  "
                              f"No request is specified")
            elif req.value > enforced.value:
                errors.append(f"maximum {name} usage per PersistentVolumeClaim is {enforced}, "
                              f"but request is {req}")
    return errors


def _check(kind: str, item: Obj, requests: dict[str, Amount], limits: dict[str, Amount]) -> list[str]:
    found = []
    for name, value in sorted((item.get("min") or {}).items()):
        found.append(min_constraint(kind, name, amount(value), requests, limits))
    for name, value in sorted((item.get("max") or {}).items()):
        found.append(max_constraint(kind, name, amount(value), requests, limits))
    for name, value in sorted((item.get("maxLimitRequestRatio") or {}).items()):
        found.append(ratio_constraint(kind, name, amount(value), requests, limits))
    return [f for f in found if f]


def min_constraint(kind: str, name: str, enforced: Amount, requests: dict[str, Amount],
                   limits: dict[str, Amount]) -> str:
    req, lim = requests.get(name), limits.get(name)
    if req is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if req.value < enforced.value:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and lim.value < enforced.value:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
    return ""


def max_constraint(kind: str, name: str, enforced: Amount, requests: dict[str, Amount],
                   limits: dict[str, Amount]) -> str:
    req, lim = requests.get(name), limits.get(name)
    if lim is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if lim.value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and req.value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return ""


def ratio_constraint(kind: str, name: str, enforced: Amount, requests: dict[str, Amount],
                     limits: dict[str, Amount]) -> str:
    req, lim = requests.get(name), limits.get(name)
    prefix = f"{name} max limit to request ratio per {kind} is {enforced}"
    if req is None or req.value == 0:
        return f"{prefix}, but no request is specified or request is 0"
    if lim is None or lim.value == 0:
        return f"{prefix}, but no limit is specified or limit is 0"
    observed = lim.value / req.value
    if observed > enforced.value:
        return f"{prefix}, but provided ratio is {float(observed):f}"
    return ""

"""The four patch types a Kubernetes API server accepts.

* JSON patch (RFC 6902), through ``jsonpatch``;
* JSON merge patch (RFC 7386);
* strategic merge patch, with the list merge keys of the built-in types and the
  ``$patch``, ``$setElementOrder``, ``$retainKeys`` and
  ``$deleteFromPrimitiveList`` directives;
* server-side apply, approximated as Helm and kubectl use it: the applied
  configuration replaces what it names and server-owned fields stay.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from .errors import BadRequest, Invalid, UnsupportedMedia

Obj = dict[str, Any]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)

# List fields merged by key under strategic merge (field name -> merge key).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "ownerReferences": "uid",
    "conditions": "type",
    "resourceClaims": "name",
    "readinessGates": "conditionType",
    "secrets": "name",
    "subsets": "",
}
# Primitive lists merged as sets.
MERGED_PRIMITIVE_LISTS = {"finalizers"}
# Where "ports" means Service ports (merge key "port") rather than container ports.
SERVICE_KINDS = {"Service"}


def apply_patch(kind: str, current: Obj, patch_type: str, body: Any) -> Obj:
    """``current`` patched; never modifies ``current``."""
    if patch_type == JSON_PATCH:
        if not isinstance(body, list):
            raise BadRequest("json patch must be a list of operations")
        try:
            result = jsonpatch.apply_patch(current, body)
        except jsonpatch.JsonPatchConflict as exc:
            raise Invalid(f"the server rejected our request due to an error in our request: {exc}") from exc
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
            raise BadRequest(f"the json patch could not be applied: {exc}") from exc
        if not isinstance(result, dict):
            raise BadRequest("the json patch did not result in an object")
        return result
    if not isinstance(body, dict):
        raise BadRequest(f"the patch body must be an object for {patch_type}")
    if patch_type == MERGE_PATCH:
        merged: Obj = merge_patch(current, body)
        return merged
    if patch_type == STRATEGIC_PATCH:
        return strategic_merge(current, body, ports_key="port" if kind in SERVICE_KINDS else "containerPort")
    raise UnsupportedMedia("the body of the request was in an unknown format - accepted media types "
                           f"include: {', '.join(PATCH_TYPES)}")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Obj, patch: Obj, *, ports_key: str = "containerPort") -> Obj:
    return _smp_map(copy.deepcopy(target), patch, ports_key)


def _smp_map(target: Obj, patch: Obj, ports_key: str) -> Obj:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return {}
    retain = patch.get("$retainKeys")
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(target.get(name), list):
                target[name] = [v for v in target[name] if v not in value]
            continue
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            current = target.get(key)
            target[key] = _smp_map(current if isinstance(current, dict) else {}, value, ports_key)
        elif isinstance(value, list):
            target[key] = _smp_list(key, target.get(key), value, ports_key)
        else:
            target[key] = value
    for name, order in orders.items():
        if isinstance(target.get(name), list):
            target[name] = _reorder(name, target[name], order, ports_key)
    if isinstance(retain, list):
        for key in list(target):
            if key not in retain:
                target.pop(key)
    return target


def _merge_key(name: str, ports_key: str) -> str | None:
    if name == "ports":
        return ports_key
    return MERGE_KEYS.get(name) or None


def _smp_list(name: str, current: Any, patch: list[Any], ports_key: str) -> list[Any]:
    current = current if isinstance(current, list) else []
    if name in MERGED_PRIMITIVE_LISTS:
        merged = list(current)
        merged.extend(v for v in patch if v not in merged)
        return merged
    key = _merge_key(name, ports_key)
    if key is None or not all(isinstance(p, dict) for p in patch):
        if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
            return [p for p in patch if not (isinstance(p, dict) and "$patch" in p)]
        return copy.deepcopy(patch)
    if any(p.get("$patch") == "replace" for p in patch):
        return [copy.deepcopy(p) for p in patch if "$patch" not in p]
    result = [copy.deepcopy(c) for c in current]
    for item in patch:
        if item.get("$patch") == "delete":
            result = [c for c in result if not (isinstance(c, dict) and c.get(key) == item.get(key))]
            continue
        for i, existing in enumerate(result):
            if isinstance(existing, dict) and existing.get(key) == item.get(key):
                result[i] = _smp_map(existing, item, ports_key)
                break
        else:
            result.append(_smp_map({}, item, ports_key))
    return result


def _reorder(name: str, items: list[Any], order: list[Any], ports_key: str) -> list[Any]:
    key = _merge_key(name, ports_key)

    def ident(v: Any) -> Any:
        return v.get(key) if key and isinstance(v, dict) else v

    positions = {repr(ident(o)): i for i, o in enumerate(order)}
    return sorted(items, key=lambda v: positions.get(repr(ident(v)), len(positions)))


# --- server-side apply -----------------------------------------------------------

SERVER_METADATA = (
    "uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp",
    "deletionGracePeriodSeconds", "selfLink",
)


def server_side_apply(current: Obj, applied: Obj) -> Obj:
    """The applied configuration over ``current``: it replaces the spec-like fields it
    carries, its labels and annotations; server metadata and status stay."""
    result = copy.deepcopy(applied)
    meta = copy.deepcopy(current.get("metadata") or {})
    new_meta = applied.get("metadata") or {}
    for key in ("labels", "annotations", "ownerReferences", "finalizers"):
        if key in new_meta:
            meta[key] = copy.deepcopy(new_meta[key])
    result["metadata"] = meta
    if "status" in current:
        result["status"] = copy.deepcopy(current["status"])
    return result

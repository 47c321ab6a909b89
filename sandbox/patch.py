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
        if not isinstance(body, list) or not all(isinstance(op, dict) for op in body):
            raise BadRequest("json patch must be a list of operations")
        try:
            result = jsonpatch.apply_patch(current, body)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError,
                IndexError, ValueError) as exc:
            # kube-apiserver answers every failure applying a decoded JSON patch (a failed
            # "test", a missing path, an unknown op) with 422.
            raise Invalid(f"the server rejected our request due to an error in our request: {exc}") from exc
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
    """``mergeMap`` of k8s.io/apimachinery/pkg/util/strategicpatch."""
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return {}
    if directive is not None:
        raise BadRequest(f"Unknown patch type: {directive} in map: {patch}")
    if "$retainKeys" in patch:
        _retain_keys(target, patch)
    handled = set()
    for key, order in patch.items():
        if key.startswith("$setElementOrder/"):
            name = key.split("/", 1)[1]
            _set_element_order(target, patch, name, order, ports_key)
            handled.add(name)
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key in handled or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if not isinstance(value, list):
                raise BadRequest("invalid patch format of primitive list")
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
    return target


def _retain_keys(target: Obj, patch: Obj) -> None:
    """``$retainKeys``: fields of ``target`` not listed are cleared before merging; every
    field the patch sets must be listed."""
    retain = patch["$retainKeys"]
    if not isinstance(retain, list):
        raise BadRequest("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is None or key in ("$patch", "$retainKeys") or key.startswith(
                ("$deleteFromPrimitiveList/", "$setElementOrder/")):
            continue
        if key not in retain:
            raise Invalid("patch content doesn't match retainKeys list")
    for key in list(target):
        if key not in retain:
            target.pop(key)


def _set_element_order(target: Obj, patch: Obj, name: str, order: Any, ports_key: str) -> None:
    """``$setElementOrder/<name>``: the list merged, then ordered as the directive says;
    items it does not name keep their place relative to the live list."""
    if not isinstance(order, list):
        raise BadRequest("invalid patch format of setElementOrder list")
    original = target.get(name)
    patch_list = patch.get(name)
    if not isinstance(original, list):
        original = None
    if not isinstance(patch_list, list):
        patch_list = None
    if original is not None and patch_list is not None:
        merged = _smp_list(name, original, patch_list, ports_key)
    elif original is not None:
        merged = original
    elif patch_list is not None:
        merged = _smp_list(name, [], patch_list, ports_key)
    else:
        return
    key = _merge_key(name, ports_key) if all(isinstance(v, dict) for v in merged + order) else None
    in_order, server_only = _partition(merged, order, key)
    target[name] = _normalize_order(in_order, server_only, order, original or [], key)


def _merge_key(name: str, ports_key: str) -> str | None:
    if name == "ports":
        return ports_key
    return MERGE_KEYS.get(name) or None


def _smp_list(name: str, current: Any, patch: list[Any], ports_key: str) -> list[Any]:
    """``mergeSlice``: merge lists by key (or as sets of primitives), honouring
    ``$patch: delete|replace`` elements; the rest replace the live list."""
    current = current if isinstance(current, list) else []
    scalars = all(not isinstance(v, (dict, list)) for v in current + patch)
    if name in MERGED_PRIMITIVE_LISTS and scalars:
        merged: list[Any] = []
        for v in current + patch:
            if v not in merged:
                merged.append(v)
        in_patch, server_only = _partition(merged, patch, None)
        return _normalize_order(in_patch, server_only, patch, current, None)
    key = _merge_key(name, ports_key)
    if key is None or not all(isinstance(p, dict) for p in patch) \
            or not all(isinstance(c, dict) for c in current):
        if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
            return [p for p in patch if not (isinstance(p, dict) and "$patch" in p)]
        return copy.deepcopy(patch)
    original = [copy.deepcopy(c) for c in current]
    plain: list[Obj] = []
    replace = False
    for item in patch:
        directive = item.get("$patch")
        if directive is None:
            plain.append(item)
        elif directive == "delete":
            if key not in item:
                raise BadRequest(f"map: {item} does not contain declared merge key: {key}")
            original = [c for c in original if c.get(key) != item[key]]
        elif directive == "replace":
            replace = True
        else:
            raise BadRequest(f"Unknown patch type: {directive} in map: {item}")
    if replace:
        original, plain = [copy.deepcopy(p) for p in plain], []
    merged = list(original)
    for item in plain:
        if key not in item:
            raise BadRequest(f"map: {item} does not contain declared merge key: {key}")
        for i, existing in enumerate(merged):
            if key in existing and existing[key] == item[key]:
                merged[i] = _smp_map(copy.deepcopy(existing), item, ports_key)
                break
        else:
            merged.append(_smp_map({}, item, ports_key))
    in_patch, server_only = _partition(merged, plain, key)
    return _normalize_order(in_patch, server_only, plain, original, key)


# --- element order, as strategicpatch's normalizeElementOrder ----------------------

def _ident(value: Any, key: str | None) -> Any:
    return value.get(key) if key is not None and isinstance(value, dict) else value


def _index(items: list[Any], value: Any, key: str | None) -> int:
    wanted = _ident(value, key)
    for i, item in enumerate(items):
        if _ident(item, key) == wanted:
            return i
    return -1


def _partition(items: list[Any], by: list[Any], key: str | None) -> tuple[list[Any], list[Any]]:
    """(items present in ``by``, the others), each in their order in ``items``."""
    inside = [v for v in items if _index(by, v, key) >= 0]
    outside = [v for v in items if _index(by, v, key) < 0]
    return inside, outside


def _normalize_order(patch_items: list[Any], server_only: list[Any], patch_order: list[Any],
                     server_order: list[Any], key: str | None) -> list[Any]:
    """Patch items sorted by the patch's order, server-only items by the live order, then
    interleaved: a server-only item goes before a patch item only when both are in the
    live list and it came first there.  So items new to the list come first."""
    def by(order: list[Any]) -> Any:
        return lambda v: (i if (i := _index(order, v, key)) >= 0 else len(order))

    right = sorted(patch_items, key=by(patch_order))
    left = sorted(server_only, key=by(server_order))
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li, ri = _index(server_order, left[i], key), _index(server_order, right[j], key)
            if 0 <= li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


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

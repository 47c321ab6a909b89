"""Controller references: which objects a controller owns, and the reference it sets."""

from __future__ import annotations

from typing import Any

from ..selectors import labels_match, selector_from_match_labels

Obj = dict[str, Any]


def controller_ref(owner: Obj) -> Obj:
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: Obj) -> str | None:
    """The uid of the object's controller, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def owned(candidates: list[Obj], owner: Obj) -> list[Obj]:
    """Those of ``candidates`` controlled by ``owner`` and matching its selector."""
    uid = owner["metadata"]["uid"]
    reqs = selector_from_match_labels((owner.get("spec") or {}).get("selector"))
    return [c for c in candidates if controller_of(c) == uid and reqs is not None and labels_match(reqs, c)]


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def is_active(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")

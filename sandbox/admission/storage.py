"""Admission for volumes:

- DefaultStorageClass: a new claim without ``storageClassName`` gets the default class
  (annotation ``storageclass.kubernetes.io/is-default-class: "true"``; the newest wins);
- StorageObjectInUseProtection: new claims and volumes get the ``kubernetes.io/pvc-protection``
  and ``kubernetes.io/pv-protection`` finalizers (their controllers remove them);
- PersistentVolumeClaimResize: a claim grows only when bound and its class allows
  expansion; it never shrinks to or below ``status.capacity`` (a validation error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Forbidden
from ..resources import ResourceType
from ..validation import invalid_error
from ..validation_errors import forbidden as field_forbidden
from .quantity import amount

if TYPE_CHECKING:
    from ..registry import Registry

Obj = dict[str, Any]
CLASSES = "storageclasses.storage.k8s.io"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"


def default_class(registry: Registry) -> Obj | None:
    """The default StorageClass: the newest one marked default."""
    marked = [c for c in registry.store.list(CLASSES)
              if "true" in ((c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS),
                            (c["metadata"].get("annotations") or {}).get(BETA_DEFAULT_CLASS))]
    marked.sort(key=lambda c: (c["metadata"].get("creationTimestamp", ""), c["metadata"]["name"]))
    return marked[-1] if marked else None


def admit_default_class(registry: Registry, res: ResourceType, new: Obj, old: Obj | None) -> None:
    if res.storage_key != "persistentvolumeclaims" or old is not None:
        return
    spec = new.setdefault("spec", {})
    if spec.get("storageClassName") is not None:
        return
    found = default_class(registry)
    if found is not None:
        spec["storageClassName"] = found["metadata"]["name"]


def admit_protection(registry: Registry, res: ResourceType, new: Obj, old: Obj | None) -> None:
    if old is not None or res.storage_key not in ("persistentvolumeclaims", "persistentvolumes"):
        return
    finalizer = PVC_PROTECTION if res.storage_key == "persistentvolumeclaims" else PV_PROTECTION
    finalizers = new["metadata"].setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


def admit_resize(registry: Registry, res: ResourceType, new: Obj, old: Obj | None) -> None:
    if res.storage_key != "persistentvolumeclaims" or old is None:
        return
    size = amount(_request(new))
    before = amount(_request(old))
    if size.value < before.value:
        capacity = ((old.get("status") or {}).get("capacity") or {}).get("storage")
        if capacity is None or size.value <= amount(capacity).value:
            raise invalid_error("PersistentVolumeClaim", "", new["metadata"]["name"], [field_forbidden(
                "spec.resources.requests.storage", "field can not be less than status.capacity")])
        return
    if size.value == before.value:
        return
    name = new["metadata"]["name"]
    if (old.get("status") or {}).get("phase") != "Bound":
        raise Forbidden(f'persistentvolumeclaims "{name}" is forbidden: Only bound persistent volume '
                        f"claims can be expanded", name=name, kind="persistentvolumeclaims")
    klass = (new.get("spec") or {}).get("storageClassName") or ""
    found = registry.store.get(CLASSES, "", klass) if klass else None
    if found is None or klass != (old.get("spec") or {}).get("storageClassName") or \
            not found.get("allowVolumeExpansion"):
        raise Forbidden(f'persistentvolumeclaims "{name}" is forbidden: only dynamically provisioned '
                        f"pvc can be resized and the storageclass that provisions the pvc must support "
                        f"resize", name=name, kind="persistentvolumeclaims")


def _request(claim: Obj) -> Any:
    return (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", "0")

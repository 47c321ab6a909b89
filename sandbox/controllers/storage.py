"""Volumes: the default StorageClass ``standard`` of minikube, the persistent-volume
controller with a simulated dynamic provisioner (``k8s.io/minikube-hostpath``), the
external resizer, and the pvc-protection and pv-protection controllers.

A claim of an existing class gets a hostPath volume ``pvc-<uid>`` under
``/tmp/hostpath-provisioner/<namespace>/<name>``, both Bound with the annotations and
events a real cluster shows; a claim naming a missing class stays Pending with a
``ProvisioningFailed`` warning. Deleting a claim waits while a pod uses it, then the
volume is deleted or released by its reclaim policy. Growing a bound claim's request
resizes the volume.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from .. import objects, timefmt
from ..admission.quantity import amount
from ..admission.storage import CLASSES, DEFAULT_CLASS, PV_PROTECTION, PVC_PROTECTION
from ..errors import NotFound
from ..registry import DeleteOptions, WriteOptions
from ..resources import lookup
from ..store import Change
from .base import Controller, Key
from .events import Recorder

Obj = dict[str, Any]
PROVISIONER = "k8s.io/minikube-hostpath"
PV_CONTROLLER = "persistentvolume-controller"
ROOT = "/tmp/hostpath-provisioner"
CLAIMS = "persistentvolumeclaims"
VOLUMES = "persistentvolumes"
BETA_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"


def _res(group: str, plural: str) -> Any:
    res = lookup(group, "v1", plural)
    assert res is not None
    return res


PVCS = _res("", CLAIMS)
PVS = _res("", VOLUMES)
STORAGE_CLASSES = _res("storage.k8s.io", "storageclasses")


def standard_class() -> Obj:
    """minikube's default class (with expansion allowed)."""
    return {
        "metadata": {"name": "standard", "annotations": {DEFAULT_CLASS: "true"},
                     "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"}},
        "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": True,
    }


def ensure_default_class(registry: Any) -> None:
    if registry.store.get(CLASSES, "", "standard") is None:
        registry.create(STORAGE_CLASSES, "", standard_class(), WriteOptions())


def claim_names(pod: Obj | None) -> list[str]:
    return [str(v["persistentVolumeClaim"].get("claimName")) for v in ((pod or {}).get("spec") or {})
            .get("volumes") or [] if isinstance(v.get("persistentVolumeClaim"), dict)]


def _request(claim: Obj) -> str:
    return str((((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", "0"))


class VolumeController(Controller):
    watches = (CLAIMS, VOLUMES, "pods", CLASSES)
    primary = CLAIMS
    resync = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = Recorder(self.registry)
        self.identity = f"{PROVISIONER}_minikube_{uuid.uuid4()}"

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == "pods":
            return [(change.namespace, n) for p in (change.obj, change.prev) for n in claim_names(p)]
        if change.storage == VOLUMES:
            ref = (change.obj.get("spec") or {}).get("claimRef") or {}
            return [(str(ref.get("namespace", "")), str(ref["name"]))] if ref.get("name") else []
        if change.storage == CLASSES:
            return [(c["metadata"]["namespace"], c["metadata"]["name"]) for c in self.store.list(CLAIMS)
                    if (c.get("status") or {}).get("phase") == "Pending"]
        return list(super().keys_for(change))

    def reconcile(self, namespace: str, name: str) -> None:
        claim = self.store.get(CLAIMS, namespace, name)
        if claim is None:
            self._release(namespace, name)
            return
        if claim["metadata"].get("deletionTimestamp"):
            if PVC_PROTECTION in (claim["metadata"].get("finalizers") or []) and not self._in_use(claim):
                self._drop_finalizer(PVCS, claim, PVC_PROTECTION)
            return
        if (claim.get("status") or {}).get("phase") == "Bound":
            self._resize(claim)
            return
        class_name = (claim.get("spec") or {}).get("storageClassName")
        if not class_name:
            return  # static binding is not simulated: the claim waits for an administrator
        klass = self.store.get(CLASSES, "", class_name)
        if klass is None:
            self.events.record(claim, "Warning", "ProvisioningFailed",
                               f'storageclass.storage.k8s.io "{class_name}" not found', PV_CONTROLLER)
            return
        if klass.get("volumeBindingMode") == "WaitForFirstConsumer" and not self._in_use(claim):
            self.events.record(claim, "Normal", "WaitForFirstConsumer",
                               "waiting for first consumer to be created before binding", PV_CONTROLLER)
            return
        self._provision(claim, klass)

    # --- provisioning ------------------------------------------------------------------

    def _provision(self, claim: Obj, klass: Obj) -> None:
        meta = claim["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        provisioner = str(klass.get("provisioner", PROVISIONER))
        self.events.record(claim, "Normal", "ExternalProvisioning",
                           f"Waiting for a volume to be created either by the external provisioner "
                           f"'{provisioner}' or manually by the system administrator. If volume creation "
                           f"is delayed, please verify that the provisioner is running and correctly "
                           f"registered.", PV_CONTROLLER)
        claim = self._update(PVCS, claim, lambda c: c["metadata"].setdefault("annotations", {}).update(
            {BETA_PROVISIONER: provisioner, STORAGE_PROVISIONER: provisioner}))
        if provisioner != PROVISIONER:
            return  # another provisioner's class: nothing here provisions it
        self.events.record(claim, "Normal", "Provisioning",
                           f'External provisioner is provisioning volume for claim "{namespace}/{name}"',
                           self.identity)
        volume_name = f"pvc-{meta['uid']}"
        spec = claim.get("spec") or {}
        volume = self.store.get(VOLUMES, "", volume_name)
        if volume is None:
            body = {
                "metadata": {"name": volume_name, "annotations": {
                    "hostPathProvisionerIdentity": "minikube", "pv.kubernetes.io/provisioned-by": provisioner}},
                "spec": {
                    "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                    "capacity": {"storage": _request(claim)},
                    "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": namespace,
                                 "name": name, "uid": meta["uid"], "resourceVersion": meta["resourceVersion"]},
                    "hostPath": {"path": f"{ROOT}/{namespace}/{name}", "type": ""},
                    "persistentVolumeReclaimPolicy": klass.get("reclaimPolicy", "Delete"),
                    "storageClassName": klass["metadata"]["name"],
                    "volumeMode": spec.get("volumeMode", "Filesystem"),
                },
            }
            volume = self.registry.create(PVS, "", body, WriteOptions()).obj
            self.events.record(claim, "Normal", "ProvisioningSucceeded",
                               f"Successfully provisioned volume {volume_name}", self.identity)
        self._set_status(PVS, volume, {"phase": "Bound", "lastPhaseTransitionTime": timefmt.rfc3339()})

        def bind(c: Obj) -> None:
            c["spec"]["volumeName"] = volume_name
            c["metadata"].setdefault("annotations", {}).update(
                {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"})

        claim = self._update(PVCS, claim, bind)
        self._set_status(PVCS, claim, {"phase": "Bound", "accessModes": list(spec.get("accessModes") or []),
                                       "capacity": {"storage": _request(claim)}})

    # --- resizing ----------------------------------------------------------------------

    def _resize(self, claim: Obj) -> None:
        want = _request(claim)
        status = claim.get("status") or {}
        have = (status.get("capacity") or {}).get("storage", "0")
        if amount(want).value <= amount(have).value:
            return
        volume_name = (claim.get("spec") or {}).get("volumeName", "")
        volume = self.store.get(VOLUMES, "", volume_name)
        if volume is None:
            return
        resizer = f"external-resizer {PROVISIONER}"
        self.events.record(claim, "Normal", "Resizing", f"External resizer is resizing volume {volume_name}",
                           resizer)
        now = timefmt.rfc3339()
        self._set_status(PVCS, claim, {
            **status, "allocatedResources": {"storage": want},
            "allocatedResourceStatuses": {"storage": "ControllerResizeInProgress"},
            "conditions": [{"type": "Resizing", "status": "True", "lastProbeTime": None,
                            "lastTransitionTime": now}]})
        self._update(PVS, volume, lambda v: v["spec"].setdefault("capacity", {}).update({"storage": want}))
        self.events.record(claim, "Normal", "VolumeResizeSuccessful", "Resize volume succeeded", resizer)
        current = self.store.get(CLAIMS, claim["metadata"]["namespace"], claim["metadata"]["name"])
        if current is not None:
            final = {k: v for k, v in (current.get("status") or {}).items()
                     if k not in ("conditions", "allocatedResourceStatuses")}
            final["capacity"] = {**(final.get("capacity") or {}), "storage": want}
            final["allocatedResources"] = {"storage": want}
            self._set_status(PVCS, current, final)

    # --- deletion ----------------------------------------------------------------------

    def _in_use(self, claim: Obj) -> bool:
        name = claim["metadata"]["name"]
        return any(name in claim_names(p) and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                   for p in self.store.list("pods", claim["metadata"]["namespace"]))

    def _release(self, namespace: str, name: str) -> None:
        for volume in self.store.list(VOLUMES):
            ref = (volume.get("spec") or {}).get("claimRef") or {}
            if ref.get("namespace") != namespace or ref.get("name") != name:
                continue
            if (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete":
                with contextlib.suppress(NotFound):
                    self.registry.delete(PVS, "", volume["metadata"]["name"], DeleteOptions())
                    gone = self.store.get(VOLUMES, "", volume["metadata"]["name"])
                    if gone is not None:
                        self._drop_finalizer(PVS, gone, PV_PROTECTION)
            elif (volume.get("status") or {}).get("phase") != "Released":
                self._set_status(PVS, volume, {"phase": "Released", "lastPhaseTransitionTime": timefmt.rfc3339()})

    # --- writes ------------------------------------------------------------------------

    def _update(self, res: Any, obj: Obj, change: Any) -> Obj:
        meta = obj["metadata"]
        current = self.store.get(res.storage_key, meta.get("namespace", ""), meta["name"])
        if current is None:
            return obj
        updated = objects.copy(current)
        change(updated)
        return self.registry.update(res, meta.get("namespace", ""), meta["name"], updated, WriteOptions()).obj

    def _set_status(self, res: Any, obj: Obj, status: Obj) -> None:
        meta = obj["metadata"]
        current = self.store.get(res.storage_key, meta.get("namespace", ""), meta["name"])
        if current is None or (current.get("status") or {}) == status:
            return
        updated = objects.copy(current)
        updated["status"] = status
        self.registry.update(res, meta.get("namespace", ""), meta["name"], updated, WriteOptions(), sub="status")

    def _drop_finalizer(self, res: Any, obj: Obj, finalizer: str) -> None:
        self._update(res, obj, lambda o: o["metadata"].__setitem__(
            "finalizers", [f for f in o["metadata"].get("finalizers") or [] if f != finalizer]))

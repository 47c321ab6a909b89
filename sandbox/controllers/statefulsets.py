"""The StatefulSet controller: ordinal pods ``<set>-0 … <set>-N-1`` with stable names,
hostnames and a PersistentVolumeClaim per volumeClaimTemplate (``<template>-<set>-<n>``,
created before the pod and kept after it unless the retention policy says Delete),
OrderedReady (one pod at a time, in order up and in reverse order down) or Parallel
management, RollingUpdate from the highest ordinal down to the partition, or OnDelete.

ControllerRevisions are not served by this API server: the revision of a template
(``<set>-<hash>``) lives in the pods' ``controller-revision-hash`` label and the set's
status only, and the template of an older revision is remembered in memory (pods
below a partition are re-created from it while the controller runs)."""

from __future__ import annotations

import re
from typing import Any

from .. import objects
from ..errors import AlreadyExists, NotFound
from ..registry import DeleteOptions, WriteOptions
from ..store import Change
from .base import Controller, Key
from .deployments import template_hash
from .events import Recorder
from .kinds import PODS, PVCS, STATEFULSETS
from .ownership import controller_ref
from .workload_common import (
    controlled,
    is_available,
    is_terminating,
    later,
    owner_keys,
    pod_revision,
    running_and_ready,
    write_status,
)

Obj = dict[str, Any]
COMPONENT = "statefulset-controller"
POD_NAME = "statefulset.kubernetes.io/pod-name"
POD_INDEX = "apps.kubernetes.io/pod-index"
REVISION = "controller-revision-hash"


def revision_name(sts: Obj) -> str:
    spec = sts.get("spec") or {}
    collisions = int((sts.get("status") or {}).get("collisionCount", 0))
    return f"{sts['metadata']['name']}-{template_hash(spec.get('template') or {}, collisions)}"


def ordinal_of(sts: Obj, pod: Obj) -> int | None:
    found = re.fullmatch(rf"{re.escape(sts['metadata']['name'])}-(\d+)", pod["metadata"]["name"])
    return int(found.group(1)) if found else None


def claim_name(template: Obj, sts: Obj, ordinal: int) -> str:
    return f"{(template.get('metadata') or {}).get('name', '')}-{sts['metadata']['name']}-{ordinal}"


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class StatefulSetController(Controller):
    watches = ("statefulsets.apps", "pods")
    primary = "statefulsets.apps"
    resync = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = Recorder(self.registry)
        self._templates: dict[str, Obj] = {}  # revision name -> pod template

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == "pods":
            return owner_keys(change, "StatefulSet")
        return list(super().keys_for(change))

    def reconcile(self, namespace: str, name: str) -> None:
        sts = self.store.get("statefulsets.apps", namespace, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        spec = sts.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        update = revision_name(sts)
        self._templates[update] = objects.copy(spec.get("template") or {})
        current = (sts.get("status") or {}).get("currentRevision") or update
        pods: dict[int, Obj] = {}
        for pod in controlled(self.store.list("pods", namespace), sts):
            ordinal = ordinal_of(sts, pod)
            if ordinal is not None:
                pods[ordinal] = pod
        self._sync(sts, pods, replicas, current, update)
        fresh = {o: p for o, p in ((o, self.store.get("pods", namespace, p["metadata"]["name"]))
                                   for o, p in pods.items()) if p is not None}
        self._status(sts, list(fresh.values()), current, update)

    # --- pods ------------------------------------------------------------------------

    def _sync(self, sts: Obj, pods: dict[int, Obj], replicas: int, current: str, update: str) -> None:
        spec = sts.get("spec") or {}
        ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        strategy = spec.get("updateStrategy") or {}
        partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0) or 0)
        for ordinal in range(replicas):  # replace finished pods, create missing ones, in order
            pod = pods.get(ordinal)
            if pod is not None and _finished(pod) and not is_terminating(pod):
                self._delete(sts, pod)
                if ordered:
                    return
                continue
            if pod is None:
                rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
                revision = current if rolling and ordinal < partition and current in self._templates else update
                pods[ordinal] = self._create(sts, ordinal, revision)
                if ordered:
                    return
                continue
            self._claims(sts, ordinal)
            if ordered and (is_terminating(pod) or not running_and_ready(pod)):
                return
        condemned = sorted((o for o in pods if o >= replicas), reverse=True)
        for ordinal in condemned:
            pod = pods[ordinal]
            if is_terminating(pod):
                if ordered:
                    return
                continue
            if ordered and any(not running_and_ready(p) or is_terminating(p)
                               for o, p in pods.items() if o < ordinal):
                return
            self._release_claims(sts, pod, ordinal)
            self._delete(sts, pod)
            if ordered:
                return
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        live = [pods[o] for o in range(replicas) if o in pods]
        if len(live) < replicas or any(not running_and_ready(p) or is_terminating(p) for p in live):
            return  # one unavailable pod at a time
        for ordinal in range(replicas - 1, partition - 1, -1):
            if pod_revision(pods[ordinal]) != update:
                self._delete(sts, pods[ordinal])
                return

    def _create(self, sts: Obj, ordinal: int, revision: str) -> Obj:
        meta = sts["metadata"]
        spec = sts.get("spec") or {}
        template = objects.copy(self._templates.get(revision) or spec.get("template") or {})
        name = f"{meta['name']}-{ordinal}"
        tmeta = template.get("metadata") or {}
        labels = {**(tmeta.get("labels") or {}), REVISION: revision, POD_NAME: name, POD_INDEX: str(ordinal)}
        pod_spec = template.get("spec") or {}
        pod_spec["hostname"] = name
        if spec.get("serviceName"):
            pod_spec["subdomain"] = spec["serviceName"]
        claims = {(t.get("metadata") or {}).get("name"): claim_name(t, sts, ordinal)
                  for t in spec.get("volumeClaimTemplates") or []}
        volumes = [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claims]
        volumes = [{"name": vol, "persistentVolumeClaim": {"claimName": claim}} for vol, claim in claims.items()] \
            + volumes
        if volumes:
            pod_spec["volumes"] = volumes
        body: Obj = {"metadata": {"name": name, "labels": labels, "ownerReferences": [controller_ref(sts)]},
                     "spec": pod_spec}
        if tmeta.get("annotations"):
            body["metadata"]["annotations"] = dict(tmeta["annotations"])
        self._claims(sts, ordinal)
        try:
            created = self.registry.create(PODS, meta["namespace"], body, WriteOptions()).obj
        except AlreadyExists:
            return self.store.get("pods", meta["namespace"], name) or body
        self.events.record(sts, "Normal", "SuccessfulCreate",
                           f"create Pod {name} in StatefulSet {meta['name']} successful", COMPONENT)
        return created

    def _claims(self, sts: Obj, ordinal: int) -> None:
        """Create the missing claims of ``ordinal`` from the volumeClaimTemplates."""
        meta = sts["metadata"]
        spec = sts.get("spec") or {}
        policy = spec.get("persistentVolumeClaimRetentionPolicy") or {}
        selector_labels = (spec.get("selector") or {}).get("matchLabels") or {}
        for template in spec.get("volumeClaimTemplates") or []:
            name = claim_name(template, sts, ordinal)
            if self.store.get(PVCS.storage_key, meta["namespace"], name) is not None:
                continue
            tmeta = template.get("metadata") or {}
            body: Obj = {"metadata": {"name": name,
                                      "labels": {**(tmeta.get("labels") or {}), **selector_labels}},
                         "spec": objects.copy(template.get("spec") or {})}
            if tmeta.get("annotations"):
                body["metadata"]["annotations"] = dict(tmeta["annotations"])
            if policy.get("whenDeleted") == "Delete":
                body["metadata"]["ownerReferences"] = [_owner(sts)]
            try:
                self.registry.create(PVCS, meta["namespace"], body, WriteOptions())
            except AlreadyExists:
                continue
            self.events.record(sts, "Normal", "SuccessfulCreate",
                               f"create Claim {name} Pod {meta['name']}-{ordinal} in StatefulSet "
                               f"{meta['name']} success", COMPONENT)

    def _release_claims(self, sts: Obj, pod: Obj, ordinal: int) -> None:
        """Scaled down with ``whenScaled: Delete``: the pod owns its claims (instead of the
        set), so they go with it."""
        spec = sts.get("spec") or {}
        if (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenScaled") != "Delete":
            return
        namespace = sts["metadata"]["namespace"]
        for template in spec.get("volumeClaimTemplates") or []:
            claim = self.store.get(PVCS.storage_key, namespace, claim_name(template, sts, ordinal))
            if claim is None:
                continue
            refs = [r for r in claim["metadata"].get("ownerReferences") or []
                    if r.get("uid") != sts["metadata"]["uid"]]  # the pod's now, not the set's
            if any(r.get("uid") == pod["metadata"]["uid"] for r in refs):
                continue
            updated = objects.copy(claim)
            updated["metadata"]["ownerReferences"] = [*refs, _owner(pod)]
            self.registry.update(PVCS, namespace, claim["metadata"]["name"], updated, WriteOptions())

    def _delete(self, sts: Obj, pod: Obj) -> None:
        meta = sts["metadata"]
        try:
            self.registry.delete(PODS, meta["namespace"], pod["metadata"]["name"], DeleteOptions())
        except NotFound:
            return
        self.events.record(sts, "Normal", "SuccessfulDelete",
                           f"delete Pod {pod['metadata']['name']} in StatefulSet {meta['name']} successful",
                           COMPONENT)

    # --- status ------------------------------------------------------------------

    def _status(self, sts: Obj, pods: list[Obj], current: str, update: str) -> None:
        spec = sts.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds", 0) or 0)
        live = [p for p in pods if not is_terminating(p)]
        ready = [p for p in pods if running_and_ready(p)]
        available = [p for p in ready if is_available(p, min_ready, self.clock.speed)]
        counts = {
            "replicas": len(pods),
            "readyReplicas": len(ready),
            "currentReplicas": sum(1 for p in live if pod_revision(p) == current),
            "updatedReplicas": sum(1 for p in live if pod_revision(p) == update),
        }
        rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
        if rolling and counts["updatedReplicas"] == counts["replicas"] == counts["readyReplicas"]:
            current, counts["currentReplicas"] = update, counts["updatedReplicas"]
        status: Obj = {"observedGeneration": sts["metadata"].get("generation", 1)}
        status.update({k: v for k, v in counts.items() if v or k == "replicas"})
        status.update({"currentRevision": current, "updateRevision": update,
                       "collisionCount": int((sts.get("status") or {}).get("collisionCount", 0)),
                       "availableReplicas": len(available)})
        write_status(self.registry, STATEFULSETS, sts, status)
        if min_ready and len(available) < len(ready):
            later(self, (sts["metadata"]["namespace"], sts["metadata"]["name"]), min_ready)


def _owner(obj: Obj) -> Obj:
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"], "uid": meta["uid"]}

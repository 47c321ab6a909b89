"""The ReplicaSet controller: keeps ``spec.replicas`` pods of the template running and
reports how many are ready and available."""

from __future__ import annotations

import copy
from typing import Any

from .. import objects, timefmt
from ..registry import DeleteOptions, WriteOptions
from ..store import Change
from .base import Controller, Key
from .events import Recorder
from .kinds import PODS, REPLICASETS
from .ownership import controller_ref, is_active, is_ready, owned

Obj = dict[str, Any]
COMPONENT = "replicaset-controller"


def _rank(pod: Obj) -> tuple[int, int, str]:
    """Which pods go first when scaling down: unscheduled, pending, unready, then the newest."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    stage = 0 if not spec.get("nodeName") else 1 if status.get("phase") == "Pending" else 2 if not is_ready(pod) else 3
    return stage, 0, pod["metadata"].get("creationTimestamp", "")


class ReplicaSetController(Controller):
    watches = ("replicasets.apps", "pods")
    primary = "replicasets.apps"
    min_interval = 0.2
    resync = 5.0  # pods become available minReadySeconds after they are ready

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = Recorder(self.registry)

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == "pods":
            keys = []
            for obj in (change.obj, change.prev):
                for ref in ((obj or {}).get("metadata") or {}).get("ownerReferences") or []:
                    if ref.get("kind") == "ReplicaSet" and ref.get("controller"):
                        keys.append((change.namespace, str(ref.get("name"))))
            return keys
        return list(super().keys_for(change))

    def reconcile(self, namespace: str, name: str) -> None:
        rs = self.store.get("replicasets.apps", namespace, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        mine = [pod for _, pod in self.store.dependents(rs["metadata"]["uid"], "pods")]
        pods = [p for p in owned(mine, rs) if is_active(p)]
        want = int((rs.get("spec") or {}).get("replicas", 1))
        if len(pods) < want:
            for _ in range(want - len(pods)):
                pod = self._create_pod(rs)
                pods.append(pod)
        elif len(pods) > want:
            doomed = sorted(pods, key=_rank)[: len(pods) - want]
            for pod in doomed:
                meta = pod["metadata"]
                self.registry.delete(PODS, namespace, meta["name"], DeleteOptions())
                self.events.record(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}", COMPONENT)
            gone = {p["metadata"]["uid"] for p in doomed}
            pods = [p for p in pods if p["metadata"]["uid"] not in gone]
        self._status(rs, pods)

    def _create_pod(self, rs: Obj) -> Obj:
        template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
        meta = template.get("metadata") or {}
        body = {
            "metadata": {"generateName": f"{rs['metadata']['name']}-", "labels": meta.get("labels") or {},
                         "annotations": meta.get("annotations") or {},
                         "ownerReferences": [controller_ref(rs)]},
            "spec": template.get("spec") or {},
        }
        if not body["metadata"]["annotations"]:
            del body["metadata"]["annotations"]
        result = self.registry.create(PODS, rs["metadata"]["namespace"], body, WriteOptions())
        self.events.record(rs, "Normal", "SuccessfulCreate",
                           f"Created pod: {result.obj['metadata']['name']}", COMPONENT)
        return result.obj

    def _status(self, rs: Obj, pods: list[Obj]) -> None:
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds", 0))
        labels = (((rs.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        ready = [p for p in pods if is_ready(p)]
        available = [p for p in ready if _ready_for(p) * self.clock.speed >= min_ready]
        status: Obj = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(1 for p in pods if all(
                (p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())),
            "readyReplicas": len(ready),
            "availableReplicas": len(available),
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        current = self.store.get("replicasets.apps", rs["metadata"]["namespace"], rs["metadata"]["name"])
        if current is None or (current.get("status") or {}) == status:
            return
        updated = objects.copy(current)
        updated["status"] = status
        self.registry.update(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"], updated,
                             WriteOptions(), sub="status")


def _ready_for(pod: Obj) -> float:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            since = timefmt.parse(c.get("lastTransitionTime"))
            if since is not None:
                return (timefmt.now() - since).total_seconds()
    return 0.0

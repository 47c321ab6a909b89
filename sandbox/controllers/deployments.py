"""The Deployment controller: a ReplicaSet per pod template, rolling updates within
maxSurge and maxUnavailable (or Recreate), revisions and rollbacks that re-use an old
ReplicaSet, status and conditions, and the progress deadline."""

from __future__ import annotations

import json
import math
from typing import Any

from .. import objects, timefmt
from ..registry import DeleteOptions, WriteOptions
from ..store import Change
from .base import Controller, Key
from .events import Recorder
from .kinds import DEPLOYMENTS, REPLICASETS
from .ownership import controller_of, controller_ref, owned

Obj = dict[str, Any]
COMPONENT = "deployment-controller"
REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX = "deployment.kubernetes.io/max-replicas"
HASH = "pod-template-hash"
SKIPPED = {REVISION, HISTORY, DESIRED, MAX, "kubectl.kubernetes.io/last-applied-configuration"}
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Obj, collisions: int = 0) -> str:
    """FNV-32a of the template's canonical JSON, encoded as the API's safe alphabet."""
    value = 0x811C9DC5
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collisions:
        data += str(collisions).encode()
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in str(value))


def _without_hash(template: Obj) -> Obj:
    copy = objects.copy(template)
    labels = (copy.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH, None)
    return copy


def _resolve(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        fraction = total * int(value[:-1]) / 100
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(value or 0)


def _revision(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _condition(kind: str, status: bool, reason: str, message: str, old: list[Obj], *,
               touched: bool = False) -> Obj:
    """A condition; ``touched``: it is updated now even if nothing about it changed."""
    now = timefmt.rfc3339()
    prior = next((c for c in old if c.get("type") == kind), None)
    text = "True" if status else "False"
    same = prior is not None and prior.get("status") == text
    return {"type": kind, "status": text,
            "lastUpdateTime": prior.get("lastUpdateTime", now) if same and prior and
            prior.get("reason") == reason and not touched else now,
            "lastTransitionTime": prior.get("lastTransitionTime", now) if same and prior else now,
            "reason": reason, "message": message}


class DeploymentController(Controller):
    watches = ("deployments.apps", "replicasets.apps")
    primary = "deployments.apps"
    min_interval = 0.2
    resync = 30.0  # the progress deadline

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = Recorder(self.registry)

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == "replicasets.apps":
            keys = []
            for obj in (change.obj, change.prev):
                for ref in ((obj or {}).get("metadata") or {}).get("ownerReferences") or []:
                    if ref.get("kind") == "Deployment" and ref.get("controller"):
                        keys.append((change.namespace, str(ref.get("name"))))
            return keys
        return list(super().keys_for(change))

    def reconcile(self, namespace: str, name: str) -> None:
        deploy = self.store.get("deployments.apps", namespace, name)
        if deploy is None or deploy["metadata"].get("deletionTimestamp"):
            return
        spec = deploy.get("spec") or {}
        all_rs = owned([rs for _, rs in self.store.dependents(deploy["metadata"]["uid"], "replicasets.apps")], deploy)
        template = spec.get("template") or {}
        new = next((rs for rs in all_rs if _without_hash((rs.get("spec") or {}).get("template") or {})
                    == _without_hash(template)), None)
        old = [rs for rs in all_rs if rs is not new]
        if spec.get("paused"):
            self._status(deploy, new, old)
            return
        max_revision = max((_revision(rs) for rs in all_rs), default=0)
        note = None
        if new is None:
            new = self._create_rs(deploy, max_revision + 1)
            note = ("NewReplicaSetCreated", f'Created new replica set "{new["metadata"]["name"]}"')
        else:
            new = self._sync_rs_annotations(deploy, new, max_revision)
        replicas = int(spec.get("replicas", 1))
        strategy = spec.get("strategy") or {}
        if strategy.get("type") == "Recreate":
            self._recreate(deploy, new, old, replicas)
        else:
            self._rolling(deploy, new, old, replicas, strategy.get("rollingUpdate") or {})
        self._cleanup(deploy, new, old)
        self._status(deploy, new, old, note)

    # --- replica sets ---------------------------------------------------------------

    def _annotations(self, deploy: Obj, revision: int, replicas: int, surge: int) -> dict[str, str]:
        copied = {k: v for k, v in (deploy["metadata"].get("annotations") or {}).items() if k not in SKIPPED}
        return {**copied, REVISION: str(revision), DESIRED: str(replicas), MAX: str(replicas + surge)}

    def _surge(self, deploy: Obj) -> int:
        spec = deploy.get("spec") or {}
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            return 0
        return _resolve(rolling.get("maxSurge", "25%"), int(spec.get("replicas", 1)), True)

    def _create_rs(self, deploy: Obj, revision: int) -> Obj:
        spec = deploy.get("spec") or {}
        template = objects.copy(spec.get("template") or {})
        collisions = 0
        names = {rs["metadata"]["name"] for rs in self.store.list("replicasets.apps", deploy["metadata"]["namespace"])}
        digest = template_hash(template)
        while f"{deploy['metadata']['name']}-{digest}" in names:
            collisions += 1
            digest = template_hash(template, collisions)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH] = digest
        selector = objects.copy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH] = digest
        replicas = int(spec.get("replicas", 1))
        body = {
            "metadata": {"name": f"{deploy['metadata']['name']}-{digest}",
                         "labels": {**(template["metadata"].get("labels") or {})},
                         "annotations": self._annotations(deploy, revision, replicas, self._surge(deploy)),
                         "ownerReferences": [controller_ref(deploy)]},
            "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds", 0), "selector": selector,
                     "template": template},
        }
        if not body["spec"]["minReadySeconds"]:
            del body["spec"]["minReadySeconds"]
        return self.registry.create(REPLICASETS, deploy["metadata"]["namespace"], body, WriteOptions()).obj

    def _sync_rs_annotations(self, deploy: Obj, rs: Obj, max_revision: int) -> Obj:
        """The current ReplicaSet carries the newest revision (a rollback gives an old one max+1)."""
        revision = _revision(rs)
        annotations = dict(rs["metadata"].get("annotations") or {})
        spec = deploy.get("spec") or {}
        wanted = self._annotations(deploy, revision if revision >= max_revision else max_revision + 1,
                                   int(spec.get("replicas", 1)), self._surge(deploy))
        if revision < max_revision:
            history = [h for h in annotations.get(HISTORY, "").split(",") if h]
            wanted[HISTORY] = ",".join([*history, str(revision)])
        elif HISTORY in annotations:
            wanted[HISTORY] = annotations[HISTORY]
        if all(annotations.get(k) == v for k, v in wanted.items()):
            return rs
        updated = objects.copy(rs)
        updated["metadata"]["annotations"] = {**annotations, **wanted}
        return self.registry.update(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"], updated,
                                    WriteOptions()).obj

    def _scale(self, deploy: Obj, rs: Obj, replicas: int) -> Obj:
        before = int((rs.get("spec") or {}).get("replicas", 0))
        if before == replicas:
            return rs
        current = self.store.get("replicasets.apps", rs["metadata"]["namespace"], rs["metadata"]["name"]) or rs
        updated = objects.copy(current)
        updated["spec"]["replicas"] = replicas
        annotations = updated["metadata"].setdefault("annotations", {})
        spec = deploy.get("spec") or {}
        annotations[DESIRED] = str(spec.get("replicas", 1))
        annotations[MAX] = str(int(spec.get("replicas", 1)) + self._surge(deploy))
        result = self.registry.update(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"],
                                      updated, WriteOptions()).obj
        direction = "up" if replicas > before else "down"
        self.events.record(deploy, "Normal", "ScalingReplicaSet",
                           f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {replicas}",
                           COMPONENT)
        return result

    def _recreate(self, deploy: Obj, new: Obj, old: list[Obj], replicas: int) -> None:
        running = 0
        for rs in old:
            if int((rs.get("spec") or {}).get("replicas", 0)):
                self._scale(deploy, rs, 0)
            running += int((rs.get("status") or {}).get("replicas", 0))
        if running == 0:
            self._scale(deploy, new, replicas)

    def _rolling(self, deploy: Obj, new: Obj, old: list[Obj], replicas: int, rolling: Obj) -> None:
        surge = _resolve(rolling.get("maxSurge", "25%"), replicas, True)
        unavailable = _resolve(rolling.get("maxUnavailable", "25%"), replicas, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        new_replicas = int((new.get("spec") or {}).get("replicas", 0))
        old_total = sum(int((rs.get("spec") or {}).get("replicas", 0)) for rs in old)
        # scale up the new ReplicaSet within maxSurge
        if new_replicas > replicas:
            new = self._scale(deploy, new, replicas)
            new_replicas = replicas
        elif new_replicas < replicas:
            room = replicas + surge - (old_total + new_replicas)
            if room > 0:
                new_replicas = min(replicas, new_replicas + room)
                new = self._scale(deploy, new, new_replicas)
        # scale down the old ones within maxUnavailable
        if not old_total:
            return
        min_available = replicas - unavailable
        new_available = int((new.get("status") or {}).get("availableReplicas", 0))
        new_unavailable = new_replicas - new_available
        all_pods = old_total + new_replicas
        budget = all_pods - min_available - new_unavailable
        if budget <= 0:
            return
        ordered = sorted(old, key=lambda rs: rs["metadata"].get("creationTimestamp", ""))
        for rs in ordered:  # unhealthy pods of old sets go first
            have = int((rs.get("spec") or {}).get("replicas", 0))
            unhealthy = have - int((rs.get("status") or {}).get("availableReplicas", 0))
            cut = min(unhealthy, budget)
            if cut > 0:
                self._scale(deploy, rs, have - cut)
                budget -= cut
        available = new_available + sum(int((rs.get("status") or {}).get("availableReplicas", 0)) for rs in old)
        budget = min(budget, available - min_available)
        for rs in ordered:
            if budget <= 0:
                break
            current = self.store.get("replicasets.apps", rs["metadata"]["namespace"], rs["metadata"]["name"]) or rs
            have = int((current.get("spec") or {}).get("replicas", 0))
            cut = min(have, budget)
            if cut > 0:
                self._scale(deploy, current, have - cut)
                budget -= cut

    def _cleanup(self, deploy: Obj, new: Obj, old: list[Obj]) -> None:
        limit = int((deploy.get("spec") or {}).get("revisionHistoryLimit", 10))
        idle = sorted((rs for rs in old if not int((rs.get("spec") or {}).get("replicas", 0))
                       and not int((rs.get("status") or {}).get("replicas", 0))), key=_revision)
        for rs in idle[: max(0, len(idle) - limit)]:
            self.registry.delete(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"], DeleteOptions())

    # --- status ------------------------------------------------------------------

    def _status(self, deploy: Obj, new: Obj | None, old: list[Obj],
                note: tuple[str, str] | None = None) -> None:
        namespace, name = deploy["metadata"]["namespace"], deploy["metadata"]["name"]
        current = self.store.get("deployments.apps", namespace, name)
        if current is None:
            return
        spec = current.get("spec") or {}
        refreshed = [self.store.get("replicasets.apps", namespace, rs["metadata"]["name"]) or rs
                     for rs in ([new] if new else []) + old]
        every = [rs for rs in refreshed if controller_of(rs) == current["metadata"]["uid"]]
        newest = every[0] if new else None

        def total(rs_list: list[Obj], key: str) -> int:
            return sum(int((rs.get("status") or {}).get(key, 0)) for rs in rs_list)

        replicas = int(spec.get("replicas", 1))
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        unavailable_budget = 0 if (spec.get("strategy") or {}).get("type") == "Recreate" else \
            _resolve(rolling.get("maxUnavailable", "25%"), replicas, False)
        available = total(every, "availableReplicas")
        updated = total([newest], "replicas") if newest else 0
        status: Obj = {
            "observedGeneration": current["metadata"].get("generation", 1),
            "replicas": total(every, "replicas"),
            "updatedReplicas": updated,
            "readyReplicas": total(every, "readyReplicas"),
            "availableReplicas": available,
            "unavailableReplicas": max(0, total(every, "replicas") - available) if total(every, "replicas")
            > available else max(0, replicas - available),
        }
        status = {k: v for k, v in status.items() if v or k in ("observedGeneration",)}
        old_conditions = (current.get("status") or {}).get("conditions") or []
        conditions = [_condition("Available", available >= replicas - unavailable_budget,
                                 "MinimumReplicasAvailable" if available >= replicas - unavailable_budget
                                 else "MinimumReplicasUnavailable",
                                 "Deployment has minimum availability." if available >= replicas - unavailable_budget
                                 else "Deployment does not have minimum availability.", old_conditions)]
        rs_name = newest["metadata"]["name"] if newest else ""
        complete = newest is not None and updated == replicas and available >= replicas and \
            total(every, "replicas") == updated
        prior = next((c for c in old_conditions if c.get("type") == "Progressing"), None)
        before = current.get("status") or {}
        # progress: more pods updated, ready or available, or a new template to roll out
        moved = any(int(status.get(k, 0)) > int(before.get(k, 0))
                    for k in ("updatedReplicas", "readyReplicas", "availableReplicas")) or \
            before.get("observedGeneration") != status.get("observedGeneration")
        if complete:
            progressing = _condition("Progressing", True, "NewReplicaSetAvailable",
                                     f'ReplicaSet "{rs_name}" has successfully progressed.', old_conditions)
        elif prior and prior.get("reason") == "ProgressDeadlineExceeded" and not note and not moved:
            progressing = prior
        else:
            reason, message = note or ("ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
            if prior and prior.get("reason") == "NewReplicaSetCreated" and not note and \
                    status.get("updatedReplicas", 0) == 0:
                reason, message = prior["reason"], prior["message"]
            progressing = _condition("Progressing", True, reason, message, old_conditions, touched=moved)
            deadline = int(spec.get("progressDeadlineSeconds", 600))
            since = timefmt.parse(progressing.get("lastUpdateTime"))
            if since is not None and (timefmt.now() - since).total_seconds() * self.clock.speed > deadline:
                progressing = _condition("Progressing", False, "ProgressDeadlineExceeded",
                                         f'ReplicaSet "{rs_name}" has timed out progressing.', old_conditions)
        status["conditions"] = [conditions[0], progressing]
        if (current.get("status") or {}) == status:
            return
        # keep the timestamps of unchanged conditions stable
        body = objects.copy(current)
        body["status"] = status
        self.registry.update(DEPLOYMENTS, namespace, name, body, WriteOptions(), sub="status")
        revision = (newest or {}).get("metadata", {}).get("annotations", {}).get(REVISION) if newest else None
        if revision and (current["metadata"].get("annotations") or {}).get(REVISION) != revision:
            latest = self.store.get("deployments.apps", namespace, name)
            if latest is not None:
                marked = objects.copy(latest)
                marked["metadata"].setdefault("annotations", {})[REVISION] = revision
                self.registry.update(DEPLOYMENTS, namespace, name, marked, WriteOptions())

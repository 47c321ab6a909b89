"""The DaemonSet controller: one pod per node that should run it (nodeSelector, required
node affinity, and taints the pod tolerates, with the tolerations every daemon pod
gets), bound to its node by a required node affinity on ``metadata.name`` as the real
controller writes it; failed pods replaced; rolling updates within maxUnavailable (or
maxSurge) or OnDelete; and the status kubectl prints and ``rollout status`` reads.

The controller binds each new pod to its node itself (recording the scheduler's
Scheduled event), so a pod never waits on a scheduler that reads only matchExpressions."""

from __future__ import annotations

from typing import Any

from .. import objects
from ..errors import Conflict, NotFound
from ..registry import DeleteOptions, WriteOptions
from ..store import Change
from .base import Controller, Key
from .deployments import template_hash
from .events import Recorder
from .kinds import DAEMONSETS, PODS
from .ownership import controller_ref
from .workload_common import (
    controlled,
    is_available,
    is_terminating,
    later,
    node_fits,
    owner_keys,
    pod_revision,
    resolve,
    running_and_ready,
    taints_tolerated,
    write_status,
)

Obj = dict[str, Any]
COMPONENT = "daemonset-controller"
SCHEDULER = "default-scheduler"
GENERATION = "pod-template-generation"
REVISION = "controller-revision-hash"
DAEMON_TOLERATIONS = [
    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule"),
]


def daemon_pod_spec(ds: Obj) -> Obj:
    """The template's pod spec with the tolerations the controller adds to every daemon pod."""
    spec = objects.copy(((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
    tolerations = list(spec.get("tolerations") or [])
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(("node.kubernetes.io/network-unavailable", "NoSchedule"))
    for key, effect in wanted:
        if not any(t.get("key") == key and t.get("effect") == effect for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    spec["tolerations"] = tolerations
    return spec


def node_of(pod: Obj) -> str:
    """The node a daemon pod runs on, or is meant for by its node affinity."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return str(field["values"][0])
    return ""


def bind_to(spec: Obj, node: str) -> None:
    """Replace the required node affinity with the node's name (ReplaceDaemonSetPodNodeNameNodeAffinity)."""
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}


class DaemonSetController(Controller):
    watches = ("daemonsets.apps", "pods", "nodes")
    primary = "daemonsets.apps"
    resync = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = Recorder(self.registry)

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == "pods":
            return owner_keys(change, "DaemonSet")
        if change.storage == "nodes":
            return [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in self.store.list("daemonsets.apps")]
        return list(super().keys_for(change))

    def reconcile(self, namespace: str, name: str) -> None:
        ds = self.store.get("daemonsets.apps", namespace, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        revision = template_hash((ds.get("spec") or {}).get("template") or {},
                                 int((ds.get("status") or {}).get("collisionCount", 0)))
        spec = daemon_pod_spec(ds)
        by_node: dict[str, list[Obj]] = {}
        for pod in controlled(self.store.list("pods", namespace), ds):
            by_node.setdefault(node_of(pod), []).append(pod)
        nodes = self.store.list("nodes")
        fitting = [n for n in nodes if node_fits(spec, n)]
        wanted = {n["metadata"]["name"] for n in fitting if taints_tolerated(spec, n)}
        staying = {n["metadata"]["name"] for n in fitting if taints_tolerated(spec, n, ("NoExecute",))}
        for node in nodes:
            node_name = node["metadata"]["name"]
            self._sync_node(ds, node_name, by_node.get(node_name, []), node_name in wanted,
                            node_name in staying, revision)
        for node_name, pods in by_node.items():  # pods for nodes that are gone
            if node_name not in {n["metadata"]["name"] for n in nodes}:
                for pod in pods:
                    self._delete(ds, pod)
        fresh = {n: [p for p in (self.store.get("pods", namespace, q["metadata"]["name"]) for q in pods) if p]
                 for n, pods in by_node.items()}
        if ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            self._roll(ds, fresh, wanted, revision)
        pods_now = controlled(self.store.list("pods", namespace), ds)
        grouped: dict[str, list[Obj]] = {}
        for pod in pods_now:
            grouped.setdefault(node_of(pod), []).append(pod)
        self._status(ds, grouped, wanted, revision)

    # --- pods ------------------------------------------------------------------------

    def _sync_node(self, ds: Obj, node: str, pods: list[Obj], wanted: bool, staying: bool,
                   revision: str) -> None:
        """Create the node's pod when it should run one; delete what should not run (a pod
        may stay on a node tainted NoSchedule since it started, as a misscheduled one)."""
        live = [p for p in pods if not is_terminating(p)]
        for pod in [p for p in live if (p.get("status") or {}).get("phase") == "Failed"]:
            meta = pod["metadata"]
            self.events.record(ds, "Warning", "FailedDaemonPod",
                               f"Found failed daemon pod {meta['namespace']}/{meta['name']} on node {node}, "
                               f"will try to kill it", COMPONENT)
            self._delete(ds, pod)
            live.remove(pod)
        if not wanted:
            for pod in [] if staying else live:
                self._delete(ds, pod)
            return
        if not live:
            self._create(ds, node, revision)
            return
        surge = self._surge(ds)
        keep = 2 if surge and any(pod_revision(p) == revision for p in live) else 1
        if len(live) > keep:  # duplicates: keep the oldest (and, while surging, the new one)
            ordered = sorted(live, key=lambda p: (pod_revision(p) != revision if keep == 2 else False,
                                                  str(p["metadata"].get("creationTimestamp", ""))))
            for pod in ordered[keep:]:
                self._delete(ds, pod)

    def _create(self, ds: Obj, node: str, revision: str) -> None:
        meta = ds["metadata"]
        template = (ds.get("spec") or {}).get("template") or {}
        tmeta = template.get("metadata") or {}
        spec = daemon_pod_spec(ds)
        bind_to(spec, node)
        labels = {**(tmeta.get("labels") or {}), REVISION: revision,
                  GENERATION: str(meta.get("generation", 1))}
        body: Obj = {"metadata": {"generateName": f"{meta['name']}-", "labels": labels,
                                  "ownerReferences": [controller_ref(ds)]}, "spec": spec}
        if tmeta.get("annotations"):
            body["metadata"]["annotations"] = dict(tmeta["annotations"])
        created = self.registry.create(PODS, meta["namespace"], body, WriteOptions()).obj
        pod_name = created["metadata"]["name"]
        self.events.record(ds, "Normal", "SuccessfulCreate", f"Created pod: {pod_name}", COMPONENT)
        if self.store.get("nodes", "", node) is None:
            return
        try:
            bound = self.registry.bind(meta["namespace"], pod_name, node)
        except (Conflict, NotFound):
            return
        self.events.record(bound, "Normal", "Scheduled",
                           f"Successfully assigned {meta['namespace']}/{pod_name} to {node}", SCHEDULER)

    def _delete(self, ds: Obj, pod: Obj) -> None:
        try:
            self.registry.delete(PODS, ds["metadata"]["namespace"], pod["metadata"]["name"], DeleteOptions())
        except NotFound:
            return
        self.events.record(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", COMPONENT)

    def _surge(self, ds: Obj) -> int:
        spec = ds.get("spec") or {}
        rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
        return resolve(rolling.get("maxSurge", 0), len(self.store.list("nodes")), True)

    def _roll(self, ds: Obj, by_node: dict[str, list[Obj]], wanted: set[str], revision: str) -> None:
        """Replace pods of older templates, keeping at most maxUnavailable nodes without an
        available pod (or, with maxSurge, starting the new pod before stopping the old)."""
        spec = ds.get("spec") or {}
        rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
        min_ready = int(spec.get("minReadySeconds", 0) or 0)
        speed = self.clock.speed
        surge = resolve(rolling.get("maxSurge", 0), len(wanted), True)
        budget = resolve(rolling.get("maxUnavailable", 1), len(wanted), True)
        if surge == 0 and budget == 0:
            budget = 1
        unavailable: list[str] = []
        old_available: list[tuple[str, Obj]] = []
        old_unavailable: list[tuple[str, Obj]] = []
        for node in sorted(wanted):
            pods = [p for p in by_node.get(node, []) if not is_terminating(p)]
            new = [p for p in pods if pod_revision(p) == revision]
            old = [p for p in pods if pod_revision(p) != revision]
            if not any(is_available(p, min_ready, speed) for p in pods):
                unavailable.append(node)
            for pod in old:
                if new and surge:
                    if any(is_available(p, min_ready, speed) for p in new):
                        self._delete(ds, pod)  # the surge pod took over
                    continue
                target = old_available if is_available(pod, min_ready, speed) else old_unavailable
                target.append((node, pod))
        for _, pod in old_unavailable:
            self._delete(ds, pod)
        if surge:
            surging = sum(1 for n in wanted if len([p for p in by_node.get(n, []) if not is_terminating(p)]) > 1)
            for node, _ in old_available[: max(0, surge - surging)]:
                self._create(ds, node, revision)
            return
        room = budget - len(unavailable)
        for _, pod in old_available[: max(0, room)]:
            self._delete(ds, pod)

    # --- status ------------------------------------------------------------------

    def _status(self, ds: Obj, by_node: dict[str, list[Obj]], wanted: set[str], revision: str) -> None:
        spec = ds.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds", 0) or 0)
        speed = self.clock.speed
        scheduled = {n for n, pods in by_node.items() if n and any(not is_terminating(p) for p in pods)}
        ready = available = updated = 0
        waiting = False
        for node in wanted & scheduled:
            pods = [p for p in by_node[node] if not is_terminating(p)]
            if any(running_and_ready(p) for p in pods):
                ready += 1
                if any(is_available(p, min_ready, speed) for p in pods):
                    available += 1
                else:
                    waiting = True
            if any(pod_revision(p) == revision for p in pods):
                updated += 1
        status: Obj = {
            "currentNumberScheduled": len(wanted & scheduled),
            "numberMisscheduled": len(scheduled - wanted),
            "desiredNumberScheduled": len(wanted),
            "numberReady": ready,
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if updated:
            status["updatedNumberScheduled"] = updated
        if available:
            status["numberAvailable"] = available
        if len(wanted) - available > 0:
            status["numberUnavailable"] = len(wanted) - available
        write_status(self.registry, DAEMONSETS, ds, status)
        if waiting:
            later(self, (ds["metadata"]["namespace"], ds["metadata"]["name"]), min_ready)

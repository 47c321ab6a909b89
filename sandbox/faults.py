"""Faults for demos and evals: incidents played out in the simulated world, visible only
through what a real cluster shows (statuses, events, logs, specs), never through a
sandbox-only field.

    crashloop   the target's containers crash on start (CrashLoopBackOff)
    image-pull  a deploy to an image tag that does not exist (ErrImagePull, ImagePullBackOff)
    oom         the program's memory grows past its limit (OOMKilled)
    probe-fail  the program stops answering its health paths (Unhealthy, unready, restarts)
    pending     a deploy asking for more CPU than any node has (FailedScheduling)
    node-down   the node's kubelet stops posting status (NotReady, taints, evictions)
    slow-start  the program takes minutes before it serves (slow rollouts)
    high-cpu    the program burns CPU (metrics, the HorizontalPodAutoscaler)
    clear       undo the faults on the target

Faults are kept in the sandbox's SQLite file and survive a restart (and are part of a snapshot).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import objects, timefmt
from .errors import BadRequest, NotFound
from .registry import Registry, WriteOptions
from .resources import lookup
from .selectors import labels_match, selector_from_match_labels

Obj = dict[str, Any]

KINDS = ("crashloop", "image-pull", "oom", "probe-fail", "pending", "node-down", "slow-start", "high-cpu",
         "api-throttle", "api-unavailable")
API = {"api-throttle", "api-unavailable"}  # the API server itself answers 429 / 503 to the next N requests
MAX_API_REQUESTS = 1000
POD_BEHAVIOUR = {"crashloop", "oom", "probe-fail", "slow-start", "high-cpu"}
WORKLOADS = {"deployment": ("apps", "deployments"), "statefulset": ("apps", "statefulsets"),
             "daemonset": ("apps", "daemonsets"), "replicaset": ("apps", "replicasets")}
ALIASES = {"deploy": "deployment", "deployments": "deployment", "sts": "statefulset", "statefulsets": "statefulset",
           "ds": "daemonset", "daemonsets": "daemonset", "rs": "replicaset", "replicasets": "replicaset",
           "po": "pod", "pods": "pod", "no": "node", "nodes": "node"}
IMPOSSIBLE_CPU = "64"


@dataclass(frozen=True)
class Fault:
    id: int
    kind: str
    namespace: str
    target: str  # kind/name
    created: str
    undo: Obj

    def as_dict(self) -> Obj:
        return {"id": self.id, "kind": self.kind, "namespace": self.namespace, "target": self.target,
                "created": self.created}


Listener = Callable[[Fault, bool], None]  # (fault, added) -> None


class FaultBook:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._db: sqlite3.Connection = registry.store.db
        self._db.execute("CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
                         " namespace TEXT NOT NULL, target TEXT NOT NULL, created TEXT NOT NULL, undo TEXT NOT NULL)")
        self.listeners: list[Listener] = []
        self._api: dict[int, list[Any]] = {}
        self.load()

    def load(self) -> None:
        """Read the API faults back from the SQLite file (at a start, and after a restore): each
        answers its whole count of requests again."""
        self._api = {f.id: [f.kind, int(f.target.partition("/")[2])] for f in self.active() if f.kind in API}

    def take_api_fault(self) -> str | None:
        """The API fault this request meets (``api-throttle``, ``api-unavailable``), counting
        it; a fault whose requests are used up ends."""
        if not self._api:
            return None
        fault_id = next(iter(self._api))
        kind, left = self._api[fault_id]
        if left <= 1:
            del self._api[fault_id]
            with self.registry.store.transaction():
                self._db.execute("DELETE FROM faults WHERE id = ?", (fault_id,))
        else:
            self._api[fault_id][1] = left - 1
        return str(kind)

    def active(self) -> list[Fault]:
        rows = self._db.execute("SELECT id, kind, namespace, target, created, undo FROM faults ORDER BY id")
        return [Fault(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    # --- which pods a fault touches ----------------------------------------------

    def selects(self, fault: Fault, pod: Obj) -> bool:
        meta = pod["metadata"]
        if fault.namespace != meta.get("namespace"):
            return False
        kind, _, name = fault.target.partition("/")
        if kind == "pod":
            return bool(meta["name"] == name)
        group, plural = WORKLOADS[kind]
        res = lookup(group, "v1", plural)
        owner = self.registry.store.get(res.storage_key, fault.namespace, name) if res else None
        reqs = selector_from_match_labels(((owner or {}).get("spec") or {}).get("selector"))
        return reqs is not None and labels_match(reqs, pod)

    def for_pod(self, pod: Obj) -> set[str]:
        """The behaviour faults that apply to ``pod`` now."""
        return {f.kind for f in self.active() if f.kind in POD_BEHAVIOUR and self.selects(f, pod)}

    def down_nodes(self) -> set[str]:
        return {f.target.partition("/")[2] for f in self.active() if f.kind == "node-down"}

    # --- injecting and clearing ----------------------------------------------------

    def inject(self, kind: str, target: str, namespace: str) -> Fault:
        if kind not in KINDS:
            raise BadRequest(f'unknown fault "{kind}": one of {", ".join(KINDS)}, or clear')
        target = self._target(kind, target, namespace)
        undo: Obj = {}
        if kind in ("image-pull", "pending"):
            undo = self._change_template(kind, target, namespace)
        created = timefmt.rfc3339()
        with self.registry.store.transaction():
            scope = namespace if kind != "node-down" and kind not in API else ""
            cursor = self._db.execute(
                "INSERT INTO faults (kind, namespace, target, created, undo) VALUES (?, ?, ?, ?, ?)",
                (kind, scope, target, created, json.dumps(undo)))
        fault = Fault(int(cursor.lastrowid or 0), kind, scope, target, created, undo)
        if kind in API:
            self._api[fault.id] = [kind, int(target.partition("/")[2])]
        for listener in self.listeners:
            listener(fault, True)
        return fault

    def clear(self, target: str, namespace: str) -> list[Fault]:
        """Remove the faults on ``target`` (every fault when it is ``all``) and undo their changes."""
        gone = [f for f in self.active()
                if target == "all" or (f.target == self._normal(target, node=f.kind == "node-down")
                and (f.kind == "node-down" or f.namespace == namespace)) or (f.kind in API and f.target == target)]
        for fault in gone:
            self._api.pop(fault.id, None)
            with self.registry.store.transaction():
                self._db.execute("DELETE FROM faults WHERE id = ?", (fault.id,))
            if fault.undo:
                self._restore(fault)
            for listener in self.listeners:
                listener(fault, False)
        return gone

    def _normal(self, target: str, *, node: bool) -> str:
        """``deploy/web`` → ``deployment/web``; a bare name is a deployment (a node for node-down)."""
        if "/" not in target:
            return f"node/{target}" if node else f"deployment/{target}"
        kind, _, name = target.partition("/")
        return f"{ALIASES.get(kind, kind)}/{name}"

    def _target(self, kind: str, target: str, namespace: str) -> str:
        if kind in API:
            what, _, count = target.partition("/")
            if what != "requests" or not count.isdigit() or not 1 <= int(count) <= MAX_API_REQUESTS:
                raise BadRequest(f'the {kind} fault targets requests/N (the next N API requests, '
                                 f'1 to {MAX_API_REQUESTS}), not "{target}"')
            return f"requests/{int(count)}"
        normal = self._normal(target, node=kind == "node-down")
        what, _, name = normal.partition("/")
        if kind == "node-down":
            if what != "node" or self.registry.store.get("nodes", "", name) is None:
                raise NotFound(f'nodes "{name}" not found', name=name, kind="nodes")
            return normal
        if what == "pod":
            if self.registry.store.get("pods", namespace, name) is None:
                raise NotFound(f'pods "{name}" not found', name=name, kind="pods")
            if kind in ("image-pull", "pending"):
                raise BadRequest(f"the {kind} fault changes a workload's pod template: name a deployment")
            return normal
        if what not in WORKLOADS:
            raise BadRequest(f'a fault targets deployment/NAME, statefulset/NAME, daemonset/NAME, pod/NAME or '
                             f'node/NAME, not "{target}"')
        group, plural = WORKLOADS[what]
        res = lookup(group, "v1", plural)
        if res is None or self.registry.store.get(res.storage_key, namespace, name) is None:
            raise NotFound(f'{plural}.{group} "{name}" not found', name=name, kind=plural, group=group)
        return normal

    def _workload(self, target: str) -> tuple[Any, str]:
        what, _, name = target.partition("/")
        group, plural = WORKLOADS[what]
        res = lookup(group, "v1", plural)
        assert res is not None
        return res, name

    def _change_template(self, kind: str, target: str, namespace: str) -> Obj:
        """What a bad deploy changes: the image tag, or the CPU request. Returns the undo."""
        res, name = self._workload(target)
        current = self.registry.get(res, namespace, name)
        updated = objects.copy(current)
        containers = updated["spec"]["template"]["spec"]["containers"]
        undo: Obj = objects.copy({"containers": {c["name"]: {"image": c.get("image"),
                                                            "resources": c.get("resources", {})}
                                                 for c in containers}})
        for c in containers:
            if kind == "image-pull":
                repo = c.get("image", "").rsplit(":", 1)[0] if ":" in c.get("image", "").rsplit("/", 1)[-1] \
                    else c.get("image", "")
                c["image"] = f"{repo}:does-not-exist"
            else:
                c.setdefault("resources", {}).setdefault("requests", {})["cpu"] = IMPOSSIBLE_CPU
                limits = c["resources"].get("limits") or {}
                if "cpu" in limits:
                    limits["cpu"] = IMPOSSIBLE_CPU
        self.registry.update(res, namespace, name, updated, WriteOptions())
        return undo

    def _restore(self, fault: Fault) -> None:
        res, name = self._workload(fault.target)
        try:
            current = self.registry.get(res, fault.namespace, name)
        except NotFound:
            return
        updated = objects.copy(current)
        for c in updated["spec"]["template"]["spec"]["containers"]:
            saved = fault.undo.get("containers", {}).get(c["name"])
            if saved:
                c["image"] = saved["image"]
                c["resources"] = saved["resources"]
        self.registry.update(res, fault.namespace, name, updated, WriteOptions())

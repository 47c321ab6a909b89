"""A node whose kubelet stops posting status, as the node lifecycle controller handles it:
the node goes NotReady (Unknown) and is tainted unreachable, its pods turn unready, and
after their toleration (300 s by default) they are evicted; the replacements wait for a
node. When the kubelet comes back the node is Ready again and the taints go."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from .. import objects, timefmt
from ..controllers.kinds import NODES, PODS
from ..errors import StatusError
from ..registry import DeleteOptions, WriteOptions

if TYPE_CHECKING:
    from .node import Kubelet

Obj = dict[str, Any]
COMPONENT = "node-controller"
UNREACHABLE = "node.kubernetes.io/unreachable"


class NodeLifecycle:
    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self.registry = kubelet.registry
        self.unreachable: set[str] = set()
        self._evictions: dict[str, asyncio.Task[None]] = {}

    def restore(self) -> None:
        """After a restart: nodes that were down stay down."""
        for node in self.kubelet.faults.down_nodes():
            if node in self.kubelet.names:
                self.down(node)

    def stop(self) -> list[asyncio.Task[None]]:
        """Cancel the pending evictions (the kubelet stops); the tasks, to await."""
        tasks = list(self._evictions.values())
        self._evictions.clear()
        for task in tasks:
            task.cancel()
        return tasks

    def down(self, node: str) -> None:
        if node in self.unreachable:
            return
        self.unreachable.add(node)
        for runner in self.kubelet.runners():
            if self.kubelet.node_of(runner.pod() or {}) == node:
                self.kubelet.forget_runner(runner)
        self._node_status(node, ready=False)
        for pod in self._pods(node):
            self.kubelet.events.record(pod, "Warning", "NodeNotReady", "Node is not ready", COMPONENT)
            self._unready(pod)
        self._evictions[node] = asyncio.get_running_loop().create_task(self._evict_later(node))

    def up(self, node: str) -> None:
        if node not in self.unreachable:
            return
        self.unreachable.discard(node)
        task = self._evictions.pop(node, None)
        if task is not None:
            task.cancel()
        self._node_status(node, ready=True)

    def _pods(self, node: str) -> list[Obj]:
        return [p for p in self.registry.store.list("pods") if (p.get("spec") or {}).get("nodeName") == node]

    def _node_status(self, node: str, *, ready: bool) -> None:
        current = self.registry.store.get("nodes", "", node)
        if current is None:
            return
        now = timefmt.rfc3339()
        updated = objects.copy(current)
        conditions = []
        for cond in (updated.get("status") or {}).get("conditions") or []:
            cond = dict(cond)
            if ready:
                healthy = cond["type"] != "Ready"
                cond.update({"status": "False" if healthy else "True", "lastHeartbeatTime": now,
                             "lastTransitionTime": now})
                cond["reason"], cond["message"] = (
                    ("KubeletReady", "kubelet is posting ready status") if not healthy else
                    {"MemoryPressure": ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                     "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                     "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available")}
                    .get(cond["type"], (cond.get("reason", ""), cond.get("message", ""))))
            else:
                cond.update({"status": "Unknown", "reason": "NodeStatusUnknown",
                             "message": "Kubelet stopped posting node status.", "lastTransitionTime": now})
            conditions.append(cond)
        updated["status"]["conditions"] = conditions
        with contextlib.suppress(StatusError):
            self.registry.update(NODES, "", node, updated, WriteOptions(), sub="status")
        latest = self.registry.store.get("nodes", "", node)
        if latest is None:
            return
        tainted = objects.copy(latest)
        taints = [t for t in (tainted.get("spec") or {}).get("taints") or [] if t.get("key") != UNREACHABLE]
        if not ready:
            taints += [{"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": now},
                       {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": now}]
        tainted.setdefault("spec", {})["taints"] = taints
        if not taints:
            tainted["spec"].pop("taints")
        with contextlib.suppress(StatusError):
            self.registry.update(NODES, "", node, tainted, WriteOptions())
        self.kubelet.events.record(latest, "Normal", "NodeReady" if ready else "NodeNotReady",
                                   f"Node {node} status is now: {'NodeReady' if ready else 'NodeNotReady'}",
                                   COMPONENT if not ready else "kubelet")

    def _unready(self, pod: Obj) -> None:
        updated = objects.copy(pod)
        now = timefmt.rfc3339()
        for cond in (updated.get("status") or {}).get("conditions") or []:
            if cond.get("type") in ("Ready", "ContainersReady") and cond.get("status") == "True":
                cond.update({"status": "False", "lastTransitionTime": now})
        for status in (updated.get("status") or {}).get("containerStatuses") or []:
            status["ready"] = False
        with contextlib.suppress(StatusError):
            self.registry.update(PODS, pod["metadata"].get("namespace", ""), pod["metadata"]["name"], updated,
                                 WriteOptions(), sub="status")

    async def _evict_later(self, node: str) -> None:
        waited = 0.0
        pending = {p["metadata"]["uid"]: p for p in self._pods(node)}
        while pending:
            await self.kubelet.clock.sleep(5.0)
            waited += 5.0
            for uid, pod in list(pending.items()):
                if waited >= _toleration(pod):
                    del pending[uid]
                    self.kubelet.events.record(pod, "Normal", "TaintManagerEviction",
                                               f"Marking for deletion Pod {pod['metadata'].get('namespace')}/"
                                               f"{pod['metadata']['name']}", "taint-eviction-controller")
                    with contextlib.suppress(StatusError):
                        self.registry.delete(PODS, pod["metadata"].get("namespace", ""), pod["metadata"]["name"],
                                             DeleteOptions())


def _toleration(pod: Obj) -> float:
    for tol in (pod.get("spec") or {}).get("tolerations") or []:
        if tol.get("key") == UNREACHABLE and tol.get("effect") == "NoExecute":
            seconds = tol.get("tolerationSeconds")
            return float("inf") if seconds is None else float(seconds)
    return 0.0

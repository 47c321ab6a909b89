"""Simulated nodes and their kubelet: registers the nodes, starts a runner for each pod
bound to one, stops it when the pod is deleted."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import math
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from ..clock import Clock
from ..controllers.events import Recorder
from ..controllers.kinds import NODES, PODS
from ..faults import Fault, FaultBook
from ..registry import Registry, WriteOptions
from ..store import Change
from ..timefmt import rfc3339
from . import exec_state
from .catalog import PRELOADED, parse
from .lifecycle import NodeLifecycle
from .runner import PodRunner

Obj = dict[str, Any]


@dataclass(frozen=True)
class NodeShape:
    cpu: str = "4"
    memory: str = "6Gi"
    pods: str = "110"


MINIKUBE = NodeShape()


def node_names(count: int) -> list[str]:
    """minikube's names: minikube, minikube-m02, minikube-m03."""
    return ["minikube", *(f"minikube-m{n:02d}" for n in range(2, count + 1))]


POD_NETWORK = ipaddress.IPv4Network("10.244.0.0/16")


def pod_cidr(index: int, max_pods: int) -> ipaddress.IPv4Network:
    """The node's pod range: a /24 as minikube gives, wider when it takes more pods."""
    prefix = min(24, 32 - math.ceil(math.log2(2 * max_pods + 2)))
    return next(itertools.islice(POD_NETWORK.subnets(new_prefix=prefix), index, None))


def node_object(name: str, index: int, shape: NodeShape) -> Obj:
    ip = f"192.168.49.{index + 2}"
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
              "minikube.k8s.io/name": "minikube", "minikube.k8s.io/primary": str(index == 0).lower()}
    if index == 0:
        labels["node-role.kubernetes.io/control-plane"] = ""
    resources = {"cpu": shape.cpu, "memory": shape.memory, "pods": shape.pods, "ephemeral-storage": "102626232Ki",
                 "hugepages-2Mi": "0"}
    now = rfc3339()
    conditions = [
        {"type": kind, "status": "False", "reason": reason, "message": message,
         "lastHeartbeatTime": now, "lastTransitionTime": now}
        for kind, reason, message in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))
    ] + [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
          "lastHeartbeatTime": now, "lastTransitionTime": now}]
    return {
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {"podCIDR": str(pod_cidr(index, int(shape.pods))),
                 "podCIDRs": [str(pod_cidr(index, int(shape.pods)))]},
        "status": {
            "capacity": resources, "allocatable": resources, "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": f"{index:032x}", "systemUUID": f"kai-sandbox-{index}", "bootID": "",
                         "kernelVersion": "6.8.0-sandbox", "osImage": "Ubuntu 22.04.5 LTS",
                         "containerRuntimeVersion": "docker://27.4.1", "kubeletVersion": "v1.32.4",
                         "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"},
            "images": [{"names": [image], "sizeBytes": 215_000_000} for image in PRELOADED],
        },
    }


class Kubelet:
    """The kubelets of all simulated nodes (one process plays them all)."""

    def __init__(self, registry: Registry, clock: Clock, nodes: int = 1, shape: NodeShape = MINIKUBE,
                 faults: FaultBook | None = None) -> None:
        self.registry = registry
        self.clock = clock
        self.faults = faults or FaultBook(registry)
        self.faults.listeners.append(self._on_fault)
        self.lifecycle = NodeLifecycle(self)
        self.pods = PODS
        self.events = Recorder(registry)
        self.names = node_names(nodes)
        self.shape = shape
        self._runners: dict[str, tuple[PodRunner, asyncio.Task[None]]] = {}
        self._images: dict[str, set[str]] = {}
        self._next_ip: dict[str, int] = {}
        self._ips: set[str] = set()  # the addresses of the pods running here
        self._chores: set[asyncio.Task[None]] = set()  # pods being stopped or removed

    def register(self) -> None:
        for index, name in enumerate(self.names):
            if self.registry.store.get("nodes", "", name) is None:
                self.registry.create(NODES, "", node_object(name, index, self.shape), WriteOptions())
            self._images[name] = {image for entry in (self.registry.store.get("nodes", "", name) or {})
                                  .get("status", {}).get("images", []) for image in entry.get("names", [])}

    # --- what runners ask ------------------------------------------------------------

    def node_of(self, pod: Obj) -> str:
        return str((pod.get("spec") or {}).get("nodeName", ""))

    def node_ip(self, pod: Obj) -> str:
        node = self.registry.store.get("nodes", "", self.node_of(pod)) or {}
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                return str(address.get("address"))
        return ""

    def has_image(self, reference: str) -> bool:
        full = parse(reference).full
        return any(full in images for images in self._images.values())

    def add_image(self, reference: str) -> None:
        for images in self._images.values():
            images.add(parse(reference).full)

    def runners(self) -> list[PodRunner]:
        return [runner for runner, _ in self._runners.values()]

    def runner_for_ip(self, ip: str) -> PodRunner | None:
        return next((r for r in self.runners() if r.pod_ip == ip), None)

    def runner_for(self, namespace: str, name: str) -> PodRunner | None:
        return next((r for r in self.runners() if r.namespace == namespace and r.name == name), None)

    def _pod_ip(self, node: str) -> str:
        """The next free address of the node's pod range, after the last one given."""
        network = pod_cidr(self.names.index(node), int(self.shape.pods))
        size = network.num_addresses - 3  # not the network, .1 (the node's bridge) or broadcast
        used = self._ips
        last = self._next_ip.get(node, 1)
        for step in range(1, size + 1):
            host = (last + step - 2) % size + 2
            candidate = str(network.network_address + host)
            if candidate not in used:
                self._next_ip[node] = host
                return candidate
        raise RuntimeError(f"node {node} has no free pod address")

    # --- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        watcher = self.registry.store.subscribe("pods")
        self.lifecycle.restore()
        try:
            for pod in self.registry.store.list("pods"):
                self._sync(pod)
            while True:
                change: Change | None = await watcher.queue.get()
                if change is None:  # the store was restored (the manager starts a new kubelet)
                    return
                if change.type == "DELETED":
                    self._forget(change.obj["metadata"].get("uid", ""))
                else:
                    self._sync(change.obj)
        finally:
            self.registry.store.unsubscribe(watcher)
            for _, task in self._runners.values():
                task.cancel()

    async def stop(self) -> None:
        """Stop playing every pod and node, as the process ending would (after :meth:`run` is
        cancelled): cancel and await all the work started here, and stop hearing of faults."""
        with contextlib.suppress(ValueError):
            self.faults.listeners.remove(self._on_fault)
        tasks = [task for _, task in self._runners.values()]
        tasks += [*self._chores, *self.lifecycle.stop()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runners.clear()
        self._ips.clear()
        self._chores.clear()
        exec_state.forget(self)

    def _chore(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    def _on_fault(self, fault: Fault, added: bool) -> None:
        if fault.kind == "node-down":
            node = fault.target.partition("/")[2]
            if added:
                self.lifecycle.down(node)
            else:
                self.lifecycle.up(node)
                for pod in self.registry.store.list("pods"):
                    self._sync(pod)
            return
        if added and fault.kind in ("crashloop", "oom"):
            for runner in self.runners():
                current = runner.pod()
                if current is not None and self.faults.selects(fault, current):
                    runner.kill()

    def _sync(self, pod: Obj) -> None:
        meta = pod["metadata"]
        node = self.node_of(pod)
        if node not in self.names or node in self.lifecycle.unreachable:
            return
        uid = meta.get("uid", "")
        known = self._runners.get(uid)
        if meta.get("deletionTimestamp"):
            if known is not None:
                runner = known[0]
                grace = float(meta.get("deletionGracePeriodSeconds") or 0)
                self._chore(runner.stop(grace))
            else:
                with contextlib.suppress(Exception):
                    self._chore(self._remove(pod))
            return
        if known is not None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return
        runner = PodRunner(self, pod, (pod.get("status") or {}).get("podIP") or self._pod_ip(node))
        self._runners[uid] = (runner, asyncio.get_running_loop().create_task(runner.run()))
        self._ips.add(runner.pod_ip)

    async def _remove(self, pod: Obj) -> None:
        from ..registry import DeleteOptions

        meta = pod["metadata"]
        with contextlib.suppress(Exception):
            self.registry.delete(PODS, meta.get("namespace", ""), meta["name"], DeleteOptions(grace_period=0))

    def forget_runner(self, runner: PodRunner) -> None:
        """Stop playing a pod without touching it in the API (its node went away)."""
        self._forget(runner.uid)

    def _forget(self, uid: str) -> None:
        known = self._runners.pop(uid, None)
        if known is not None:
            known[1].cancel()
            self._ips.discard(known[0].pod_ip)

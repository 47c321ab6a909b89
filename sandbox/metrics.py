"""metrics.k8s.io: simulated CPU and memory use, as metrics-server reports it.

Each running container uses what its catalog program uses (``cpu_m`` millicores,
``memory_mi`` MiB) with a small deterministic jitter that changes every scrape window
(15 simulated seconds); a container that is not running uses nothing. A node uses the
sum of its pods plus the system's overhead. :meth:`Metrics.set_load` multiplies the CPU
of the pods a selector matches (the ``high-cpu`` fault), so autoscalers see load.

The objects are computed on each request through ``Registry.providers``:
``PodMetrics`` (``pods.metrics.k8s.io``) and ``NodeMetrics`` (``nodes.metrics.k8s.io``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import timefmt
from .clock import Clock
from .registry import Registry
from .validation_quantity import parse_quantity

if TYPE_CHECKING:
    from .kubelet.node import Kubelet
    from .kubelet.runner import PodRunner

Obj = dict[str, Any]
API_VERSION = "metrics.k8s.io/v1beta1"
WINDOW = 15.0  # simulated seconds between two scrapes
SYSTEM_CPU_M = 250.0  # the node's own processes: kubelet, container runtime, control plane
SYSTEM_MEMORY_MI = 620.0
MI = 2**20


@dataclass(frozen=True)
class Usage:
    cpu_m: float = 0.0
    memory: int = 0  # bytes

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu_m + other.cpu_m, self.memory + other.memory)

    def as_resources(self) -> dict[str, str]:
        """As metrics-server writes it: nanocores and KiB."""
        return {"cpu": f"{round(self.cpu_m * 1_000_000)}n", "memory": f"{self.memory // 1024}Ki"}


def jitter(*parts: object, spread: float = 0.1) -> float:
    """A factor in [1 - spread, 1 + spread], the same for the same ``parts``."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return 1.0 + spread * (int.from_bytes(digest[:4], "big") / 0xFFFFFFFF * 2 - 1)


@dataclass
class Load:
    namespace: str
    selector: dict[str, str]
    factor: float


class Metrics:
    """The simulated metrics pipeline over one kubelet's runners."""

    def __init__(self, registry: Registry, kubelet: Kubelet, clock: Clock) -> None:
        self.registry = registry
        self.kubelet = kubelet
        self.clock = clock
        self.loads: list[Load] = []

    def install(self) -> None:
        self.registry.providers["pods.metrics.k8s.io"] = self.pod_metrics
        self.registry.providers["nodes.metrics.k8s.io"] = self.node_metrics

    # --- load (faults) -------------------------------------------------------------

    def set_load(self, namespace: str, selector: dict[str, str], factor: float) -> None:
        """Multiply the CPU use of the pods of ``namespace`` whose labels include
        ``selector`` by ``factor`` (1 ends the load)."""
        self.loads = [x for x in self.loads if (x.namespace, x.selector) != (namespace, selector)]
        if factor != 1.0:
            self.loads.append(Load(namespace, dict(selector), float(factor)))

    def load_of(self, namespace: str, labels: dict[str, str]) -> float:
        factor = 1.0
        for load in self.loads:
            if load.namespace == namespace and all(labels.get(k) == v for k, v in load.selector.items()):
                factor *= load.factor
        return factor

    # --- usage ---------------------------------------------------------------------

    def _window(self) -> int:
        return int(self.clock.monotonic() // WINDOW)

    def container_usage(self, runner: PodRunner, labels: dict[str, str]) -> dict[str, Usage]:
        """Each container's use now (init containers that still run, sidecars, included)."""
        window = self._window()
        factor = self.load_of(runner.namespace, labels)
        burning = "high-cpu" in runner.faults()
        found: dict[str, Usage] = {}
        for state in [*runner.inits, *runner.apps]:
            program = runner.programs.get(state.name)
            if "running" not in state.state or program is None:
                if not state.init:
                    found[state.name] = Usage()
                continue
            cpu = program.cpu_m * factor * jitter(runner.uid, state.name, window, "cpu")
            if burning:  # the high-cpu fault: near the limit, or twice the request, or a whole core
                cpu = max(cpu, _burn(runner.spec_of(state)) * jitter(runner.uid, state.name, window, "burn"))
            memory = program.memory_mi * MI * jitter(runner.uid, state.name, window, "mem", spread=0.03)
            found[state.name] = Usage(cpu, int(memory))
        return found

    def _running(self, namespace: str | None) -> list[tuple[Obj, PodRunner]]:
        found = []
        for runner in self.kubelet.runners():
            if namespace and runner.namespace != namespace:
                continue
            pod = runner.pod()
            if pod is None or pod["metadata"].get("deletionTimestamp") or \
                    (pod.get("status") or {}).get("phase") != "Running":
                continue
            found.append((pod, runner))
        return found

    def pod_usage(self, namespace: str, name: str) -> dict[str, Usage] | None:
        """The containers' use of one running pod (None: no metrics for it)."""
        runner = self.kubelet.runner_for(namespace, name)
        pod = runner.pod() if runner is not None else None
        if runner is None or pod is None or (pod.get("status") or {}).get("phase") != "Running":
            return None
        return self.container_usage(runner, pod["metadata"].get("labels") or {})

    # --- providers -----------------------------------------------------------------

    def pod_metrics(self, namespace: str | None) -> list[Obj]:
        now = timefmt.rfc3339()
        items: list[Obj] = []
        for pod, runner in self._running(namespace):
            meta = pod["metadata"]
            labels = meta.get("labels") or {}
            containers = [{"name": name, "usage": usage.as_resources()}
                          for name, usage in self.container_usage(runner, labels).items()]
            items.append({
                "kind": "PodMetrics", "apiVersion": API_VERSION,
                "metadata": {"name": meta["name"], "namespace": meta.get("namespace", ""),
                             "creationTimestamp": now, **({"labels": dict(labels)} if labels else {})},
                "timestamp": now, "window": f"{WINDOW:g}s", "containers": containers,
            })
        items.sort(key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))
        return items

    def node_usage(self, node: str) -> Usage:
        window = self._window()
        total = Usage(SYSTEM_CPU_M * jitter(node, window, "cpu"),
                      int(SYSTEM_MEMORY_MI * MI * jitter(node, window, "mem", spread=0.02)))
        for pod, runner in self._running(None):
            if (pod.get("spec") or {}).get("nodeName") != node:
                continue
            for usage in self.container_usage(runner, pod["metadata"].get("labels") or {}).values():
                total = total + usage
        return total

    def node_metrics(self, namespace: str | None = None) -> list[Obj]:
        now = timefmt.rfc3339()
        items: list[Obj] = []
        for node in self.registry.store.list("nodes"):
            meta = node["metadata"]
            if meta["name"] not in self.kubelet.names:
                continue
            labels = meta.get("labels") or {}
            items.append({
                "kind": "NodeMetrics", "apiVersion": API_VERSION,
                "metadata": {"name": meta["name"], "creationTimestamp": now,
                             **({"labels": dict(labels)} if labels else {})},
                "timestamp": now, "window": f"{WINDOW:g}s",
                "usage": self.node_usage(meta["name"]).as_resources(),
            })
        return items


def _burn(container: Obj) -> float:
    """Millicores a container burning CPU uses: 95% of its limit, else twice its request,
    else a core."""
    resources = container.get("resources") or {}
    limit = parse_quantity((resources.get("limits") or {}).get("cpu"))
    if limit:
        return float(limit) * 1000 * 0.95
    request = parse_quantity((resources.get("requests") or {}).get("cpu"))
    return float(request) * 2000 if request else 1000.0

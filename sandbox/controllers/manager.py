"""Starts the sandbox's controllers, scheduler and kubelets, and stops them.

The admission plugins of the API server are installed here too: LimitRanger,
DefaultStorageClass, PersistentVolumeClaimResize and ResourceQuota always (they are
part of kube-apiserver); StorageObjectInUseProtection, the default StorageClass and
the metrics pipeline only with the controllers that finish their work.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..admission import limitranges, quotas, storage
from ..clock import DEFAULT_SPEED, Clock
from ..metrics import Metrics
from ..registry import Registry
from .base import Controller
from .deployments import DeploymentController
from .endpoints import EndpointsController
from .hpa import HPAController
from .quota import QuotaController
from .replicasets import ReplicaSetController
from .scheduler import Scheduler
from .storage import VolumeController, ensure_default_class
from .workloads import WORKLOADS

if TYPE_CHECKING:
    from ..faults import FaultBook
    from ..kubelet.node import Kubelet


@dataclass(frozen=True)
class ClusterOptions:
    """How the simulated cluster runs: ``controllers=False`` is an API server alone, as
    kube-apiserver without kube-controller-manager, scheduler or kubelets."""

    controllers: bool = True
    nodes: int = 1
    speed: float = DEFAULT_SPEED
    max_pods: int = 110  # each node's pod capacity, as the kubelet's maxPods
    audit_log: bool = False  # write <state>/audit.log, as kube-apiserver's --audit-log-path


class ControllerManager:
    def __init__(self, registry: Registry, options: ClusterOptions, faults: FaultBook | None = None) -> None:
        self.registry = registry
        self.options = options
        self.faults = faults
        self.clock = Clock(options.speed)
        self._tasks: list[asyncio.Task[None]] = []
        self.metrics: Metrics | None = None  # set_load() for faults, once started
        self.kubelet: Kubelet | None = None  # once started (exec and attach reach pods through it)

    def install_admission(self) -> None:
        plugins = [limitranges.admit, storage.admit_default_class, storage.admit_resize]
        if self.options.controllers:
            plugins.append(storage.admit_protection)
        plugins.append(quotas.admit)
        for plugin in plugins:
            if plugin not in self.registry.admission:
                self.registry.admission.append(plugin)

    async def start(self) -> None:
        self.install_admission()
        if not self.options.controllers:
            return
        from ..kubelet.node import Kubelet, NodeShape

        ensure_default_class(self.registry)
        kubelet = self.kubelet = Kubelet(self.registry, self.clock, self.options.nodes,
                                         NodeShape(pods=str(self.options.max_pods)), faults=self.faults)
        kubelet.register()
        self.metrics = Metrics(self.registry, kubelet, self.clock)
        self.metrics.install()
        runners = [kubelet.run()]
        kinds: list[type[Controller]] = [Scheduler, ReplicaSetController, DeploymentController,
                                         EndpointsController, VolumeController, QuotaController, *WORKLOADS]
        runners.extend(kind(self.registry, self.clock).run() for kind in kinds)
        runners.append(HPAController(self.registry, self.clock, metrics=self.metrics).run())
        self._tasks = [asyncio.create_task(r) for r in runners]

    async def stop(self) -> None:
        """Stop every controller, the scheduler and the kubelets, and the work they started;
        :meth:`start` starts new ones over the store's state (after a restart or a restore)."""
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.kubelet is not None:
            await self.kubelet.stop()

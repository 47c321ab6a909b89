"""Starts the sandbox's controllers, scheduler and kubelets, and stops them."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from ..clock import DEFAULT_SPEED, Clock
from ..registry import Registry
from .base import Controller
from .deployments import DeploymentController
from .endpoints import EndpointsController
from .replicasets import ReplicaSetController
from .scheduler import Scheduler
from .workloads import WORKLOADS


@dataclass(frozen=True)
class ClusterOptions:
    """How the simulated cluster runs: ``controllers=False`` is an API server alone, as
    kube-apiserver without kube-controller-manager, scheduler or kubelets."""

    controllers: bool = True
    nodes: int = 1
    speed: float = DEFAULT_SPEED


class ControllerManager:
    def __init__(self, registry: Registry, options: ClusterOptions) -> None:
        self.registry = registry
        self.options = options
        self.clock = Clock(options.speed)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if not self.options.controllers:
            return
        from ..kubelet.node import Kubelet

        kubelet = Kubelet(self.registry, self.clock, self.options.nodes)
        kubelet.register()
        runners = [kubelet.run()]
        kinds: list[type[Controller]] = [Scheduler, ReplicaSetController, DeploymentController,
                                         EndpointsController, *WORKLOADS]
        runners.extend(kind(self.registry, self.clock).run() for kind in kinds)
        self._tasks = [asyncio.create_task(r) for r in runners]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)

"""Fixtures for the tool suites: the controller sandbox (``cluster``) with the todo stack
installed by Helm, a ToolContext on it, and helpers that run tools as the agent would
(read: run; write: plan, then apply) without the guard, which has suites of its own."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.control import Sandbox
from tests.conftest import Kubectl, kubectl_for, wait_for
from tools import helm
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.registry import REGISTRY, Change, ToolResult

CHART = Path(__file__).resolve().parents[2] / "helm" / "todo-app"
_counter = itertools.count()


@pytest.fixture(scope="session")
def kc(cluster: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(cluster.kubeconfig, tmp_path_factory.mktemp("kubecache"))


SMALL = {"requests": {"cpu": "10m", "memory": "32Mi"}}
COPY_VALUES = {"frontend": {"service": {"type": "ClusterIP"}, "resources": SMALL}, "backend": {"resources": SMALL}}


def install_todo(cluster: Sandbox, namespace: str, release: str = "todo-app") -> str:
    """Install the todo-app chart as ``release`` in ``namespace`` and wait until ready. Only
    the seed's namespace keeps the seed's NodePort Service (30001) and resource requests; other
    copies get a ClusterIP Service and small requests, so many fit on the one simulated node."""
    values = None if namespace == "todo-app" else COPY_VALUES
    helm.install(cluster.kubeconfig, CHART, release, namespace, values=values, wait=True, timeout=120)
    return namespace


@pytest.fixture(scope="session")
def todo(cluster: Sandbox) -> str:
    """The namespace ``todo-app`` with the seed's release ``todo-app``: for reads only."""
    return install_todo(cluster, "todo-app")


@pytest.fixture
def fresh_todo(cluster: Sandbox, kc: Kubectl) -> Iterator[str]:
    """A namespace of this test's own with the todo stack installed, for tests that change it
    (deleted afterwards)."""
    namespace = install_todo(cluster, f"todo-w{next(_counter)}")
    yield namespace
    kc("delete", "namespace", namespace, "--wait=false")


@pytest.fixture
def ctx(cluster: Sandbox) -> Iterator[ToolContext]:
    context = ToolContext(Cluster(kubeconfig=cluster.kubeconfig))
    yield context
    context.cluster.close()


def read(ctx: ToolContext, name: str, /, **arguments: Any) -> Any:
    """Run read tool ``name`` and return its result."""
    item = REGISTRY.get(name)
    return asyncio.run(item.run(ctx, item.validate(arguments)))


def plan(ctx: ToolContext, name: str, /, **arguments: Any) -> Change:
    item = REGISTRY.get(name)
    return asyncio.run(item.plan(ctx, item.validate(arguments)))


def write(ctx: ToolContext, name: str, /, **arguments: Any) -> tuple[Change, ToolResult]:
    """Plan write tool ``name``, apply it, and return the change and the result."""
    item = REGISTRY.get(name)

    async def go() -> tuple[Change, ToolResult]:
        change = await item.plan(ctx, item.validate(arguments))
        return change, await change.apply()

    return asyncio.run(go())


__all__ = ["Kubectl", "install_todo", "plan", "read", "wait_for", "write"]

"""A sandbox cluster with controllers (scheduler, kubelet, storage, quotas, metrics, HPA)
shared by the cluster suites, and kubectl against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import control
from tests.conftest import Kubectl, kubectl_for


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.Sandbox]:
    state = tmp_path_factory.mktemp("cluster")
    running = control.up(state)
    yield running
    control.down(state)


@pytest.fixture(scope="session")
def kc(cluster: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(cluster.kubeconfig, tmp_path_factory.mktemp("kubecache"))


@pytest.fixture
def ns(kc: Kubectl, request: pytest.FixtureRequest) -> str:
    """A fresh namespace for one test."""
    name = str(request.node.name).lower().replace("_", "-")[:50].strip("-")
    kc("create", "namespace", name)
    return name

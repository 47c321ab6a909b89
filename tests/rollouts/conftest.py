"""A sandbox with controllers, a scheduler and one simulated node, for workload tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import control
from tests.conftest import Kubectl, kubectl_for


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.Sandbox]:
    state = tmp_path_factory.mktemp("cluster")
    running = control.up(state)
    yield running
    control.down(state)


@pytest.fixture(scope="package")
def kube(cluster: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(cluster.kubeconfig, tmp_path_factory.mktemp("kubecache"))

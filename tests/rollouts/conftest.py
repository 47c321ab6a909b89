"""A sandbox with controllers, a scheduler and one simulated node, for workload tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import control
from tests.conftest import Kubectl, kubectl_binary


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.Sandbox]:
    state = tmp_path_factory.mktemp("cluster")
    running = control.up(state)
    yield running
    control.down(state)


@pytest.fixture(scope="package")
def kube(cluster: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    cache: Path = tmp_path_factory.mktemp("kubecache")
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "KUBECACHEDIR": str(cache), "HOME": str(cache)}
    return Kubectl(kubectl_binary(), env)

"""A sandbox cluster with controllers (scheduler, kubelet, storage, quotas, metrics, HPA)
shared by the cluster suites, and kubectl against it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sandbox import control
from tests.conftest import Kubectl, kubectl_binary


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.Sandbox]:
    state = tmp_path_factory.mktemp("cluster")
    running = control.up(state)
    yield running
    control.down(state)


@pytest.fixture(scope="session")
def kc(cluster: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    cache = tmp_path_factory.mktemp("kubecache")
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "KUBECACHEDIR": str(cache), "HOME": str(cache)}
    return Kubectl(kubectl_binary(), env)


@pytest.fixture
def ns(kc: Kubectl, request: pytest.FixtureRequest) -> str:
    """A fresh namespace for one test."""
    name = str(request.node.name).lower().replace("_", "-")[:50].strip("-")
    kc("create", "namespace", name)
    return name

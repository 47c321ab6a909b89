"""kubectl against the shared controller cluster (``cluster`` in tests/conftest.py), and a
fresh namespace per test."""

from __future__ import annotations

import pytest

from sandbox import control
from tests.conftest import Kubectl, kubectl_for


@pytest.fixture(scope="session")
def kc(cluster: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(cluster.kubeconfig, tmp_path_factory.mktemp("kubecache"))


@pytest.fixture
def ns(kc: Kubectl, request: pytest.FixtureRequest) -> str:
    """A fresh namespace for one test."""
    name = str(request.node.name).lower().replace("_", "-")[:50].strip("-")
    kc("create", "namespace", name)
    return name

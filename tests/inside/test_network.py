"""The pod network: names, Services, connections, HTTP answers and the network tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.kubelet import catalog
from sandbox.kubelet.containers import ContainerState
from sandbox.kubelet.exec_io import Input, Out, Wait, play
from sandbox.kubelet.exec_shell import Shell
from sandbox.kubelet.fs import FileSystem, Volume
from sandbox.netpol import POLICIES
from sandbox.network import Network
from sandbox.podlogs import LogQuery, PodLogs
from sandbox.store import Store


class FakeRunner:
    def __init__(self, name: str, ip: str, program: catalog.Program) -> None:
        self.namespace, self.name, self.uid, self.pod_ip = "shop", name, f"uid-{name}", ip
        self.state = ContainerState("c", "nginx")
        self.state.serving = True
        self.program = program

    def serving(self, port: int) -> tuple[ContainerState, catalog.Program] | None:
        return (self.state, self.program) if port in self.program.ports else None

    def container(self, name: str) -> ContainerState:
        return self.state


class FakeRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.logs = PodLogs(store.db)


class FakeKubelet:
    def __init__(self, store: Store, runners: list[FakeRunner]) -> None:
        self.registry = FakeRegistry(store)
        self._runners = runners

    def runners(self) -> list[FakeRunner]:
        return self._runners

    def runner_for_ip(self, ip: str) -> FakeRunner | None:
        return next((r for r in self._runners if r.pod_ip == ip), None)


def pod(store: Store, name: str, ip: str, labels: dict[str, str]) -> None:
    store.put("pods", {"metadata": {"name": name, "namespace": "shop", "labels": labels, "uid": f"uid-{name}"},
                       "spec": {"containers": [{"name": "c"}]}, "status": {"podIP": ip}}, created=True)


@pytest.fixture
def net(tmp_path: Path) -> Network:
    store = Store(tmp_path / "db")
    store.put("namespaces", {"metadata": {"name": "shop"}}, created=True)
    pod(store, "web-1", "10.244.0.10", {"app": "web"})
    pod(store, "client", "10.244.0.11", {"role": "client"})
    for name, ip, port in (("web", "10.96.0.50", 80), ("empty", "10.96.0.51", 80)):
        store.put("services", {"metadata": {"name": name, "namespace": "shop"},
                               "spec": {"clusterIP": ip, "ports": [{"port": port, "targetPort": 80}]}}, created=True)
    store.put("endpoints", {"metadata": {"name": "web", "namespace": "shop"}, "subsets": [
        {"addresses": [{"ip": "10.244.0.10"}], "ports": [{"port": 80, "protocol": "TCP"}]}]}, created=True)
    runners = [FakeRunner("web-1", "10.244.0.10", catalog.NGINX), FakeRunner("client", "10.244.0.11", catalog.SHELL)]
    return Network(FakeKubelet(store, runners))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["web", "web.shop", "web.shop.svc", "web.shop.svc.cluster.local"])
def test_service_names(net: Network, name: str) -> None:
    assert net.lookup(name, "shop")[1] == ["10.96.0.50"]


def test_unknown_names(net: Network) -> None:
    assert net.lookup("nope", "shop")[1] == []
    assert net.lookup("web", "default")[1] == []


def test_http_through_a_service_logs_the_request(net: Network) -> None:
    client = net.client("shop", "10.244.0.11")
    outcome = client.request("10.96.0.50", 80, "GET", "/", "Wget")
    assert outcome.kind == "ok"
    assert outcome.reply is not None and outcome.reply.status == 200
    assert client.request("10.244.0.10", 80, "GET", "/missing", "Wget").reply.status == 404  # type: ignore[union-attr]
    log = net.kubelet.registry.logs.read("shop", "web-1", LogQuery(container="c"))
    assert '10.244.0.11 - - [' in log and '"GET / HTTP/1.1" 200' in log and '"Wget"' in log


def test_refused_and_dropped(net: Network) -> None:
    client = net.client("shop", "10.244.0.11")
    assert client.request("10.244.0.10", 8080, "GET", "/", "curl").kind == "refused"
    assert client.request("10.96.0.51", 80, "GET", "/", "curl").kind == "refused"  # no endpoints
    assert client.request("10.96.0.50", 81, "GET", "/", "curl").kind == "timeout"  # no such Service port
    net.store.put(POLICIES, {"metadata": {"name": "deny", "namespace": "shop"},
                             "spec": {"podSelector": {"matchLabels": {"app": "web"}}}}, created=True)
    assert client.request("10.96.0.50", 80, "GET", "/", "curl").kind == "timeout"


def tool(net: Network, image: str, script: str) -> tuple[int, str, str, list[Any]]:
    sh = Shell({"HOSTNAME": "client"}, FileSystem(Volume()), image=image, net=net.client("shop", "10.244.0.11"))
    code, events = play(sh.run(script, Input()))
    out = "".join(e.text for e in events if isinstance(e, Out) and e.fd == 1)
    err = "".join(e.text for e in events if isinstance(e, Out) and e.fd == 2)
    return code, out, err, [e for e in events if isinstance(e, Wait)]


def test_wget_and_curl(net: Network) -> None:
    code, _, err, _ = tool(net, "busybox", "wget -O- http://web")
    assert code == 0 and err.startswith("Connecting to web (10.96.0.50:80)\nwriting to stdout\n")
    assert tool(net, "busybox", "wget -qO- http://nope")[2] == "wget: bad address 'nope'\n"
    assert tool(net, "busybox", "wget -qO- http://web:81 -T 2")[1:] == ("", "wget: download timed out\n",
                                                                          [Wait(2.0)])
    assert tool(net, "busybox", "wget -q -O- http://web-1.shop:80/x")[0] == 1
    assert tool(net, "busybox", "curl http://web")[0] == 127
    assert tool(net, "python", "curl -s -o /dev/null -w '%{http_code}' http://web.shop.svc.cluster.local/x")[1] == \
        "404"
    code, _, err, _ = tool(net, "python", "curl -sf http://web/x")
    assert (code, err) == (22, "")
    assert tool(net, "python", "curl -sS http://empty")[:3] == (
        7, "", "curl: (7) Failed to connect to empty port 80 after 0 ms: Couldn't connect to server\n")
    assert tool(net, "python", "curl -m 3 -s http://web:81")[0] == 28
    code, out, _, _ = tool(net, "busybox", "nslookup web")
    assert code == 0 and "Name:\tweb.shop.svc.cluster.local\nAddress: 10.96.0.50" in out

"""The pod network of the sandbox: cluster DNS, Services, and connections between pods.

Names resolve as kube-dns answers a pod (search path ``<ns>.svc.cluster.local
svc.cluster.local cluster.local``): ``svc``, ``svc.ns``, ``svc.ns.svc``,
``svc.ns.svc.cluster.local`` to a Service's ClusterIP (the ready endpoints' pod IPs
for a headless Service), ``host.sub.ns.svc.cluster.local`` to a pod with that hostname
and subdomain. A connection to a ClusterIP (or a node's IP on a NodePort) goes, as
kube-proxy sends it, to a ready endpoint of the Service (read from the Endpoints the
EndpointsController keeps); NetworkPolicies (:mod:`sandbox.netpol`) then decide, and
a dropped connection times out. Behind a pod IP and port a simulated program answers
HTTP (catalog paths and bodies, nginx and httpd from their document root) and logs the
request in its access log; a port nothing serves refuses the connection.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import netpol
from .kubelet import catalog
from .netpol import Peer

if TYPE_CHECKING:
    from .kubelet.fs import FileSystem
    from .kubelet.node import Kubelet
    from .kubelet.runner import PodRunner

Obj = dict[str, Any]
DOMAIN = "cluster.local"
DNS_IP = "10.96.0.10"
DNS_PEER = Peer("10.244.0.2", "kube-system", {"k8s-app": "kube-dns"}, (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")))
POD_CIDR = ipaddress.ip_network("10.244.0.0/16")
# Programs are told apart by identity (a Program holds a dict: it cannot be a key).
DOCROOTS = {id(catalog.NGINX): "/usr/share/nginx/html", id(catalog.HTTPD): "/usr/local/apache2/htdocs"}
NOT_FOUND = {
    id(catalog.NGINX): "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found"
                       "</h1></center>\r\n<hr><center>nginx/1.27.3</center>\r\n</body>\r\n</html>\r\n",
    id(catalog.HTTPD): '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found'
                       "</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this "
                       "server.</p>\n</body></html>\n",
    id(catalog.TODO_BACKEND): '{"detail":"Not Found"}',
}
SERVERS = {id(catalog.NGINX): "nginx/1.27.3", id(catalog.HTTPD): "Apache/2.4.62 (Unix)",
           id(catalog.TODO_BACKEND): "uvicorn", id(catalog.TODO_FRONTEND): "Next.js"}


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    body: str
    server: str = ""


@dataclass(frozen=True)
class Outcome:
    """What became of a connection: ok (with an HTTP reply, or None when the program does
    not speak HTTP), refused, or timeout (dropped)."""

    kind: str
    reply: Reply | None = None


Files = Callable[["PodRunner", str], "FileSystem"]


class Network:
    def __init__(self, kubelet: Kubelet, files: Files | None = None) -> None:
        self.kubelet = kubelet
        self.store = kubelet.registry.store
        self.files = files

    # --- names -------------------------------------------------------------------------

    def lookup(self, name: str, namespace: str) -> tuple[str, list[str]]:
        """The fully qualified name and addresses ``name`` resolves to from ``namespace``."""
        name = name.rstrip(".").lower()
        if _is_ip(name):
            return name, [name]
        candidates = [name] if name.count(".") >= 5 else []
        candidates += [f"{name}.{namespace}.svc.{DOMAIN}", f"{name}.svc.{DOMAIN}", f"{name}.{DOMAIN}", name]
        for fqdn in candidates:
            found = self._record(fqdn)
            if found:
                return fqdn, found
        return name, []

    def _record(self, fqdn: str) -> list[str]:
        suffix = f".svc.{DOMAIN}"
        if not fqdn.endswith(suffix):
            return []
        parts = fqdn[: -len(suffix)].split(".")
        if len(parts) == 2:
            svc = self.store.get("services", parts[1], parts[0])
            if svc is None:
                return []
            cluster_ip = str((svc.get("spec") or {}).get("clusterIP") or "")
            if cluster_ip and cluster_ip != "None":
                return [cluster_ip]
            return sorted({a["ip"] for _, a, _ in self._endpoints(svc)})
        if len(parts) == 3:
            host, sub, namespace = parts
            for pod in self.store.list("pods", namespace):
                spec = pod.get("spec") or {}
                if spec.get("hostname") == host and spec.get("subdomain") == sub:
                    ip = (pod.get("status") or {}).get("podIP")
                    return [str(ip)] if ip else []
        return []

    def _endpoints(self, svc: Obj, port_name: str | None = None) -> list[tuple[str, Obj, int]]:
        """Ready (subset ports, address, port) of a Service, for one port name when given."""
        meta = svc["metadata"]
        eps = self.store.get("endpoints", meta.get("namespace", ""), meta["name"]) or {}
        found = []
        for subset in eps.get("subsets") or []:
            ports = subset.get("ports") or []
            chosen = next((p for p in ports if port_name is None or p.get("name", "") == port_name), None)
            if chosen is None:
                continue
            for address in subset.get("addresses") or []:
                found.append((str(chosen.get("name", "")), address, int(chosen.get("port", 0))))
        return found

    # --- connections --------------------------------------------------------------------

    def destination(self, ip: str, port: int) -> tuple[str, str, int]:
        """Where a packet to ``ip:port`` goes after kube-proxy: (kind, pod IP, port);
        kind "pod", or "refused"/"timeout" when it goes nowhere."""
        for svc in self.store.list("services"):
            spec = svc.get("spec") or {}
            node_port = any(p.get("nodePort") == port for p in spec.get("ports") or []) and self._is_node(ip)
            if spec.get("clusterIP") != ip and not node_port:
                continue
            entry = next((p for p in spec.get("ports") or []
                          if (p.get("nodePort") if node_port else p.get("port")) == port
                          and p.get("protocol", "TCP") == "TCP"), None)
            if entry is None:
                return "timeout", ip, port
            ready = self._endpoints(svc, str(entry.get("name", "")))
            if not ready:
                return "refused", ip, port
            _, address, target = random.choice(ready)
            return "pod", str(address["ip"]), target
        if ipaddress.ip_address(ip) in POD_CIDR:
            return "pod", ip, port
        return "timeout", ip, port

    def _is_node(self, ip: str) -> bool:
        return any(a.get("address") == ip for n in self.store.list("nodes")
                   for a in (n.get("status") or {}).get("addresses") or [])

    def peer(self, ip: str) -> Peer:
        if ip == DNS_IP:
            return DNS_PEER
        pod = next((p for p in self.store.list("pods") if (p.get("status") or {}).get("podIP") == ip
                    and not (p.get("spec") or {}).get("hostNetwork")), None)
        return netpol.pod_peer(pod) if pod is not None else Peer(ip)

    def connect(self, source: Peer, ip: str, port: int) -> tuple[str, PodRunner | None, int]:
        """(kind, runner, port): kind "ok", "refused" or "timeout"."""
        kind, pod_ip, target = self.destination(ip, port)
        if kind != "pod":
            return kind, None, port
        same_pod = pod_ip == source.ip
        if not same_pod and not netpol.allowed(self.store, source, self.peer(pod_ip), target):
            return "timeout", None, target
        runner = self.kubelet.runner_for_ip(pod_ip)
        if runner is None:
            return "timeout", None, target
        if runner.serving(target) is None:
            return "refused", runner, target
        return "ok", runner, target

    def request(self, source: Peer, ip: str, port: int, method: str, path: str, agent: str) -> Outcome:
        kind, runner, target = self.connect(source, ip, port)
        if kind != "ok" or runner is None:
            return Outcome(kind)
        found = runner.serving(target)
        assert found is not None
        state, program = found
        key = id(program)
        from_files = key in DOCROOTS and self.files is not None
        if not program.paths and not from_files:
            return Outcome("ok")
        bare = path.split("?", 1)[0] or "/"
        body = self._served(runner, state.name, program, bare)
        if body is None and ("*" in program.paths or bare in program.paths) and not from_files:
            body = program.bodies.get(bare, "")
        reply = Reply(200, "OK", catalog.render(body), SERVERS.get(key, "")) if body is not None else \
            Reply(404, "Not Found", NOT_FOUND.get(key, "404 page not found\n"), SERVERS.get(key, ""))
        if program.access_log:
            line = catalog.render(program.access_log, ip=source.ip, method=method, path=path, status=str(reply.status),
                         reason=reply.reason, agent=agent)
            self.kubelet.registry.logs.append(runner.namespace, runner.name, state.name, [line])
        return Outcome("ok", reply)

    def _served(self, runner: PodRunner, container: str, program: catalog.Program, path: str) -> str | None:
        root = DOCROOTS.get(id(program))
        if root is None or self.files is None:
            return None
        fs = self.files(runner, container)
        target = root + (path if path != "/" else "/")
        if fs.is_dir(target):
            target = target.rstrip("/") + "/index.html"
        return fs.read(target) if fs.is_file(target) else None

    def client(self, namespace: str, pod_ip: str) -> Client:
        return Client(self, namespace, self.peer(pod_ip) if pod_ip else Peer(pod_ip, namespace))


class Client:
    """The network as one pod sees it."""

    def __init__(self, network: Network, namespace: str, source: Peer) -> None:
        self.network = network
        self.namespace = namespace
        self.source = source

    def dns_reachable(self) -> bool:
        if self.source.namespace is None or not netpol.selecting(self.network.store, self.source, "Egress"):
            return True
        return netpol.allowed(self.network.store, self.source, DNS_PEER, 53, "UDP")

    def lookup(self, name: str) -> tuple[str, list[str]]:
        if name in ("localhost", "localhost.localdomain"):
            return name, ["127.0.0.1"]
        return self.network.lookup(name, self.namespace)

    def request(self, ip: str, port: int, method: str, path: str, agent: str) -> Outcome:
        if ip.startswith("127."):
            ip = self.source.ip
        return self.network.request(self.source, ip, port, method, path, agent)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True

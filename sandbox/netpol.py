"""NetworkPolicy enforcement, as a policy-enforcing CNI (Calico, Cilium) does it.

A connection from one peer to a pod on a port is allowed when the egress policies
selecting the source pod let it out and the ingress policies selecting the target pod
let it in. A pod no policy of a direction selects is open in that direction; once one
selects it, only what some rule of those policies allows passes (default deny). The
policy types of a policy are its ``spec.policyTypes``, or Ingress plus Egress when it
has egress rules. Peers match by ``podSelector`` (in the policy's namespace),
``namespaceSelector`` (every pod of the matching namespaces), both (pods matching in
matching namespaces) or ``ipBlock`` (a CIDR minus its exceptions); ports by number,
range (``endPort``) or a container port's name, per protocol.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from .resources import lookup
from .selectors import selector_from_match_labels
from .store import Store

Obj = dict[str, Any]
_POLICIES = lookup("networking.k8s.io", "v1", "networkpolicies")
POLICIES = _POLICIES.storage_key if _POLICIES is not None else "networkpolicies.networking.k8s.io"


@dataclass(frozen=True)
class Peer:
    """One end of a connection: a pod (namespace set) or an address outside the pods."""

    ip: str
    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    ports: tuple[tuple[str, int, str], ...] = ()  # named container ports: (name, port, protocol)


def pod_peer(pod: Obj) -> Peer:
    meta = pod.get("metadata") or {}
    named = tuple((str(p["name"]), int(p.get("containerPort", 0)), str(p.get("protocol", "TCP")))
                  for c in (pod.get("spec") or {}).get("containers") or []
                  for p in c.get("ports") or [] if p.get("name"))
    return Peer(str((pod.get("status") or {}).get("podIP", "")), str(meta.get("namespace", "")),
                dict(meta.get("labels") or {}), named)


def policy_types(policy: Obj) -> list[str]:
    spec = policy.get("spec") or {}
    given = spec.get("policyTypes")
    if given:
        return [str(t) for t in given]
    return ["Ingress", *(["Egress"] if "egress" in spec else [])]


def allowed(store: Store, src: Peer, dst: Peer, port: int, protocol: str = "TCP") -> bool:
    """Whether a connection from ``src`` to ``dst`` on ``port`` gets through."""
    return (_direction_ok(store, src, dst, dst, port, protocol, "Egress")
            and _direction_ok(store, dst, src, dst, port, protocol, "Ingress"))


def selecting(store: Store, pod: Peer, kind: str) -> list[Obj]:
    """The policies of ``kind`` (Ingress or Egress) that select ``pod``."""
    if pod.namespace is None:
        return []
    return [p for p in store.list(POLICIES, pod.namespace)
            if kind in policy_types(p) and _selects((p.get("spec") or {}).get("podSelector") or {}, pod.labels)]


def _direction_ok(store: Store, subject: Peer, other: Peer, target: Peer, port: int, protocol: str,
                  kind: str) -> bool:
    policies = selecting(store, subject, kind)
    if not policies:
        return True
    rules_key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    for policy in policies:
        namespace = str(policy["metadata"].get("namespace", ""))
        for rule in (policy.get("spec") or {}).get(rules_key) or []:
            if _ports_ok(rule.get("ports"), port, protocol, target) and \
                    _peers_ok(store, rule.get(peers_key), other, namespace):
                return True
    return False


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    reqs = selector_from_match_labels(selector)
    return reqs is not None and all(r.matches(labels) for r in reqs)


def _peers_ok(store: Store, peers: list[Obj] | None, other: Peer, namespace: str) -> bool:
    if not peers:
        return True
    return any(_peer_ok(store, peer, other, namespace) for peer in peers)


def _peer_ok(store: Store, peer: Obj, other: Peer, namespace: str) -> bool:
    block = peer.get("ipBlock")
    if block is not None:
        try:
            address = ipaddress.ip_address(other.ip)
            if address not in ipaddress.ip_network(str(block.get("cidr", "")), strict=False):
                return False
            return not any(address in ipaddress.ip_network(str(x), strict=False) for x in block.get("except") or [])
        except ValueError:
            return False
    if other.namespace is None:
        return False
    pod_selector, ns_selector = peer.get("podSelector"), peer.get("namespaceSelector")
    if ns_selector is not None:
        ns = store.get("namespaces", "", other.namespace) or {}
        labels = {**((ns.get("metadata") or {}).get("labels") or {}),
                  "kubernetes.io/metadata.name": other.namespace}
        if not _selects(ns_selector, labels):
            return False
    elif other.namespace != namespace:
        return False
    return pod_selector is None or _selects(pod_selector, other.labels)


def _ports_ok(ports: list[Obj] | None, port: int, protocol: str, target: Peer) -> bool:
    if not ports:
        return True
    for entry in ports:
        if str(entry.get("protocol", "TCP")) != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.isdigit()):
            low = int(wanted)
            if low <= port <= int(entry.get("endPort") or low):
                return True
            continue
        if any(name == wanted and number == port and proto == protocol for name, number, proto in target.ports):
            return True
    return False

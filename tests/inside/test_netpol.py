"""NetworkPolicy decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.netpol import POLICIES, Peer, allowed, policy_types
from sandbox.store import Store

WEB = Peer("10.244.0.10", "shop", {"app": "web"}, (("http", 8080, "TCP"),))
FRONT = Peer("10.244.0.11", "shop", {"role": "frontend"})
OTHER_NS = Peer("10.244.0.12", "tools", {"role": "frontend"})
OUTSIDE = Peer("192.168.49.1")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "db")
    for name, labels in (("shop", {}), ("tools", {"team": "ops"})):
        s.put("namespaces", {"metadata": {"name": name, "labels": labels}}, created=True)
    return s


def policy(store: Store, name: str, spec: dict[str, Any], namespace: str = "shop") -> None:
    store.put(POLICIES, {"metadata": {"name": name, "namespace": namespace}, "spec": spec}, created=True)


def test_no_policy_allows_everything(store: Store) -> None:
    assert allowed(store, FRONT, WEB, 8080)
    assert allowed(store, OUTSIDE, WEB, 8080)


def test_default_deny_ingress(store: Store) -> None:
    policy(store, "deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
    assert not allowed(store, FRONT, WEB, 8080)
    assert allowed(store, WEB, OTHER_NS, 80)  # egress is not restricted


def test_pod_selector_and_ports(store: Store) -> None:
    policy(store, "web", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [
        {"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}], "ports": [{"port": "http"}]}]})
    assert allowed(store, FRONT, WEB, 8080)
    assert not allowed(store, FRONT, WEB, 9090)
    assert not allowed(store, OTHER_NS, WEB, 8080)  # a podSelector alone means the policy's namespace
    assert allowed(store, FRONT, FRONT, 80)  # not selected


def test_namespace_selector_with_and_without_pods(store: Store) -> None:
    policy(store, "web", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}},
                   "podSelector": {"matchLabels": {"role": "backend"}}}]}]})
    assert not allowed(store, OTHER_NS, WEB, 8080)
    policy(store, "web2", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [
        {"from": [{"namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["tools"]}]}}]}]})
    assert allowed(store, OTHER_NS, WEB, 8080)


def test_ip_block_and_port_range(store: Store) -> None:
    policy(store, "web", {"podSelector": {}, "ingress": [
        {"from": [{"ipBlock": {"cidr": "192.168.0.0/16", "except": ["192.168.50.0/24"]}}],
         "ports": [{"protocol": "TCP", "port": 8000, "endPort": 8100}]}]})
    assert allowed(store, OUTSIDE, WEB, 8080)
    assert not allowed(store, Peer("192.168.50.3"), WEB, 8080)
    assert not allowed(store, OUTSIDE, WEB, 9000)
    assert not allowed(store, OUTSIDE, WEB, 8080, "UDP")


def test_egress(store: Store) -> None:
    policy(store, "out", {"podSelector": {"matchLabels": {"role": "frontend"}}, "egress": [
        {"to": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]})
    assert policy_types(store.list(POLICIES)[0]) == ["Ingress", "Egress"]
    assert allowed(store, FRONT, WEB, 8080)
    assert not allowed(store, FRONT, Peer("10.244.0.99", "shop", {"app": "db"}), 5432)
    # without policyTypes the policy is of both types: FRONT's ingress is denied too
    assert not allowed(store, WEB, FRONT, 80)

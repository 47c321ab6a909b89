"""The Endpoints controller: each Service with a selector lists the addresses of the
pods it selects, ready ones under ``addresses`` and the others under
``notReadyAddresses``, with the Service's target ports resolved by name."""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from .. import objects
from ..errors import StatusError
from ..registry import DeleteOptions, WriteOptions
from ..store import Change
from .base import Controller, Key
from .kinds import ENDPOINT_SLICES, ENDPOINTS
from .ownership import controller_ref, is_ready

Obj = dict[str, Any]
MANAGED_BY = "endpointslice-controller.k8s.io"
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _target(port: Obj, pod: Obj) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for container in (pod.get("spec") or {}).get("containers") or []:
        for p in container.get("ports") or []:
            if p.get("name") == target:
                return int(p.get("containerPort", 0))
    return None


class EndpointsController(Controller):
    watches = ("services", "pods")
    primary = "services"
    min_interval = 0.1

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == "pods":
            labels = [((o or {}).get("metadata") or {}).get("labels") or {} for o in (change.obj, change.prev)]
            keys = []
            for svc in self.store.list("services", change.namespace):
                selector = (svc.get("spec") or {}).get("selector") or {}
                if selector and any(all(lbl.get(k) == v for k, v in selector.items()) for lbl in labels):
                    keys.append((change.namespace, svc["metadata"]["name"]))
            return keys
        return list(super().keys_for(change))

    def reconcile(self, namespace: str, name: str) -> None:
        svc = self.store.get("services", namespace, name)
        if svc is None:  # the Endpoints go with the Service (they share its name, not an owner)
            if self.store.get("endpoints", namespace, name) is not None:
                with contextlib.suppress(StatusError):
                    self.registry.delete(ENDPOINTS, namespace, name, DeleteOptions())
            return
        spec = svc.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector:
            return  # endpoints of a Service without a selector are the user's
        pods = [p for p in self.store.list("pods", namespace)
                if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                and (p.get("status") or {}).get("podIP") and not p["metadata"].get("deletionTimestamp")]
        subsets: dict[str, Obj] = {}
        for pod in pods:
            ports = []
            for port in spec.get("ports") or []:
                target = _target(port, pod)
                if target is None:
                    continue
                entry = {"port": target, "protocol": port.get("protocol", "TCP")}
                if port.get("name"):
                    entry["name"] = port["name"]
                ports.append(entry)
            if not ports:
                continue
            key = repr(sorted((p.get("name", ""), p["port"]) for p in ports))
            subset = subsets.setdefault(key, {"ports": ports})
            address = {"ip": pod["status"]["podIP"], "nodeName": pod["spec"].get("nodeName", ""),
                       "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"],
                                     "uid": pod["metadata"]["uid"]}}
            subset.setdefault("addresses" if is_ready(pod) else "notReadyAddresses", []).append(address)
        for subset in subsets.values():
            for field in ("addresses", "notReadyAddresses"):
                if field in subset:
                    subset[field].sort(key=lambda a: a["ip"])
        body: Obj = {"metadata": {"name": name, "namespace": namespace,
                                  "labels": dict(svc["metadata"].get("labels") or {})}}
        if subsets:
            body["subsets"] = [subsets[k] for k in sorted(subsets)]
        if not body["metadata"]["labels"]:
            del body["metadata"]["labels"]
        current = self.store.get("endpoints", namespace, name)
        try:
            if current is None:  # a new Service: its Endpoints now, its slices below
                self.registry.create(ENDPOINTS, namespace, body, WriteOptions())
            else:
                updated = objects.copy(current)
                updated.pop("subsets", None)
                updated.update({k: v for k, v in body.items() if k != "metadata"})
                updated["metadata"]["labels"] = body["metadata"].get("labels", {})
                if not updated["metadata"]["labels"]:
                    updated["metadata"].pop("labels")
                if updated != current:
                    self.registry.update(ENDPOINTS, namespace, name, updated, WriteOptions())
        except StatusError:
            return  # the namespace is terminating
        self._slices(svc, pods)

    def _slices(self, svc: Obj, pods: list[Obj]) -> None:
        """EndpointSlices beside the Endpoints: one per set of target ports, owned by the
        Service, named ``<service>-<hash>``, as the EndpointSlice controller keeps them."""
        namespace, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        groups: dict[str, tuple[list[Obj], list[Obj]]] = {}
        for pod in pods:
            ports = []
            for port in (svc.get("spec") or {}).get("ports") or []:
                target = _target(port, pod)
                if target is not None:
                    ports.append({"name": port.get("name", ""), "port": target,
                                  "protocol": port.get("protocol", "TCP")})
            if not ports:
                continue
            ready = is_ready(pod)
            endpoint = {"addresses": [pod["status"]["podIP"]],
                        "conditions": {"ready": ready, "serving": ready, "terminating": False},
                        "nodeName": pod["spec"].get("nodeName", ""),
                        "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"],
                                      "uid": pod["metadata"]["uid"]}}
            key = repr(sorted((p["name"], p["port"]) for p in ports))
            groups.setdefault(key, (ports, []))[1].append(endpoint)
        if not groups:
            groups[""] = ([], [])  # a Service whose pods are all gone keeps an empty slice
        wanted: dict[str, Obj] = {}
        for key, (ports, endpoints) in groups.items():
            digest = hashlib.sha256(f"{svc['metadata']['uid']}{key}".encode()).hexdigest()
            slice_name = f"{name}-{''.join(ALPHABET[int(c, 16) % len(ALPHABET)] for c in digest[:5])}"
            wanted[slice_name] = {
                "metadata": {"name": slice_name, "namespace": namespace,
                             "labels": {"kubernetes.io/service-name": name,
                                        "endpointslice.kubernetes.io/managed-by": MANAGED_BY},
                             "ownerReferences": [controller_ref(svc)]},
                "addressType": "IPv4", "ports": ports or None,
                "endpoints": sorted(endpoints, key=lambda e: e["addresses"][0]) or None,
            }
        existing = {s["metadata"]["name"]: s for _, s in self.store.dependents(svc["metadata"]["uid"],
                                                                               ENDPOINT_SLICES.storage_key)}
        try:
            for slice_name, body in wanted.items():
                body = {k: v for k, v in body.items() if v is not None}
                current = existing.pop(slice_name, None)
                if current is None:
                    self.registry.create(ENDPOINT_SLICES, namespace, body, WriteOptions())
                    continue
                updated = objects.copy(current)
                for field in ("ports", "endpoints"):
                    updated.pop(field, None)
                updated.update({k: v for k, v in body.items() if k != "metadata"})
                if updated != current:
                    self.registry.update(ENDPOINT_SLICES, namespace, slice_name, updated, WriteOptions())
            for slice_name in existing:
                self.registry.delete(ENDPOINT_SLICES, namespace, slice_name, DeleteOptions())
        except StatusError:
            pass  # the namespace is terminating
